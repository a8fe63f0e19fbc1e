import { strict as assert } from 'node:assert';
import { request } from 'node:http';
import { BridgeMetrics } from '../../src/metrics/bridge-metrics';
import { MetricsServer } from '../../src/metrics/metrics-server';
import { parseExposition, scrape, value } from './helpers';
import { at, parseJson } from '@causeway/testing';

const TOKEN = 'scrape-token-0123456789';

function raw(
  url: string,
  method: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      let body = '';
      res.on('data', (c) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('MetricsServer', () => {
  let metrics: BridgeMetrics;
  let server: MetricsServer;
  afterEach(async () => {
    await server?.stop();
  });

  async function start(token?: string) {
    metrics = new BridgeMetrics({ protocol: 'test', processMetrics: false });
    metrics.onTransaction({ outcome: 'processed', durationMs: 5 });
    server = new MetricsServer({ registry: metrics, port: 0, bearerToken: token });
    await server.start();
  }

  it('serves GET /metrics with the registry content type', async () => {
    await start();
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const r = await scrape(server.url);
    assert.equal(r.status, 200);
    assert.equal(r.contentType, metrics.registry.contentType);
    assert.match(r.contentType, /^text\/plain; version=0\.0\.4/);
    assert.equal(value(parseExposition(r.body), 'causeway_transactions_total', { outcome: 'processed' }), 1);
    const q = await scrape(server.url + '?name[]=x');
    assert.equal(q.status, 200);
    const head = await raw(server.url, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
  });

  it('requires the bearer token when configured: 401 missing, 403 wrong, 200 right', async () => {
    await start(TOKEN);
    const missing = await scrape(server.url);
    assert.equal(missing.status, 401);
    assert.equal(missing.contentType, 'application/json');
    assert.equal(at(parseJson(missing.body), 'errcode'), 'M_MISSING_TOKEN');
    const wrong = await scrape(server.url, TOKEN + 'x');
    assert.equal(wrong.status, 403);
    assert.equal(at(parseJson(wrong.body), 'errcode'), 'M_FORBIDDEN');
    const prefix = await scrape(server.url, TOKEN.slice(0, -1));
    assert.equal(prefix.status, 403);
    const basic = await raw(server.url, 'GET', { authorization: `Basic ${Buffer.from('a:' + TOKEN).toString('base64')}` });
    assert.equal(basic.status, 403);
    assert.equal(at(parseJson(basic.body), 'errcode'), 'M_FORBIDDEN');
    const ok = await scrape(server.url, TOKEN);
    assert.equal(ok.status, 200);
    assert.match(ok.body, /causeway_transactions_total/);
  });

  it('404 for other paths, 405 for other methods', async () => {
    await start(TOKEN);
    const base = server.url.replace(/\/metrics$/, '');
    for (const p of ['/', '/metrics/', '/metricsx', '/_matrix/app/v1/transactions/1']) {
      const r = await raw(base + p, 'GET', { authorization: `Bearer ${TOKEN}` });
      assert.equal(r.status, 404, p);
      assert.equal(at(parseJson(r.body), 'errcode'), 'M_NOT_FOUND');
    }
    for (const m of ['POST', 'PUT', 'DELETE']) {
      const r = await raw(server.url, m, { authorization: `Bearer ${TOKEN}` });
      assert.equal(r.status, 405, m);
      assert.equal(r.headers.allow, 'GET, HEAD');
      assert.equal(at(parseJson(r.body), 'errcode'), 'M_UNRECOGNIZED');
    }
  });

  it('is built from the metrics config section, and not at all when disabled', async () => {
    metrics = new BridgeMetrics({ protocol: 'test', processMetrics: false });
    assert.equal(MetricsServer.fromConfig({ enabled: false, bind_host: '127.0.0.1', port: 9001 }, metrics), undefined);
    server = MetricsServer.fromConfig({ enabled: true, bind_host: '127.0.0.1', port: 0, bearer_token: TOKEN }, metrics.registry)!;
    await server.start();
    assert.equal((await scrape(server.url)).status, 401);
    assert.equal((await scrape(server.url, TOKEN)).status, 200);
  });

  it('is not built open on an address other machines reach: a bearer token or public: true is needed', () => {
    metrics = new BridgeMetrics({ protocol: 'test', processMetrics: false });
    assert.throws(
      () => MetricsServer.fromConfig({ enabled: true, bind_host: '0.0.0.0', port: 0 }, metrics),
      /metrics\.bind_host.*metrics\.bearer_token.*metrics\.public/,
    );
    assert.ok(MetricsServer.fromConfig({ enabled: true, bind_host: '0.0.0.0', port: 0, bearer_token: TOKEN }, metrics));
    assert.ok(MetricsServer.fromConfig({ enabled: true, bind_host: '0.0.0.0', port: 0, public: true }, metrics));
  });

  it('defaults to 127.0.0.1:9001 and stops cleanly', async () => {
    metrics = new BridgeMetrics({ protocol: 'test', processMetrics: false });
    server = new MetricsServer({ registry: metrics });
    assert.equal(server.url, 'http://127.0.0.1:9001/metrics');
    await server.stop(); // not started: no-op
  });
});
