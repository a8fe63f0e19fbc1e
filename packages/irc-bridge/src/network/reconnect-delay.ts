/**
 * How long an IRC connection waits before trying again, handed to the IRC layer's pool (which
 * imports no core code). The exponential part is the core's one backoff policy (util/backoff);
 * what is IRC's own is the first retry and the server's word. The first retry after losing a
 * connection is almost at once, with only jitter, because most disconnects are one-off and
 * clients dropped together (netsplit, server restart) must not all return in the same instant;
 * later ones back off exponentially. A server that said how long to wait (throttles, temporary
 * Z-lines) is never retried sooner.
 */
import { backoffDelay } from '@causeway/bridge-core';

export interface ReconnectDelayOptions {
  /** Upper bound of the first retry's jitter (default 1 s). */
  firstRetryMaxMs?: number;
  /** Base of the exponential part: the second retry waits between half of it and all of it (default 2 s). */
  baseMs?: number;
  /** Cap of any one wait (default 5 min). */
  maxMs?: number;
  random?: () => number;
}

/** The pool's `reconnectDelay(attempt, retryAfterMs)`: attempt 1 is the first retry. */
export type ReconnectDelay = (attempt: number, retryAfterMs: number) => number;

export function reconnectDelay(opts: ReconnectDelayOptions = {}): ReconnectDelay {
  const random = opts.random ?? Math.random;
  const firstMax = opts.firstRetryMaxMs ?? 1000;
  const policy = { baseMs: opts.baseMs ?? 2000, maxMs: opts.maxMs ?? 300_000, maxRetries: Infinity };
  return (attempt, retryAfterMs) => {
    const delay = attempt <= 1 ? Math.round(random() * firstMax) : backoffDelay(attempt - 2, policy, random);
    return Math.max(delay, retryAfterMs);
  };
}
