// Waiting between attempts: a cancellable sleep, and the shape of the retry-delay function the
// owner of a client, stream or send queue hands in. The delay policy itself (exponential with
// jitter) is the bridge's, not this layer's: this layer imports nothing of the core.
import { GitterAbortedError } from './errors';

/** The wait before retry `attempt` (1 = the first retry), in ms. */
export type RetryDelay = (attempt: number) => number;

export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

export const sleep: Sleep = (ms, signal) =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new GitterAbortedError('aborted'));
    const onAbort = () => {
      clearTimeout(t);
      reject(new GitterAbortedError('aborted'));
    };
    const t = setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
      Math.max(0, ms),
    );
    signal?.addEventListener('abort', onAbort, { once: true });
  });
