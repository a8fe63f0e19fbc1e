/**
 * The bridge's HTTP client towards the homeserver (client-server API with
 * application-service powers).
 *
 * - One undici `Pool` per homeserver origin with a bounded number of keep-alive
 *   connections (default 32), so thousands of ghosts share a few sockets.
 * - The as_token travels only in the `Authorization: Bearer` header: never in
 *   the query string, never in a log line (it is also registered as a secret).
 * - Identity assertion: `userId` becomes `?user_id=`; `ts` becomes `?ts=`.
 * - Errors come out as `MatrixError` (status + errcode). Network failures and
 *   timeouts after the last retry are `MatrixConnectionError` (status 0).
 *   `M_UNKNOWN_TOKEN` / `M_MISSING_TOKEN` are `MatrixTokenError`: a fatal
 *   configuration error (wrong as_token), never retried; `onFatalError` fires.
 *
 * Retry policy (see `retryModeFor`):
 * - 429 `M_LIMIT_EXCEEDED`: the server did not act, so every request may be
 *   retried. Waits `Retry-After` (seconds or HTTP date), else `retry_after_ms`,
 *   else the backoff delay. A wait longer than `maxRateLimitWaitMs` gives up.
 * - 5xx, network errors, timeouts: retried with exponential backoff + jitter
 *   (`BackoffPolicy`), bounded by `maxRetries`, but only for requests that are
 *   safe to repeat: GET/HEAD/DELETE, every PUT (sends and redactions carry a
 *   txnId, state/profile/typing PUTs are idempotent by nature), and POSTs whose
 *   repetition converges on the same state (join, invite, leave, kick, ban,
 *   unban, forget, knock, register — a repeat register answers M_USER_IN_USE,
 *   which callers treat as success —, receipts, read markers, ping, upload — a
 *   repeat upload only orphans a copy).
 * - Other 4xx: never retried.
 * - `POST /createRoom` (and any POST not listed above) is "rejected-only":
 *   retried after a 429 or when the connection could not even be established
 *   (ECONNREFUSED, connect timeout), because then the server certainly did
 *   nothing. After a timeout, a reset or a 5xx the room may already exist, and
 *   a blind retry would create a second room; the error goes to the caller,
 *   who can look for the room (e.g. by alias) before trying again.
 *   Callers can override with `idempotent: true|false`.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { Pool, errors as undiciErrors } from 'undici';
import type { Dispatcher } from 'undici';
import { MatrixError } from '../util/matrix-error';
import { exchange } from '../util/buffered-exchange';
import { BackoffPolicy, DEFAULT_BACKOFF, backoffDelay, sleep } from '../util/backoff';
import { getLogger, registerSecret, redact } from '../logging/logger';
import type { Logger } from '../logging/logger';

/** A wrong or missing as_token: the bridge is misconfigured and must stop and report. */
export class MatrixTokenError extends MatrixError {
  readonly fatal = true;
  constructor(status: number, errcode: string, message: string, extra: Record<string, unknown> = {}) {
    super(
      status,
      errcode,
      `homeserver rejected the as_token (${errcode}): ${message}. Check as_token in the registration and the bridge config.`,
      extra,
    );
    this.name = 'MatrixTokenError';
  }
}

/** The homeserver could not be reached or did not answer in time (status 0). */
export class MatrixConnectionError extends MatrixError {
  constructor(
    errcode: 'M_CONNECTION_FAILED' | 'M_CONNECTION_TIMEOUT',
    message: string,
    public override readonly cause?: unknown,
  ) {
    super(0, errcode, message);
    this.name = 'MatrixConnectionError';
  }
}

export interface RequestMetricInfo {
  /** Endpoint label (path template), bounded cardinality. */
  endpoint: string;
  method: string;
  /** HTTP status, or 0 for a network error / timeout. */
  status: number;
  durationMs: number;
  /** 0 for the first attempt. */
  attempt: number;
  requestId: string;
  errcode?: string;
}

export interface MatrixHttpClientOptions {
  /** Homeserver base URL, e.g. http://localhost:8008 (a path prefix is kept). */
  baseUrl: string;
  asToken: string;
  /** Maximum keep-alive connections to the homeserver (default 32). */
  connections?: number;
  keepAliveTimeoutMs?: number;
  /** Default per-attempt timeout (default 30 s). */
  timeoutMs?: number;
  backoff?: BackoffPolicy;
  /** Give up instead of waiting when a 429 asks for more than this (default 5 min). */
  maxRateLimitWaitMs?: number;
  /** Called once per attempt (metrics hook); exceptions are swallowed. */
  onRequest?: (info: RequestMetricInfo) => void;
  /** Called when the homeserver rejects the as_token (fatal). */
  onFatalError?: (err: MatrixTokenError) => void;
  logger?: Logger;
  /** Injectable for tests (e.g. a MockAgent); the client then does not own it. */
  dispatcher?: Dispatcher;
  /** Injectable randomness for backoff jitter. */
  random?: () => number;
}

