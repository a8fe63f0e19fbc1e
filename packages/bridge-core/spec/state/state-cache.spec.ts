import { strict as assert } from 'node:assert';
import { StateCache, RoomStateUnavailableError, type StateCacheOptions } from '../../src/state/state-cache';
import { Semaphore } from '../../src/state/semaphore';
import { MatrixError } from '../../src/util/matrix-error';
import type { Logger } from '../../src/logging/logger';
import { ev, FakeHomeserver, makeRoom, MemoryKv, roomIdFor, SERVER } from './fixtures';

const FAST = { baseMs: 1, maxMs: 4, maxRetries: 3 };

class CapturingLogger implements Logger {
  lines: Array<{ level: string; msg: string }> = [];
  error(msg: string) {
    this.lines.push({ level: 'error', msg });
  }
  warn(msg: string) {
    this.lines.push({ level: 'warn', msg });
  }
  info(msg: string) {
    this.lines.push({ level: 'info', msg });
  }
  debug(msg: string) {
    this.lines.push({ level: 'debug', msg });
  }
  trace(msg: string) {
    this.lines.push({ level: 'trace', msg });
  }
  child(): Logger {
    return this;
  }
  isLevelEnabled() {
    return true;
  }
}

function setup(nRooms = 3, opts: Partial<StateCacheOptions> = {}) {
  const hs = new FakeHomeserver();
  for (let i = 0; i < nRooms; i++) hs.rooms.set(roomIdFor(i), makeRoom(i));
  const log = new CapturingLogger();
  const cache = new StateCache({ fetcher: hs, semaphore: new Semaphore(4), backoff: FAST, logger: log, ...opts });
  return { hs, cache, log };
}

