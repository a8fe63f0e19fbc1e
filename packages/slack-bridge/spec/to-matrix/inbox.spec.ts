/**
 * The inbox between Slack and Matrix: an envelope is stored before `accept` resolves (so it is
 * acknowledged only once safe), applied in order per conversation and in parallel across them,
 * dropped when its event_id is waiting or was applied, and resumed after a stop.
 */
import { strict as assert } from 'node:assert';
import type { DurableQueue, KeyValueRepository, Logger, QueueRecord } from '@causeway/bridge-core';
import { SlackInbox, type StoredEnvelope } from '../../src/to-matrix/inbox';
import { EventDedupe } from '../../src/to-matrix/event-dedupe';

/** An in-memory durable queue with the contract's semantics (what the store would keep). */
class MemoryQueue<T> implements DurableQueue<T> {
  readonly name = 'test';
  records: QueueRecord<T>[] = [];
  private seq = 0;
  async append(key: string, values: readonly T[]): Promise<QueueRecord<T>[]> {
    const out = values.map((value) => ({ queue: this.name, key, seq: ++this.seq, value, createdAt: Date.now(), attempted: false }));
    this.records.push(...out);
    return out;
  }
  async list(key?: string): Promise<QueueRecord<T>[]> {
    return this.records.filter((r) => key === undefined || r.key === key).map((r) => ({ ...r }));
  }
  async markAttempted(entries: readonly QueueRecord<T>[]): Promise<void> {
    for (const r of this.records) if (entries.some((e) => e.seq === r.seq)) r.attempted = true;
  }
  async remove(entries: readonly QueueRecord<T>[]): Promise<void> {
    this.records = this.records.filter((r) => !entries.some((e) => e.seq === r.seq));
  }
}

class MemoryKv implements KeyValueRepository {
  readonly map = new Map<string, unknown>();
  async get<T>(ns: string, key: string): Promise<T | undefined> {
    return this.map.get(`${ns}/${key}`) as T | undefined;
  }
  async put<T>(ns: string, key: string, value: T): Promise<void> {
    this.map.set(`${ns}/${key}`, value);
  }
  async delete(ns: string, key: string): Promise<boolean> {
    return this.map.delete(`${ns}/${key}`);
  }
  async list<T>(ns: string, opts: { prefix?: string } = {}): Promise<Array<{ key: string; value: T }>> {
    const p = `${ns}/${opts.prefix ?? ''}`;
    return [...this.map].filter(([k]) => k.startsWith(p)).map(([k, v]) => ({ key: k.slice(ns.length + 1), value: v as T }));
  }
}

const log = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined } as unknown as Logger;

const envelope = (eventId: string, channel: string, text: string) => ({
  type: 'event_callback',
  event_id: eventId,
  event: { type: 'message', channel, user: 'U1', text, ts: '1700000000.000100' },
});
const textOf = (env: StoredEnvelope) => (env.body.event as { text: string }).text;

describe('slack-bridge: the inbox', () => {
  let queue: MemoryQueue<StoredEnvelope>;
  let kv: MemoryKv;

  beforeEach(() => {
    queue = new MemoryQueue();
    kv = new MemoryKv();
  });

  function inbox(apply: (env: StoredEnvelope) => Promise<void>): { inbox: SlackInbox; dedupe: EventDedupe } {
    const dedupe = new EventDedupe(kv, 'acme', 60_000);
    return { inbox: new SlackInbox(queue, 'acme', dedupe, apply, log), dedupe };
  }

  it('stores an envelope before accept resolves, and removes it once applied and its event_id recorded', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { inbox: box, dedupe } = inbox(() => gate);
    await box.start();
    assert.equal(await box.accept(envelope('Ev1', 'C1', 'a'), 0), 'stored');
    assert.equal(queue.records.length, 1);
    release();
    await box.idle();
    assert.equal(queue.records.length, 0);
    assert.ok(dedupe.has('Ev1'));
    assert.ok(
      [...kv.map.keys()].some((k) => k.includes('Ev1')),
      'the event_id is persisted',
    );
  });

  it('drops a redelivery while the first copy waits and after it was applied', async () => {
    const applied: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { inbox: box } = inbox(async (env) => {
      await gate;
      applied.push(textOf(env));
    });
    await box.start();
    assert.equal(await box.accept(envelope('Ev1', 'C1', 'a'), 0), 'stored');
    assert.equal(await box.accept(envelope('Ev1', 'C1', 'a'), 1), 'duplicate');
    release();
    await box.idle();
    assert.equal(await box.accept(envelope('Ev1', 'C1', 'a'), 2), 'duplicate');
    assert.deepEqual(applied, ['a']);
  });

  it('applies one conversation in order while another goes on', async () => {
    const applied: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { inbox: box } = inbox(async (env) => {
      if (textOf(env) === 'c1-first') await gate;
      applied.push(textOf(env));
    });
    await box.start();
    await box.accept(envelope('Ev1', 'C1', 'c1-first'), 0);
    await box.accept(envelope('Ev2', 'C1', 'c1-second'), 0);
    await box.accept(envelope('Ev3', 'C2', 'c2'), 0);
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(applied, ['c2']);
    release();
    await box.idle();
    assert.deepEqual(applied, ['c2', 'c1-first', 'c1-second']);
  });

  it('keeps what was not applied across a stop, and a new inbox applies it, also its redeliveries once', async () => {
    const { inbox: first } = inbox(() => new Promise(() => undefined)); // a homeserver that never answers
    await first.start();
    await first.accept(envelope('Ev1', 'C1', 'a'), 0);
    await first.accept(envelope('Ev2', 'C1', 'b'), 0);
    await first.stop();
    assert.equal(queue.records.length, 2);

    const applied: string[] = [];
    const { inbox: second, dedupe } = inbox(async (env) => {
      applied.push(textOf(env));
    });
    await dedupe.load();
    await second.start();
    assert.equal(await second.accept(envelope('Ev2', 'C1', 'b'), 1), 'duplicate');
    await second.idle();
    assert.deepEqual(applied, ['a', 'b']);
    assert.equal(queue.records.length, 0);
  });
});
