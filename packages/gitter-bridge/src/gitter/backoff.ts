// Retry delays for stream reconnects and failed sends, and a cancellable sleep. The delays are
// the core's backoff (`backoffDelay` of @causeway/bridge-core: exponential with half fixed, half
// random jitter, so the streams of many rooms cut at once do not come back in lockstep), with
// the defaults and 1-based attempt numbers this layer's callers use. Only that small helper is
// taken from the core; nothing of its Matrix side.
import { backoffDelay as coreBackoffDelay } from '@causeway/bridge-core';
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
  const policy = { baseMs: opts.baseMs ?? 1000, maxMs: opts.maxMs ?? 60_000, maxRetries: Infinity };
  return coreBackoffDelay(Math.max(attempt, 1) - 1, policy, opts.random ?? Math.random);
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
