import { strict as assert } from 'node:assert';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { App as BoltApp } from '@slack/bolt';
import { slackSignature } from '../../src/slack';
import { startHttpBolt, startWorkspace, type Workspace } from './helpers';

interface Seen {
  eventId: string;
  text?: string;
  ts: string;
  retryNum?: number;
  retryReason?: string;
}

describe('slack emulator: Events API with Bolt over HTTP', () => {
  let w: Workspace;
  let bolt: BoltApp | undefined;
  let seen: Seen[];

  async function startBolt(opts: { processBeforeResponse?: boolean; onMessage?: (s: Seen) => Promise<void> } = {}): Promise<void> {
    const started = await startHttpBolt(w.slack, w.app, w.inst, opts);
    bolt = started.bolt;
    bolt.message(async ({ message, context, body }) => {
      const m = message as { text?: string; ts: string };
      const s = {
        eventId: (body as { event_id: string }).event_id,
        text: m.text,
        ts: m.ts,
        retryNum: context.retryNum,
        retryReason: context.retryReason,
      };
      seen.push(s);
      await opts.onMessage?.(s);
    });
    await started.start();
  }

  beforeEach(async () => {
    w = await startWorkspace({ eventsApi: { ackTimeoutMs: 300, retryDelaysMs: [0, 0, 0] }, app: { socketMode: false } });
    seen = [];
  });
  afterEach(async () => {
    await bolt?.stop().catch(() => undefined);
    bolt = undefined;
    assert.deepEqual(w.slack.web.internalErrors, []);
    await w.slack.stop();
  });

  it('POSTs signed event_callbacks that Bolt verifies and acknowledges', async () => {
    await startBolt();
    const posted = w.alice.post(w.general, 'over http');
    await w.slack.waitForDeliveries(w.app);
    assert.deepEqual(
      seen.map((s) => [s.ts, s.text, s.retryNum]),
      [[posted.ts, 'over http', undefined]],
    );
    const [d] = w.slack.deliveries(w.app);
    assert.equal(d.transport, 'http');
    assert.deepEqual(
      d.attempts.map((a) => [a.retry, a.outcome, a.status]),
      [[0, 'acked', 200]],
    );
  });

  it('signs with v0 HMAC over the raw body at the current time', async () => {
    const received: { headers: http.IncomingHttpHeaders; body: string }[] = [];
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      w.slack.configureApp(w.app, { requestUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/events` });
      w.alice.post(w.general, 'sign me');
      await w.slack.waitForDeliveries(w.app);
      const [{ headers, body }] = received;
      const ts = Number(headers['x-slack-request-timestamp']);
      assert.ok(Math.abs(ts - Date.now() / 1000) < 300);
      assert.equal(headers['x-slack-signature'], slackSignature(w.app.signingSecret, ts, body));
      assert.equal(headers['content-type'], 'application/json');
      const payload = JSON.parse(body) as { type: string; token: string; event: { type: string } };
      assert.equal(payload.type, 'event_callback');
      assert.equal(payload.token, w.app.verificationToken);
      assert.equal(payload.event.type, 'message');
    } finally {
      server.close();
    }
  });

  it('a bad signature gets 401 from Bolt; the retry, signed properly, is handled', async () => {
    await startBolt();
    w.slack.faults.badSignature({ appId: w.app.id });
    w.alice.post(w.general, 'forged?');
    await w.slack.waitForDeliveries(w.app);
    const [d] = w.slack.deliveries(w.app);
    assert.deepEqual(
      d.attempts.map((a) => [a.retry, a.outcome, a.status]),
      [
        [0, 'http_error', 401],
        [1, 'acked', 200],
      ],
    );
    assert.deepEqual(
      seen.map((s) => [s.text, s.retryNum, s.retryReason]),
      [['forged?', 1, 'http_error']],
    );
  });

  it('a stale timestamp is refused', async () => {
    await startBolt();
    w.slack.faults.staleTimestamp({ appId: w.app.id, skewSeconds: 301 });
    w.alice.post(w.general, 'old news');
    await w.slack.waitForDeliveries(w.app);
    const [d] = w.slack.deliveries(w.app);
    assert.deepEqual(
      d.attempts.map((a) => [a.outcome, a.status]),
      [
        ['http_error', 401],
        ['acked', 200],
      ],
    );
    assert.deepEqual(
      seen.map((s) => s.retryNum),
      [1],
    );
  });

  it('url_verification: Bolt echoes the challenge; with a bad signature it answers 401', async () => {
    await startBolt();
    const ok = await w.slack.verifyRequestUrl(w.app, { challenge: 'c1' });
    assert.equal(ok.status, 200);
    assert.equal(ok.verified, true);
    const forged = await w.slack.verifyRequestUrl(w.app, { challenge: 'c2', badSignature: true });
    assert.equal(forged.status, 401);
    assert.equal(forged.verified, false);
    const stale = await w.slack.verifyRequestUrl(w.app, { challenge: 'c3', skewSeconds: 600 });
    assert.equal(stale.status, 401);
    assert.deepEqual(seen, []);
  });

  it('a non-2xx answer is retried with X-Slack-Retry-Num and the same event_id', async () => {
    let failFirst = true;
    await startBolt({
      processBeforeResponse: true,
      onMessage: async () => {
        if (failFirst) {
          failFirst = false;
          throw new Error('listener failed');
        }
      },
    });
    w.alice.post(w.general, 'try again');
    await w.slack.waitForDeliveries(w.app);
    assert.deepEqual(
      seen.map((s) => [s.text, s.retryNum, s.retryReason]),
      [
        ['try again', undefined, undefined],
        ['try again', 1, 'http_error'],
      ],
    );
    const [d] = w.slack.deliveries(w.app);
    assert.deepEqual(
      d.attempts.map((a) => [a.retry, a.outcome, a.status]),
      [
        [0, 'http_error', 500],
        [1, 'acked', 200],
      ],
    );
    assert.deepEqual(
      seen.map((s) => s.eventId),
      [d.eventId, d.eventId],
    );
  });

  it('a slow acknowledgement counts as a timeout: the retry goes out while the first is still running', async () => {
    let releaseFirst!: () => void;
    const firstHeld = new Promise<void>((r) => (releaseFirst = r));
    await startBolt({
      processBeforeResponse: true,
      onMessage: async (s) => {
        if (s.retryNum === undefined) await firstHeld;
        else releaseFirst();
      },
    });
    w.alice.post(w.general, 'slowly');
    await w.slack.waitForDeliveries(w.app);
    assert.deepEqual(
      seen.map((s) => [s.retryNum, s.retryReason]),
      [
        [undefined, undefined],
        [1, 'http_timeout'],
      ],
    );
    const [d] = w.slack.deliveries(w.app);
    assert.deepEqual(
      d.attempts.map((a) => [a.retry, a.outcome]),
      [
        [0, 'http_timeout'],
        [1, 'acked'],
      ],
    );
  });

  it('gives up after the last retry, or at once when the answer says X-Slack-No-Retry', async () => {
    let calls = 0;
    let noRetry = false;
    const server = http.createServer((req, res) => {
      calls++;
      req.resume();
      res.writeHead(503, noRetry ? { 'x-slack-no-retry': '1' } : {}).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      w.slack.configureApp(w.app, { requestUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/events` });
      w.alice.post(w.general, 'nobody home');
      await w.slack.waitForDeliveries(w.app);
      assert.equal(calls, 4);
      assert.equal(w.slack.deliveries(w.app)[0].state, 'failed');
      noRetry = true;
      w.alice.post(w.general, 'stop asking');
      await w.slack.waitForDeliveries(w.app);
      assert.equal(calls, 5);
      assert.deepEqual(
        w.slack.deliveries(w.app)[1].attempts.map((a) => a.status),
        [503],
      );
    } finally {
      server.close();
    }
  });

  it('a refused connection is retried as connection_failed', async () => {
    const server = http.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as AddressInfo).port;
    await new Promise<void>((r) => server.close(() => r()));
    w.slack.configureApp(w.app, { requestUrl: `http://127.0.0.1:${port}/events` });
    w.alice.post(w.general, 'anyone?');
    await w.slack.waitForDeliveries(w.app);
    const [d] = w.slack.deliveries(w.app);
    assert.equal(d.state, 'failed');
    assert.deepEqual(
      d.attempts.map((a) => a.outcome),
      ['connection_failed', 'connection_failed', 'connection_failed', 'connection_failed'],
    );
    assert.deepEqual(
      d.attempts.map((a) => a.reason),
      [undefined, 'connection_failed', 'connection_failed', 'connection_failed'],
    );
  });
});
