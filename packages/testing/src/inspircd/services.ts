// A services-linked, TLS-enabled test network: InspIRCd 3 (ssl_gnutls, sasl, services_account,
// spanningtree) linked on loopback to Atheme services, so SASL PLAIN/EXTERNAL and TLS are tested
// against the real thing (docs: /work/shared/reference/irc.md §8). Certificates are generated at
// test time with the openssl CLI; accounts are pre-seeded into Atheme's flat-file database.
// Missing binaries fail loudly: scripts/test.sh installs inspircd, atheme-services and openssl.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, X509Certificate } from 'node:crypto';
import * as net from 'node:net';
import { freePort } from '../ports';
import { startInspircd, INSPIRCD_MODULE_DIR, type InspircdHandle, type StartOptions } from './index';

export const ATHEME_BINARY = process.env.ATHEME_BINARY ?? '/usr/bin/atheme-services';
export const OPENSSL_BINARY = process.env.OPENSSL_BINARY ?? '/usr/bin/openssl';
export const SERVICES_NAME = 'services.causeway.test';

const REQUIRED_MODULES = ['ssl_gnutls', 'cap', 'sslinfo', 'sasl', 'services_account', 'spanningtree'];
const OPTIONAL_MODULES = ['svshold'];

export interface CertFiles {
  certFile: string;
  keyFile: string;
  /** Lowercase hex SHA-256 of the DER certificate, no colons (what Atheme stores for CERT). */
  fingerprint: string;
}

export interface ServicesAccount {
  name: string;
  /** Plaintext password (Atheme reads a password without the crypt flag as plaintext). */
  password?: string;
  /** Generate a client certificate registered to this account (NickServ CERT). */
  withCertificate?: boolean;
}

export interface ServicesNetworkOptions extends Omit<StartOptions, 'extra'> {
  accounts?: ServicesAccount[];
  /** Extra raw InspIRCd config. */
  extra?: string;
}

export interface ServicesNetwork {
  ircd: InspircdHandle;
  host: string;
  /** Plain-text client port. */
  port: number;
  /** TLS client port (self-signed server certificate). */
  tlsPort: number;
  /** Server certificate the TLS port presents. */
  serverCert: CertFiles;
  /** Client certificates of the accounts created `withCertificate`, by account name. */
  clientCerts: Record<string, CertFiles>;
  /** Generates another certificate (not registered to any account). */
  makeCert(name: string): CertFiles;
  logTail(lines?: number): string;
  dispose(): Promise<void>;
}

function requireBinary(path: string, pkg: string): void {
  if (!existsSync(path)) throw new Error(`${path} not found: install the Debian package ${pkg} (scripts/test.sh does).`);
}

