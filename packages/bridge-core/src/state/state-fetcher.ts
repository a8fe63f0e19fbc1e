/**
 * The state cache's only dependency on the HTTP layer. The wiring adapts the
 * shared MatrixHttpClient to it; `fetchStateFetcher` below is a minimal
 * stand-alone implementation over global `fetch()` (tests, benches, tools).
 */
import { MatrixError } from '../util/matrix-error';
import { isMatrixEvent, type MatrixEvent } from '../matrix/event';

export interface StateFetcher {
  /**
   * `GET /_matrix/client/v3/rooms/{roomId}/state` as the bridge bot: the full
   * current state. Must reject with a MatrixError (status + errcode, and
   * `retry_after_ms` in `extra` for 429s) for HTTP errors so the cache can tell
   * "forbidden" from "try again".
   */
  fetchRoomState(roomId: string, signal?: AbortSignal): Promise<MatrixEvent[]>;
}

export interface FetchStateFetcherOptions {
  /** Homeserver client-server base URL, e.g. http://localhost:8008 */
  baseUrl: string;
  asToken: string;
  /** Act as this user (identity assertion) instead of the sender_localpart bot. */
  userId?: string;
  /** Per-request timeout, ms (default 30 s). */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/** A small StateFetcher over `fetch()`. */
export function fetchStateFetcher(opts: FetchStateFetcherOptions): StateFetcher {
  const base = opts.baseUrl.replace(/\/+$/, '');
  const doFetch = opts.fetch ?? fetch;
  const headers = { authorization: `Bearer ${opts.asToken}` };
  const timeoutMs = opts.timeoutMs ?? 30_000;
  return {
    async fetchRoomState(roomId, signal) {
      let url = `${base}/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state`;
      if (opts.userId) url += `?user_id=${encodeURIComponent(opts.userId)}`;
      const timeout = AbortSignal.timeout(timeoutMs);
      const res = await doFetch(url, { headers, signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
      if (res.ok) {
        const body = await res.json();
        if (!Array.isArray(body)) throw new MatrixError(502, 'M_BAD_JSON', `GET /rooms/${roomId}/state did not return an array`);
        return body.filter(isMatrixEvent);
      }
      let body: Record<string, unknown> = {};
      try {
        body = (await res.json()) as Record<string, unknown>;
      } catch {
        /* not JSON */
      }
      const extra: Record<string, unknown> = {};
      const retryAfter = res.headers.get('retry-after');
      // Both say the same thing when present; the deprecated body field is more precise than whole seconds.
      if (typeof body.retry_after_ms === 'number') extra.retry_after_ms = body.retry_after_ms;
      else if (retryAfter && /^\d+$/.test(retryAfter)) extra.retry_after_ms = Number(retryAfter) * 1000;
      throw new MatrixError(
        res.status,
        typeof body.errcode === 'string' ? body.errcode : 'M_UNKNOWN',
        typeof body.error === 'string' ? body.error : `HTTP ${res.status} from GET /rooms/${roomId}/state`,
        extra,
      );
    },
  };
}

/** The slice of MatrixHttpClient (src/matrix/http-client.ts) the adapter needs. */
export interface MatrixRequester {
  request(
    method: string,
    path: string,
    opts?: { signal?: AbortSignal; endpoint?: string; idempotent?: boolean; userId?: string },
  ): Promise<unknown>;
}

/**
 * Adapts the shared MatrixHttpClient. `idempotent: false` keeps the client's own
 * retries to 429s and refused connections: 5xx/timeouts come back to the state
 * cache, whose backoff releases the semaphore slot while it waits.
 */
export function matrixClientStateFetcher(client: MatrixRequester, opts: { userId?: string } = {}): StateFetcher {
  return {
    async fetchRoomState(roomId, signal) {
      const body = await client.request('GET', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state`, {
        signal,
        endpoint: 'GET /rooms/{roomId}/state',
        idempotent: false,
        userId: opts.userId,
      });
      if (!Array.isArray(body)) throw new MatrixError(502, 'M_BAD_JSON', `GET /rooms/${roomId}/state did not return an array`);
      return body.filter(isMatrixEvent);
    },
  };
}
