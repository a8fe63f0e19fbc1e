/**
 * DurableQueues (`ctx.outbox`): appends to one key are stored in call order even when the store
 * could reorder overlapping ones, and the marks and removals of one tick share one store write.
 */
import { strict as assert } from 'node:assert';
import { DurableQueues } from '../../src/outbox/durable-queues';
import type { QueueRecord, QueueRepository } from '../../src/store/store';
import { getLogger } from '../../src/logging/logger';

/** A repository whose appends finish in the reverse order of their calls unless serialised, and which counts its calls. */
class SpyRepository implements QueueRepository {
  readonly calls: string[] = [];
  readonly order: unknown[] = [];
  private seq = 0;
  private delay = 30;
  async append<T>(queue: string, key: string, values: readonly T[]): Promise<QueueRecord<T>[]> {
    this.calls.push(`append ${values.join(',')}`);
    const wait = (this.delay = Math.max(0, this.delay - 10)); // later calls would finish first
    await new Promise((r) => setTimeout(r, wait));
    this.order.push(...values);
    return values.map((value) => ({ queue, key, seq: ++this.seq, value, createdAt: 0, attempted: false }));
  }
  async list(): Promise<never[]> {
    return [];
  }
  async markAttempted(_q: string, seqs: readonly number[]): Promise<void> {
    this.calls.push(`mark ${seqs.join(',')}`);
  }
  async remove(_q: string, seqs: readonly number[]): Promise<number> {
    this.calls.push(`remove ${seqs.join(',')}`);
    return seqs.length;
  }
  async count(): Promise<number> {
    return 0;
  }
}

describe('bridge-core: durable queues (ctx.outbox)', () => {
  it('stores appends to one key in call order, though the store would finish the later ones first', async () => {
    const repo = new SpyRepository();
    const q = new DurableQueues(repo, getLogger('test')).queue<string>('lines');
    await Promise.all([q.append('alice', ['a1']), q.append('alice', ['a2']), q.append('alice', ['a3'])]);
    assert.deepEqual(repo.order, ['a1', 'a2', 'a3']);
  });

  it('marks and removes of the same tick cost one store call each', async () => {
    const repo = new SpyRepository();
    const q = new DurableQueues(repo, getLogger('test')).queue<string>('lines');
    const recs = await q.append('alice', ['x', 'y', 'z']);
    repo.calls.length = 0;
    await Promise.all(recs.map((r) => q.markAttempted([r])));
    await Promise.all(recs.map((r) => q.remove([r])));
    assert.deepEqual(repo.calls, [`mark ${recs.map((r) => r.seq).join(',')}`, `remove ${recs.map((r) => r.seq).join(',')}`]);
  });
});