describe('StateCache', () => {
  describe('lookups', () => {
    it('answers every question from one /state request', async () => {
      const { hs, cache } = setup();
      const room = roomIdFor(0);
      const admin = `@admin:${SERVER}`;
      assert.equal((await cache.getMembers(room)).length, 21);
      assert.equal(await cache.getMembership(room, '@user1:bench.example'), 'join');
      assert.equal(await cache.getMembership(room, '@nobody:bench.example'), undefined);
      const member = await cache.getMember(room, '@user1:bench.example');
      assert.equal(member?.displayname, 'User 1');
      assert.match(member.avatar_url!, /^mxc:\/\/bench\.example\/[A-Za-z]{24}$/);
      assert.deepEqual(await cache.getState(room, 'm.room.member', '@user1:bench.example'), {
        membership: 'join',
        displayname: 'User 1',
        avatar_url: member.avatar_url,
      });
      assert.equal(await cache.getPowerLevel(room, admin), 100);
      assert.equal(await cache.getPowerLevel(room, '@mod0:bench.example'), 50);
      assert.equal(await cache.getPowerLevel(room, '@user1:bench.example'), 0);
      assert.equal(await cache.requiredPowerLevel(room, 'm.room.name', true), 50);
      assert.equal(await cache.requiredPowerLevel(room, 'm.room.power_levels', true), 100);
      assert.equal(await cache.requiredPowerLevel(room, 'm.room.message', false), 0);
      assert.equal(await cache.requiredPowerLevel(room, 'org.example.state', true), 50);
      assert.equal(await cache.requiredPowerLevelFor(room, 'kick'), 50);
      assert.equal(await cache.canSend(room, '@user1:bench.example', 'm.room.topic', true), false);
      assert.equal(await cache.isEncrypted(room), true);
      assert.equal(await cache.isEncrypted(roomIdFor(1)), false);
      assert.equal(await cache.getName(room), 'Bench room number 0');
      assert.match((await cache.getTopic(room))!, /^The topic of bench room 0/);
      assert.equal(await cache.joinRule(room), 'public');
      assert.equal(await cache.joinRule(roomIdFor(1)), 'invite');
      assert.equal(await cache.getCanonicalAlias(room), '#bench-room-0:bench.example');
      assert.equal((await cache.getState(room, 'm.room.create'))?.room_version, '10');
      await assert.rejects(() => cache.getState(room, 'm.room.history_visibility'), /not a cached event type/);
      assert.equal(hs.count(room), 1);
      assert.equal(hs.count(roomIdFor(1)), 1);
      const s = cache.stats();
      assert.equal(s.misses, 2);
      assert.ok(s.hits >= 20);
      assert.equal(s.roomsCached, 2);
    });

    it('shares one request among 100 concurrent lookups of a cold room', async () => {
      const { hs, cache } = setup();
      hs.latencyMs = 20;
      const room = roomIdFor(2);
      const results = await Promise.all(
        Array.from({ length: 100 }, (_, i) => (i % 2 ? cache.getMembership(room, '@admin:bench.example') : cache.getName(room))),
      );
      assert.equal(hs.count(room), 1);
      assert.equal(results[0], 'Bench room number 2');
      assert.equal(results[1], 'join');
      assert.equal(cache.stats().coalesced, 99);
    });

    it('applies power-level defaults without a power_levels event, and room v12 creators', async () => {
      const hs = new FakeHomeserver();
      hs.rooms.set('!a:x', [ev('!a:x', 'm.room.create', '', { room_version: '10', creator: '@c:x' }, 1, '@c:x')]);
      hs.rooms.set('!b:x', [
        ev('!b:x', 'm.room.create', '', { room_version: '12', additional_creators: ['@d:x'] }, 1, '@c:x'),
        ev('!b:x', 'm.room.power_levels', '', { users: { '@e:x': 75 } }, 2),
      ]);
      const cache = new StateCache({ fetcher: hs, semaphore: new Semaphore(2) });
      assert.equal(await cache.getPowerLevel('!a:x', '@c:x'), 100);
      assert.equal(await cache.getPowerLevel('!a:x', '@z:x'), 0);
      assert.equal(await cache.requiredPowerLevel('!a:x', 'm.room.name', true), 0);
      assert.equal(await cache.getPowerLevel('!b:x', '@c:x'), Infinity);
      assert.equal(await cache.getPowerLevel('!b:x', '@d:x'), Infinity);
      assert.equal(await cache.getPowerLevel('!b:x', '@e:x'), 75);
      assert.equal(await cache.joinRule('!a:x'), 'invite');
    });

    it('keeps names with non-Latin-1 and control characters intact', async () => {
      const hs = new FakeHomeserver();
      const weird = ['Zoë 🦊 李', 'tab\there\x1e\x1f\x01', '', '\x04'];
      hs.rooms.set('!u:x', [
        ...weird.map((d, i) =>
          ev('!u:x', 'm.room.member', `@u${i}:x`, { membership: 'join', displayname: d, avatar_url: `mxc://other/${i}` }),
        ),
        ev('!u:x', 'm.room.member', '@odd\x1fkey:x', { membership: 'invite' }),
        ev('!u:x', 'm.room.name', '', { name: 'Ünïcødé 名前 \u2028' }),
        ev('!u:x', 'm.room.member', '@k:x', { membership: 'knock', displayname: 42 }),
      ]);
      const cache = new StateCache({ fetcher: hs, semaphore: new Semaphore(2) });
      for (let i = 0; i < weird.length; i++) {
        const m = await cache.getMember('!u:x', `@u${i}:x`);
        assert.equal(m?.displayname, weird[i]);
        assert.equal(m?.avatar_url, `mxc://other/${i}`);
      }
      assert.equal(await cache.getMembership('!u:x', '@odd\x1fkey:x'), 'invite');
      assert.equal(await cache.getMembership('!u:x', '@k:x'), 'knock');
      assert.equal((await cache.getMember('!u:x', '@k:x'))?.displayname, undefined);
      assert.equal(await cache.getName('!u:x'), 'Ünïcødé 名前 \u2028');
      assert.deepEqual((await cache.getMembers('!u:x', 'all')).map((m) => m.userId).sort(), [
        '@k:x',
        '@odd\x1fkey:x',
        '@u0:x',
        '@u1:x',
        '@u2:x',
        '@u3:x',
      ]);
    });

    it('handles big rooms (map mode) including updates', async () => {
      const hs = new FakeHomeserver();
      const room = roomIdFor(9);
      hs.rooms.set(room, makeRoom(9, 500));
      const cache = new StateCache({ fetcher: hs, semaphore: new Semaphore(2) });
      assert.equal((await cache.getMembers(room)).length, 500);
      const userId = (await cache.getMembers(room))[250].userId;
      assert.ok(cache.onEvent(ev(room, 'm.room.member', userId, { membership: 'leave' }, 1_800_000_000_000)));
      assert.equal(await cache.getMembership(room, userId), 'leave');
      assert.equal((await cache.getMembers(room)).length, 499);
      assert.equal(hs.count(room), 1);
    });
  });

  describe('events', () => {
    it('updates from onEvent with no request, in arrival order whatever origin_server_ts says', async () => {
      const { hs, cache } = setup();
      const room = roomIdFor(0);
      await cache.ensure(room);
      const t0 = 1_700_000_000_000;
      assert.ok(cache.onEvent(ev(room, 'm.room.name', '', { name: 'Renamed' }, t0 + 10_000)));
      assert.equal(await cache.getName(room), 'Renamed');
      // A sending server's clock is not an order: the homeserver's stream is.
      assert.ok(cache.onEvent(ev(room, 'm.room.name', '', { name: 'Renamed again' }, t0 + 5_000)));
      assert.equal(await cache.getName(room), 'Renamed again');
      // The same event delivered twice changes nothing.
      const same = ev(room, 'm.room.topic', '', { topic: 'once' }, t0 + 6_000);
      assert.ok(cache.onEvent(same));
      assert.equal(cache.onEvent(same), false);
      // A join stamped far in the future does not outlive the ban that follows it (it used to:
      // a banned user kept 'join' and their power for provisioning checks).
      const mallory = '@mallory:evil.example';
      cache.onEvent(ev(room, 'm.room.member', mallory, { membership: 'join' }, t0 + 10 * 365 * 86_400_000));
      cache.onEvent(ev(room, 'm.room.power_levels', '', { users: { [mallory]: 100 } }, t0 + 10 * 365 * 86_400_000));
      cache.onEvent(ev(room, 'm.room.power_levels', '', { users: {} }, t0 + 7_000));
      cache.onEvent(ev(room, 'm.room.member', mallory, { membership: 'ban' }, t0 + 7_000));
      assert.equal(await cache.getMembership(room, mallory), 'ban');
      assert.equal(await cache.getPowerLevel(room, mallory), 0);
      // membership changes
      cache.onEvent(ev(room, 'm.room.member', '@new:bench.example', { membership: 'join', displayname: 'New' }, t0 + 20_000));
      cache.onEvent(ev(room, 'm.room.member', '@user1:bench.example', { membership: 'leave' }, t0 + 20_000));
      assert.equal(await cache.getMembership(room, '@new:bench.example'), 'join');
      assert.equal(await cache.getMembership(room, '@user1:bench.example'), 'leave');
      assert.equal((await cache.getMembers(room)).length, 21);
      assert.equal((await cache.getMembers(room, 'leave')).length, 1);
      cache.onEvent(ev(room, 'm.room.power_levels', '', { users: { '@new:bench.example': 60 }, state_default: 40 }, t0 + 30_000));
      assert.equal(await cache.getPowerLevel(room, '@new:bench.example'), 60);
      assert.equal(await cache.requiredPowerLevel(room, 'm.room.topic', true), 40);
      // not kept, not a state event, other room: ignored
      assert.equal(cache.onEvent(ev(room, 'm.room.history_visibility', '', { history_visibility: 'joined' }, t0 + 40_000)), false);
      assert.equal(cache.onEvent({ type: 'm.room.message', room_id: room, content: { body: 'hi' } }), false);
      assert.equal(cache.onEvent(ev(roomIdFor(1), 'm.room.name', '', { name: 'x' })), false);
      assert.equal(hs.totalRequests, 1);
    });

    it('applies redactions of cached state events', async () => {
      const { hs, cache } = setup();
      const room = roomIdFor(0);
      const nameEv = ev(room, 'm.room.name', '', { name: 'Secret name' }, 1_800_000_000_000);
      const memberEv = ev(room, 'm.room.member', '@x:bench.example', { membership: 'join', displayname: 'Rude name' }, 1_800_000_000_000);
      await cache.ensure(room);
      cache.onEvent(nameEv);
      cache.onEvent(memberEv);
      assert.equal(
        cache.onEvent({ type: 'm.room.redaction', room_id: room, redacts: '$unrelated', content: {}, origin_server_ts: 1_800_000_000_001 }),
        false,
      );
      assert.ok(
        cache.onEvent({
          type: 'm.room.redaction',
          room_id: room,
          redacts: nameEv.event_id,
          content: {},
          origin_server_ts: 1_800_000_000_001,
        }),
      );
      assert.ok(
        cache.onEvent({
          type: 'm.room.redaction',
          room_id: room,
          content: { redacts: memberEv.event_id },
          origin_server_ts: 1_800_000_000_001,
        }),
      );
      assert.equal(await cache.getName(room), undefined);
      assert.deepEqual(await cache.getMember(room, '@x:bench.example'), { userId: '@x:bench.example', membership: 'join' });
      assert.equal(hs.totalRequests, 1);
    });

    it('buffers events for a room being fetched and applies them to the result, in arrival order', async () => {
      const { hs, cache } = setup();
      hs.latencyMs = 30;
      const room = roomIdFor(1);
      const p = cache.getName(room);
      await new Promise((r) => setTimeout(r, 5));
      // Arriving after the request went out: newer than the snapshot, or followed by what replaced
      // them (the homeserver sends a room's events in order), so they apply whatever their timestamps.
      assert.ok(cache.onEvent(ev(room, 'm.room.name', '', { name: 'During fetch' }, 1_800_000_000_000)));
      assert.ok(cache.onEvent(ev(room, 'm.room.topic', '', { topic: 'first' }, 1_600_000_000_000)));
      assert.ok(cache.onEvent(ev(room, 'm.room.topic', '', { topic: 'then this' }, 1_500_000_000_000)));
      assert.equal(await p, 'During fetch');
      assert.equal(await cache.getTopic(room), 'then this');
      assert.equal(hs.count(room), 1);
    });

    it('drops a room when the bot leaves it', async () => {
      const { hs, cache } = setup(3, { botUserId: `@admin:${SERVER}` });
      const room = roomIdFor(0);
      await cache.ensure(room);
      cache.onEvent(ev(room, 'm.room.member', `@admin:${SERVER}`, { membership: 'leave' }, 1_800_000_000_000));
      assert.equal(cache.has(room), false);
      await cache.getName(room);
      assert.equal(hs.count(room), 2);
    });
  });

  describe('bounds', () => {
    it('evicts least-recently-used rooms beyond maxRooms', async () => {
      const { hs, cache } = setup(30, { maxRooms: 10 });
      for (let i = 0; i < 10; i++) await cache.ensure(roomIdFor(i));
      await cache.getName(roomIdFor(0)); // touch: now most recent
      for (let i = 10; i < 30; i++) await cache.ensure(roomIdFor(i));
      assert.equal(cache.size, 10);
      assert.equal(cache.stats().evictions, 20);
      assert.equal(cache.has(roomIdFor(0)), false);
      // touched room outlived its peers of the first batch
      const { cache: c2 } = setup(12, { maxRooms: 10 });
      for (let i = 0; i < 10; i++) await c2.ensure(roomIdFor(i));
      await c2.getName(roomIdFor(0));
      await c2.ensure(roomIdFor(10));
      await c2.ensure(roomIdFor(11));
      assert.ok(c2.has(roomIdFor(0)));
      assert.ok(!c2.has(roomIdFor(1)) && !c2.has(roomIdFor(2)));
      assert.equal(hs.totalRequests, 30);
    });

    it('never runs more requests than the shared semaphore allows, across caches', async () => {
      const hs = new FakeHomeserver();
      hs.latencyMs = 2;
      for (let i = 0; i < 200; i++) hs.rooms.set(roomIdFor(i), makeRoom(i, 3));
      const sem = new Semaphore(3);
      const a = new StateCache({ fetcher: hs, semaphore: sem });
      const b = new StateCache({ fetcher: hs, semaphore: sem });
      const ids = Array.from({ length: 200 }, (_, i) => roomIdFor(i));
      await Promise.all([a.warm(ids.slice(0, 100)), b.warm(ids.slice(100)), ...ids.slice(50, 150).map((id) => a.getName(id))]);
      assert.ok(hs.peak <= 3, `peak ${hs.peak}`);
      assert.equal(sem.peak, 3);
    });
  });

  describe('failures', () => {
    it('a 403 room does not poison others, is negatively cached, then retried', async () => {
      let now = 1_000_000;
      const { hs, cache, log } = setup(3, { negativeTtlMs: 50, now: () => now });
      const bad = roomIdFor(1);
      hs.forbidden.set(bad, new MatrixError(403, 'M_FORBIDDEN', 'You are not in this room'));
      const results = await Promise.allSettled([cache.getName(roomIdFor(0)), cache.getName(bad), cache.getName(roomIdFor(2))]);
      assert.equal(results[0].status, 'fulfilled');
      assert.equal(results[2].status, 'fulfilled');
      assert.equal(results[1].status, 'rejected');
      const err = results[1].reason as RoomStateUnavailableError;
      assert.ok(err instanceof RoomStateUnavailableError);
      assert.equal(err.status, 403);
      assert.equal(err.errcode, 'M_FORBIDDEN');
      await assert.rejects(() => cache.getMembers(bad), RoomStateUnavailableError);
      assert.equal(hs.count(bad), 1); // no retry for a 403, and negative cache holds
      assert.ok(log.lines.some((l) => l.level === 'warn' && l.msg.includes(bad)));
      now += 60; // past the negative TTL, without real waiting
      hs.forbidden.delete(bad);
      assert.equal(await cache.getName(bad), 'Bench room number 1');
      assert.equal(hs.count(bad), 2);
    });

    it('forgets a negative entry when the bot is let into the room', async () => {
      const { hs, cache } = setup(3, { negativeTtlMs: 60_000, botUserId: '@bot:bench.example' });
      const bad = roomIdFor(2);
      hs.forbidden.set(bad, new MatrixError(403, 'M_FORBIDDEN', 'not in room'));
      await assert.rejects(() => cache.getName(bad), RoomStateUnavailableError);
      cache.onEvent(ev(bad, 'm.room.member', '@bot:bench.example', { membership: 'leave' }, 1_800_000_000_000));
      await assert.rejects(() => cache.getName(bad), RoomStateUnavailableError);
      hs.forbidden.delete(bad);
      cache.onEvent(ev(bad, 'm.room.member', '@bot:bench.example', { membership: 'invite' }, 1_800_000_000_000));
      assert.equal(await cache.getName(bad), 'Bench room number 2');
      assert.equal(hs.count(bad), 2);
    });

    it('retries 5xx/429/network errors with backoff, honouring retry_after_ms', async () => {
      const { hs, cache } = setup();
      const room = roomIdFor(0);
      hs.faults.set(room, [
        new MatrixError(502, 'M_UNKNOWN', 'bad gateway'),
        new MatrixError(429, 'M_LIMIT_EXCEEDED', 'slow down', { retry_after_ms: 40 }),
      ]);
      const t = Date.now();
      assert.equal(await cache.getName(room), 'Bench room number 0');
      assert.ok(Date.now() - t >= 38);
      assert.equal(hs.count(room), 3);
      assert.equal(cache.stats().retries, 2);
    });

    it('gives up after the bound with a clear log line', async () => {
      const { hs, cache, log } = setup();
      const room = roomIdFor(0);
      hs.faults.set(
        room,
        Array.from({ length: 10 }, () => new MatrixError(500, 'M_UNKNOWN', 'boom')),
      );
      await assert.rejects(() => cache.getName(room), /unavailable: boom/);
      assert.equal(hs.count(room), FAST.maxRetries + 1);
      assert.ok(
        log.lines.some((l) => l.level === 'error' && /giving up on .* after 4 attempts/.test(l.msg)),
        JSON.stringify(log.lines),
      );
      assert.equal(await cache.getName(roomIdFor(1)), 'Bench room number 1');
    });
  });

  describe('warm-up', () => {
    it('warms 5,000 rooms with one request each, never above the cap, answering lookups meanwhile', async function () {
      this.timeout(60_000);
      const hs = new FakeHomeserver();
      hs.latencyMs = 1;
      const N = 5000;
      for (let i = 0; i < N; i++) hs.rooms.set(roomIdFor(i), makeRoom(i, 5));
      const log = new CapturingLogger();
      const cache = new StateCache({ fetcher: hs, semaphore: new Semaphore(4), logger: log, progressIntervalMs: 200, maxRooms: N });
      let lastProgress = 0;
      const warming = cache.warm(
        Array.from({ length: N }, (_, i) => roomIdFor(i)),
        {
          onProgress: (p) => {
            lastProgress = p.done;
          },
        },
      );
      // A lookup for a room far down the list jumps the queue.
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(await cache.getName(roomIdFor(N - 1)), `Bench room number ${N - 1}`);
      // It jumped the queue: answered while most of the warm-up was still waiting (no timing involved).
      assert.ok(cache.stats().warmupPending > 1000, 'warm-up still running');
      const res = await warming;
      assert.equal(res.total, N);
      assert.equal(res.done, N);
      assert.equal(res.fetched + res.skipped, N);
      assert.equal(lastProgress, N);
      assert.equal(hs.totalRequests, N);
      for (let i = 0; i < N; i++) assert.equal(hs.count(roomIdFor(i)), 1);
      assert.ok(hs.peak <= 4, `peak ${hs.peak}`);
      assert.equal(hs.peak, 4);
      assert.equal(cache.size, N);
      assert.equal(cache.stats().warmupPending, 0);
      assert.ok(
        log.lines.some((l) => /^state cache warm-up: \d+\/5000 rooms$/.test(l.msg)),
        'progress logged',
      );
      assert.ok(log.lines.some((l) => /^state cache warm-up finished: 5000\/5000 rooms/.test(l.msg)));
    });
  });

  describe('persistence', () => {
    it('round-trips through the KeyValueRepository: no refetch after a restart', async () => {
      const kv = new MemoryKv();
      const { hs, cache } = setup(20, { kv });
      const ids = Array.from({ length: 20 }, (_, i) => roomIdFor(i));
      await cache.warm(ids);
      assert.equal(kv.gets, 0, 'warm-up reads the store in bulk, not room by room');
      cache.onEvent(ev(ids[3], 'm.room.name', '', { name: 'Changed before restart' }, 1_800_000_000_000));
      await cache.close();
      assert.equal(hs.totalRequests, 20);
      assert.equal([...kv.data.keys()].filter((k) => k.startsWith('state-cache\u0000')).length, 20);

      // "restart": lazy load
      const c2 = new StateCache({ fetcher: hs, semaphore: new Semaphore(4), kv });
      assert.equal(await c2.getName(ids[3]), 'Changed before restart');
      assert.equal((await c2.getMembers(ids[5])).length, 21);
      assert.equal(hs.totalRequests, 20);
      // bulk at warm-up
      const c3 = new StateCache({ fetcher: hs, semaphore: new Semaphore(4), kv });
      const res = await c3.warm(ids);
      assert.equal(res.fromStore, 20);
      assert.equal(kv.lists, 2); // c3's warm-up plus the first cache's (which found nothing)
      assert.equal(hs.totalRequests, 20);
      assert.equal(c3.stats().loadedFromStore, 20);
      await c2.close();
      await c3.close();
    });

    it('ignores persisted rooms with another version stamp or when stale', async () => {
      const kv = new MemoryKv();
      const { hs, cache } = setup(2, { kv });
      await cache.ensure(roomIdFor(0));
      await cache.close();
      // Different event types → different stamp → refetch.
      const c2 = new StateCache({ fetcher: hs, semaphore: new Semaphore(4), kv, eventTypes: ['m.room.member', 'm.room.name'] });
      assert.equal(await c2.getName(roomIdFor(0)), 'Bench room number 0');
      assert.equal(hs.count(roomIdFor(0)), 2);
      await c2.close();
      // A state event for a room not in memory makes the persisted copy stale: it is deleted.
      const c3 = new StateCache({ fetcher: hs, semaphore: new Semaphore(4), kv, eventTypes: ['m.room.member', 'm.room.name'] });
      c3.onEvent(ev(roomIdFor(0), 'm.room.name', '', { name: 'while evicted' }, 1_800_000_000_000));
      hs.rooms.get(roomIdFor(0))!.push(ev(roomIdFor(0), 'm.room.name', '', { name: 'while evicted' }, 1_800_000_000_000));
      assert.equal(await c3.getName(roomIdFor(0)), 'while evicted');
      assert.equal(hs.count(roomIdFor(0)), 3);
      await c3.close();
    });
  });
});