export function generateCert(dir: string, name: string, commonName: string): CertFiles {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  execFileSync(
    OPENSSL_BINARY,
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-days',
      '2',
      '-subj',
      `/CN=${commonName}`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const der = new X509Certificate(readFileSync(certFile)).raw;
  return { certFile, keyFile, fingerprint: createHash('sha256').update(der).digest('hex') };
}

/** CAP LS on a fresh connection; true once the server advertises `sasl` (only after services linked). */
function saslAdvertised(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    let buf = '';
    const done = (ok: boolean) => {
      clearTimeout(t);
      sock.removeAllListeners();
      sock.on('error', () => undefined);
      sock.destroy();
      resolve(ok);
    };
    const t = setTimeout(() => done(false), 3000);
    sock.on('error', () => done(false));
    sock.on('close', () => done(false));
    sock.on('connect', () => sock.write('CAP LS 302\r\n'));
    sock.on('data', (d) => {
      buf += d.toString('utf8');
      const m = /CAP \S+ LS (?:\* )?:?([^\r\n]*)\r\n/.exec(buf);
      if (m) done(/(^|\s)sasl(=|\s|$)/.test(m[1]));
    });
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Atheme daemonises, so it does not die with the test process: without this, a run that is
 * interrupted leaves services that retry their uplink every second for as long as the machine runs.
 */
const runningAtheme = new Set<number>();
process.once('exit', () => {
  for (const pid of runningAtheme) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
});

export async function startServicesNetwork(opts: ServicesNetworkOptions = {}): Promise<ServicesNetwork> {
  requireBinary(ATHEME_BINARY, 'atheme-services');
  requireBinary(OPENSSL_BINARY, 'openssl');
  for (const m of REQUIRED_MODULES) {
    if (!existsSync(join(INSPIRCD_MODULE_DIR, `m_${m}.so`))) throw new Error(`InspIRCd module m_${m} missing from ${INSPIRCD_MODULE_DIR}`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'causeway-services-'));
  const serverCert = generateCert(dir, 'server', 'irc.causeway.test');
  const clientCerts: Record<string, CertFiles> = {};
  for (const a of opts.accounts ?? []) if (a.withCertificate) clientCerts[a.name] = generateCert(dir, `client-${a.name}`, a.name);

  const tlsPort = await freePort();
  const linkPort = await freePort();
  const linkPassword = `link-${Math.random().toString(36).slice(2)}`;
  const optional = OPTIONAL_MODULES.filter((m) => existsSync(join(INSPIRCD_MODULE_DIR, `m_${m}.so`)));
  const ircdExtra = `
${[...REQUIRED_MODULES, ...optional]
  .filter((m) => m !== 'cap')
  .map((m) => `<module name="${m}">`)
  .join('\n')}
<sslprofile name="causeway" provider="gnutls" certfile="${serverCert.certFile}" keyfile="${serverCert.keyFile}" hash="sha256" requestclientcert="yes">
<bind address="127.0.0.1" port="${tlsPort}" type="clients" sslprofile="causeway">
<bind address="127.0.0.1" port="${linkPort}" type="servers">
<link name="${SERVICES_NAME}" ipaddr="127.0.0.1" port="${linkPort}" allowmask="127.0.0.1/32" sendpass="${linkPassword}" recvpass="${linkPassword}">
<uline server="${SERVICES_NAME}" silent="yes">
<sasl target="${SERVICES_NAME}">
${opts.extra ?? ''}`;
  const ircd = await startInspircd({ ...opts, extra: ircdExtra });

  // Atheme: config, pre-seeded flat-file DB, forked start (foreground `-n` notices every user about debug mode).
  const now = Math.floor(Date.now() / 1000);
  const db = ['DBV 12', 'CF +AFHORVabefhioqrstv'];
  let uid = 1;
  for (const a of opts.accounts ?? []) {
    const id = `AAAAAAAA${String.fromCharCode(65 + uid++)}`;
    db.push(`MU ${id} ${a.name} ${a.password ?? '*'} ${a.name}@causeway.test ${now} ${now} + default`);
    db.push(`MN ${a.name} ${a.name} ${now} ${now}`);
    if (clientCerts[a.name]) db.push(`MCFP ${a.name} ${clientCerts[a.name].fingerprint}`);
  }
  writeFileSync(join(dir, 'services.db'), db.join('\n') + '\n');
  const service = (nick: string, real: string) =>
    `${nick.toLowerCase()} { nick = "${nick}"; user = "${nick}"; host = "${SERVICES_NAME}"; real = "${real}"; };`;
  writeFileSync(
    join(dir, 'atheme.conf'),
    `
loadmodule "modules/protocol/inspircd";
loadmodule "modules/backend/opensex";
loadmodule "modules/crypto/pbkdf2v2";
loadmodule "modules/nickserv/main";
loadmodule "modules/nickserv/register";
loadmodule "modules/nickserv/identify";
loadmodule "modules/nickserv/cert";
loadmodule "modules/saslserv/main";
loadmodule "modules/saslserv/plain";
loadmodule "modules/saslserv/external";
serverinfo {
  name = "${SERVICES_NAME}";
  desc = "Causeway test services";
  numeric = "00A";
  recontime = 1;
  netname = "CausewayTest";
  hidehostsuffix = "users.causeway.test";
  adminname = "Harness";
  adminemail = "harness@causeway.test";
  registeremail = "noreply@causeway.test";
  auth = none;
  loglevel = { all; };
  maxlogins = 100;
  maxusers = 100;
  mdlimit = 30;
  emaillimit = 10;
  emailtime = 300;
};
uplink "irc.causeway.test" {
  host = "127.0.0.1";
  port = ${linkPort};
  password = "${linkPassword}";
};
general { commit_interval = 5; };
${service('NickServ', 'Nickname Services')}
${service('SaslServ', 'SASL Authentication Agent')}
`,
  );
  const athemeLog = join(dir, 'atheme.log');
  const pidFile = join(dir, 'atheme.pid');
  const logTail = (lines = 30) => {
    const a = existsSync(athemeLog) ? readFileSync(athemeLog, 'utf8').trim().split('\n').slice(-lines).join('\n') : '';
    return `--- InspIRCd ---\n${ircd.logTail(lines)}\n--- Atheme ---\n${a}`;
  };
  let athemePid: number | undefined;
  const stopAtheme = async () => {
    const pid = athemePid;
    athemePid = undefined;
    if (pid) runningAtheme.delete(pid);
    if (!pid || !alive(pid)) return;
    process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 50 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
    if (alive(pid)) process.kill(pid, 'SIGKILL');
  };
  const dispose = async () => {
    await stopAtheme();
    await ircd.dispose();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const parent = spawn(ATHEME_BINARY, ['-c', join(dir, 'atheme.conf'), '-D', dir, '-l', athemeLog, '-p', pidFile], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    parent.stdout?.on('data', (d) => (out += d));
    parent.stderr?.on('data', (d) => (out += d));
    const code = await new Promise<number | null>((resolve) => parent.once('exit', (c) => resolve(c)));
    if (code !== 0) throw new Error(`atheme-services exited with ${code}: ${out}`);
    const deadline = Date.now() + 15_000;
    while (!existsSync(pidFile) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    athemePid = Number(readFileSync(pidFile, 'utf8').trim());
    runningAtheme.add(athemePid);
    // InspIRCd advertises `sasl` only once services have linked.
    while (!(await saslAdvertised(ircd.host, ircd.port))) {
      if (!alive(athemePid)) throw new Error('Atheme exited before linking');
      if (Date.now() > deadline) throw new Error('services did not link (no `sasl` in CAP LS) in 15 s');
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (err) {
    const tail = logTail();
    await dispose();
    throw new Error(`${(err as Error).message}\n${tail}`, { cause: err });
  }

  return {
    ircd,
    host: ircd.host,
    port: ircd.port,
    tlsPort,
    serverCert,
    clientCerts,
    makeCert: (name) => generateCert(dir, name, name),
    logTail,
    dispose,
  };
}
