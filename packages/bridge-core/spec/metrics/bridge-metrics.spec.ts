import { strict as assert } from 'node:assert';
import { BridgeMetrics, stateCacheStatsFrom, type StateCacheStats } from '../../src/metrics/bridge-metrics';
import { ActivityTracker } from '../../src/metrics/activity-tracker';
import { find, parseExposition, served, value } from './helpers';

describe('BridgeMetrics', () => {
  const stops: Array<() => Promise<void>> = [];
  async function setup(opts: Parameters<typeof served>[0] = {}) {
    const s = await served(opts);
    stops.push(() => s.server.stop());
    return s;
  }
  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
  });

  it('counts relays and observes relay latency, scraped over HTTP', async () => {
    const { metrics, get } = await setup();
    metrics.onRelay({ direction: 'matrix_to_remote', kind: 'text', outcome: 'ok', latencyMs: 40 });
    metrics.onRelay({ direction: 'matrix_to_remote', kind: 'text', outcome: 'ok', latencyMs: 300 });
    metrics.onRelay({ direction: 'matrix_to_remote', kind: 'image', outcome: 'failed', latencyMs: 5000 });
    metrics.onRelay({ direction: 'remote_to_matrix', kind: 'text', outcome: 'dropped' });
    const s = await get();
    const R = 'causeway_messages_relayed_total';
    assert.equal(value(s, R, { direction: 'matrix_to_remote', kind: 'text', outcome: 'ok' }), 2);
    assert.equal(value(s, R, { direction: 'matrix_to_remote', kind: 'image', outcome: 'failed' }), 1);
    assert.equal(value(s, R, { direction: 'remote_to_matrix', kind: 'text', outcome: 'dropped' }), 1);
    assert.ok(find(s, R).every((x) => x.labels.protocol === 'test'));
    const L = 'causeway_relay_latency_seconds';
    // only ok relays are observed
    assert.equal(value(s, `${L}_count`, { direction: 'matrix_to_remote' }), 2);
    assert.ok(Math.abs(value(s, `${L}_sum`, { direction: 'matrix_to_remote' })! - 0.34) < 1e-9);
    assert.equal(value(s, `${L}_bucket`, { direction: 'matrix_to_remote', le: '0.05' }), 1);
    assert.equal(value(s, `${L}_bucket`, { direction: 'matrix_to_remote', le: '0.5' }), 2);
    assert.equal(value(s, `${L}_bucket`, { direction: 'matrix_to_remote', le: '+Inf' }), 2);
    // zeroed series exist for the other direction from the start
    assert.equal(value(s, `${L}_count`, { direction: 'remote_to_matrix' }), 0);
  });

  it('counts homeserver requests by endpoint template, method and status, with durations', async () => {
    const { metrics, get } = await setup();
    // the HTTP client's hook shape, with its own labels and raw paths
    const hook = (i: { endpoint: string; method: string; status: number; durationMs: number; attempt: number; requestId: string }) =>
      metrics.onHomeserverRequest(i);
    hook({
      endpoint: 'PUT /rooms/{roomId}/send/{eventType}/{txnId}',
      method: 'PUT',
      status: 200,
      durationMs: 12,
      attempt: 0,
      requestId: 'a',
    });
    hook({
      endpoint: 'PUT /rooms/{id}/send/m.room.message/m1700.3',
      method: 'PUT',
      status: 200,
      durationMs: 30,
      attempt: 0,
      requestId: 'b',
    });
    hook({
      endpoint: '/_matrix/client/v3/rooms/!x%3Ahs/send/m.reaction/42',
      method: 'put',
      status: 429,
      durationMs: 2,
      attempt: 0,
      requestId: 'c',
    });
    hook({
      endpoint: '/_matrix/client/v3/rooms/!x%3Ahs/send/m.reaction/42',
      method: 'PUT',
      status: 0,
      durationMs: 30000,
      attempt: 1,
      requestId: 'c',
    });
    hook({ endpoint: 'GET /joined_rooms', method: 'GET', status: 200, durationMs: 3, attempt: 0, requestId: 'd' });
    const s = await get();
    const send = '/rooms/{roomId}/send/{eventType}/{txnId}';
    const T = 'causeway_homeserver_requests_total';
    assert.equal(value(s, T, { endpoint: send, method: 'PUT', status: '200' }), 2);
    assert.equal(value(s, T, { endpoint: send, method: 'PUT', status: '429' }), 1);
    assert.equal(value(s, T, { endpoint: send, method: 'PUT', status: '0' }), 1);
    assert.equal(value(s, T, { endpoint: '/joined_rooms', method: 'GET', status: '200' }), 1);
    assert.deepEqual(new Set(find(s, T).map((x) => x.labels.endpoint)), new Set([send, '/joined_rooms']));
    const D = 'causeway_homeserver_request_duration_seconds';
    assert.equal(value(s, `${D}_count`, { endpoint: send, method: 'PUT' }), 4);
    assert.equal(value(s, `${D}_bucket`, { endpoint: send, method: 'PUT', le: '0.025' }), 2);
    assert.equal(value(s, `${D}_bucket`, { endpoint: send, method: 'PUT', le: '0.05' }), 3);
  });

  it('counts transactions by outcome and observes processing time', async () => {
    const { metrics, get } = await setup();
    let s = await get();
    for (const outcome of ['processed', 'duplicate', 'rejected']) assert.equal(value(s, 'causeway_transactions_total', { outcome }), 0);
    metrics.onTransaction({ outcome: 'processed', durationMs: 8 });
    metrics.onTransaction({ outcome: 'processed', durationMs: 80 });
    metrics.onTransaction({ outcome: 'duplicate', durationMs: 1 });
    metrics.onTransaction({ outcome: 'rejected' });
    s = await get();
    assert.equal(value(s, 'causeway_transactions_total', { outcome: 'processed' }), 2);
    assert.equal(value(s, 'causeway_transactions_total', { outcome: 'duplicate' }), 1);
    assert.equal(value(s, 'causeway_transactions_total', { outcome: 'rejected' }), 1);
    assert.equal(value(s, 'causeway_transaction_processing_seconds_count'), 3);
    assert.ok(Math.abs(value(s, 'causeway_transaction_processing_seconds_sum')! - 0.089) < 1e-9);
    assert.equal(value(s, 'causeway_transaction_processing_seconds_bucket', { le: '0.01' }), 2);
  });

  it('bounds the event type label: unknown types count as "other"', async () => {
    const { metrics, get } = await setup();
    metrics.onHomeserverEvent('m.room.message');
    metrics.onHomeserverEvent('m.room.message');
    metrics.onHomeserverEvent('m.typing');
    for (let i = 0; i < 500; i++) metrics.onHomeserverEvent(`com.example.custom${i}`);
    metrics.onHomeserverEvent('m.room.messagex');
    const s = await get();
    const E = 'causeway_homeserver_events_received_total';
    assert.equal(value(s, E, { type: 'm.room.message' }), 2);
    assert.equal(value(s, E, { type: 'm.typing' }), 1);
    assert.equal(value(s, E, { type: 'other' }), 501);
    assert.equal(find(s, E).length, 3);
  });

  it('bounds free-form labels (relay kinds, raw endpoints)', async () => {
    const { metrics, get } = await setup();
    for (let i = 0; i < 200; i++) metrics.onRelay({ direction: 'remote_to_matrix', kind: `kind${i}`, outcome: 'ok' });
    for (let i = 0; i < 2000; i++) {
      metrics.onHomeserverRequest({
        endpoint: `/_matrix/client/v3/rooms/!r${i}:hs/state/m.room.member/@u${i}:hs`,
        method: 'PUT',
        status: 200,
        durationMs: 1,
      });
      metrics.onHomeserverRequest({ endpoint: `/_matrix/client/v3/custom/${i}/x${i}y`, method: 'GET', status: 200, durationMs: 1 });
    }
    const s = await get();
    const kinds = new Set(find(s, 'causeway_messages_relayed_total').map((x) => x.labels.kind));
    assert.ok(kinds.size <= 33, `${kinds.size} kinds`);
    assert.ok(kinds.has('other'));
    const endpoints = new Set(find(s, 'causeway_homeserver_requests_total').map((x) => x.labels.endpoint));
    assert.deepEqual(endpoints, new Set(['/rooms/{roomId}/state/{eventType}/{stateKey}', '/custom/{param}/{param}']));
  });

  it('remote connection gauges go back to 0 when a state is no longer reported', async () => {
    const { metrics, get } = await setup();
    metrics.setRemoteConnections({ connected: 3, connecting: 1 });
    let s = await get();
    assert.equal(value(s, 'causeway_remote_connections', { state: 'connected' }), 3);
    assert.equal(value(s, 'causeway_remote_connections', { state: 'connecting' }), 1);
    metrics.setRemoteConnections({ connected: 2, disconnected: 2 });
    s = await get();
    assert.equal(value(s, 'causeway_remote_connections', { state: 'connected' }), 2);
    assert.equal(value(s, 'causeway_remote_connections', { state: 'connecting' }), 0);
    assert.equal(value(s, 'causeway_remote_connections', { state: 'disconnected' }), 2);
    metrics.setRemoteConnections({});
    s = await get();
    assert.deepEqual(
      find(s, 'causeway_remote_connections').map((x) => x.value),
      [0, 0, 0],
    );
  });

  it('reads portals, ghosts, delivery and state cache at scrape time', async () => {
    const { metrics, get } = await setup();
    let portals: Record<string, number> = { group: 4, dm: 2 };
    let ghosts = 17;
    metrics.setPortalSource(async () => portals);
    metrics.setGhostSource(async () => ghosts);
    let delivery = { queuedEvents: 12, activeRooms: 3 };
    metrics.setDeliverySource(() => delivery);
    const stats: StateCacheStats = { hits: 10, misses: 2, inFlight: 1, queued: 5, rooms: 9, evictions: 0 };
    metrics.setStateCacheSource(() => stats);
    let s = await get();
    assert.equal(value(s, 'causeway_portals', { kind: 'group' }), 4);
    assert.equal(value(s, 'causeway_portals', { kind: 'dm' }), 2);
    assert.equal(value(s, 'causeway_ghosts'), 17);
    assert.equal(value(s, 'causeway_delivery_queue_events'), 12);
    assert.equal(value(s, 'causeway_delivery_rooms_active'), 3);
    assert.equal(value(s, 'causeway_state_cache_hits_total'), 10);
    assert.equal(value(s, 'causeway_state_cache_misses_total'), 2);
    assert.equal(value(s, 'causeway_state_cache_requests_in_flight'), 1);
    assert.equal(value(s, 'causeway_state_cache_queue_depth'), 5);
    assert.equal(value(s, 'causeway_state_cache_rooms'), 9);
    assert.equal(value(s, 'causeway_state_cache_evictions_total'), 0);

    portals = { group: 5 };
    ghosts = 0;
    delivery = { queuedEvents: 0, activeRooms: 0 };
    Object.assign(stats, { hits: 25, misses: 3, inFlight: 0, queued: 0, evictions: 4 });
    s = await get();
    assert.equal(value(s, 'causeway_portals', { kind: 'group' }), 5);
    assert.equal(value(s, 'causeway_portals', { kind: 'dm' }), 0);
    assert.equal(value(s, 'causeway_ghosts'), 0);
    assert.equal(value(s, 'causeway_delivery_queue_events'), 0);
    assert.equal(value(s, 'causeway_state_cache_hits_total'), 25);
    assert.equal(value(s, 'causeway_state_cache_requests_in_flight'), 0);
    assert.equal(value(s, 'causeway_state_cache_evictions_total'), 4);

    // a new cache (counters restarting from zero) keeps the exported counters monotonic
    Object.assign(stats, { hits: 3, misses: 0, evictions: 0 });
    s = await get();
    assert.equal(value(s, 'causeway_state_cache_hits_total'), 28);
    assert.equal(value(s, 'causeway_state_cache_misses_total'), 3);
  });

  it('adapts the core StateCache stats shape', () => {
    assert.deepEqual(stateCacheStatsFrom({ hits: 1, misses: 2, requestsInFlight: 3, queueDepth: 4, roomsCached: 5, evictions: 6 }), {
      hits: 1,
      misses: 2,
      inFlight: 3,
      queued: 4,
      rooms: 5,
      evictions: 6,
    });
  });

  it('a failing source does not fail the scrape', async () => {
    const { metrics, get } = await setup();
    metrics.setGhosts(3);
    metrics.setGhostSource(async () => {
      throw new Error('store down');
    });
    metrics.setStateCacheSource(() => {
      throw new Error('boom');
    });
    const s = await get();
    assert.equal(value(s, 'causeway_ghosts'), 3);
  });

  it('exports build info, process metrics and active users/rooms', async () => {
    let now = Date.UTC(2025, 0, 31);
    const tracker = new ActivityTracker({ now: () => now });
    const { metrics, get } = await setup({ processMetrics: true, protocol: 'irc' });
    metrics.setActivityTracker(tracker);
    const DAY = 86400_000;
    tracker.recordMatrixUser('@alice:hs', now - 2 * 3600_000);
    tracker.recordMatrixUser('@bob:hs', now - 3 * DAY);
    tracker.recordRemoteUser('@irc_carol:hs', now - 20 * DAY);
    tracker.recordRoom('!a:hs', now);
    let s = await get();
    assert.equal(value(s, 'causeway_build_info', { version: '1.2.3', protocol: 'irc' }), 1);
    assert.ok(find(s, 'process_cpu_user_seconds_total').length === 1);
    assert.ok(find(s, 'nodejs_eventloop_lag_seconds').length === 1);
    assert.equal(find(s, 'process_cpu_user_seconds_total')[0].labels.protocol, 'irc');
    const U = 'causeway_active_users';
    assert.equal(value(s, U, { window: '1d', kind: 'matrix' }), 1);
    assert.equal(value(s, U, { window: '7d', kind: 'matrix' }), 2);
    assert.equal(value(s, U, { window: '30d', kind: 'matrix' }), 2);
    assert.equal(value(s, U, { window: '7d', kind: 'remote' }), 0);
    assert.equal(value(s, U, { window: '30d', kind: 'remote' }), 1);
    assert.equal(value(s, 'causeway_active_rooms', { window: '1d' }), 1);
    now += 11 * DAY; // carol leaves the 30d window, bob the 7d one
    s = await get();
    assert.equal(value(s, U, { window: '30d', kind: 'remote' }), 0);
    assert.equal(value(s, U, { window: '7d', kind: 'matrix' }), 0);
    assert.equal(value(s, U, { window: '30d', kind: 'matrix' }), 2);
    assert.equal(value(s, 'causeway_active_rooms', { window: '1d' }), 0);
    assert.equal(value(s, 'causeway_active_rooms', { window: '30d' }), 1);
  });

  it('observes the remote send queue delay', async () => {
    const { metrics, get } = await setup();
    metrics.observeRemoteSendQueueDelay(1500);
    metrics.observeRemoteSendQueueDelay(NaN);
    const s = await get();
    assert.equal(value(s, 'causeway_remote_send_queue_delay_seconds_count'), 1);
    assert.equal(value(s, 'causeway_remote_send_queue_delay_seconds_sum'), 1.5);
  });

  it('lets connectors register their own metrics under causeway_<protocol>_', async () => {
    const { metrics, get } = await setup({ protocol: 'irc' });
    const c = metrics.counter('nick_changes_total', 'Nick changes', ['server']);
    c.inc({ server: 'libera' }, 2);
    assert.equal(metrics.counter('causeway_irc_nick_changes_total', 'Nick changes', ['server']), c);
    metrics.gauge('causeway_irc_channels', 'Joined channels').set(7);
    metrics.histogram('connect_seconds', 'Connect time', [], [1, 5]).observe(2);
    assert.throws(() => metrics.counter('causeway_slack_x_total', 'wrong prefix'), /causeway_irc_/);
    assert.throws(() => metrics.gauge('nick_changes_total', 'type clash'), /already registered as a counter/);
    assert.throws(() => metrics.counter('bad name', 'x'), /invalid metric name/);
    const s = await get();
    assert.equal(value(s, 'causeway_irc_nick_changes_total', { server: 'libera', protocol: 'irc' }), 2);
    assert.equal(value(s, 'causeway_irc_channels'), 7);
    assert.equal(value(s, 'causeway_irc_connect_seconds_bucket', { le: '5' }), 1);
  });

  it('keeps several bridges in one process apart (own registries)', async () => {
    const a = new BridgeMetrics({ protocol: 'a', processMetrics: false });
    const b = new BridgeMetrics({ protocol: 'b', processMetrics: false });
    a.onHomeserverEvent('m.room.message');
    const sa = parseExposition(await a.metrics());
    const sb = parseExposition(await b.metrics());
    assert.equal(value(sa, 'causeway_homeserver_events_received_total', { type: 'm.room.message', protocol: 'a' }), 1);
    assert.equal(find(sb, 'causeway_homeserver_events_received_total').length, 0);
  });
});
