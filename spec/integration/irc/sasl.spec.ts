/**
 * SASL and TLS for real: InspIRCd linked to Atheme services (spec/harness/inspircd/services.ts),
 * the real bridge and the homeserver emulator. Accounts are pre-seeded in Atheme; what counts is
 * what IRC sees (WHOIS 330 "is logged in as") and what the Matrix user is told.
 */
import { strict as assert } from 'node:assert';
import { startServicesNetwork, type ServicesNetwork } from '@causeway/testing';
import { connectObserver, type Observer } from '@causeway/testing';
import type { TestUser } from '@causeway/testing';
import { startIrcBridge, alias, botMessages, noticesTo, eventually, BOT, NET, type IrcBridge } from './support';

describe('irc-bridge: SASL and TLS against InspIRCd + Atheme services', function () {
  this.timeout(90_000);
  let sn: ServicesNetwork;
  let obs: Observer;

  before(async () => {
    sn = await startServicesNetwork({
      accounts: [
        { name: 'alice', password: 'alice-secret' },
        { name: 'bob', password: 'bob-secret' },
        { name: 'certacct', withCertificate: true },
      ],
    });
    obs = await connectObserver(sn, 'Witness');
  });
  after(async () => {
    await obs?.close().catch(() => undefined);
    await sn?.dispose();
  });

  /** The account a nick is logged in to, from WHOIS 330 (undefined when not logged in). */
  const accountOf = async (nick: string): Promise<string | undefined> => {
    const lines = await obs.whois(nick);
    return lines.map((l) => new RegExp(` 330 \\S+ ${nick.replace(/[[\]\\^]/g, '\\$&')} (\\S+) :`, 'i').exec(l)?.[1]).find(Boolean);
  };

  const adminRoomOf = async (b: IrcBridge, user: TestUser): Promise<string> => {
    const room = await user.createRoom({ is_direct: true, invite: [BOT], preset: 'trusted_private_chat' });
    await eventually(() => b.fx.hs.membership(room, BOT) === 'join', 'bot joined the admin room');
    return room;
  };
  /** Sends a command; resolves with the bot's reply matching `expect` (the admin-room greeting may come first). */
  const command = async (b: IrcBridge, user: TestUser, room: string, text: string, expect: RegExp) => {
    const before = botMessages(b.fx.hs, room).length;
    await user.sendMessage(room, text);
    return eventually(
      () =>
        botMessages(b.fx.hs, room)
          .slice(before)
          .find((m) => expect.test(m)),
      `reply to ${text}`,
      20_000,
    );
  };

  describe('SASL PLAIN with the stored password', () => {
    let b: IrcBridge;
    before(async () => {
      b = await startIrcBridge(sn.ircd, { sasl: { mechanism: 'plain' } });
    });
    after(async () => b?.fx.stop());

    it("a Matrix user's !storepass account:password logs them in over SASL PLAIN (WHOIS shows the account)", async () => {
      const alice = await b.fx.hs.registerUser('alice', { displayname: 'Alice' });
      const admin = await adminRoomOf(b, alice);
      await command(b, alice, admin, '!storepass alice:alice-secret', /stored encrypted/);
      await obs.join('#sasl');
      const from = obs.lines.length;
      const room = await alice.join(alias('#sasl'));
      await alice.sendMessage(room, 'logged in?');
      await obs.waitFor((l) => /^(@\S+ )?:Alice\[m\]!\S+ PRIVMSG #sasl :logged in\?$/.test(l), 20_000, from);
      assert.equal(await accountOf('Alice[m]'), 'alice');
      const n = b.connector().networks.get(NET)!;
      assert.ok(n.users.get('@alice:localhost')?.connection.enabledCaps.includes('sasl'), 'sasl CAP negotiated');
    });

    it('a wrong stored password: the user is told SASL failed, once, and the bridge does not retry in a loop', async () => {
      const bob = await b.fx.hs.registerUser('bob', { displayname: 'Bob' });
      const admin = await adminRoomOf(b, bob);
      await command(b, bob, admin, '!storepass bob:not-the-password', /stored encrypted/);
      const n = b.connector().networks.get(NET)!;
      const startsBefore = n.scheduler.startLog.length;
      const room = await bob.join(alias('#sasl'));
      await bob.sendMessage(room, 'will this arrive?');
      const failure = (t: string) => /Could not stay connected/.test(t) && /SASL authentication failed/.test(t);
      const told = await eventually(() => noticesTo(b.fx.hs, '@bob:localhost').find(failure), 'SASL failure notice', 30_000);
      assert.match(told, /904/, told);
      assert.match(told, /!storepass/, told);
      assert.equal(n.users.pool.get('@bob:localhost')?.status, 'failed');
      // No retry loop: one connection attempt, one failure notice, even after a while.
      await new Promise((r) => setTimeout(r, 3000));
      assert.equal(n.scheduler.startLog.length - startsBefore, 1, 'connection attempts');
      assert.equal(noticesTo(b.fx.hs, '@bob:localhost').filter(failure).length, 1);
      assert.equal(await accountOf('Bob[m]'), undefined);
      // The undelivered message was reported too, not dropped silently.
      await eventually(
        () => noticesTo(b.fx.hs, '@bob:localhost').find((t) => t.includes('will this arrive?') && /not delivered/.test(t)),
        'undelivered notice',
      );
    });
  });

  describe('TLS with a self-signed server certificate, SASL EXTERNAL with the network-wide client certificate', () => {
    let b: IrcBridge;
    before(async () => {
      const cert = sn.clientCerts.certacct;
      b = await startIrcBridge(sn.ircd, {
        port: sn.tlsPort,
        tls: {
          enabled: true,
          allow_self_signed: true,
          client_certificate: { certificate_file: cert.certFile, private_key_file: cert.keyFile },
        },
        sasl: { mechanism: 'external' },
        bot: { nick: 'CwTlsBot' },
      });
    });
    after(async () => b?.fx.stop());

    it("allow_self_signed: the connection is TLS (WHOIS 671) and SASL EXTERNAL logs user and bot in to the certificate's account", async () => {
      const carol = await b.fx.hs.registerUser('carol', { displayname: 'Carol' });
      await obs.join('#tls');
      const from = obs.lines.length;
      const room = await carol.join(alias('#tls'));
      await carol.sendMessage(room, 'over tls');
      await obs.waitFor((l) => /^(@\S+ )?:Carol\[m\]!\S+ PRIVMSG #tls :over tls$/.test(l), 20_000, from);
      // 671 RPL_WHOISSECURE (observer.whois() keeps only 3xx lines, so read the raw lines).
      const whoisFrom = obs.lines.length;
      await obs.whois('Carol[m]');
      const whois = obs.lines.slice(whoisFrom);
      assert.ok(
        whois.some((l) => / 671 \S+ Carol\[m\] /.test(l)),
        `secure connection in WHOIS:\n${whois.join('\n')}`,
      );
      assert.equal(await accountOf('Carol[m]'), 'certacct');
      const n = b.connector().networks.get(NET)!;
      assert.ok(n.users.get('@carol:localhost')?.connection.enabledCaps.includes('sasl'), 'sasl CAP negotiated');
      // The relay bot presents the same certificate.
      assert.equal(await accountOf('CwTlsBot'), 'certacct');
    });
  });

  describe('TLS without allow_self_signed', () => {
    let b: IrcBridge;
    before(async () => {
      b = await startIrcBridge(sn.ircd, { port: sn.tlsPort, tls: { enabled: true }, bot: { enabled: false } });
    });
    after(async () => b?.fx.stop());

    it('refuses the self-signed certificate and tells the user why, without retrying', async () => {
      const dan = await b.fx.hs.registerUser('dan', { displayname: 'Dan' });
      const n = b.connector().networks.get(NET)!;
      const startsBefore = n.scheduler.startLog.length;
      const room = await dan.join(alias('#tls'));
      await dan.sendMessage(room, 'should not pass');
      const told = await eventually(
        () => noticesTo(b.fx.hs, '@dan:localhost').find((t) => /certificate/i.test(t)),
        'TLS refusal notice',
        30_000,
      );
      assert.match(told, /self-signed|not trusted|could not be verified/i, told);
      assert.match(told, /allow_self_signed/, told);
      assert.equal(n.users.pool.get('@dan:localhost')?.status, 'failed');
      await new Promise((r) => setTimeout(r, 2000));
      assert.equal(n.scheduler.startLog.length - startsBefore, 1, 'connection attempts');
      assert.ok(!obs.lines.some((l) => /Dan\[m\]/.test(l)), 'never reached IRC');
    });
  });
});
