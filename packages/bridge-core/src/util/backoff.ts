/**
 * Exponential backoff with full jitter, bounded. One policy object shared by
 * every retry loop in the process (HTTP client, state cache, reconnects) so
 * operators tune one shape.
 */
export interface BackoffPolicy {
  /** First delay, ms. */
  baseMs: number;
  /** Upper bound of any single delay, ms. */
  maxMs: number;
  /** Give up after this many retries (not counting the first attempt). */
  maxRetries: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 250, maxMs: 30_000, maxRetries: 8 };

/** Delay before retry number `attempt` (0-based): uniform in [d/2, d], d = min(max, base·2^attempt). */
export function backoffDelay(attempt: number, policy: BackoffPolicy = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as unknown);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason as unknown);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
