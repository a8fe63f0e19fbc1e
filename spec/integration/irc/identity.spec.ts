/**
 * How a Matrix user's connection identifies itself beyond the nick: the RFC 1413 identd answering
 * with the user's username for their own connection's port pair, and the per-user source IPv6
 * address (`clients.ipv6_prefix`), unit-tested and end to end on `::1` with the user's address
 * added to `lo` (needs root, as CI runs; `ip` comes from iproute2).
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as net from 'node:net';
import { freePort } from '@causeway/testing';
import { startInspircd, type InspircdHandle } from '@causeway/testing';
import { connectObserver, type Observer } from '@causeway/testing';
import { ipv6For, usernameFor } from '@causeway/irc-bridge';
import { startIrcBridge, alias, eventually, NET, type IrcBridge } from './support';

/** One RFC 1413 query; resolves with the reply line. */
function identQuery(port: number, query: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port });
    let buf = '';
    const t = setTimeout(() => {
      s.destroy();
      reject(new Error(`identd: no reply to ${query}`));
    }, 5000);
    s.on('connect', () => s.write(`${query}\r\n`));
    s.on('data', (d) => (buf += d.toString('latin1')));
    s.on('error', (err) => {
      clearTimeout(t);
      reject(err);
    });
    s.on('close', () => {
      clearTimeout(t);
      resolve(buf.replace(/\r?\n$/, ''));
    });
  });
}

/** Canonical (compressed, lower-case) form of an IPv6 address. */
const canonical = (ip: string) => new URL(`http://[${ip}]/`).hostname.replace(/^\[|\]$/g, '');

describe('irc-bridge: identity (identd, per-user IPv6)', function () {
  this.timeout(60_000);

  describe('identd', () => {
    let ircd: InspircdHandle;
    let b: IrcBridge;
    let identPort: number;
    before(async () => {
      ircd = await startInspircd();
      identPort = await freePort();
      b = await startIrcBridge(ircd, {}, { irc: { ident: { enabled: true, port: identPort, address: '127.0.0.1' } } });
    });
    after(async () => {
      await b?.fx.stop();
      await ircd?.dispose();
    });

    it("answers USERID : UNIX : <username> for a user's connection and NO-USER for an unknown port pair", async () => {
      const gus = await b.fx.hs.registerUser('gus.g', { displayname: 'Gus' });
      await gus.join(alias('#ident'));
      const n = b.connector().networks.get(NET)!;
      const conn = await eventually(
        () => (n.users.get('@gus.g:localhost')?.status === 'connected' ? n.users.get('@gus.g:localhost') : undefined),
        'gus connected',
        20_000,
      );
      const local = conn.connection.localPort!;
      assert.ok(local > 0);
      assert.equal(
        await identQuery(identPort, `${local}, ${ircd.port}`),
        `${local}, ${ircd.port} : USERID : UNIX : ${usernameFor('@gus.g:localhost')}`,
      );
      assert.equal(usernameFor('@gus.g:localhost'), 'gusg');
      // The relay bot answers with its configured username.
      const bot = n.botClient!.connection.localPort!;
      assert.equal(await identQuery(identPort, `${bot},${ircd.port}`), `${bot}, ${ircd.port} : USERID : UNIX : matrixbot`);
      // Unknown pairs: right local port but another remote port, and a local port we do not use.
      assert.equal(
        await identQuery(identPort, `${local}, ${ircd.port === 65535 ? 1 : ircd.port + 1}`),
        `${local}, ${ircd.port === 65535 ? 1 : ircd.port + 1} : ERROR : NO-USER`,
      );
      assert.equal(await identQuery(identPort, `1, ${ircd.port}`), `1, ${ircd.port} : ERROR : NO-USER`);
      assert.match(await identQuery(identPort, 'hello'), /ERROR : INVALID-PORT$/);
    });
  });

  describe('per-user IPv6 source address, end to end on ::1', () => {
    const prefix = 'fd00:c0de:ca5e:1::';
    const users = ['@hal:localhost', '@ivy:localhost'];
    const added: string[] = [];
    let ircd: InspircdHandle;
    let b: IrcBridge;
    let obs: Observer;
    let v6port: number;

    before(async () => {
      for (const u of users) {
        const ip = ipv6For(prefix, u);
        try {
          execFileSync('ip', ['-6', 'addr', 'add', `${ip}/128`, 'dev', 'lo', 'nodad'], { stdio: ['ignore', 'ignore', 'pipe'] });
          added.push(ip);
        } catch (err) {
          const why = (err as { stderr?: Buffer }).stderr?.toString() ?? String(err);
          // Another run on this machine (or one that was killed) may hold the same address: use it, leave it to its owner.
          if (/already assigned|File exists/.test(why)) continue;
          throw new Error(`could not add ${ip} to lo (needs root and iproute2; scripts/test.sh runs as root): ${why}`, { cause: err });
        }
      }
      v6port = await freePort('::1');
      // A second client bind on ::1; the connect class admits any (loopback-only) source.
      ircd = await startInspircd({ connectClass: { allow: '*' }, extra: `<bind address="::1" port="${v6port}" type="clients">` });
      b = await startIrcBridge(ircd, { address: '::1', port: v6port, clients: { ipv6_prefix: prefix } });
      obs = await connectObserver(ircd, 'Witness');
    });
    after(async () => {
      await obs?.close().catch(() => undefined);
      await b?.fx.stop();
      await ircd?.dispose();
      for (const ip of added) {
        try {
          execFileSync('ip', ['-6', 'addr', 'del', `${ip}/128`, 'dev', 'lo'], { stdio: 'ignore' });
        } catch {
          /* already gone */
        }
      }
    });

    it("each user's connection comes from their own address inside the prefix (the server sees it)", async () => {
      for (const u of users) {
        const user = await b.fx.hs.registerUser(u.slice(1, u.indexOf(':')));
        await user.join(alias('#v6'));
      }
      const n = b.connector().networks.get(NET)!;
      await eventually(() => users.every((u) => n.users.get(u)?.status === 'connected'), 'both connected', 20_000);
      for (const u of users) {
        const nick = n.users.nickOf(u)!;
        const whois = await obs.whois(nick);
        const host = / 311 \S+ \S+ \S+ (\S+) /.exec(whois.find((l) => / 311 /.test(l)) ?? '')?.[1];
        assert.ok(host, `WHOIS ${nick}:\n${whois.join('\n')}`);
        assert.equal(canonical(host.replace(/^0(?=:)/, '')), canonical(ipv6For(prefix, u)), `${u} source address`);
      }
      assert.notEqual(canonical(ipv6For(prefix, users[0])), canonical(ipv6For(prefix, users[1])));
    });
  });
});