type QueryValue = string | number | boolean | undefined | null | Array<string | number>;

export interface RequestOptions {
  query?: Record<string, QueryValue>;
  /** JSON body, or raw bytes (Buffer/Uint8Array) sent as is with `contentType`. */
  body?: unknown;
  contentType?: string;
  /** Act as this user (`?user_id=`); omit for the bridge bot. */
  userId?: string;
  /** Timestamp massaging (`?ts=`). */
  ts?: number;
  /** Return the raw bytes and headers instead of parsed JSON. */
  raw?: boolean;
  /** With `raw`: fail with 413 M_TOO_LARGE past this many bytes. */
  maxBytes?: number;
  timeoutMs?: number;
  /** Endpoint label for logs/metrics, e.g. "PUT /rooms/{roomId}/send/{eventType}/{txnId}". */
  endpoint?: string;
  /** Override the retry classification (see the module comment). */
  idempotent?: boolean;
  /** Override the client's retry bound for this request (0 = one attempt; callers with their own retry loop). */
  maxRetries?: number;
  signal?: AbortSignal;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  contentType?: string;
}

type RetryMode = 'idempotent' | 'rejected-only';

const SAFE_POST = [
  /\/join\/[^/]+$/,
  /\/rooms\/[^/]+\/(join|invite|leave|kick|ban|unban|forget|read_markers)$/,
  /\/knock\/[^/]+$/,
  /\/receipt\/[^/]+\/[^/]+$/,
  /\/register$/,
  /\/appservice\/[^/]+\/ping$/,
  /\/_matrix\/media\/v3\/upload$/,
];

/** How a request may be retried after a failure that might have reached the server. */
export function retryModeFor(method: string, path: string): RetryMode {
  const m = method.toUpperCase();
  if (m === 'GET' || m === 'HEAD' || m === 'DELETE' || m === 'PUT' || m === 'OPTIONS') return 'idempotent';
  const p = path.split('?')[0];
  if (m === 'POST' && SAFE_POST.some((re) => re.test(p))) return 'idempotent';
  return 'rejected-only';
}

/** Parses Retry-After (delta seconds or an HTTP date) into ms. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || v.trim() === '') return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(v)) return Math.round(Number(v) * 1000);
  const date = Date.parse(v);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/** A label with IDs replaced by placeholders, for requests that did not pass one. */
