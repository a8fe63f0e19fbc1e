// Per-client retry delays: exponential with jitter so that clients disconnected together
// (netsplit, server restart) do not retry in lockstep, and with a floor when the server told us
// to wait (throttles, temporary Z-lines).

export interface BackoffOptions {
  /** Delay before the first retry of a client that was connected (default 0-1 s of jitter). */
  firstRetryMaxMs?: number;
  /** Base of the exponential part (default 2 s). */
  baseMs?: number;
  /** Cap (default 5 min). */
  maxMs?: number;
  random?: () => number;
}

/**
 * Delay before retry number `attempt` (1 = first retry). Attempt 1 is quick (just jitter) because
 * most disconnects are one-off; later attempts use "equal jitter": half fixed, half random.
 */
export function backoffDelay(attempt: number, opts: BackoffOptions = {}, retryAfterMs = 0): number {
  const random = opts.random ?? Math.random;
  const firstMax = opts.firstRetryMaxMs ?? 1000;
  const base = opts.baseMs ?? 2000;
  const max = opts.maxMs ?? 300_000;
  let delay: number;
  if (attempt <= 1) delay = random() * firstMax;
  else {
    const exp = Math.min(max, base * 2 ** Math.min(attempt - 2, 30));
    delay = exp / 2 + random() * (exp / 2);
  }
  return Math.max(Math.round(delay), retryAfterMs);
}
