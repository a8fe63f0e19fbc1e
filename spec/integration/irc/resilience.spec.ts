/**
 * An IRC server outage with several Matrix users connected: everyone
 * reconnects through the network's rate-limited scheduler, and messages sent
 * during the outage reach IRC afterwards, in order — or the sender is told.
 */
import { strict as assert } from 'node:assert';
import { startInspircd, type InspircdHandle } from '@causeway/testing';
import { connectObserver, type Observer } from '@causeway/testing';
import type { TestUser } from '@causeway/testing';
import { startIrcBridge, alias, eventually, noticesTo, type IrcBridge } from './support';

describe('irc-bridge: IRC server restart', function () {
  this.timeout(90_000);
  let ircd: InspircdHandle;
  let b: IrcBridge;
  const observers: Observer[] = [];

  before(async () => {
    ircd = await startInspircd();
    b = await startIrcBridge(ircd, { clients: { connect_rate_per_second: 4, queue: { max_messages: 2, max_age_s: 300 } } });
  });
  after(async () => {
    await Promise.all(observers.map((o) => o.close().catch(() => undefined)));
    await b?.fx.stop();
    await ircd?.dispose();
  });

  it('reconnects every user under the configured rate and delivers queued messages in order; overflow is told', async () => {
    const net = b.connector().networks.get('testnet')!;
    const users: TestUser[] = [];
    const rooms: string[] = [];
    for (const name of ['uma', 'vic', 'wes']) {
      const u = await b.fx.hs.registerUser(name, { displayname: name[0].toUpperCase() + name.slice(1) });
      users.push(u);
      rooms.push(await u.join(alias('#outage')));
    }
    await eventually(
      () => users.every((_, i) => net.users.get(`@${['uma', 'vic', 'wes'][i]}:localhost`)?.status === 'connected'),
      'all connected',
      30_000,
    );

    // Hold reconnects until the witness is back in the channel, so it sees the flushed queue.
    net.scheduler.pause();
    const startedBefore = net.scheduler.startLog.length;
    await ircd.stop();
    await eventually(
      () => users.every((_, i) => net.users.get(`@${['uma', 'vic', 'wes'][i]}:localhost`)?.status !== 'connected'),
      'all disconnected',
      20_000,
    );
    for (let i = 0; i < 2; i++) {
      for (let u = 0; u < users.length; u++) await users[u].sendMessage(rooms[u], `during outage ${u}.${i}`);
    }
    // Uma's outbox holds 2: her third message is refused and she is told which one and why.
    await users[0].sendMessage(rooms[0], 'one too many');
    await eventually(
      () => noticesTo(b.fx.hs, '@uma:localhost').find((n) => n.includes('one too many') && /not delivered/.test(n)),
      'overflow notice',
      20_000,
    );
    await b.fx.bridge.idle();

    await ircd.start();
    const witness = await connectObserver(ircd, 'Witness');
    observers.push(witness);
    await witness.join('#outage');
    net.scheduler.resume();

    const strip = (l: string) => l.replace(/^@\S+ /, '');
    for (let u = 0; u < users.length; u++) {
      await witness.waitFor((l) => strip(l).endsWith(`PRIVMSG #outage :during outage ${u}.1`), 45_000);
      const mine = witness.lines
        .map(strip)
        .filter((l) => l.includes(`:during outage ${u}.`))
        .map((l) => l.replace(/^.*:during outage /, ''));
      assert.deepEqual(mine, [`${u}.0`, `${u}.1`], `user ${u} order`);
    }
    assert.ok(!witness.lines.some((l) => l.includes('one too many')));
    // Bot and all three users back; nothing left queued. (The bot need not be back before the
    // users' lines arrive: count the reconnects once everyone is.)
    await eventually(
      () => net.stats().connections.connected === 4 && net.stats().queuedMessages === 0,
      `all reconnected: ${JSON.stringify(net.stats())}`,
      20_000,
    );
    // Every (re)connect went through the scheduler, spaced at least 1/rate apart (4 per second).
    const starts = net.scheduler.startLog.slice(startedBefore);
    assert.ok(starts.length >= 4, `reconnects: ${starts.length}`);
    for (let i = 1; i < starts.length; i++) assert.ok(starts[i] - starts[i - 1] >= 249, `gap ${starts[i] - starts[i - 1]} ms`);
  });
});

describe('irc-bridge: a silently dead link', function () {
  this.timeout(60_000);
  let ircd: InspircdHandle;
  let b: IrcBridge;
  let olive: Observer | undefined;
  before(async () => {
    ircd = await startInspircd();
    b = await startIrcBridge(ircd, { clients: { ping_interval_s: 1, ping_timeout_s: 3, connect_timeout_s: 3 } });
  });
  after(async () => {
    ircd?.thaw();
    await olive?.close().catch(() => undefined);
    await b?.fx.stop();
    await ircd?.dispose();
  });

  it('is noticed by clients.ping_timeout_s (no error ever arrives); the user is told which line may be missing and reconnects once the server answers again', async () => {
    const net = b.connector().networks.get('testnet')!;
    const alice = await b.fx.hs.registerUser('alice', { displayname: 'alice' });
    const roomId = await alice.join(alias('#dead'));
    const before = await alice.sendMessage(roomId, 'before');
    await eventually(() => net.users.get(alice.userId)?.status === 'connected', 'alice connected');
    // 'before' went out and the server confirmed it (its echo's msgid is recorded): only what follows is unconfirmed.
    await eventually(async () => (await b.fx.bridge.store.messages.getByEvent(roomId, before)).length === 2, '"before" written and echoed');
    let registrations = 0;
    net.users.pool.on('connected', (userId) => {
      if (userId === alice.userId) registrations++;
    });
    ircd.freeze();
    // Written into the dead link: the server never confirms it (no echo).
    await alice.sendMessage(roomId, 'into the void');
    // Nothing is answered and nothing fails; only the ping timeout can tell the link is dead.
    await eventually(() => net.users.get(alice.userId)?.status !== 'connected', 'the dead link noticed', 15_000);
    // MAI lost such a line silently; here the user learns it may not have arrived.
    await eventually(
      () =>
        noticesTo(b.fx.hs, alice.userId).find((n) =>
          /dropped before the server confirmed this line; it may not have reached IRC: #dead: "into the void"/.test(n),
        ),
      'alice told which line may be missing',
    );
    ircd.thaw();
    await eventually(() => net.users.get(alice.userId)?.status === 'connected', 'alice connected again', 30_000);
    assert.equal(registrations, 1, 'a new connection registered, not the old one waking up');
    olive = await connectObserver(ircd, 'olive');
    await olive.join('#dead');
    const from = olive.lines.length;
    await alice.sendMessage(roomId, 'after');
    await olive.waitFor((l) => /:alice\[m\]!\S+ PRIVMSG #dead :after$/.test(l), 20_000, from);
  });
});
