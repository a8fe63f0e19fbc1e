// Test InspIRCd 3 launcher: a real IRC server on loopback with its own config in a temp dir,
// so IRC-layer tests exercise real registration, flood control, bans and netsplits instead of
// a mock that agrees with our own assumptions.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as net from 'node:net';
import { renderConfig, type InspircdConfigOptions } from './config';
import { freePort } from '../ports';

export type { InspircdConfigOptions, KLine, BadNick } from './config';

export const INSPIRCD_BINARY = process.env.INSPIRCD_BINARY ?? '/usr/sbin/inspircd';
export const INSPIRCD_MODULE_DIR = process.env.INSPIRCD_MODULE_DIR ?? '/usr/lib/inspircd/modules';

export interface StartOptions extends InspircdConfigOptions {
  /** Fixed port; a free loopback port is picked when absent. */
  port?: number;
  /** How long to wait for the server to answer a registration. */
  readyTimeoutMs?: number;
}

export interface InspircdHandle {
  host: string;
  port: number;
  /** Temp dir holding inspircd.conf, logs and pid file. */
  configDir: string;
  /** Oper credentials configured in the server (for KILL/KLINE/CHGHOST in tests). */
  oper: { name: string; password: string };
  /** SIGTERM and wait for exit (SIGKILL after a grace period). Keeps configDir. */
  stop(): Promise<void>;
  /** Start again on the same port (after stop/kill), waiting until it answers a registration. */
  start(): Promise<void>;
  /** Netsplit/outage simulation: stop, then start on the same port. */
  restart(): Promise<void>;
  /** Abrupt death (SIGKILL): clients see a reset, not a QUIT/ERROR. */
  kill(): Promise<void>;
  /**
   * A hung server or a silently dropped link (SIGSTOP): sockets stay open, nothing is answered,
   * no error reaches anyone; only a client's own ping timeout can tell. `thaw` resumes it.
   */
  freeze(): void;
  thaw(): void;
  /** Rewrite the config with new ban entries etc. and REHASH (SIGHUP); config X-lines apply to users already connected. */
  reconfigure(update: Partial<InspircdConfigOptions>): Promise<void>;
  /** Stop and delete the temp dir. */
  dispose(): Promise<void>;
  /** Last lines of the server log, for failure messages. */
  logTail(lines?: number): string;
}

/** Try one full registration; resolves true once 001 arrives. */
function probeRegistration(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    let buf = '';
    const done = (ok: boolean) => {
      clearTimeout(timer);
      sock.removeAllListeners();
      sock.on('error', () => undefined);
      if (ok) sock.end('QUIT :probe done\r\n');
      else sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    sock.on('error', () => done(false));
    sock.on('close', () => done(false));
    sock.on('connect', () => {
      const nick = `probe${Math.floor(Math.random() * 1e6)}`;
      sock.write(`NICK ${nick}\r\nUSER probe 0 * :harness probe\r\n`);
    });
    sock.on('data', (d) => {
      buf += d.toString('utf8');
      for (const line of buf.split('\r\n')) {
        const m = /^PING (.*)$/.exec(line);
        if (m) sock.write(`PONG ${m[1]}\r\n`);
        if (/^:\S+ 001 /.test(line)) return done(true);
      }
    });
  });
}

function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

