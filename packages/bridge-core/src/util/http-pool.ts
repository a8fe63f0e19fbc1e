/**
 * A lean keep-alive HTTP client for one origin, for a connector's calls to its network's REST API
 * (the core's own homeserver client runs on the same exchange): one undici `Pool`, each answer
 * read whole into memory (buffered-exchange.ts), a per-request timeout and abort signal.
 *
 * Why not the global `fetch()`: a relay makes one REST call per message, and fetch's WHATWG
 * machinery (a request body written through an async iterable, web streams for the answer, an
 * AbortSignal.any per call) cost several times the CPU of the call itself. Measured on the Gitter
 * bridge's Matrix → Gitter path (bench/gitter.ts), fetch and its streams were a fifth of the
 * process's CPU per message.
 */
import { Pool } from 'undici';
import { exchange } from './buffered-exchange';

/** An answer, read whole. */
export interface HttpAnswer {
  status: number;
  body: Buffer;
  /** The body as UTF-8 text. */
  text(): string;
  /** A response header (case-insensitive name), or undefined. A repeated header gives its first value. */
  header(name: string): string | undefined;
  /** Every response header, names lower-cased. */
  headers(): Record<string, string>;
}

/** A streamed answer: its status and headers once they arrived, the body as it comes. */
export interface HttpStreamAnswer {
  status: number;
  header(name: string): string | undefined;
  /** The body's chunks as they arrive; ends when the server ends it, throws when the connection fails or is aborted. */
  body: AsyncIterable<Buffer>;
  /** The whole body as text (for an error answer). */
  text(): Promise<string>;
}

export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD';
  /** Path and query, e.g. `/v1/rooms/1/chatMessages?limit=50` (joined to the pool's origin). */
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** The whole exchange must end within this (default: the pool's). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** The answer did not come within the request's timeout. */
export class HttpTimeoutError extends Error {
  readonly code = 'HTTP_TIMEOUT';
  constructor(method: string, path: string, ms: number) {
    super(`${method} ${path} timed out after ${ms} ms`);
    this.name = 'HttpTimeoutError';
  }
}

export interface HttpPoolOptions {
  /**
   * Keep-alive connections at most (default 8); null for no limit, which a pool of long-lived
   * streams needs (each holds its connection for as long as it is open).
   */
  connections?: number | null;
  /** Default per-request timeout (default 30 s). */
  timeoutMs?: number;
  keepAliveTimeoutMs?: number;
}

export class HttpPool {
  readonly origin: string;
  private readonly pool: Pool;
  private readonly timeoutMs: number;

  /** `origin`: scheme, host and port (a path in it is ignored: requests carry the full path). */
  constructor(origin: string, opts: HttpPoolOptions = {}) {
    this.origin = new URL(origin).origin;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.pool = new Pool(this.origin, {
      connections: opts.connections === undefined ? 8 : opts.connections,
      pipelining: 1,
      keepAliveTimeout: opts.keepAliveTimeoutMs ?? 30_000,
    });
  }

  /**
   * Sends the request; resolves with the answer whatever its status. Rejects on a network error
   * (undici's, with its `code`, e.g. ECONNREFUSED), on the timeout (HttpTimeoutError) and when
   * `signal` aborts (with the signal's reason).
   */
  request(req: HttpRequest): Promise<HttpAnswer> {
    const { signal } = req;
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    const ms = req.timeoutMs ?? this.timeoutMs;
    const body = typeof req.body === 'string' ? Buffer.from(req.body, 'utf8') : req.body;
    const started = exchange(this.pool, {
      origin: this.origin,
      path: req.path,
      method: req.method,
      headers: req.headers ?? {},
      ...(body !== undefined ? { body } : {}),
      // undici's own guards stay longer than ours, so the error the caller sees is ours.
      headersTimeout: ms + 1000,
      bodyTimeout: ms + 1000,
    });
    const timer = setTimeout(() => started.abort(new HttpTimeoutError(req.method, req.path, ms)), ms);
    const onAbort = () => started.abort(abortReason(signal!));
    signal?.addEventListener('abort', onAbort, { once: true });
    return started.response.then(
      (r) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        return {
          status: r.status,
          body: r.body,
          text: () => r.body.toString('utf8'),
          header: (name) => r.headers()[name.toLowerCase()],
          headers: () => ({ ...r.headers() }),
        };
      },
      (err: unknown) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        throw err;
      },
    );
  }

  /**
   * Opens a long-lived answer (a streaming API): resolves once its headers arrived (within the
   * request's timeout); the body then has no timeout of its own — the caller watches for stalls
   * and aborts with `signal`, which also ends the body.
   */
  async stream(req: Omit<HttpRequest, 'body'>): Promise<HttpStreamAnswer> {
    const { signal } = req;
    if (signal?.aborted) throw abortReason(signal);
    const ms = req.timeoutMs ?? this.timeoutMs;
    const r = await this.pool.request({
      origin: this.origin,
      path: req.path,
      method: req.method,
      headers: req.headers ?? {},
      headersTimeout: ms,
      bodyTimeout: 0,
      ...(signal ? { signal } : {}),
    });
    const headers = r.headers;
    return {
      status: r.statusCode,
      header: (name) => {
        const v = headers[name.toLowerCase()];
        return Array.isArray(v) ? v[0] : v;
      },
      body: r.body as AsyncIterable<Buffer>,
      text: () => r.body.text(),
    };
  }

  /** Closes the pool's connections (requests in flight finish first). */
  close(): Promise<void> {
    return this.pool.close();
  }
}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('aborted');
}

/**
 * Pools by origin, each made on first use: what a connector calls its network through when the
 * origin comes with the request (several API hosts, or one host shared by every token and
 * account of the bridge, as fetch's global pool was).
 */
export class HttpPools {
  private readonly pools = new Map<string, HttpPool>();

  constructor(private readonly opts: HttpPoolOptions = {}) {}

  /** The pool of `origin` (scheme, host and port). */
  for(origin: string): HttpPool {
    let pool = this.pools.get(origin);
    if (!pool) this.pools.set(origin, (pool = new HttpPool(origin, this.opts)));
    return pool;
  }
}
