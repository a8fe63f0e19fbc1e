/**
 * Connection limits and endings through the real bridge, InspIRCd and the
 * homeserver emulator: max_clients eviction of the least recently active user,
 * the idle timeout, a K-line (final, told, removed from rooms) and !quit.
 */
import { strict as assert } from 'node:assert';
import { asString, startInspircd, type InspircdHandle } from '@causeway/testing';
import { connectObserver, type Observer } from '@causeway/testing';
import { HomeserverEmulator } from '@causeway/testing';
import { startIrcBridge, alias, noticesTo, botMessages, eventually, NET, BOT, type IrcBridge } from './support';

describe('irc-bridge: connection limits, idle timeout, K-lines and !quit', function () {
  this.timeout(60_000);
  let ircd: InspircdHandle;
  const observers: Observer[] = [];
  const bridges: IrcBridge[] = [];

  const observer = async (nick: string, channel: string) => {
    const o = await connectObserver(ircd, nick);
    observers.push(o);
    await o.join(channel);
    return o;
  };
  const bridge = async (clients: Record<string, unknown>, server: Record<string, unknown> = {}) => {
    const b = await startIrcBridge(ircd, { clients, ...server });
    bridges.push(b);
    return b;
  };
  const joined = (o: Observer, nick: string, channel: string, from: number) =>
    o.waitFor((l) => new RegExp(`:${nick.replace(/[[\]]/g, '\\$&')}!\\S+ JOIN :?${channel}`).test(l), 20_000, from);

  before(async () => {
    ircd = await startInspircd({ klines: [{ mask: 'klined@*', reason: 'harness ban' }] });
  });
  after(async () => {
    await Promise.all(observers.map((o) => o.close().catch(() => undefined)));
    for (const b of bridges) await b.fx.stop();
    await ircd?.dispose();
  });

  it('at max_clients evicts only the least recently active user, who is told', async () => {
    const b = await bridge({ max_clients: 2 });
    const o = await observer('Eobs', '#evict');
    const [u1, u2, u3] = await Promise.all(['eva', 'eli', 'eve'].map((u) => b.fx.hs.registerUser(u, { displayname: u })));
    let from = o.lines.length;
    const room = await u1.join(alias('#evict'));
    await joined(o, 'eva[m]', '#evict', from);
    await u2.join(room);
    await joined(o, 'eli[m]', '#evict', from);
    // eva talks, so eli is now the least recently active.
    await u1.sendMessage(room, 'still here');
    await o.waitFor((l) => l.endsWith('PRIVMSG #evict :still here'), 10_000, from);
    from = o.lines.length;
    await u3.join(room);
    await joined(o, 'eve[m]', '#evict', from);
    const quit = await o.waitFor((l) => / QUIT /.test(l), 10_000, from);
    assert.match(quit, /^(@\S+ )?:eli\[m\]!\S+ QUIT :.*Client limit exceeded: 2/);
    await eventually(
      () => noticesTo(b.fx.hs, u2.userId).find((n) => /disconnected from testnet: the bridge reached its connection limit/.test(n)),
      'eli told',
    );
    const users = b.connector().networks.get(NET)!.users;
    assert.deepEqual(users.users().sort(), ['@eva:localhost', '@eve:localhost']);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(o.lines.slice(from).filter((l) => / QUIT /.test(l)).length, 1, 'one eviction, not a wave');
    assert.equal(noticesTo(b.fx.hs, u1.userId).filter((n) => /connection limit/.test(n)).length, 0);
  });

  it('disconnects a user idle for idle_timeout_s and tells them; the next message reconnects', async () => {
    const b = await bridge({ idle_timeout_s: 3 }, { membership: { matrix_to_irc: { incremental: false } } });
    const o = await observer('Iobs', '#idle');
    const ida = await b.fx.hs.registerUser('ida', { displayname: 'ida' });
    let from = o.lines.length;
    const room = await ida.join(alias('#idle'));
    // Without mirrored membership a user is connected when they first speak.
    await ida.sendMessage(room, 'hello');
    await joined(o, 'ida[m]', '#idle', from);
    const quit = await o.waitFor((l) => /:ida\[m\]!\S+ QUIT /.test(l), 15_000, from);
    assert.match(quit, /Idle timeout/);
    await eventually(() => noticesTo(b.fx.hs, ida.userId).find((n) => /disconnected from testnet after being idle/.test(n)), 'ida told');
    from = o.lines.length;
    await ida.sendMessage(room, 'back again');
    await o.waitFor((l) => /:ida\[m\]!\S+ PRIVMSG #idle :back again$/.test(l), 20_000, from);
  });

  it('!active keeps a silent user connected past idle_timeout_s', async () => {
    const b = await bridge({ idle_timeout_s: 3 }, { membership: { matrix_to_irc: { incremental: false } } });
    const o = await observer('Aobs', '#active');
    const abe = await b.fx.hs.registerUser('abe', { displayname: 'abe' });
    const admin = await abe.createRoom({ is_direct: true, invite: [BOT], preset: 'trusted_private_chat' });
    await eventually(() => b.fx.hs.membership(admin, BOT) === 'join', 'bot in the admin room');
    const from = o.lines.length;
    const room = await abe.join(alias('#active'));
    await abe.sendMessage(room, 'hi');
    await joined(o, 'abe[m]', '#active', from);
    // Every 1.5 s, well inside the 3 s timeout, for twice its length.
    for (let i = 0; i < 4; i++) {
      const before = botMessages(b.fx.hs, admin).length;
      await abe.sendMessage(admin, '!active');
      assert.match(
        await eventually(() => botMessages(b.fx.hs, admin)[before], '!active reply'),
        /Marked active on testnet: you stay connected for at least 3 seconds/,
      );
      await new Promise((r) => setTimeout(r, 1_500));
    }
    assert.ok(!o.lines.slice(from).some((l) => /:abe\[m\]!\S+ QUIT /.test(l)), 'abe was not disconnected');
    // Silent from now on: the timeout applies again.
    await o.waitFor((l) => /:abe\[m\]!\S+ QUIT .*Idle timeout/.test(l), 15_000, from);
  });

  it('a user a followed ban list starts to ban is disconnected from IRC and told', async () => {
    const hs = await HomeserverEmulator.start({ serverName: 'localhost' });
    const mod = await hs.registerUser('mod');
    const policy = await mod.createRoom({ preset: 'public_chat' });
    const b = await startIrcBridge(ircd, {}, { hs, core: { bridge: { admins: ['@admin:localhost'], ban_lists: { rooms: [policy] } } } });
    bridges.push(b);
    const o = await observer('Bobs', '#banlist');
    const bea = await b.fx.hs.registerUser('bea', { displayname: 'bea' });
    const from = o.lines.length;
    await bea.join(alias('#banlist'));
    await joined(o, 'bea[m]', '#banlist', from);
    await mod.sendState(policy, 'm.policy.rule.user', 'bea', { entity: bea.userId, recommendation: 'm.ban', reason: 'spam' });
    const quit = await o.waitFor((l) => /:bea\[m\]!\S+ QUIT /.test(l), 15_000, from);
    assert.match(quit, /Access to the bridge revoked/);
    assert.doesNotMatch(quit, /spam/, "the list's reason stays on Matrix");
    await eventually(() => noticesTo(b.fx.hs, bea.userId).find((n) => /you may no longer use this bridge/.test(n)), 'bea told');
    assert.equal(b.connector().networks.get(NET)!.users.get(bea.userId), undefined);
    await b.fx.stop();
    bridges.splice(bridges.indexOf(b), 1);
    await hs.stop();
  });

  it('with Matrix→IRC membership mirrored, a silent room member stays on the channel (no idle timeout, as in MAI)', async () => {
    const b = await bridge({ idle_timeout_s: 2 });
    const o = await observer('Mobs', '#mirrored');
    const mia = await b.fx.hs.registerUser('mia', { displayname: 'mia' });
    const from = o.lines.length;
    await mia.join(alias('#mirrored'));
    await joined(o, 'mia[m]', '#mirrored', from);
    await new Promise((r) => setTimeout(r, 5_000)); // beyond the idle timeout and the pool's sweep
    assert.ok(!o.lines.slice(from).some((l) => /:mia\[m\]!\S+ QUIT /.test(l)), 'mia was not disconnected');
    assert.equal(b.connector().networks.get(NET)!.users.pool.get(mia.userId)?.status, 'connected');
  });

  it('a K-lined user fails for good: told, removed from the room, never retried', async () => {
    const b = await bridge({});
    const klined = await b.fx.hs.registerUser('klined', { displayname: 'Kay' });
    const room = await klined.join(alias('#kline'));
    const told = await eventually(
      () => noticesTo(b.fx.hs, klined.userId).find((n) => /Could not stay connected to testnet/.test(n)),
      'K-line told',
      20_000,
    );
    assert.match(told, /will not retry/);
    await eventually(() => b.fx.hs.membership(room, klined.userId) === 'leave', 'removed from the room');
    assert.match(
      asString(b.fx.hs.stateEvent(room, 'm.room.member', klined.userId)?.content.reason, 'reason'),
      /Could not connect to testnet/,
    );
    const client = b.connector().networks.get(NET)!.users.pool.get(klined.userId)!;
    await new Promise((r) => setTimeout(r, 2_000));
    assert.equal(client.status, 'failed');
    assert.equal(client.connectAttempts, 1);
    assert.equal(noticesTo(b.fx.hs, klined.userId).filter((n) => /Could not stay connected/.test(n)).length, 1);
  });

  it('!quit disconnects from IRC and leaves the bridged rooms', async () => {
    const b = await bridge({});
    const o = await observer('Qobs', '#quitter');
    const quinn = await b.fx.hs.registerUser('quinn', { displayname: 'quinn' });
    const from = o.lines.length;
    const room = await quinn.join(alias('#quitter'));
    await joined(o, 'quinn[m]', '#quitter', from);
    const admin = await quinn.createRoom({ is_direct: true, invite: [BOT], preset: 'trusted_private_chat' });
    await eventually(() => b.fx.hs.membership(admin, BOT) === 'join', 'bot in the admin room');
    await quinn.sendMessage(admin, '!quit');
    const reply = await eventually(() => botMessages(b.fx.hs, admin).find((m) => /Disconnected from/.test(m)), '!quit reply');
    assert.match(reply, /Disconnected from testnet\./);
    await o.waitFor((l) => /:quinn\[m\]!\S+ QUIT /.test(l), 10_000, from);
    await eventually(() => b.fx.hs.membership(room, quinn.userId) === 'leave', 'left the portal room');
    assert.equal(b.fx.hs.membership(admin, quinn.userId), 'join', 'the admin room is kept');
    assert.equal(b.connector().networks.get(NET)!.users.get(quinn.userId), undefined);
  });
});
