// Outbound HTTP from the homeserver to appservices (pushes, queries, ping,
// third-party lookups). Failures are classified the way Synapse reports them:
// a status (any HTTP answer), a connection failure, or a timeout.
import * as http from 'node:http';
import * as https from 'node:https';
import { fieldsOf } from './util';

export interface OutboundResult {
  status: number;
  text: string;
  /** The body parsed as JSON; undefined when empty or not JSON. */
  json: unknown;
}

export class TransportError extends Error {
  constructor(
    readonly kind: 'timeout' | 'connection',
    message: string,
  ) {
    super(message);
  }
}

export interface OutboundOptions {
  token?: string;
  /** Also send the token as `?access_token=` (pre-v1.4 homeservers did only that). */
  tokenInQuery?: boolean;
  query?: Record<string, string>;
  body?: string;
  timeoutMs: number;
  signal?: AbortSignal;
}

export class Outbound {
  // Keep-alive like Synapse's pooled client; many pushes reuse one connection.
  private httpAgent = new http.Agent({ keepAlive: true, maxSockets: 50, noDelay: true });
  private httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 50, noDelay: true });

  /**
   * `legacyOnly`: call only the last (legacy) of the paths `withFallback` is given, with the token
   * only in `?access_token=`, as Synapse did before 1.81.
   */
  constructor(private readonly legacyOnly = false) {}

  /** `base` is the registration URL (may contain a path); `path` starts with '/'. */
  request(method: string, base: string, path: string, opts: OutboundOptions): Promise<OutboundResult> {
    const u = new URL(base.replace(/\/+$/, '') + path);
    if (opts.query) for (const [k, v] of Object.entries(opts.query)) u.searchParams.append(k, v);
    if (opts.token && (opts.tokenInQuery || this.legacyOnly)) u.searchParams.set('access_token', opts.token);
    const headers: Record<string, string> = {};
    if (opts.token && !this.legacyOnly) headers.authorization = `Bearer ${opts.token}`;
    let payload: Buffer | undefined;
    if (opts.body !== undefined) {
      payload = Buffer.from(opts.body);
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(payload.length);
    }
    const mod = u.protocol === 'https:' ? https : http;
    const agent = u.protocol === 'https:' ? this.httpsAgent : this.httpAgent;
    return new Promise((resolve, reject) => {
      let settled = false;
      const finish = (err: Error | undefined, res?: OutboundResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve(res!);
      };
      const req = mod.request(u, { method, headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = text ? JSON.parse(text) : undefined;
          } catch {
            json = undefined;
          }
          finish(undefined, { status: res.statusCode ?? 0, text, json });
        });
        res.on('error', (e) => finish(new TransportError('connection', e.message)));
      });
      const timer = setTimeout(() => {
        finish(new TransportError('timeout', `timed out after ${opts.timeoutMs}ms`));
        req.destroy();
      }, opts.timeoutMs);
      const onAbort = () => {
        finish(new TransportError('connection', 'aborted'));
        req.destroy();
      };
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      req.on('error', (e) => finish(new TransportError('connection', e.message)));
      req.end(payload);
    });
  }

  /**
   * Try the v1 path, then the legacy one when v1 says "unknown endpoint"
   * (see isUnknownEndpoint) — Synapse's fallback rule.
   */
  async withFallback(method: string, base: string, paths: string[], opts: OutboundOptions): Promise<OutboundResult & { path: string }> {
    if (this.legacyOnly) paths = paths.slice(-1);
    let last!: OutboundResult & { path: string };
    for (let i = 0; i < paths.length; i++) {
      const r = await this.request(method, base, paths[i], opts);
      last = { ...r, path: paths[i] };
      if (i < paths.length - 1 && isUnknownEndpoint(r)) continue;
      return last;
    }
    return last;
  }

  destroy(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  /** Drop every connection (requests in flight fail) and start with fresh pools: a process restart. */
  reset(): void {
    this.destroy();
    this.httpAgent = new http.Agent({ keepAlive: true, maxSockets: 50, noDelay: true });
    this.httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 50, noDelay: true });
  }
}

/**
 * Synapse's is_unknown_endpoint: 404/405 with an empty or non-JSON body or errcode
 * M_UNRECOGNIZED, or 400 M_UNRECOGNIZED; plus 501 Not Implemented. A 404 with a JSON
 * M_NOT_FOUND is a real answer ("no such user"), not a missing route.
 */
function isUnknownEndpoint(r: OutboundResult): boolean {
  if (r.status === 501) return true;
  if (r.status === 404 || r.status === 405) {
    return !r.text.trimStart().startsWith('{') || fieldsOf(r.json).errcode === 'M_UNRECOGNIZED';
  }
  return r.status === 400 && fieldsOf(r.json).errcode === 'M_UNRECOGNIZED';
}