export function endpointLabel(method: string, path: string): string {
  let p = path.split('?')[0];
  for (const prefix of ['/_matrix/client/v3', '/_matrix/client/v1', '/_matrix/client/r0']) {
    if (p.startsWith(prefix + '/')) {
      p = p.slice(prefix.length);
      break;
    }
  }
  const segs = p.split('/').map((s) => {
    const d = safeDecode(s);
    return /^[!@$#+]/.test(d) || /^\d+$/.test(d) || d.length > 40 ? '{id}' : s;
  });
  return `${method.toUpperCase()} ${segs.join('/')}`;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

const CONNECT_ERROR_CODES = new Set(['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

function errorCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let i = 0; e && i < 4; i++) {
    const { code, cause } = e as { code?: unknown; cause?: unknown };
    if (typeof code === 'string') return code;
    e = cause;
  }
  return undefined;
}

class AttemptTimeout extends Error {}

/**
 * What undici needs of an abort signal (it accepts an EventEmitter): one per
 * attempt. Constructing an AbortController cost about 10 µs, once per request
 * to the homeserver.
 */
class AttemptSignal extends EventEmitter {
  aborted = false;
  reason: unknown;
  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.emit('abort');
  }
}

export class MatrixHttpClient {
  readonly baseUrl: string;
  private readonly origin: string;
  private readonly prefix: string;
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private readonly authHeader: string;
  private readonly log: Logger;
  private readonly backoff: BackoffPolicy;
  private readonly timeoutMs: number;
  private readonly maxRateLimitWaitMs: number;
  private readonly random: () => number;
  private readonly idPrefix = randomBytes(3).toString('hex');
  private counter = 0;
  private closed = false;
  private fatalReported = false;

  constructor(private readonly opts: MatrixHttpClientOptions) {
    const url = new URL(opts.baseUrl);
    this.origin = url.origin;
    this.prefix = url.pathname.replace(/\/+$/, '');
    this.baseUrl = this.origin + this.prefix;
    registerSecret(opts.asToken);
    this.authHeader = `Bearer ${opts.asToken}`;
    this.ownsDispatcher = !opts.dispatcher;
    this.dispatcher =
      opts.dispatcher ??
      new Pool(this.origin, {
        connections: opts.connections ?? 32,
        pipelining: 1,
        keepAliveTimeout: opts.keepAliveTimeoutMs ?? 30_000,
      });
    this.log = opts.logger ?? getLogger('matrix.http');
    this.backoff = opts.backoff ?? DEFAULT_BACKOFF;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.maxRateLimitWaitMs = opts.maxRateLimitWaitMs ?? 5 * 60_000;
    this.random = opts.random ?? Math.random;
  }

  /** JSON request; resolves with the parsed body (or `{}` for an empty one). */
  request<T = unknown>(method: string, path: string, opts?: RequestOptions & { raw?: false }): Promise<T>;
  request(method: string, path: string, opts: RequestOptions & { raw: true }): Promise<RawResponse>;
  async request(method: string, path: string, opts: RequestOptions = {}): Promise<unknown> {
    if (this.closed) throw new MatrixConnectionError('M_CONNECTION_FAILED', 'Matrix HTTP client is closed');
    method = method.toUpperCase();
    const fullPath = this.prefix + path + this.queryString(opts);
    const endpoint = opts.endpoint ?? endpointLabel(method, path);
    const mode: RetryMode =
      opts.idempotent === true ? 'idempotent' : opts.idempotent === false ? 'rejected-only' : retryModeFor(method, path);
    const requestId = `${this.idPrefix}-${++this.counter}`;
    const log = this.log; // requestId goes in each line's fields: no child logger per request on the hot path
    const { body, headers } = this.encodeBody(method, opts);

    for (let attempt = 0; ; attempt++) {
      const started = performance.now();
      let status = 0;
      let errcode: string | undefined;
      try {
        const result = await this.attempt(method, fullPath, headers, body, opts);
        status = result.status;
        if (status >= 200 && status < 300) {
          // Guarded: this is every successful request, and building the line (redacting the path) is not free.
          if (log.isLevelEnabled('debug'))
            log.debug(`${method} ${redact(path)} -> ${status}`, {
              endpoint,
              ms: Math.round(performance.now() - started),
              attempt,
              requestId,
            });
          return result.value;
        }
        const err = result.error!;
        errcode = err.errcode;
        if (err instanceof MatrixTokenError) {
          log.error(`${method} ${redact(path)} -> ${status} ${err.errcode}: as_token rejected`, { endpoint, requestId });
          if (!this.fatalReported) {
            this.fatalReported = true;
            try {
              this.opts.onFatalError?.(err);
            } catch {
              /* hook errors are not ours */
            }
          }
          throw err;
        }
        const delay = this.retryDelay(err, result.headers, attempt, mode, opts.maxRetries);
        if (delay === undefined) {
          log.debug(`${method} ${redact(path)} -> ${status} ${err.errcode}`, { endpoint, attempt, requestId });
          throw err;
        }
        log.warn(`${method} ${redact(path)} -> ${status} ${err.errcode}; retrying in ${delay} ms`, { endpoint, attempt, requestId });
        await sleep(delay, opts.signal);
      } catch (err) {
        if (err instanceof MatrixError) throw err;
        if (opts.signal?.aborted) throw opts.signal.reason ?? err;
        // Network error or our per-attempt timeout.
        const timedOut =
          err instanceof AttemptTimeout || err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError;
        const code = errorCode(err);
        const neverSent = code !== undefined && CONNECT_ERROR_CODES.has(code);
        const retryable = (mode === 'idempotent' || neverSent) && attempt < (opts.maxRetries ?? this.backoff.maxRetries);
        const what = timedOut ? `timed out after ${opts.timeoutMs ?? this.timeoutMs} ms` : `failed: ${code ?? (err as Error).message}`;
        this.report({
          endpoint,
          method,
          status: 0,
          durationMs: performance.now() - started,
          attempt,
          requestId,
          errcode: timedOut ? 'M_CONNECTION_TIMEOUT' : 'M_CONNECTION_FAILED',
        });
        if (!retryable) {
          log.warn(`${method} ${redact(path)} ${what}; giving up`, { endpoint, attempt, requestId });
          throw new MatrixConnectionError(
            timedOut ? 'M_CONNECTION_TIMEOUT' : 'M_CONNECTION_FAILED',
            `${endpoint.startsWith(method + ' ') ? endpoint : `${method} ${endpoint}`} ${what}`,
            err,
          );
        }
        const delay = backoffDelay(attempt, this.backoff, this.random);
        log.warn(`${method} ${redact(path)} ${what}; retrying in ${delay} ms`, { endpoint, attempt, requestId });
        await sleep(delay, opts.signal);
        continue;
      } finally {
        if (status !== 0) this.report({ endpoint, method, status, durationMs: performance.now() - started, attempt, requestId, errcode });
      }
    }
  }

  /** Closes the connection pool (only if the client created it). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsDispatcher) await this.dispatcher.close();
  }

  private report(info: RequestMetricInfo): void {
    if (!this.opts.onRequest) return;
    try {
      this.opts.onRequest({ ...info, durationMs: Math.round(info.durationMs * 1000) / 1000 });
    } catch {
      /* metrics must never break requests */
    }
  }

  /** ms to wait before the next attempt, or undefined to give up. */
  private retryDelay(
    err: MatrixError,
    headers: RawResponse['headers'],
    attempt: number,
    mode: RetryMode,
    maxRetries = this.backoff.maxRetries,
  ): number | undefined {
    if (attempt >= maxRetries) return undefined;
    if (err.status === 429 || err.errcode === 'M_LIMIT_EXCEEDED') {
      const fromHeader = parseRetryAfter(headers['retry-after']);
      const fromBody = typeof err.extra.retry_after_ms === 'number' ? err.extra.retry_after_ms : undefined;
      const wait = fromHeader ?? fromBody ?? backoffDelay(attempt, this.backoff, this.random);
      return wait > this.maxRateLimitWaitMs ? undefined : wait;
    }
    if (err.status >= 500 && mode === 'idempotent') return backoffDelay(attempt, this.backoff, this.random);
    return undefined;
  }

  private queryString(opts: RequestOptions): string {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(opts.query ?? {})) {
      if (v === undefined || v === null) continue;
      if (Array.isArray(v)) for (const item of v) params.append(k, String(item));
      else params.append(k, String(v));
    }
    if (opts.userId) params.set('user_id', opts.userId);
    if (opts.ts !== undefined) params.set('ts', String(Math.trunc(opts.ts)));
    const s = params.toString();
    return s ? `?${s}` : '';
  }

  private encodeBody(method: string, opts: RequestOptions): { body: Buffer | undefined; headers: Record<string, string> } {
    const headers: Record<string, string> = { authorization: this.authHeader, accept: 'application/json' };
    if (opts.body instanceof Uint8Array) {
      headers['content-type'] = opts.contentType ?? 'application/octet-stream';
      return { body: Buffer.from(opts.body.buffer, opts.body.byteOffset, opts.body.byteLength), headers };
    }
    if (opts.body === undefined && (method === 'GET' || method === 'HEAD' || method === 'DELETE')) return { body: undefined, headers };
    headers['content-type'] = opts.contentType ?? 'application/json';
    return { body: Buffer.from(JSON.stringify(opts.body ?? {}), 'utf8'), headers };
  }

  private async attempt(
    method: string,
    path: string,
    headers: Record<string, string>,
    body: Buffer | undefined,
    opts: RequestOptions,
  ): Promise<{ status: number; headers: RawResponse['headers']; value?: unknown; error?: MatrixError }> {
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
    if (!opts.raw) return this.attemptJson(method, path, headers, body, opts, timeoutMs);
    const ac = new AttemptSignal();
    const timer = setTimeout(() => ac.abort(new AttemptTimeout('timeout')), timeoutMs);
    const onCallerAbort = () => ac.abort(opts.signal!.reason);
    opts.signal?.addEventListener('abort', onCallerAbort, { once: true });
    try {
      const res = await this.dispatcher.request({
        origin: this.origin,
        path,
        method: method,
        headers,
        body,
        signal: ac,
        headersTimeout: timeoutMs + 1000,
        bodyTimeout: timeoutMs + 1000,
      });
      const status = res.statusCode;
      const resHeaders = res.headers as RawResponse['headers'];
      const contentType = headerValue(resHeaders['content-type']);
      if (status >= 200 && status < 300) {
        if (opts.raw) {
          const buf = await readCapped(res.body, opts.maxBytes, headerValue(resHeaders['content-length']));
          return { status, headers: resHeaders, value: { status, headers: resHeaders, body: buf, contentType } satisfies RawResponse };
        }
        const text = await res.body.text();
        if (!text) return { status, headers: resHeaders, value: {} };
        try {
          return { status, headers: resHeaders, value: JSON.parse(text) };
        } catch {
          return {
            status,
            headers: resHeaders,
            error: new MatrixError(status, 'M_NOT_JSON', `homeserver answered ${status} with a body that is not JSON`),
          };
        }
      }
      const text = await res.body.text().catch(() => '');
      return { status, headers: resHeaders, error: toMatrixError(status, text) };
    } catch (err) {
      if (ac.aborted && ac.reason instanceof AttemptTimeout) throw ac.reason;
      throw err;
    } finally {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onCallerAbort);
    }
  }

  /** A JSON request: the response is read whole (buffered-exchange.ts), no stream in between. */
  private async attemptJson(
    method: string,
    path: string,
    headers: Record<string, string>,
    body: Buffer | undefined,
    opts: RequestOptions,
    timeoutMs: number,
  ): Promise<{ status: number; headers: RawResponse['headers']; value?: unknown; error?: MatrixError }> {
    const ex = exchange(this.dispatcher, {
      origin: this.origin,
      path,
      method: method,
      headers,
      body,
      headersTimeout: timeoutMs + 1000,
      bodyTimeout: timeoutMs + 1000,
    });
    const timer = setTimeout(() => ex.abort(new AttemptTimeout('timeout')), timeoutMs);
    const signal = opts.signal;
    const onCallerAbort = signal
      ? () => ex.abort(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason ?? 'aborted')))
      : undefined;
    if (signal && onCallerAbort) {
      if (signal.aborted) onCallerAbort();
      else signal.addEventListener('abort', onCallerAbort, { once: true });
    }
    try {
      const res = await ex.response;
      const status = res.status;
      const text = res.body.toString('utf8');
      if (status >= 200 && status < 300) {
        // The headers of a success are not looked at: they are not even parsed.
        if (!text) return { status, headers: NO_HEADERS, value: {} };
        try {
          return { status, headers: NO_HEADERS, value: JSON.parse(text) };
        } catch {
          return {
            status,
            headers: NO_HEADERS,
            error: new MatrixError(status, 'M_NOT_JSON', `homeserver answered ${status} with a body that is not JSON`),
          };
        }
      }
      return { status, headers: res.headers(), error: toMatrixError(status, text) };
    } finally {
      clearTimeout(timer);
      if (signal && onCallerAbort) signal.removeEventListener('abort', onCallerAbort);
    }
  }
}