describe('Semaphore', () => {
  it('grants high priority first and promotes waiters', async () => {
    const s = new Semaphore(1);
    const order: string[] = [];
    const r0 = await s.acquire();
    const n1 = s.enqueue('normal');
    const n2 = s.enqueue('normal');
    const h1 = s.enqueue('high');
    n2.promote();
    for (const [name, t] of [
      ['n1', n1],
      ['n2', n2],
      ['h1', h1],
    ] as const)
      void t.promise.then((rel) => {
        order.push(name);
        setTimeout(rel, 1);
      });
    assert.equal(s.waiting, 3);
    r0();
    while (order.length < 3) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 5)); // let the last release run
    assert.deepEqual(order, ['h1', 'n2', 'n1']);
    assert.equal(s.active, 0);
    assert.equal(s.peak, 1);
  });

  it('cancels queued waiters and resizes', async () => {
    const s = new Semaphore(1);
    const r = await s.acquire();
    const t = s.enqueue();
    t.cancel();
    await assert.rejects(t.promise, /cancelled/);
    assert.equal(s.waiting, 0);
    const t2 = s.enqueue();
    s.setCapacity(2);
    const r2 = await t2.promise;
    assert.equal(s.active, 2);
    r();
    r2();
    r2();
    assert.equal(s.active, 0);
    assert.throws(() => new Semaphore(0), RangeError);
  });
});
