import { strict as assert } from 'node:assert';
import {
  MatrixHttpClient,
  MatrixTokenError,
  MatrixConnectionError,
  retryModeFor,
  parseRetryAfter,
  endpointLabel,
} from '../../src/matrix/http-client';
import type { RequestMetricInfo } from '../../src/matrix/http-client';
import { MatrixError } from '../../src/util/matrix-error';
import { startStub, FAST_BACKOFF, SILENT } from './helpers';

const TOKEN = 'as_token_secret_value_123';

describe('matrix/MatrixHttpClient', () => {
  let stub: Awaited<ReturnType<typeof startStub>> | undefined;
  let client: MatrixHttpClient | undefined;
  afterEach(async () => {
    await client?.close();
    await stub?.close();
    client = stub = undefined;
  });

  function makeClient(extra: Partial<ConstructorParameters<typeof MatrixHttpClient>[0]> = {}) {
    client = new MatrixHttpClient({ baseUrl: stub!.url, asToken: TOKEN, backoff: FAST_BACKOFF, ...extra });
    return client;
  }

  it('sends the as_token as a Bearer header only, with user_id and ts in the query', async () => {
    stub = await startStub(() => ({ status: 200, json: { event_id: '$e' } }));
    const c = makeClient();
    const res = await c.request('PUT', '/_matrix/client/v3/rooms/!r%3Ahs/send/m.room.message/t1', {
      userId: '@_g_1:hs',
      ts: 1234,
      body: { msgtype: 'm.text', body: 'hi' },
    });
    assert.deepEqual(res, { event_id: '$e' });
    const req = stub.requests[0];
    assert.equal(req.headers.authorization, `Bearer ${TOKEN}`);
    assert.equal(req.url.searchParams.get('user_id'), '@_g_1:hs');
    assert.equal(req.url.searchParams.get('ts'), '1234');
    assert.equal(req.url.searchParams.get('access_token'), null);
    assert.ok(!req.url.toString().includes(TOKEN));
    assert.equal(req.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(req.body.toString()), { msgtype: 'm.text', body: 'hi' });
  });

  it('turns error bodies into MatrixError with status, errcode and extra fields', async () => {
    stub = await startStub(() => ({ status: 403, json: { errcode: 'M_FORBIDDEN', error: 'nope', extra: 1 } }));
    const c = makeClient();
    await assert.rejects(c.request('GET', '/_matrix/client/v3/joined_rooms'), (err: unknown) => {
      if (!(err instanceof MatrixError)) return false;
      assert.equal(err.status, 403);
      assert.equal(err.errcode, 'M_FORBIDDEN');
      assert.equal(err.message, 'nope');
      assert.equal(err.extra.extra, 1);
      return true;
    });
    assert.equal(stub.requests.length, 1, '4xx is never retried');
  });

  it('honours Retry-After (seconds) over retry_after_ms on 429', async () => {
    stub = await startStub((_r, i) =>
      i === 0
        ? { status: 429, json: { errcode: 'M_LIMIT_EXCEEDED', error: 'slow', retry_after_ms: 5 }, headers: { 'Retry-After': '1' } }
        : { status: 200, json: {} },
    );
    const c = makeClient();
    const t0 = Date.now();
    await c.request('GET', '/_matrix/client/v3/joined_rooms');
    assert.ok(Date.now() - t0 >= 950, `waited ${Date.now() - t0} ms`);
    assert.equal(stub.requests.length, 2);
  });

  it('uses retry_after_ms when there is no Retry-After header, even for createRoom', async () => {
    stub = await startStub((_r, i) =>
      i === 0
        ? { status: 429, json: { errcode: 'M_LIMIT_EXCEEDED', error: 'slow', retry_after_ms: 150 } }
        : { status: 200, json: { room_id: '!new:hs' } },
    );
    const c = makeClient();
    const t0 = Date.now();
    const res = await c.request<{ room_id: string }>('POST', '/_matrix/client/v3/createRoom', { body: {} });
    assert.equal(res.room_id, '!new:hs');
    assert.ok(Date.now() - t0 >= 140);
    assert.equal(stub.requests.length, 2);
  });

  it('gives up on a 429 asking for longer than maxRateLimitWaitMs', async () => {
    stub = await startStub(() => ({ status: 429, json: { errcode: 'M_LIMIT_EXCEEDED', error: 'slow', retry_after_ms: 60_000 } }));
    const c = makeClient({ maxRateLimitWaitMs: 1000 });
    await assert.rejects(c.request('GET', '/x'), (e: unknown) => e instanceof MatrixError && e.errcode === 'M_LIMIT_EXCEEDED');
    assert.equal(stub.requests.length, 1);
  });

  it('retries 5xx with backoff for idempotent requests, bounded by maxRetries', async () => {
    stub = await startStub((_r, i) =>
      i < 2 ? { status: 502, json: { errcode: 'M_UNKNOWN', error: 'bad gateway' } } : { status: 200, json: { ok: 1 } },
    );
    const c = makeClient();
    assert.deepEqual(await c.request('PUT', '/_matrix/client/v3/rooms/!r/send/m.room.message/t'), { ok: 1 });
    assert.equal(stub.requests.length, 3);

    await stub.close();
    stub = await startStub(() => ({ status: 500, json: { errcode: 'M_UNKNOWN', error: 'down' } }));
    await client!.close();
    const c2 = makeClient();
    await assert.rejects(c2.request('GET', '/x'), (e: unknown) => e instanceof MatrixError && e.status === 500);
    assert.equal(stub.requests.length, FAST_BACKOFF.maxRetries + 1);
  });

  it('does not retry createRoom after a 5xx or a timeout (the room may exist)', async () => {
    stub = await startStub((r) =>
      r.url.pathname.endsWith('createRoom') && r.body.toString().includes('slow')
        ? 'hang'
        : { status: 500, json: { errcode: 'M_UNKNOWN', error: 'x' } },
    );
    const c = makeClient();
    await assert.rejects(
      c.request('POST', '/_matrix/client/v3/createRoom', { body: {} }),
      (e: unknown) => e instanceof MatrixError && e.status === 500,
    );
    assert.equal(stub.requests.length, 1);
    await assert.rejects(
      c.request('POST', '/_matrix/client/v3/createRoom', { body: { name: 'slow' }, timeoutMs: 200 }),
      (e: unknown) => e instanceof MatrixConnectionError && e.errcode === 'M_CONNECTION_TIMEOUT',
    );
    assert.equal(stub.requests.length, 2);
  });

  it("stops a request in flight when the caller's signal aborts, with the caller's reason, and does not retry it", async () => {
    stub = await startStub(() => 'hang');
    const c = makeClient();
    const ac = new AbortController();
    const started = c.request('GET', '/_matrix/client/v3/joined_rooms', { signal: ac.signal, timeoutMs: 10_000 });
    setTimeout(() => ac.abort(new Error('bridge shutting down')), 50);
    await assert.rejects(started, /bridge shutting down/);
    assert.equal(stub.requests.length, 1);
  });

  it('retries a timed-out or reset idempotent request', async () => {
    stub = await startStub((_r, i) => (i === 0 ? 'hang' : i === 1 ? 'reset' : { status: 200, json: { joined_rooms: [] } }));
    const c = makeClient();
    assert.deepEqual(await c.request('GET', '/_matrix/client/v3/joined_rooms', { timeoutMs: 200 }), { joined_rooms: [] });
    assert.equal(stub.requests.length, 3);
  });

  it('retries join (a safe POST) after a 5xx', async () => {
    stub = await startStub((_r, i) =>
      i === 0 ? { status: 503, json: { errcode: 'M_UNKNOWN', error: 'x' } } : { status: 200, json: { room_id: '!r:hs' } },
    );
    const c = makeClient();
    assert.deepEqual(await c.request('POST', '/_matrix/client/v3/join/!r%3Ahs', { body: {} }), { room_id: '!r:hs' });
    assert.equal(stub.requests.length, 2);
  });

  it('M_UNKNOWN_TOKEN is a fatal MatrixTokenError, reported once, never retried', async () => {
    stub = await startStub(() => ({ status: 401, json: { errcode: 'M_UNKNOWN_TOKEN', error: 'Unrecognised access token' } }));
    const fatal: MatrixTokenError[] = [];
    const c = makeClient({ onFatalError: (e: MatrixTokenError) => fatal.push(e), logger: SILENT });
    for (let i = 0; i < 2; i++) {
      await assert.rejects(c.request('GET', '/_matrix/client/v3/account/whoami'), (e: unknown) => {
        if (!(e instanceof MatrixTokenError)) return false;
        assert.ok(e instanceof MatrixError);
        assert.equal(e.fatal, true);
        assert.ok(!e.message.includes(TOKEN));
        return true;
      });
    }
    assert.equal(stub.requests.length, 2);
    assert.equal(fatal.length, 1);
  });

  it('calls onRequest once per attempt with endpoint, status and duration', async () => {
    stub = await startStub((_r, i) => (i === 0 ? { status: 500, json: { errcode: 'M_UNKNOWN', error: 'x' } } : { status: 200, json: {} }));
    const seen: RequestMetricInfo[] = [];
    const c = makeClient({ onRequest: (i) => seen.push(i) });
    await c.request('GET', '/_matrix/client/v3/rooms/!abc%3Ahs/state', { endpoint: 'GET /rooms/{roomId}/state' });
    assert.deepEqual(
      seen.map((s) => [s.endpoint, s.method, s.status, s.attempt]),
      [
        ['GET /rooms/{roomId}/state', 'GET', 500, 0],
        ['GET /rooms/{roomId}/state', 'GET', 200, 1],
      ],
    );
    assert.ok(seen.every((s) => s.durationMs >= 0 && s.requestId === seen[0].requestId));
  });

  it('bounds the number of connections to the homeserver', async () => {
    stub = await startStub(() => ({ status: 200, json: {}, delayMs: 30 }));
    const c = makeClient({ connections: 4 });
    await Promise.all(Array.from({ length: 40 }, () => c.request('GET', '/x')));
    assert.equal(stub.requests.length, 40);
    assert.ok(stub.peak <= 4, `peak concurrency ${stub.peak}`);
  });

  it('returns raw bytes and enforces maxBytes', async () => {
    const bytes = Buffer.alloc(5000, 7);
    stub = await startStub(() => ({ status: 200, body: bytes }));
    const c = makeClient();
    const res = await c.request('GET', '/m', { raw: true });
    assert.ok(res.body.equals(bytes));
    await assert.rejects(
      c.request('GET', '/m', { raw: true, maxBytes: 100 }),
      (e: unknown) => e instanceof MatrixError && e.status === 413 && e.errcode === 'M_TOO_LARGE',
    );
  });

  it('classifies retry modes and parses Retry-After', () => {
    assert.equal(retryModeFor('PUT', '/_matrix/client/v3/rooms/!r/send/m.room.message/t'), 'idempotent');
    assert.equal(retryModeFor('POST', '/_matrix/client/v3/rooms/!r/invite'), 'idempotent');
    assert.equal(retryModeFor('POST', '/_matrix/client/v3/register'), 'idempotent');
    assert.equal(retryModeFor('POST', '/_matrix/client/v3/createRoom'), 'rejected-only');
    assert.equal(parseRetryAfter('3'), 3000);
    assert.equal(parseRetryAfter(new Date(10_000).toUTCString(), 4000), 6000);
    assert.equal(parseRetryAfter('soon'), undefined);
    assert.equal(
      endpointLabel('PUT', '/_matrix/client/v3/rooms/!a%3Ab/send/m.room.message/123'),
      'PUT /rooms/{id}/send/m.room.message/{id}',
    );
  });
});
