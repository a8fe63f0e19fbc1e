// Events API delivery over HTTP: each `event_callback` is POSTed as JSON to the app's Request
// URL, signed (v0) at the moment of sending. No 2xx within the ack timeout (3 s), a non-2xx, a
// redirect or a refused connection is a failure, retried with the byte-identical body and
// `X-Slack-Retry-Num` / `X-Slack-Retry-Reason` (Slack: at once, ~1 min, ~5 min; here scaled
// down). A slow attempt is not cancelled: like Slack, the retry goes out anyway, so receivers
// see duplicates. `X-Slack-No-Retry: 1` in a failed answer stops the retries.
import * as http from 'node:http';
import * as https from 'node:https';
import type { Attempt, Delivery, DeliveryLog } from './deliveries';
import type { Transport } from './dispatcher';
import type { Faults } from './faults';
import { randomHex } from './ids';
import type { App } from './model';
import { signedHeaders } from './signing';

export interface EventsApiOptions {
  /** How long a delivery may take before it counts as `http_timeout` (Slack: 3 s). */
  ackTimeoutMs?: number;
  /** Delay before each retry; its length is the number of retries (Slack: 0, ~1 min, ~5 min). */
  retryDelaysMs?: number[];
}

export interface PostResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

const USER_AGENT = 'Slackbot 1.0 (+https://api.slack.com/robots)';

export class EventsApiSender implements Transport {
  readonly ackTimeoutMs: number;
  readonly retryDelaysMs: number[];
  private requests = new Set<http.ClientRequest>();
  private timers = new Set<NodeJS.Timeout>();
  private bodies = new WeakMap<Delivery, Buffer>();
  private stopped = false;

  constructor(
    opts: EventsApiOptions,
    private log: DeliveryLog,
    private faults: Faults,
  ) {
    this.ackTimeoutMs = opts.ackTimeoutMs ?? 3000;
    this.retryDelaysMs = opts.retryDelaysMs ?? [0, 1000, 5000];
  }

  send(app: App, delivery: Delivery): void {
    this.bodies.set(delivery, Buffer.from(JSON.stringify(delivery.payload)));
    this.attempt(app, delivery, 0, undefined);
  }

  private attempt(app: App, delivery: Delivery, retry: number, reason: string | undefined): void {
    if (this.stopped) return;
    const url = app.requestUrl;
    const body = this.bodies.get(delivery)!;
    const attempt: Attempt = { retry, reason, outcome: 'sent', at: Date.now() };
    delivery.attempts.push(attempt);
    if (!url) {
      attempt.outcome = 'connection_failed';
      this.log.settle(delivery, 'failed');
      return;
    }
    const fault = this.faults.takeSignatureFault(app.id);
    const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': USER_AGENT };
    if (retry > 0) {
      headers['x-slack-retry-num'] = String(retry);
      headers['x-slack-retry-reason'] = reason ?? 'unknown_error';
    }
    const now = Math.floor(Date.now() / 1000) - (fault?.kind === 'stale' ? fault.skewSeconds : 0);
    Object.assign(headers, signedHeaders(fault?.kind === 'bad' ? randomHex(16) : app.signingSecret, body, now));
    let settled = false;
    const finish = (outcome: Attempt['outcome'], status?: number, noRetry = false) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      this.timers.delete(timer);
      attempt.outcome = outcome;
      attempt.status = status;
      if (outcome === 'acked') {
        this.log.settle(delivery, 'acked');
        return;
      }
      this.log.changed();
      if (noRetry || retry >= this.retryDelaysMs.length || delivery.state !== 'pending') {
        this.log.settle(delivery, 'failed');
        return;
      }
      const t = setTimeout(() => {
        this.timers.delete(t);
        this.attempt(app, delivery, retry + 1, outcome);
      }, this.retryDelaysMs[retry]);
      this.timers.add(t);
    };
    const timer = setTimeout(() => finish('http_timeout'), this.ackTimeoutMs);
    this.timers.add(timer);
    const req = this.request(url, headers, body, (err, res) => {
      if (err) {
        const code = (err as NodeJS.ErrnoException).code ?? '';
        finish(
          ['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENOTFOUND', 'EPIPE'].includes(code)
            ? 'connection_failed'
            : code.startsWith('ERR_TLS') || code.includes('CERT') || code.startsWith('ERR_SSL')
              ? 'ssl_error'
              : 'unknown_error',
        );
        return;
      }
      const status = res!.status;
      const noRetry = res!.headers['x-slack-no-retry'] === '1';
      if (status >= 200 && status < 300) finish('acked', status);
      else if (status >= 300 && status < 400) finish('too_many_redirects', status, noRetry);
      else finish('http_error', status, noRetry);
    });
    if (!req) finish('connection_failed');
  }

  private request(
    url: string,
    headers: Record<string, string>,
    body: Buffer,
    done: (err: Error | undefined, res?: PostResult) => void,
  ): http.ClientRequest | undefined {
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      return undefined;
    }
    const mod = target.protocol === 'https:' ? https : http;
    const req = mod.request(target, { method: 'POST', headers: { ...headers, 'content-length': String(body.length) }, agent: false });
    this.requests.add(req);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        this.requests.delete(req);
        done(undefined, { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', (e) => {
        this.requests.delete(req);
        done(e);
      });
    });
    req.on('error', (e) => {
      this.requests.delete(req);
      done(e);
    });
    req.end(body);
    return req;
  }

  /** Slack's `url_verification` handshake against `url` (default: the app's Request URL). */
  urlVerification(
    app: App,
    opts: { url?: string; challenge?: string; badSignature?: boolean; skewSeconds?: number } = {},
  ): Promise<PostResult & { challenge: string; verified: boolean }> {
    const challenge = opts.challenge ?? randomHex(24);
    const body = Buffer.from(JSON.stringify({ token: app.verificationToken, challenge, type: 'url_verification' }));
    const now = Math.floor(Date.now() / 1000) - (opts.skewSeconds ?? 0);
    const headers = {
      'content-type': 'application/json',
      'user-agent': USER_AGENT,
      ...signedHeaders(opts.badSignature ? randomHex(16) : app.signingSecret, body, now),
    };
    return this.post(opts.url ?? app.requestUrl ?? '', headers, body).then((r) => {
      let echoed: unknown = r.body;
      try {
        const parsed = JSON.parse(r.body) as { challenge?: unknown };
        if (parsed && typeof parsed === 'object') echoed = parsed.challenge;
      } catch {
        /* a bare string answer */
      }
      return { ...r, challenge, verified: r.status === 200 && echoed === challenge };
    });
  }

  /** POSTs a body with the given headers (signed or not), for specs probing a receiver. */
  post(url: string, headers: Record<string, string>, body: Buffer): Promise<PostResult> {
    return new Promise((resolve, reject) => {
      const req = this.request(url, headers, body, (err, res) => (err ? reject(err) : resolve(res!)));
      if (!req) reject(new Error(`invalid URL ${url}`));
    });
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const r of this.requests) r.destroy();
    this.requests.clear();
  }
}
