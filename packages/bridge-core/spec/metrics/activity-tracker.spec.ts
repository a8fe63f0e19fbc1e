import { strict as assert } from 'node:assert';
import { ActivityTracker, ACTIVITY_NAMESPACE } from '../../src/metrics/activity-tracker';
import { BridgeMetrics } from '../../src/metrics/bridge-metrics';
import { MemoryKv, parseExposition, value } from './helpers';

const HOUR = 3600_000;
const DAY = 24 * HOUR;

describe('ActivityTracker', () => {
  let now: number;
  const clock = () => now;
  beforeEach(() => {
    now = Date.UTC(2025, 5, 1, 12);
  });

  it('counts users per kind and rooms within 1d/7d/30d windows (injected clock)', () => {
    const t = new ActivityTracker({ now: clock });
    t.recordMatrixUser('@a:hs');
    now += 2 * DAY;
    t.recordMatrixUser('@b:hs');
    t.recordRemoteUser('@irc_c:hs');
    t.recordRoom('!r1:hs');
    now += 6 * DAY; // a: 8d ago, b and c: 6d ago
    let c = t.counts();
    assert.deepEqual(c.users['1d'], { matrix: 0, remote: 0 });
    assert.deepEqual(c.users['7d'], { matrix: 1, remote: 1 });
    assert.deepEqual(c.users['30d'], { matrix: 2, remote: 1 });
    assert.deepEqual(c.rooms, { '1h': 0, '1d': 0, '7d': 1, '30d': 1 });
    assert.equal(t.activeUsers(7 * DAY, 'matrix'), 1);
    assert.equal(t.activeRooms(DAY), 0);
    // activity again refreshes; the window edge is inclusive
    t.recordMatrixUser('@a:hs');
    now += DAY;
    c = t.counts();
    assert.equal(c.users['1d'].matrix, 1);
    // the same user ID counted once however often it talks
    for (let i = 0; i < 10; i++) t.recordMatrixUser('@a:hs');
    assert.equal(t.counts().users['30d'].matrix, 2);
    // a recording with an older timestamp does not move last activity back
    t.recordMatrixUser('@a:hs', now - 20 * DAY);
    assert.equal(t.counts().users['1d'].matrix, 1);
    // past 30 days everyone is gone and forgotten
    now += 31 * DAY;
    c = t.counts();
    assert.deepEqual(c.users['30d'], { matrix: 0, remote: 0 });
    assert.equal(t.size, 0);
  });

  it('counts the last hour, and each network on its own while totals count a user once', async () => {
    const kv = new MemoryKv(clock);
    const t = new ActivityTracker({ kv, now: clock, flushIntervalMs: 0 });
    await t.init();
    t.recordMatrixUser('@a:hs', undefined, 'T1');
    t.recordRoom('!r1:hs', undefined, 'T1');
    now += 2 * HOUR;
    t.recordMatrixUser('@a:hs', undefined, 'T2');
    t.recordMatrixUser('@b:hs', undefined, 'T2');
    t.recordRemoteUser('@slack_u:hs', undefined, 'T2');
    t.recordRoom('!r2:hs', undefined, 'T2');
    now += 30 * 60_000;
    let c = t.counts();
    assert.deepEqual(c.users['1h'], { matrix: 2, remote: 1 }, '@a (on T2) and @b talked within the hour');
    assert.deepEqual(c.users['1d'], { matrix: 2, remote: 1 }, '@a counts once although it talked on two networks');
    assert.deepEqual(c.networks.T1.users['1h'], { matrix: 0, remote: 0 });
    assert.deepEqual(c.networks.T1.users['1d'], { matrix: 1, remote: 0 });
    assert.deepEqual(c.networks.T2.users['1h'], { matrix: 2, remote: 1 });
    assert.deepEqual(c.networks.T1.rooms, { '1h': 0, '1d': 1, '7d': 1, '30d': 1 });
    assert.deepEqual(c.networks.T2.rooms, { '1h': 1, '1d': 1, '7d': 1, '30d': 1 });
    // Per-network activity survives a restart like the totals.
    await t.close();
    const t2 = new ActivityTracker({ kv, now: clock, flushIntervalMs: 0 });
    await t2.init();
    c = t2.counts();
    assert.deepEqual(c.networks.T1.users['1d'], { matrix: 1, remote: 0 });
    assert.deepEqual(c.networks.T2.users['1d'], { matrix: 2, remote: 1 });
    // The exposition: per-network series next to the totals, a network gone quiet at 0.
    const m = new BridgeMetrics({ protocol: 'slack', processMetrics: false, activity: t2 });
    let s = parseExposition(await m.metrics());
    assert.equal(value(s, 'causeway_active_users_by_network', { network: 'T2', window: '1h', kind: 'matrix' }), 2);
    assert.equal(value(s, 'causeway_active_users_by_network', { network: 'T1', window: '1d', kind: 'matrix' }), 1);
    assert.equal(value(s, 'causeway_active_rooms_by_network', { network: 'T1', window: '1h' }), 0);
    assert.equal(value(s, 'causeway_active_users', { window: '1d', kind: 'matrix' }), 2);
    now += 31 * DAY;
    s = parseExposition(await m.metrics());
    assert.equal(value(s, 'causeway_active_users_by_network', { network: 'T2', window: '30d', kind: 'matrix' }), 0);
  });

  it('persists to the store and survives a restart', async () => {
    const kv = new MemoryKv(clock);
    const t1 = new ActivityTracker({ kv, now: clock, flushIntervalMs: 0 });
    await t1.init();
    t1.recordMatrixUser('@alice:hs');
    t1.recordRemoteUser('@irc_bob:hs');
    t1.recordRoom('!room:hs');
    now += 3 * DAY;
    t1.recordMatrixUser('@carol:hs');
    await t1.close();
    const keys = (await kv.list(ACTIVITY_NAMESPACE)).map((e) => e.key);
    assert.deepEqual(keys, ['matrix:@alice:hs', 'matrix:@carol:hs', 'remote:@irc_bob:hs', 'room:!room:hs']);

    // "restart": a new tracker over the same store
    now += HOUR;
    const t2 = new ActivityTracker({ kv, now: clock, flushIntervalMs: 0 });
    await t2.init();
    const c = t2.counts();
    assert.deepEqual(c.users['1d'], { matrix: 1, remote: 0 });
    assert.deepEqual(c.users['7d'], { matrix: 2, remote: 1 });
    assert.deepEqual(c.rooms['30d'], 1);

    // scraped through BridgeMetrics after the restart
    const metrics = new BridgeMetrics({ protocol: 'test', processMetrics: false, activity: t2 });
    const s = parseExposition(await metrics.metrics());
    assert.equal(value(s, 'causeway_active_users', { window: '30d', kind: 'matrix' }), 2);
    assert.equal(value(s, 'causeway_active_users', { window: '30d', kind: 'remote' }), 1);
    assert.equal(value(s, 'causeway_active_rooms', { window: '7d' }), 1);

    // entries expire from the store with the 30-day retention
    now += 30 * DAY;
    assert.deepEqual(await kv.list(ACTIVITY_NAMESPACE), []);
    await t2.close();
  });

  it('writes each user at most once per hour (write-behind)', async () => {
    const kv = new MemoryKv(clock);
    const t = new ActivityTracker({ kv, now: clock, flushIntervalMs: 0 });
    await t.init();
    for (let i = 0; i < 60; i++) {
      t.recordMatrixUser('@chatty:hs');
      t.recordRoom('!busy:hs');
      now += 30_000; // every 30 s for 30 min
      await t.flush();
    }
    assert.equal(kv.puts, 2);
    now += 31 * 60_000; // past the hour since the first write
    t.recordMatrixUser('@chatty:hs');
    await t.flush();
    assert.equal(kv.puts, 3);
    const stored = await kv.get<{ ts: number }>(ACTIVITY_NAMESPACE, 'matrix:@chatty:hs');
    assert.equal(stored?.ts, now);
  });

  it('the stored timestamp is the latest activity at flush time', async () => {
    const kv = new MemoryKv(clock);
    const t = new ActivityTracker({ kv, now: clock, flushIntervalMs: 0 });
    await t.init();
    t.recordMatrixUser('@a:hs');
    now += 10 * 60_000;
    t.recordMatrixUser('@a:hs'); // within the hour: no new write queued, but the pending one carries it
    await t.flush();
    assert.equal((await kv.get<{ ts: number }>(ACTIVITY_NAMESPACE, 'matrix:@a:hs'))?.ts, now);
  });

  it('retries writes after a store failure', async () => {
    const kv = new MemoryKv(clock);
    const t = new ActivityTracker({ kv, now: clock, flushIntervalMs: 0 });
    await t.init();
    t.recordMatrixUser('@a:hs');
    t.recordMatrixUser('@b:hs');
    kv.failing = true;
    await t.flush();
    assert.equal(kv.puts, 0);
    kv.failing = false;
    await t.flush();
    assert.deepEqual(
      (await kv.list(ACTIVITY_NAMESPACE)).map((e) => e.key),
      ['matrix:@a:hs', 'matrix:@b:hs'],
    );
  });

  it('keeps records made before init and merges with the stored ones', async () => {
    const kv = new MemoryKv(clock);
    await kv.put(ACTIVITY_NAMESPACE, 'matrix:@old:hs', { ts: now - 2 * DAY });
    await kv.put(ACTIVITY_NAMESPACE, 'matrix:@both:hs', { ts: now - 5 * DAY });
    await kv.put(ACTIVITY_NAMESPACE, 'junk', { ts: now });
    await kv.put(ACTIVITY_NAMESPACE, 'matrix:@bad:hs', { nope: 1 });
    const t = new ActivityTracker({ kv, now: clock, flushIntervalMs: 0 });
    t.recordMatrixUser('@both:hs');
    await t.init();
    const c = t.counts();
    assert.equal(c.users['1d'].matrix, 1);
    assert.equal(c.users['7d'].matrix, 2);
    assert.equal(t.size, 2);
  });

  it('flushes on a timer once initialised', async () => {
    const kv = new MemoryKv();
    const t = new ActivityTracker({ kv, flushIntervalMs: 20 });
    await t.init();
    t.recordRoom('!r:hs');
    await new Promise((r) => setTimeout(r, 80));
    assert.equal(kv.puts, 1);
    await t.close();
  });
});
