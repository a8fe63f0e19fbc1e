// The send queue's store (slack/pending-sends) on the core's durable queues (`ctx.outbox`): a
// Matrix event's Slack calls are stored before its handler returns, so a crash, a kill -9
// included, loses none. One outbox key per channel keeps the per-channel order across restarts.
import type { DurableQueue, QueueRecord } from '@causeway/bridge-core';
import type { PendingSend, PendingSendStore } from '../slack';
import type { StoredCall } from './slack-call';

export class DurableSendStore implements PendingSendStore<StoredCall> {
  private readonly records = new Map<string, QueueRecord<PendingSend<StoredCall>>>();
  /** Items the last run left: no handler waits for them, so their results are recorded by the sender. */
  private readonly restored = new Set<string>();

  constructor(
    private readonly queue: DurableQueue<PendingSend<StoredCall>>,
    private readonly workspace: string,
  ) {}

  private keyOf(channelKey: string): string {
    return `${this.workspace}\u0000${channelKey}`;
  }

  async add(item: PendingSend<StoredCall>): Promise<void> {
    const [rec] = await this.queue.append(this.keyOf(item.key), [item]);
    this.records.set(item.id, rec);
  }

  /** Backoff counts are not kept across restarts: a restart starts the backoff again. */
  async update(_item: PendingSend<StoredCall>): Promise<void> {}

  async remove(id: string): Promise<void> {
    const rec = this.records.get(id);
    if (!rec) return;
    this.records.delete(id);
    this.restored.delete(id);
    await this.queue.remove([rec]);
  }

  /** What the last run left for this workspace, in order (its `seq` continues the queue's). */
  async list(): Promise<PendingSend<StoredCall>[]> {
    const prefix = this.keyOf('');
    const out: PendingSend<StoredCall>[] = [];
    for (const rec of await this.queue.list()) {
      if (!rec.key.startsWith(prefix)) continue;
      this.records.set(rec.value.id, rec);
      this.restored.add(rec.value.id);
      out.push({ ...rec.value, seq: rec.seq });
    }
    return out;
  }

  isRestored(id: string): boolean {
    return this.restored.has(id);
  }

  /** Whether sending this item may already have begun in an earlier run (or this one). */
  wasAttempted(id: string): boolean {
    return this.records.get(id)?.attempted ?? false;
  }

  /** Marks the item as being sent now; resolves once stored. */
  async markAttempted(id: string): Promise<void> {
    const rec = this.records.get(id);
    if (!rec || rec.attempted) return;
    await this.queue.markAttempted([rec]);
    rec.attempted = true;
  }
}
