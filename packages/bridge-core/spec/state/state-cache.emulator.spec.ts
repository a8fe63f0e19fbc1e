import { strict as assert } from 'node:assert';
import { HomeserverEmulator } from '@causeway/testing';
import { RoomStateUnavailableError, StateCache } from '../../src/state/state-cache';
import { fetchStateFetcher, matrixClientStateFetcher } from '../../src/state/state-fetcher';
import { MatrixHttpClient } from '../../src/matrix/http-client';
import { Semaphore } from '../../src/state/semaphore';
import { seedRoom, seedRooms, stateRegistration, STATE_AS_TOKEN } from './emulator-seed';
import { MemoryKv } from './fixtures';

const STATE = 'GET /rooms/{roomId}/state';

describe('StateCache (emulator)', function () {
  this.timeout(120_000);
  let hs: HomeserverEmulator;
  const caches: StateCache[] = [];
  const newCache = (opts: Partial<ConstructorParameters<typeof StateCache>[0]> = {}) => {
    const c = new StateCache({
      fetcher: fetchStateFetcher({ baseUrl: hs.url, asToken: STATE_AS_TOKEN }),
      semaphore: new Semaphore(4),
      backoff: { baseMs: 5, maxMs: 20, maxRetries: 3 },
      botUserId: '@bridgebot:localhost',
      ...opts,
    });
    caches.push(c);
    return c;
  };

  beforeEach(async () => {
    hs = await HomeserverEmulator.start({ serverName: 'localhost', registrations: [stateRegistration()] });
  });
  afterEach(async () => {
    for (const c of caches.splice(0)) await c.close();
    await hs.stop();
  });

  it('warms 5,000 rooms with exactly one /state each, never above the cap', async function () {
    this.timeout(300_000);
    // Small rooms: this is about request counts and concurrency (the bench covers ~30-event rooms).
    const ids = seedRooms(hs, 5000, 5);
    hs.faults.setLatency(1, STATE);
    // Requests the cache has out at once, as it sees them: the cap must be used, not only respected.
    // (The emulator's own overlap count depends on timing: on a slow machine the four requests
    // can spend long enough in transit that no more than three are at the server at once.)
    const inner = fetchStateFetcher({ baseUrl: hs.url, asToken: STATE_AS_TOKEN });
    let out = 0;
    let peakOut = 0;
    const cache = newCache({
      maxRooms: 5000,
      fetcher: {
        async fetchRoomState(roomId, signal) {
          peakOut = Math.max(peakOut, ++out);
          try {
            return await inner.fetchRoomState(roomId, signal);
          } finally {
            out--;
          }
        },
      },
    });
    const res = await cache.warm(ids);
    assert.equal(res.fetched, 5000);
    assert.equal(res.failed, 0);
    assert.equal(hs.requestCount(STATE), 5000);
    assert.equal(hs.requestCount(), 5000, JSON.stringify(hs.requestCounts())); // nothing but /state
    assert.ok(hs.peakConcurrency(STATE) <= 4, `peak ${hs.peakConcurrency(STATE)}`);
    assert.equal(peakOut, 4);
    assert.equal(await cache.getName(ids[4321]), 'Bench room number 4321');
    assert.equal((await cache.getMembers(ids[17])).length, 5);
    assert.equal(hs.requestCount(STATE), 5000);
  });

  it('100 concurrent lookups of a cold room make one request', async () => {
    const [room] = seedRooms(hs, 1);
    hs.faults.setLatency(20, STATE);
    const cache = newCache();
    const answers = await Promise.all(Array.from({ length: 100 }, () => cache.getPowerLevel(room, '@bridgebot:localhost')));
    assert.ok(answers.every((a) => a === 100));
    assert.equal(hs.requestCount(STATE), 1);
  });

  it('state events from the homeserver update the cache with no request; the same event again changes nothing', async () => {
    const [room] = seedRooms(hs, 1);
    const cache = newCache();
    assert.equal(await cache.getTopic(room), 'The topic of bench room 0: discussion, links and the occasional cat picture');
    const bot = hs.appserviceClient('statecache');
    await bot.request('PUT', `/rooms/${encodeURIComponent(room)}/state/m.room.topic/`, { topic: 'New topic' });
    const after = hs.stateEvent(room, 'm.room.topic')!;
    assert.equal(after.content.topic, 'New topic');
    assert.ok(cache.onEvent({ ...after }));
    assert.equal(await cache.getTopic(room), 'New topic');
    assert.equal(cache.onEvent({ ...after }), false);
    assert.equal(await cache.getTopic(room), 'New topic');
    assert.equal(hs.requestCount(STATE), 1);
  });

  it('a 403 room does not poison the others', async () => {
    const ids = seedRooms(hs, 3);
    // A room the bot was never in.
    const alice = await hs.registerUser('alice');
    const foreign = await alice.createRoom({ preset: 'private_chat', name: 'Not yours' });
    const cache = newCache();
    const [a, bad, b] = await Promise.allSettled([cache.getName(ids[0]), cache.getName(foreign), cache.getName(ids[1])]);
    assert.equal(a.status, 'fulfilled');
    assert.equal(b.status, 'fulfilled');
    assert.equal(bad.status, 'rejected');
    assert.ok(bad.reason instanceof RoomStateUnavailableError, 'the homeserver refusal comes through as RoomStateUnavailableError');
    assert.equal(bad.reason.status, 403);
    await assert.rejects(() => cache.getName(foreign));
    assert.equal(await cache.getName(ids[2]), 'Bench room number 2');
    assert.equal(hs.requestCount(STATE), 4); // the 403 was asked once
  });

  it('retries 5xx and 429 from the homeserver', async () => {
    const [room] = seedRooms(hs, 1);
    hs.faults.serverError(STATE, { times: 2, status: 502 });
    hs.faults.rateLimit(STATE, { times: 1, retryAfterMs: 30 });
    const cache = newCache();
    assert.equal(await cache.joinRule(room), 'public');
    assert.equal(hs.requestCount(STATE), 4);
  });

  it('works through the shared MatrixHttpClient (its retries left to the cache)', async () => {
    const ids = seedRooms(hs, 3);
    const alice = await hs.registerUser('alice');
    const foreign = await alice.createRoom({ preset: 'private_chat' });
    const client = new MatrixHttpClient({ baseUrl: hs.url, asToken: STATE_AS_TOKEN, backoff: { baseMs: 5, maxMs: 20, maxRetries: 3 } });
    try {
      const cache = newCache({ fetcher: matrixClientStateFetcher(client) });
      hs.faults.serverError(STATE, { times: 1, status: 503 });
      assert.equal(await cache.getName(ids[0]), 'Bench room number 0');
      assert.equal(cache.stats().retries, 1);
      const err = await cache.getName(foreign).then(
        () => undefined,
        (e: unknown) => e as { status?: number },
      );
      assert.equal(err?.status, 403);
      assert.deepEqual(await Promise.all(ids.map((id) => cache.joinRule(id))), ['public', 'public', 'public']);
      assert.equal(hs.requestCount(STATE), 5);
    } finally {
      await client.close();
    }
  });

  it('persistence round trip: a restarted cache asks nothing', async () => {
    const ids = seedRooms(hs, 50);
    const kv = new MemoryKv();
    const c1 = newCache({ kv });
    await c1.warm(ids);
    await c1.close();
    assert.equal(hs.requestCount(STATE), 50);
    const c2 = newCache({ kv });
    const res = await c2.warm(ids);
    assert.equal(res.fromStore, 50);
    assert.equal(await c2.getName(ids[7]), 'Bench room number 7');
    assert.equal(hs.requestCount(STATE), 50);
  });

  it('eviction keeps the room count bounded', async () => {
    const ids = seedRooms(hs, 120, 5);
    const cache = newCache({ maxRooms: 25 });
    await cache.warm(ids);
    for (const id of ids.slice(0, 30)) await cache.getName(id);
    assert.equal(cache.size, 25);
    assert.equal(cache.stats().evictions, 120 + 30 - 25);
    // a room added later is fetched on first use
    const late = seedRoom(hs, 999, 3);
    assert.equal(await cache.getMembership(late, '@bridgebot:localhost'), 'join');
  });
});
