/**
 * A set (and a map) that keeps the `capacity` most recently added keys: adding one more forgets
 * the oldest, in O(1). Adding a key already there makes it the most recent.
 *
 * Why not a Map and `keys().next()` to find the oldest: V8 leaves deleted entries in place until
 * the table is rebuilt, and iteration starts by stepping over them, so evicting the oldest key of
 * a full map of thousands costs thousands of steps each time. Insertion order is kept here in a
 * queue beside the map instead.
 */
export class FifoSet {
  /** Key → the sequence number of its addition. */
  private readonly seqOf = new Map<string, number>();
  /** Keys in the order they were added; a key added again (or deleted and added) appears twice, the stale entry is skipped. */
  private keys: string[] = [];
  private seqs: number[] = [];
  private head = 0;
  private nextSeq = 0;

  constructor(
    private readonly capacity: number,
    private readonly onEvict?: (key: string) => void,
  ) {}

  get size(): number {
    return this.seqOf.size;
  }

  has(key: string): boolean {
    return this.seqOf.has(key);
  }

  /** Adds `key`, or makes it the most recent if present. */
  add(key: string): void {
    const seq = this.nextSeq++;
    this.seqOf.set(key, seq);
    this.keys.push(key);
    this.seqs.push(seq);
    while (this.seqOf.size > this.capacity) this.evictOldest();
    if (this.head >= 1024 || this.keys.length > 2 * this.capacity + 1024) this.compact();
  }

  delete(key: string): boolean {
    return this.seqOf.delete(key);
  }

  /** Keys oldest first. */
  *values(): IterableIterator<string> {
    for (let i = this.head; i < this.keys.length; i++) if (this.seqOf.get(this.keys[i]) === this.seqs[i]) yield this.keys[i];
  }

  private evictOldest(): void {
    while (this.head < this.keys.length) {
      const key = this.keys[this.head];
      const seq = this.seqs[this.head];
      this.head++;
      if (this.seqOf.get(key) === seq) {
        this.seqOf.delete(key);
        this.onEvict?.(key);
        return;
      }
    }
  }

  /** Drop the queue's consumed front once it is as long as the rest, and stale entries once they pile up (amortised O(1)). */
  // Stale entries come from keys added again or deleted: with those keeping the set under capacity nothing evicts them.
  private compact(): void {
    if (this.head >= 1024 && this.head * 2 >= this.keys.length) {
      this.keys = this.keys.slice(this.head);
      this.seqs = this.seqs.slice(this.head);
      this.head = 0;
    }
    if (this.keys.length - this.head > 2 * this.capacity + 1024) {
      const live = [...this.values()];
      this.keys = live;
      this.seqs = live.map((k) => this.seqOf.get(k)!);
      this.head = 0;
    }
  }
}

/** FifoSet with a value per key. */
export class FifoMap<V> {
  private readonly valueOf = new Map<string, V>();
  private readonly order: FifoSet;

  constructor(capacity: number) {
    this.order = new FifoSet(capacity, (key) => this.valueOf.delete(key));
  }

  get size(): number {
    return this.order.size;
  }

  has(key: string): boolean {
    return this.order.has(key);
  }

  get(key: string): V | undefined {
    return this.valueOf.get(key);
  }

  set(key: string, value: V): void {
    this.valueOf.set(key, value);
    this.order.add(key);
  }

  delete(key: string): boolean {
    this.valueOf.delete(key);
    return this.order.delete(key);
  }

  /** Entries oldest first. */
  *entries(): IterableIterator<[string, V]> {
    for (const key of this.order.values()) yield [key, this.valueOf.get(key) as V];
  }
}
