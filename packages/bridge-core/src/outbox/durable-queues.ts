/**
 * Durable queues on the store's QueueRepository: what a connector (`ctx.outbox`) or the core (the
 * remote-event applier's events waiting for the homeserver) must not lose across a restart before
 * it has gone out, kept in order per key.
 *
 * The contract connectors see is `OutboxService` / `DurableQueue` in connector/context.ts. On top
 * of the repository this gives two things callers would otherwise each get wrong:
 * - Order: appends to one key are stored one after another in call order (the repository may
 *   store overlapping appends in either order).
 * - Cost: `markAttempted` and `remove` calls made in the same tick share one store write per
 *   queue, so a connector writing a burst of lines pays one write for the burst, not one per line.
 */
import type { QueueRecord, QueueRepository } from '../store/store';
import type { DurableQueue, OutboxService } from '../connector/outbox';
import type { Logger } from '../logging/logger';

interface Batch {
  seqs: number[];
  waiters: Array<{ resolve: () => void; reject: (e: unknown) => void }>;
}

export class DurableQueues implements OutboxService {
  /** Per queue and key: the last append, which the next one waits for. */
  private readonly tails = new Map<string, Promise<unknown>>();
  private readonly marks = new Map<string, Batch>();
  private readonly removals = new Map<string, Batch>();
  private flushQueued = false;

  constructor(
    private readonly repo: QueueRepository,
    private readonly log: Logger,
  ) {}

  queue<T>(name: string): DurableQueue<T> {
    return {
      name,
      append: (key, values, opts) => this.append<T>(name, key, values, opts?.createdAt),
      list: (key, opts) =>
        this.repo.list<T>(name, { ...(key === undefined ? {} : { key }), ...(opts?.limit !== undefined ? { limit: opts.limit } : {}) }),
      markAttempted: (entries) => this.batch(this.marks, name, entries),
      remove: (entries) => this.batch(this.removals, name, entries),
    };
  }

  private append<T>(queue: string, key: string, values: readonly T[], createdAt?: number): Promise<QueueRecord<T>[]> {
    if (values.length === 0) return Promise.resolve([]);
    const id = `${queue}\u0000${key}`;
    const before = this.tails.get(id);
    const run = (before ?? Promise.resolve()).catch(() => undefined).then(() => this.repo.append<T>(queue, key, values, createdAt));
    const tail = run.catch(() => undefined);
    this.tails.set(id, tail);
    void tail.then(() => {
      if (this.tails.get(id) === tail) this.tails.delete(id);
    });
    return run;
  }

  private batch<T>(into: Map<string, Batch>, queue: string, entries: readonly QueueRecord<T>[]): Promise<void> {
    if (entries.length === 0) return Promise.resolve();
    let b = into.get(queue);
    if (!b) into.set(queue, (b = { seqs: [], waiters: [] }));
    for (const e of entries) b.seqs.push(e.seq);
    const batch = b;
    const done = new Promise<void>((resolve, reject) => batch.waiters.push({ resolve, reject }));
    if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(() => this.flush());
    }
    return done;
  }

  private flush(): void {
    this.flushQueued = false;
    const run = (into: Map<string, Batch>, what: string, op: (queue: string, seqs: number[]) => Promise<unknown>) => {
      for (const [queue, b] of into) {
        op(queue, b.seqs).then(
          () => {
            for (const w of b.waiters) w.resolve();
          },
          (err) => {
            this.log.error(`durable queue: could not ${what}`, { queue, entries: b.seqs.length, err: String(err) });
            for (const w of b.waiters) w.reject(err);
          },
        );
      }
      into.clear();
    };
    // Marks are issued first. Should a removal still overtake the mark of the same entry (separate
    // PostgreSQL connections), the mark finds nothing: the entry is gone either way.
    run(this.marks, 'mark entries attempted', (q, seqs) => this.repo.markAttempted(q, seqs));
    run(this.removals, 'remove delivered entries', (q, seqs) => this.repo.remove(q, seqs));
  }
}