const NO_HEADERS: RawResponse['headers'] = Object.freeze({});

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

async function readCapped(
  body: Dispatcher.ResponseData['body'],
  maxBytes: number | undefined,
  contentLength: string | undefined,
): Promise<Buffer> {
  // Destroying an undici body without an error listener would surface as an uncaught AbortError.
  body.on('error', () => {});
  if (maxBytes !== undefined && contentLength !== undefined && Number(contentLength) > maxBytes) {
    body.destroy();
    throw new MatrixError(413, 'M_TOO_LARGE', `response is ${contentLength} bytes, over the ${maxBytes}-byte limit`);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    total += (chunk as Buffer).length;
    if (maxBytes !== undefined && total > maxBytes) break;
    chunks.push(chunk as Buffer);
  }
  if (maxBytes !== undefined && total > maxBytes) {
    // Leaving the loop early destroys the stream and the connection; nothing more is read.
    body.destroy();
    throw new MatrixError(413, 'M_TOO_LARGE', `response exceeds the ${maxBytes}-byte limit`);
  }
  return Buffer.concat(chunks, total);
}

function toMatrixError(status: number, text: string): MatrixError {
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  // A JSON object body is a Matrix error; anything else (HTML from a proxy, a bare string) is not.
  const body = parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {};
  const errcode = typeof body.errcode === 'string' ? body.errcode : status === 429 ? 'M_LIMIT_EXCEEDED' : 'M_UNKNOWN';
  const message = typeof body.error === 'string' ? body.error : `HTTP ${status}`;
  const extra: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(body)) if (k !== 'errcode' && k !== 'error') extra[k] = v;
  if ((errcode === 'M_UNKNOWN_TOKEN' || errcode === 'M_MISSING_TOKEN') && (status === 401 || status === 403)) {
    return new MatrixTokenError(status, errcode, message, extra);
  }
  return new MatrixError(status, errcode, message, extra);
}
