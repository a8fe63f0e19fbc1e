import { strict as assert } from 'node:assert';
import { HomeserverEmulator, TestUser, asNumber } from '../../src/homeserver/index';
import { call, registration, waitFor } from './fake-appservice.spec-helper';

const SEND = 'PUT /rooms/{roomId}/send/{eventType}/{txnId}';

describe('homeserver emulator: faults, counters, rate limits', () => {
  let hs: HomeserverEmulator;
  let alice: TestUser;
  let roomId: string;
  let n = 0;
  const send = (body: unknown = { msgtype: 'm.text', body: 'x' }, txn = `t${++n}`) =>
    call(hs.url, 'PUT', `/rooms/${encodeURIComponent(roomId)}/send/m.room.message/${txn}`, { token: alice.accessToken, body });

  beforeEach(async () => {
    hs = await HomeserverEmulator.start({
      registrations: [registration('slack', null), { ...registration('lim', null), rate_limited: true }],
    });
    alice = await hs.registerUser('alice');
    roomId = await alice.createRoom({ preset: 'public_chat' });
  });
  afterEach(async () => {
    await hs.stop();
  });

  it('429 M_LIMIT_EXCEEDED with retry_after_ms and Retry-After, N times, then normal service', async () => {
    const h = hs.faults.rateLimit(SEND, { times: 2, retryAfterMs: 1500 });
    const r1 = await send();
    assert.equal(r1.status, 429);
    assert.equal(r1.body.errcode, 'M_LIMIT_EXCEEDED');
    assert.equal(r1.body.retry_after_ms, 1500);
    assert.equal(r1.headers.get('retry-after'), '2');
    assert.equal((await send()).status, 429);
    assert.equal((await send()).status, 200);
    assert.equal(h.triggered, 2);
    assert.equal(h.remaining, 0);
    assert.equal(hs.roomTimeline(roomId).filter((e) => e.type === 'm.room.message').length, 1, 'faulted requests have no effect');
  });

  it('5xx faults, `after`, predicates, and keys written with the client prefix', async () => {
    hs.faults.serverError('PUT /_matrix/client/v3/rooms/{roomId}/send/{eventType}/{txnId}', { status: 502, after: 1 });
    assert.equal((await send()).status, 200);
    const r = await send();
    assert.equal(r.status, 502);
    assert.equal(r.body.errcode, 'M_UNKNOWN');
    hs.faults.serverError((req) => req.path.includes('/joined_rooms'), { status: 503, times: Infinity });
    assert.equal((await call(hs.url, 'GET', '/joined_rooms', { token: alice.accessToken })).status, 503);
    assert.equal((await call(hs.url, 'GET', '/joined_rooms', { token: alice.accessToken })).status, 503);
    hs.faults.clear();
    assert.equal((await call(hs.url, 'GET', '/joined_rooms', { token: alice.accessToken })).status, 200);
  });

  it('TestUser traffic is exempt from faults and counts by default', async () => {
    hs.faults.serverError(undefined, { times: Infinity });
    await alice.sendMessage(roomId, 'fixture traffic');
    assert.equal(hs.requestCount(), 0);
    assert.ok(hs.requestCount(undefined, { includeTestClients: true }) > 0);
    assert.equal((await send()).status, 500);
  });

  it('latency (global and per endpoint), timeouts and connection resets', async () => {
    hs.faults.setLatency(300, SEND);
    let t = Date.now();
    await send();
    assert.ok(Date.now() - t >= 295);
    t = Date.now();
    await call(hs.url, 'GET', '/joined_rooms', { token: alice.accessToken });
    assert.ok(Date.now() - t < 250, 'other endpoints are not delayed');
    hs.faults.setLatency(0, SEND);
    hs.faults.setLatency(40);
    t = Date.now();
    await call(hs.url, 'GET', '/joined_rooms', { token: alice.accessToken });
    assert.ok(Date.now() - t >= 35);
    hs.faults.setLatency(0);

    hs.faults.reset(SEND);
    await assert.rejects(send());
    hs.faults.timeout(SEND, { holdMs: 80 });
    t = Date.now();
    await assert.rejects(send());
    assert.ok(Date.now() - t >= 75);
    hs.faults.timeout(SEND); // forever: the client gives up
    const ctl = AbortSignal.timeout(100);
    await assert.rejects(
      fetch(`${hs.url}/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/zz`, {
        method: 'PUT',
        body: '{}',
        headers: { authorization: `Bearer ${alice.accessToken}` },
        signal: ctl,
      }),
    );
    assert.equal((await send()).status, 200);
    // a slow answer whose effect still happens
    hs.faults.timeout(SEND, { holdMs: 50, then: 'continue' });
    const before = hs.roomTimeline(roomId).length;
    assert.equal((await send()).status, 200);
    assert.equal(hs.roomTimeline(roomId).length, before + 1);
  });

  it('counts per endpoint key and peak concurrency', async () => {
    hs.resetCounters();
    // All 7 are held until the 7th has arrived, so the peak is 7 however slowly they start.
    const held = hs.faults.hold(SEND, { times: 7 });
    const sends = Array.from({ length: 7 }, () => send());
    await waitFor(() => held.triggered === 7, 10_000, '7 sends held');
    held.release();
    assert.ok((await Promise.all(sends)).every((r) => r.status === 200));
    await call(hs.url, 'GET', '/joined_rooms', { token: alice.accessToken });
    await call(hs.url, 'GET', '/nope', { token: alice.accessToken });
    assert.equal(hs.requestCount(SEND), 7);
    assert.equal(hs.requestCount('GET /joined_rooms'), 1);
    assert.equal(hs.requestCount(), 9);
    assert.equal(hs.peakConcurrency(SEND), 7);
    assert.equal(hs.peakConcurrency(), 7);
    assert.deepEqual(hs.requestCounts(), { [SEND]: 7, 'GET /joined_rooms': 1, 'GET <unrecognized>': 1 });
    hs.resetCounters();
    assert.equal(hs.requestCount(), 0);
    assert.equal(hs.peakConcurrency(SEND), 0);
  });

  it('optional per-user rate limiting: ordinary users and rate_limited ghosts, not the bot or exempt ASes', async () => {
    hs.setRateLimit({ enabled: true, perSecond: 1, burst: 2 });
    assert.equal((await send()).status, 200);
    assert.equal((await send()).status, 200);
    const r = await send();
    assert.equal(r.status, 429);
    assert.ok(asNumber(r.body.retry_after_ms, 'retry_after_ms') > 0);
    assert.ok(Number(r.headers.get('retry-after')) >= 1);
    const reg = (token: string, username: string) =>
      call(hs.url, 'POST', '/register', { token, body: { type: 'm.login.application_service', username, inhibit_login: true } });
    await reg('as_slack', '_slack_g');
    await reg('as_lim', '_lim_g');
    const ghostSend = async (token: string, userId: string) => {
      await call(hs.url, 'POST', `/join/${encodeURIComponent(roomId)}`, { token, query: { user_id: userId }, body: {} });
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) {
        statuses.push(
          (
            await call(hs.url, 'PUT', `/rooms/${encodeURIComponent(roomId)}/send/m.room.message/g${++n}`, {
              token,
              query: { user_id: userId },
              body: { body: 'x' },
            })
          ).status,
        );
      }
      return statuses;
    };
    assert.deepEqual(await ghostSend('as_slack', '@_slack_g:localhost'), [200, 200, 200, 200]);
    assert.ok((await ghostSend('as_lim', '@_lim_g:localhost')).includes(429));
    assert.deepEqual(await ghostSend('as_lim', '@_lim_bot:localhost'), [200, 200, 200, 200]);
  });
});
