/**
 * `ctx.outbox`: durable, per-key ordered queues a connector keeps what it must not lose across a
 * restart in. Both store backends implement them (the store's QueueRepository).
 */

/** One entry of a durable queue (see QueueRepository). */
export interface QueueRecord<T = unknown> {
  queue: string;
  key: string;
  /**
   * Position: unique in the store and increasing in the order entries were appended, so a key's
   * records in `seq` order are its queue in order. Never reused, also across restarts.
   */
  seq: number;
  value: T;
  /** Epoch ms given to `append` (when the entry was first queued). */
  createdAt: number;
  /** `markAttempted` was called: delivering it was begun, so it may already have had its effect. */
  attempted: boolean;
}

/**
 * Durable, per-key ordered queues (`ctx.outbox`): for what a connector must not lose across a
 * restart (a kill -9 included) before it has gone out, e.g. messages waiting for a send rate limit
 * or for a connection that is down. The core's journal counts a Matrix event as handled once the
 * connector's handler returns: whatever the handler has not sent by then must be in one of these
 * queues, or a crash loses it.
 *
 * The pattern: in the handler, `append` what is to be sent (one entry per unit that goes out on
 * its own, e.g. a line) and wait for it; send from memory; `markAttempted` right before an entry
 * goes out and `remove` it once it has. At start, `list()` gives what the last run left: send it
 * first, in order. An entry with `attempted` may have gone out before the crash: treat it like a
 * `redelivered` Matrix event (collapse it with an idempotency key where the network has one).
 * Names are per connector (the core prefixes them with the protocol ID).
 */
export interface OutboxService {
  queue<T = unknown>(name: string): DurableQueue<T>;
}

export interface DurableQueue<T> {
  readonly name: string;
  /** Appends `values` at the tail of `key`'s queue, all or none; resolves once stored. Appends to one key keep call order. */
  append(key: string, values: readonly T[], opts?: { createdAt?: number }): Promise<QueueRecord<T>[]>;
  /** The stored entries in order: one key's, or every key's in append order; the first `limit` of them when given. */
  list(key?: string, opts?: { limit?: number }): Promise<QueueRecord<T>[]>;
  /**
   * Sending these entries begins now; resolves once that is stored. Calls in the same tick share
   * one store write, so marking each line of a burst costs one write.
   */
  markAttempted(entries: readonly QueueRecord<T>[]): Promise<void>;
  /** Sent, or given up on: removed (calls in the same tick share one store write). */
  remove(entries: readonly QueueRecord<T>[]): Promise<void>;
}
