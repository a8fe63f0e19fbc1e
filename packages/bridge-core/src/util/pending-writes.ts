/**
 * Writes that must not hold up a serial path but must land before anyone
 * reads what they wrote: the message map, written after each relayed message.
 * `track` chains a write under a key; `settled` resolves once every write
 * tracked so far under that key has finished (failures are the writer's to log).
 */
export class PendingWrites {
  private readonly tails = new Map<string, Promise<void>>();

  track(key: string, write: Promise<unknown>): void {
    const previous = this.tails.get(key);
    const settledWrite = write.then(
      () => undefined,
      () => undefined,
    );
    const tail = previous ? Promise.all([previous, settledWrite]).then(() => undefined) : settledWrite;
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
  }

  settled(key: string): Promise<void> {
    return this.tails.get(key) ?? Promise.resolve();
  }

  async all(): Promise<void> {
    while (this.tails.size) await Promise.all([...this.tails.values()]);
  }
}