export async function startInspircd(opts: StartOptions = {}): Promise<InspircdHandle> {
  if (!existsSync(INSPIRCD_BINARY)) {
    throw new Error(`InspIRCd not found at ${INSPIRCD_BINARY} (apt-get install inspircd)`);
  }
  const host = '127.0.0.1';
  const port = opts.port ?? (await freePort());
  const configDir = mkdtempSync(join(tmpdir(), 'causeway-inspircd-'));
  const readyTimeoutMs = opts.readyTimeoutMs ?? 15000;
  let config: InspircdConfigOptions = { ...opts };
  const oper = { name: 'harness', password: 'harness-oper-pw' };
  const confPath = join(configDir, 'inspircd.conf');
  const logPath = join(configDir, 'ircd.log');

  const writeConfig = () =>
    writeFileSync(confPath, renderConfig({ ...config, port, host, dir: configDir, moduleDir: INSPIRCD_MODULE_DIR, oper }));
  writeConfig();

  let child: ChildProcess | null = null;
  let stderr = '';

  const logTail = (lines = 30) => {
    const log = existsSync(logPath) ? readFileSync(logPath, 'utf8') : '';
    return (log + '\n' + stderr).trim().split('\n').slice(-lines).join('\n');
  };

  const start = async () => {
    if (child && child.exitCode === null && child.signalCode === null) return;
    const args = ['--config', confPath, '--nofork', '--nopid'];
    if (process.getuid?.() === 0) args.push('--runasroot');
    // ulimit -c 0: InspIRCd may crash on SIGTERM during shutdown; we do not want core files.
    const shellCmd = `ulimit -c 0; exec "${INSPIRCD_BINARY}" ${args.map((a) => `"${a}"`).join(' ')}`;
    stderr = '';
    const logFrom = existsSync(logPath) ? readFileSync(logPath, 'utf8').length : 0;
    const proc = spawn('/bin/sh', ['-c', shellCmd], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    proc.stdout?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-8000)));
    proc.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-8000)));
    const deadline = Date.now() + readyTimeoutMs;
    while (Date.now() < deadline) {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        throw new Error(`InspIRCd exited during start-up (code ${proc.exitCode}):\n${logTail()}`);
      }
      if (await probeRegistration(host, port, 3000)) {
        // InspIRCd starts even when some <bind> failed (it only warns): a spec would then wait on a
        // port nobody listens on, so a missing listener fails the start, naming the port.
        const log = existsSync(logPath) ? readFileSync(logPath, 'utf8').slice(logFrom) : '';
        const failed = /Failed to listen on (\S+)[^\n]*?: ([^\n]*)/.exec(log);
        if (!failed) return;
        proc.kill('SIGKILL');
        await waitExit(proc, 5000);
        throw new Error(`InspIRCd could not listen on ${failed[1]} (${failed[2].trim()})`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    proc.kill('SIGKILL');
    throw new Error(`InspIRCd did not answer a registration on ${host}:${port} in ${readyTimeoutMs} ms:\n${logTail()}`);
  };

  const stopWith = async (signal: NodeJS.Signals) => {
    const proc = child;
    if (!proc) return;
    child = null;
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill('SIGCONT'); // a frozen server would never handle the signal
    proc.kill(signal);
    if (!(await waitExit(proc, 5000))) {
      proc.kill('SIGKILL');
      await waitExit(proc, 5000);
    }
  };

  const handle: InspircdHandle = {
    host,
    port,
    configDir,
    oper,
    start,
    stop: () => stopWith('SIGTERM'),
    kill: () => stopWith('SIGKILL'),
    freeze: () => {
      child?.kill('SIGSTOP');
    },
    thaw: () => {
      child?.kill('SIGCONT');
    },
    async restart() {
      await stopWith('SIGTERM');
      await start();
    },
    async reconfigure(update) {
      config = { ...config, ...update };
      writeConfig();
      const proc = child;
      if (!proc) return;
      const before = existsSync(logPath) ? readFileSync(logPath, 'utf8').length : 0;
      proc.kill('SIGHUP');
      // Wait until the log reports the rehash finished, so callers can rely on the new config.
      const deadline = Date.now() + 5000;
      while (Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
        const log = existsSync(logPath) ? readFileSync(logPath, 'utf8').slice(before) : '';
        if (/rehash|REHASH|configuration/i.test(log)) break;
      }
      await new Promise((r) => setTimeout(r, 200));
    },
    async dispose() {
      await stopWith('SIGTERM');
      rmSync(configDir, { recursive: true, force: true });
    },
    logTail,
  };
  try {
    await start();
  } catch (err) {
    rmSync(configDir, { recursive: true, force: true });
    throw err;
  }
  return handle;
}
