/**
 * The retry delays handed to the Gitter protocol layer (which imports no core code): the core's
 * one backoff policy (`backoffDelay`: exponential, half fixed and half random jitter, so the
 * streams of many rooms cut at once do not come back in lockstep), counted from attempt 1.
 */
import { backoffDelay } from '@causeway/bridge-core';
import type { RetryDelay } from './gitter';

export interface RetryDelayOptions {
  /** Delay of the first retry before jitter. */
  baseMs: number;
  /** Cap of any one wait. */
  maxMs: number;
  random?: () => number;
}

/** REST calls retried on network and 5xx failures: 0.5 s doubling to 10 s. */
export const REST_RETRY: RetryDelayOptions = { baseMs: 500, maxMs: 10_000 };
/** Sends waiting out transient failures: 1 s doubling to 60 s. */
export const SEND_RETRY: RetryDelayOptions = { baseMs: 1000, maxMs: 60_000 };

/** Retry `attempt` (1 = first) waits uniformly in [d/2, d], d = min(max, base·2^(attempt-1)). */
export function retryDelay(opts: RetryDelayOptions): RetryDelay {
  const policy = { baseMs: opts.baseMs, maxMs: opts.maxMs, maxRetries: Infinity };
  const random = opts.random ?? Math.random;
  return (attempt) => backoffDelay(Math.max(attempt, 1) - 1, policy, random);
}
