// Where the send queue keeps what it has not delivered yet. The queue only talks to this
// interface, so a durable store (the core's, later) can replace the in-memory one and pending
// sends then survive a restart: an item is added before the send is attempted and removed only
// after Slack accepted it (at-least-once; see SendQueue).

export interface PendingSend<P> {
  /** Unique within the store. */
  id: string;
  /** Ordering key (a channel): one in flight per key, in `seq` order. */
  key: string;
  /** Slack Web API method; rate limits apply per method. */
  method: string;
  payload: P;
  /** Enqueue order across all keys; restored items keep it. */
  seq: number;
  enqueuedAt: number;
  /** Failed attempts so far (rate limiting does not count), so backoff resumes after a restart. */
  failures: number;
}

export interface PendingSendStore<P> {
  add(item: PendingSend<P>): Promise<void>;
  /** Saves the item's changed `failures`. */
  update(item: PendingSend<P>): Promise<void>;
  remove(id: string): Promise<void>;
  /** Every pending item, in any order. */
  list(): Promise<PendingSend<P>[]>;
}

/** Keeps pending sends in memory: nothing survives a restart. */
export class MemoryPendingSendStore<P> implements PendingSendStore<P> {
  private readonly items = new Map<string, PendingSend<P>>();

  async add(item: PendingSend<P>): Promise<void> {
    this.items.set(item.id, { ...item });
  }

  async update(item: PendingSend<P>): Promise<void> {
    if (this.items.has(item.id)) this.items.set(item.id, { ...item });
  }

  async remove(id: string): Promise<void> {
    this.items.delete(id);
  }

  async list(): Promise<PendingSend<P>[]> {
    return [...this.items.values()].map((i) => ({ ...i }));
  }

  get size(): number {
    return this.items.size;
  }
}
