/**
 * Runs tasks one at a time per key, keys concurrently. Used for remote→Matrix
 * events so a portal's messages land in order while portals proceed in
 * parallel. The per-key chain holds only pending tasks; an idle key costs nothing.
 */
export class KeyedQueue {
  private readonly tails = new Map<string, Promise<void>>();
  private pendingCount = 0;

  /** Queue `task` behind earlier tasks for `key`; resolves/rejects with the task's own outcome. */
  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    this.pendingCount++;
    const result = prev.then(task);
    const tail = result.then(() => undefined, () => undefined).finally(() => {
      this.pendingCount--;
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    this.tails.set(key, tail);
    return result;
  }

  /** Tasks queued or running. */
  get pending(): number { return this.pendingCount; }
  get activeKeys(): number { return this.tails.size; }

  /** Resolves when everything queued so far has finished. */
  async idle(): Promise<void> {
    while (this.tails.size) await Promise.all([...this.tails.values()]);
  }
}
