/**
 * Per-user client certificates (`!certfp`) for real: InspIRCd with TLS linked to Atheme
 * services, the real bridge and the homeserver emulator. A Matrix user sets up CertFP the way
 * the bridge's instructions say (generate, register the nick, CERT ADD, !reconnect) and what
 * counts is what they are told and what IRC sees: WHOIS 276 (the fingerprint InspIRCd computed),
 * NickServ's own answer (the fingerprint Atheme stored) and WHOIS 330 (the account).
 */
import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { startServicesNetwork, type ServicesNetwork } from '@causeway/testing';
import { connectObserver, type Observer } from '@causeway/testing';
import type { TestUser } from '@causeway/testing';
import { startIrcBridge, botMessages, noticesTo, eventually, ghostId, BOT, NET, type IrcBridge } from './support';

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

const escapeNick = (nick: string) => nick.replace(/[[\]\\^]/g, '\\$&');

describe('irc-bridge: per-user client certificates (!certfp) against InspIRCd + Atheme', function () {
  this.timeout(120_000);
  let sn: ServicesNetwork;
  let obs: Observer;
  let b: IrcBridge;

  before(async () => {
    sn = await startServicesNetwork({ accounts: [] });
    obs = await connectObserver(sn, 'Witness');
    b = await startIrcBridge(sn.ircd, { port: sn.tlsPort, tls: { enabled: true, allow_self_signed: true }, bot: { nick: 'CwCertBot' } });
  });
  afterEach(function () {
    // What the servers saw, for a failure that happens only on some machine.
    if (this.currentTest?.state === 'failed') console.error(sn.logTail(40));
  });
  after(async () => {
    await b?.fx.stop();
    await obs?.close().catch(() => undefined);
    await sn?.dispose();
  });

  const network = () => b.connector().networks.get(NET)!;

  /** WHOIS as another IRC user sees it: the certificate fingerprint (276) and the account (330). */
  const whois = async (nick: string): Promise<{ fingerprint?: string; account?: string }> => {
    const from = obs.lines.length;
    await obs.whois(nick);
    const lines = obs.lines.slice(from);
    const n = escapeNick(nick);
    return {
      fingerprint: lines.map((l) => new RegExp(` 276 \\S+ ${n} :.*fingerprint ([0-9a-fA-F]+)`, 'i').exec(l)?.[1]).find(Boolean),
      account: lines.map((l) => new RegExp(` 330 \\S+ ${n} (\\S+) :`, 'i').exec(l)?.[1]).find(Boolean),
    };
  };

  const adminRoomOf = async (user: TestUser): Promise<string> => {
    const room = await user.createRoom({ is_direct: true, invite: [BOT], preset: 'trusted_private_chat' });
    await eventually(() => b.fx.hs.membership(room, BOT) === 'join', 'bot joined the admin room');
    return room;
  };
  /** Sends a command; resolves with the bot's reply matching `expect` (the admin-room greeting may come first). */
  const command = async (user: TestUser, room: string, text: string, expect: RegExp): Promise<string> => {
    const before = botMessages(b.fx.hs, room).length;
    await user.sendMessage(room, text);
    return eventually(
      () =>
        botMessages(b.fx.hs, room)
          .slice(before)
          .find((m) => expect.test(m)),
      `reply to ${text}`,
      30_000,
    );
  };
  /** What NickServ said to a Matrix user: its messages in the private-chat rooms the user was invited to. */
  const fromNickServ = (userId: string): string[] =>
    b.fx.hs.rooms
      .allRoomIds()
      .filter((r) => b.fx.hs.membership(r, userId) !== undefined)
      .flatMap((r) => b.fx.hs.roomTimeline(r))
      .filter((e) => e.sender === ghostId('NickServ') && e.type === 'm.room.message')
      .map((e) => String(e.content.body));
  const nickServSays = (userId: string, expect: RegExp, from = 0) =>
    eventually(
      () =>
        fromNickServ(userId)
          .slice(from)
          .find((t) => expect.test(t)),
      `NickServ: ${expect}`,
      20_000,
    );
  const connected = (userId: string) =>
    eventually(() => network().users.get(userId)?.status === 'connected' || undefined, `${userId} connected`, 30_000).catch(
      (err: Error) => {
        const c = network().users.get(userId);
        throw new Error(`${err.message} (status ${c?.status}, last failure: ${JSON.stringify(c?.lastFailure)})`);
      },
    );
  const sha256Of = (reply: string) => /SHA-256 fingerprint: ([0-9a-f]{64})/.exec(reply)?.[1];

  let erin: TestUser;
  let erinAdmin: string;
  let erinFp: string;

  it('generate → the fingerprint shown is the one InspIRCd sees; register and CERT ADD through the bridge; !reconnect logs in with SASL EXTERNAL', async () => {
    erin = await b.fx.hs.registerUser('erin', { displayname: 'Erin' });
    erinAdmin = await adminRoomOf(erin);
    const reply = await command(erin, erinAdmin, '!certfp generate', /Generated a client certificate/);
    erinFp = sha256Of(reply)!;
    assert.ok(erinFp, reply);
    assert.match(reply, /SHA-512 fingerprint: [0-9a-f]{128}/);
    assert.match(reply, new RegExp(`!cmd PRIVMSG NickServ :CERT ADD ${erinFp}`), reply);
    assert.match(reply, /!reconnect/);
    assert.ok(!/PRIVATE KEY/.test(reply), 'the key is never shown');

    // Connect: the certificate is presented, but no account knows it yet, so the user is told
    // how to add it and stays connected (without an account) to do so.
    await command(erin, erinAdmin, '!reconnect', /Reconnecting to testnet/);
    const refused = await eventually(
      () => noticesTo(b.fx.hs, '@erin:localhost').find((t) => /did not log you in/.test(t)),
      'refusal notice',
      30_000,
    );
    assert.match(refused, new RegExp(`CERT ADD ${erinFp}`), refused);
    await connected('@erin:localhost');
    const before = await whois('Erin[m]');
    assert.equal(before.fingerprint?.toLowerCase(), erinFp, 'InspIRCd computed the same fingerprint');
    assert.equal(before.account, undefined);

    // Register the nick and add the certificate, both through the bridge as a user would.
    const said = fromNickServ('@erin:localhost').length;
    await command(erin, erinAdmin, '!cmd PRIVMSG NickServ :REGISTER erin-Secret-1 erin@causeway.test', /Sent PRIVMSG/);
    await nickServSays('@erin:localhost', /registered/i, said);
    const said2 = fromNickServ('@erin:localhost').length;
    await command(erin, erinAdmin, '!cmd PRIVMSG NickServ :CERT ADD', /Sent PRIVMSG/);
    const added = await nickServSays('@erin:localhost', /fingerprint/i, said2);
    assert.equal(/([0-9a-f]{64})/i.exec(added)?.[1]?.toLowerCase(), erinFp, `Atheme stored the bridge's fingerprint: ${added}`);

    // Reconnect: SASL EXTERNAL logs the user in during registration, and they are told so.
    await command(erin, erinAdmin, '!reconnect', /Reconnecting to testnet/);
    const loggedIn = await eventually(
      () => noticesTo(b.fx.hs, '@erin:localhost').find((t) => /logged in to testnet/.test(t)),
      'login notice',
      30_000,
    );
    assert.match(loggedIn, /as Erin\[m\] with your client certificate \(SASL EXTERNAL\)/i, loggedIn);
    await connected('@erin:localhost');
    const after = await whois('Erin[m]');
    assert.equal(after.account?.toLowerCase(), 'erin[m]');
    assert.equal(after.fingerprint?.toLowerCase(), erinFp);
    assert.equal(noticesTo(b.fx.hs, '@erin:localhost').filter((t) => /did not log you in/.test(t)).length, 1, 'the refusal was told once');
    // The server's own TLS notice (it names the fingerprint too) is not a private chat from a nameless IRC user.
    assert.ok(!b.fx.hs.rooms.allRoomIds().some((r) => b.fx.hs.membership(r, ghostId('')) !== undefined), 'no room with a nameless ghost');
  });

  it("two users get different certificates (Ed25519 and RSA too, accepted by InspIRCd's GnuTLS); keys are not stored in plain text", async () => {
    const seen = new Map<string, string>([['erin', erinFp]]);
    for (const [name, type] of [
      ['frank', 'ed25519'],
      ['gina', 'rsa'],
    ] as const) {
      const user = await b.fx.hs.registerUser(name, { displayname: name[0].toUpperCase() + name.slice(1) });
      const admin = await adminRoomOf(user);
      const reply = await command(user, admin, `!certfp generate ${type}`, /Generated a client certificate/);
      assert.match(reply, type === 'rsa' ? /RSA/ : /Ed25519/);
      const fp = sha256Of(reply)!;
      await command(user, admin, '!reconnect', /Reconnecting/);
      await connected(`@${name}:localhost`);
      const nick = `${name[0].toUpperCase()}${name.slice(1)}[m]`;
      assert.equal((await whois(nick)).fingerprint?.toLowerCase(), fp, `${type} certificate presented`);
      seen.set(name, fp);
    }
    assert.equal(new Set(seen.values()).size, 3, `distinct fingerprints: ${[...seen.values()].join(' ')}`);

    await b.fx.bridge.idle();
    const stored = (await network().users.certificates.get(NET, '@erin:localhost'))!;
    // The base64 lines of the PEM key: none of them may appear anywhere on disk (DB or data dir).
    const keyLines = stored.privateKey.split('\n').filter((l) => l.length >= 40 && !l.startsWith('-----'));
    const keyDer = Buffer.from(keyLines.join(''), 'base64');
    assert.ok(keyLines.length > 0);
    const files = [path.join(b.fx.dataDir, 'db'), b.connector().ctx.config.data_dir].flatMap(filesUnder);
    for (const file of files) {
      const content = readFileSync(file);
      for (const line of keyLines) assert.ok(!content.includes(line), `${file} holds the private key in plain text`);
      assert.ok(!content.includes(keyDer), `${file} holds the DER private key`);
    }
    assert.ok(
      files.some((f) => readFileSync(f, 'utf8').includes('client-certificates')),
      'the sealed records are in the store',
    );
  });

  it('!certfp show prints the fingerprint; !certfp remove stops presenting it', async () => {
    const shown = await command(erin, erinAdmin, '!certfp show', /Your client certificate for testnet/);
    assert.equal(sha256Of(shown), erinFp);
    assert.match(shown, /Your current connection presents it/);

    const removed = await command(erin, erinAdmin, '!certfp remove', /was deleted/);
    assert.match(removed, new RegExp(`CERT DEL ${erinFp}`));
    await command(erin, erinAdmin, '!reconnect', /Reconnecting/);
    await connected('@erin:localhost');
    const after = await whois('Erin[m]');
    assert.equal(after.fingerprint, undefined, 'no certificate presented');
    assert.equal(after.account, undefined, 'not logged in');
    assert.match(await command(erin, erinAdmin, '!certfp show', /client certificate/), /You have no client certificate for testnet/);
  });

  it('!help lists !certfp, and a network reached without TLS refuses to generate one', async () => {
    assert.match(await command(erin, erinAdmin, '!help', /certfp/), /certfp generate/);
    const plain = await startIrcBridge(sn.ircd, { bot: { enabled: false } });
    try {
      const hal = await plain.fx.hs.registerUser('hal', { displayname: 'Hal' });
      const room = await hal.createRoom({ is_direct: true, invite: [BOT], preset: 'trusted_private_chat' });
      await eventually(() => plain.fx.hs.membership(room, BOT) === 'join', 'bot joined');
      const before = botMessages(plain.fx.hs, room).length;
      await hal.sendMessage(room, '!certfp generate');
      const reply = await eventually(
        () =>
          botMessages(plain.fx.hs, room)
            .slice(before)
            .find((m) => /TLS/.test(m)),
        'refusal',
        20_000,
      );
      assert.match(reply, /does not reach testnet over TLS/);
      assert.equal(await plain.connector().networks.get(NET)!.users.certificates.get(NET, '@hal:localhost'), undefined);
    } finally {
      await plain.fx.stop();
    }
  });
});
