/**
 * The Gitter bridge killed with SIGKILL mid-burst, as a separate process started from
 * config/gitter.sample.yaml, in each direction:
 * - Matrix → Gitter: messages the homeserver handed over while Gitter's rate limit held them
 *   back all reach Gitter after the restart, once each, in order (the send that was in flight is
 *   found in history rather than posted twice).
 * - Gitter → Matrix: messages posted before and while the bridge was dead reach the room after
 *   the restart (the stream's saved cursor, then history), once each, in order.
 */
import { strict as assert } from 'node:assert';
import path from 'node:path';
import { GitterEmulator, HomeserverEmulator, eventually, type GitterTestUser, type TestUser } from '@causeway/testing';
import { BridgeProcess } from '@causeway/testing/bridge';
import { GitterConnector } from '@causeway/gitter-bridge';
import { sampleConfig } from './fixtures/gitter-bridge-proc';
import { adminRoom, BOT, ghostId, messages } from './support';

describe('gitter-bridge: the bridge killed with SIGKILL', function () {
  this.timeout(150_000);
  let hs: HomeserverEmulator;
  let gitter: GitterEmulator;
  let relay: GitterTestUser;
  let alice: GitterTestUser;
  let room: { id: string };
  let bridge: BridgeProcess;
  let bob: TestUser;
  let roomId: string;

  /** Each of `n` numbered texts once, in order (arrivals: the numbers as they arrived). */
  const onceInOrder = (arrivals: number[], n: number) =>
    assert.deepEqual(
      arrivals,
      Array.from({ length: n }, (_, i) => i),
      `arrivals: ${arrivals.join(' ')}`,
    );

  beforeEach(async () => {
    hs = await HomeserverEmulator.start({ serverName: 'localhost', pushRetryBaseMs: 50, pushRetryMaxMs: 500 });
    gitter = await GitterEmulator.start({ stream: { keepAliveMs: 200 } });
    relay = gitter.createUser('causeway-bot');
    alice = gitter.createUser('alice', { displayName: 'Alice' });
    room = gitter.createRoom({ uri: 'acme/chat', members: [alice.id] });
    bridge = await BridgeProcess.create({
      entry: path.join(__dirname, 'fixtures/gitter-bridge-proc.ts'),
      hs,
      protocol: new GitterConnector().protocol,
      name: 'causeway-gitter-kill-',
      config: (site) => sampleConfig({ ...site, restUrl: gitter.restBaseUrl, streamUrl: gitter.streamBaseUrl, token: relay.token }),
    });
    await bridge.start();
    bob = await hs.registerUser('bob', { displayname: 'Bob' });
    const admin = await adminRoom(hs, await hs.registerUser('admin'));
    roomId = await bob.createRoom({ preset: 'public_chat', invite: [BOT] });
    assert.match(await admin.command(`!link ${roomId} acme/chat`), /^Linked/);
    await eventually(() => gitter.streams.count({ roomId: room.id, token: relay.token }) === 1, 'stream open');
  });
  afterEach(async function () {
    await bridge.dispose({ failed: this.currentTest?.state === 'failed' });
    await hs.stop();
    await gitter.stop();
  });

  it('Matrix → Gitter: a burst held back by the rate limit reaches Gitter after the restart, once each, in order', async () => {
    gitter.setRateLimit({ limit: 3, windowMs: 1500 });
    const N = 15;
    for (let i = 0; i < N; i++) await bob.sendMessage(roomId, `m${i}`);
    const sent = () => gitter.messagesBy(room.id, relay.id).map((m) => Number(/^\*\*Bob\*\*: m(\d+)$/.exec(m.text)?.[1] ?? -1));
    await eventually(() => hs.pusher.pending() === 0, 'every event acknowledged', 20_000);
    await eventually(() => sent().length >= 2, 'a few sent', 20_000);
    await bridge.kill();
    assert.ok(sent().length < N, `killed mid-burst (${sent().length} of ${N} out)`);

    await bridge.start();
    await eventually(() => sent().length >= N, 'every message on Gitter', 90_000).catch((err: Error) => {
      throw new Error(`${err.message}: ${sent().join(' ')}`);
    });
    await new Promise((r) => setTimeout(r, 1500)); // a duplicate would show up by now
    onceInOrder(sent(), N);
  });

  it('Gitter → Matrix: messages posted around the kill reach the room after the restart, once each, in order', async () => {
    await alice.post(room.id, 'g0');
    const bodies = () => messages(hs, roomId, ghostId('alice')).map((e) => Number(/^g(\d+)$/.exec(String(e.content.body))?.[1] ?? -1));
    await eventually(() => bodies().length === 1, 'first message', 20_000);
    const N = 30;
    const burst = (async () => {
      for (let i = 1; i < N; i++) await alice.post(room.id, `g${i}`);
    })();
    await eventually(() => bodies().length >= 4, 'part of the burst bridged', 20_000);
    await bridge.kill();
    await burst; // the rest is posted while the bridge is dead
    const before = bodies().length;
    assert.ok(before < N, `killed mid-burst (${before} of ${N} in)`);

    await bridge.start();
    await eventually(() => bodies().length >= N, 'every message in the room', 60_000).catch((err: Error) => {
      throw new Error(`${err.message}: ${bodies().join(' ')}`);
    });
    await alice.post(room.id, `g${N}`);
    await eventually(() => bodies().includes(N), 'live after the restart', 20_000);
    onceInOrder(bodies(), N + 1);
  });
});
