// Retry delays for stream reconnects and failed sends: exponential with "equal jitter" (half
// fixed, half random), so the streams of many rooms cut at once (server restart, network loss)
// do not come back in lockstep, and a cancellable sleep.
import { GitterAbortedError } from './errors';

export interface BackoffOptions {
  /** Delay of the first retry before jitter (default 1 s). */
  baseMs?: number;
  /** Cap (default 60 s). */
  maxMs?: number;
  random?: () => number;
}

/** Delay before retry `attempt` (1 = first retry): uniform in [d/2, d], d = min(max, base·2^(attempt-1)). */
export function backoffDelay(attempt: number, opts: BackoffOptions = {}): number {
  const base = opts.baseMs ?? 1000;
  const max = opts.maxMs ?? 60_000;
  const random = opts.random ?? Math.random;
  const ceiling = Math.min(max, base * 2 ** Math.min(Math.max(attempt, 1) - 1, 30));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

export const sleep: Sleep = (ms, signal) =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new GitterAbortedError('aborted'));
    const onAbort = () => {
      clearTimeout(t);
      reject(new GitterAbortedError('aborted'));
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, Math.max(0, ms));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
