import { strict as assert } from 'node:assert';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpPool, HttpPools, HttpTimeoutError } from '../../src/util/http-pool';

describe('HttpPool (connectors’ REST calls)', () => {
  let server: http.Server;
  let origin: string;
  let sockets: number;
  let pool: HttpPool;

  beforeEach(async () => {
    sockets = 0;
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (req.url === '/slow') return; // never answers
        if (req.url === '/stream') {
          // A streaming API: records as they happen, held open until the client goes.
          res.writeHead(200, { 'Content-Type': 'application/json', 'X-Kind': 'stream' });
          res.write('{"n":1}\n');
          setTimeout(() => res.write('{"n":2}\n'), 30);
          return;
        }
        if (req.url === '/refused') {
          res.writeHead(429, { 'Content-Type': 'application/json' }).end('{"error":"slow down"}');
          return;
        }
        res.writeHead(201, { 'Content-Type': 'application/json', 'X-RateLimit-Remaining': '7' });
        res.end(
          JSON.stringify({ method: req.method, url: req.url, auth: req.headers.authorization, body: Buffer.concat(chunks).toString() }),
        );
      });
    });
    server.on('connection', () => sockets++);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    pool = new HttpPool(origin + '/ignored/path', { connections: 2, timeoutMs: 5000 });
  });
  afterEach(async () => {
    await pool.close().catch(() => undefined);
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('sends method, path with query, headers and body; answers status, text and headers (any case)', async () => {
    const a = await pool.request({ method: 'POST', path: '/v1/x?q=1', headers: { Authorization: 'Bearer t' }, body: '{"a":1}' });
    assert.equal(a.status, 201);
    assert.deepEqual(JSON.parse(a.text()), { method: 'POST', url: '/v1/x?q=1', auth: 'Bearer t', body: '{"a":1}' });
    assert.equal(a.header('x-ratelimit-remaining'), '7');
    assert.equal(a.header('X-RateLimit-Remaining'), '7');
    assert.equal(a.header('missing'), undefined);
  });

  it('keeps connections alive: 20 calls use at most the pool’s 2 connections, not one each', async () => {
    for (let i = 0; i < 20; i++) assert.equal((await pool.request({ method: 'GET', path: `/n${i}` })).status, 201);
    assert.ok(sockets >= 1 && sockets <= 2, `${sockets} connections`);
  });

  it('a call with no answer fails with HttpTimeoutError after its timeout; an abort fails with the signal’s reason', async () => {
    await assert.rejects(
      pool.request({ method: 'GET', path: '/slow', timeoutMs: 100 }),
      (e: unknown) => e instanceof HttpTimeoutError && /100 ms/.test(e.message),
    );
    const ctl = new AbortController();
    const call = pool.request({ method: 'GET', path: '/slow', signal: ctl.signal });
    setTimeout(() => ctl.abort(new Error('stopping')), 50);
    await assert.rejects(call, /stopping/);
    const done = new AbortController();
    done.abort(new Error('already'));
    await assert.rejects(pool.request({ method: 'GET', path: '/n', signal: done.signal }), /already/);
  });

  it('a port nothing listens on fails with the network error’s code (ECONNREFUSED: the server did nothing)', async () => {
    const probe = http.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const dead = new HttpPool(`http://127.0.0.1:${port}`);
    try {
      await assert.rejects(
        dead.request({ method: 'POST', path: '/x', body: 'b' }),
        (e: unknown) => (e as { code?: string }).code === 'ECONNREFUSED',
      );
    } finally {
      await dead.close();
    }
  });

  it('streams a long-lived answer chunk by chunk until the caller aborts; an error answer is read whole', async () => {
    const ctl = new AbortController();
    const res = await pool.stream({ method: 'GET', path: '/stream', signal: ctl.signal });
    assert.equal(res.status, 200);
    assert.equal(res.header('x-kind'), 'stream');
    const seen: string[] = [];
    await assert.rejects(
      (async () => {
        for await (const chunk of res.body) {
          seen.push(chunk.toString().trim());
          if (seen.length === 2) ctl.abort(new Error('done reading'));
        }
      })(),
    );
    assert.deepEqual(seen, ['{"n":1}', '{"n":2}']);
    const refused = await pool.stream({ method: 'GET', path: '/refused' });
    assert.equal(refused.status, 429);
    assert.equal(await refused.text(), '{"error":"slow down"}');
  });

  it('HttpPools: one pool per origin, made on first use and shared after', async () => {
    const pools = new HttpPools({ connections: 1 });
    const a = pools.for(origin);
    assert.equal(pools.for(origin), a);
    assert.notEqual(pools.for('http://127.0.0.2:1'), a);
    assert.equal((await a.request({ method: 'GET', path: '/shared' })).status, 201);
    await a.close();
  });
});
