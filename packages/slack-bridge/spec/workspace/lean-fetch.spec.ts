import { strict as assert } from 'node:assert';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebClient } from '@slack/web-api';
import { leanFetch } from '../../src/workspace/lean-fetch';

describe('slack-bridge: the WebClients’ fetch (leanFetch)', () => {
  let server: http.Server;
  let base: string;
  const seen: Array<{ url: string; type: string; body: string; auth: string }> = [];

  before(async () => {
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString();
        seen.push({ url: req.url ?? '', type: req.headers['content-type'] ?? '', body, auth: req.headers.authorization ?? '' });
        if (req.url === '/api/chat.postMessage' && body.includes('busy')) {
          res.writeHead(429, { 'Retry-After': '7', 'Content-Type': 'application/json' }).end('{"ok":false,"error":"ratelimited"}');
          return;
        }
        res.writeHead(200, { 'Content-Type': 'application/json', 'X-OAuth-Scopes': 'chat:write' });
        res.end(JSON.stringify({ ok: true, ts: '1.2', echo: body.length }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  it('carries a WebClient call: form body and token out, JSON and headers back (as the SDK reads them)', async () => {
    const client = new WebClient('xoxb-1', { slackApiUrl: base, fetch: leanFetch, retryConfig: { retries: 0 } });
    const r = await client.chat.postMessage({ channel: 'C1', text: 'a & b' });
    assert.equal(r.ok, true);
    assert.equal(r.ts, '1.2');
    assert.deepEqual(r.response_metadata?.scopes, ['chat:write']);
    const last = seen[seen.length - 1];
    assert.equal(last.url, '/api/chat.postMessage');
    assert.match(last.type, /application\/x-www-form-urlencoded/);
    assert.equal(new URLSearchParams(last.body).get('text'), 'a & b');
    assert.equal(last.auth, 'Bearer xoxb-1');
  });

  it('a 429 reaches the SDK with its Retry-After (rate limits are still honoured)', async () => {
    const client = new WebClient('xoxb-1', {
      slackApiUrl: base,
      fetch: leanFetch,
      rejectRateLimitedCalls: true,
      retryConfig: { retries: 0 },
    });
    await assert.rejects(
      client.chat.postMessage({ channel: 'C1', text: 'busy' }),
      (e: unknown) => (e as { retryAfter?: number }).retryAfter === 7,
    );
  });

  it('answers like fetch for the parts the SDK reads: ok, status, text, json, arrayBuffer, headers.entries', async () => {
    const res = await leanFetch(base + 'auth.test', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'x=1',
    });
    assert.equal(res.ok, true);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { ok: true, ts: '1.2', echo: 3 });
    assert.equal(Buffer.from(await res.arrayBuffer()).toString(), '{"ok":true,"ts":"1.2","echo":3}');
    assert.equal(new Map(res.headers.entries()).get('x-oauth-scopes'), 'chat:write');
    assert.equal(res.headers.get('X-OAuth-Scopes'), 'chat:write');
  });
});
