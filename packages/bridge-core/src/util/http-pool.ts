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
import { Pool, type Dispatcher } from 'undici';
import { exchange } from './buffered-exchange';

/** An answer, read whole. */
export interface HttpAnswer {
  status: number;
  body: Buffer;
  /** The body as UTF-8 text. */
  text(): string;
  /** A response header (case-insensitive name), or undefined. A repeated header gives its first value. */
  header(name: string): string | undefined;
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
  /** Keep-alive connections at most (default 8). */
  connections?: number;
  /** Default per-request timeout (default 30 s). */
  timeoutMs?: number;
  keepAliveTimeoutMs?: number;
}

export class HttpPool {
  readonly origin: string;
  private readonly pool: Dispatcher;
  private readonly timeoutMs: number;

  /** `origin`: scheme, host and port (a path in it is ignored: requests carry the full path). */
  constructor(origin: string, opts: HttpPoolOptions = {}) {
    this.origin = new URL(origin).origin;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.pool = new Pool(this.origin, {
      connections: opts.connections ?? 8,
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
        return { status: r.status, body: r.body, text: () => r.body.toString('utf8'), header: (name) => r.headers()[name.toLowerCase()] };
      },
      (err: unknown) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        throw err;
      },
    );
  }

  /** Closes the pool's connections (requests in flight finish first). */
  close(): Promise<void> {
    return this.pool.close();
  }
}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('aborted');
}
