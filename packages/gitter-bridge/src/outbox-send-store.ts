/**
 * The send queue's store (gitter/send-queue-store.ts) on the core's durable queues
 * (`ctx.outbox`) and connector data (`ctx.data`), so Matrix → Gitter sends survive a restart,
 * kill -9 included: an operation is stored before the Matrix event counts as handled, marked
 * before its request goes out, and removed once Gitter answered. An operation marked before a
 * crash may have reached Gitter: the queue then looks for it in history before posting again.
 *
 * One store per Gitter account (the relay, or a puppeted user's token): its operations live in the
 * shared `sends` queue under keys `<account>|<room>`, so each account keeps its own order.
 * The Gitter id each send got (by its `ref`, the Matrix event id) is kept in `ctx.data` for a
 * week: long enough for a redelivered event or an edit to find it. The newest id the account
 * created in a room (where a lost send's search starts after a restart) is the greatest of the
 * room's stored send ids, read once per run: one write per send covers both, and the newest id
 * can never be ahead of a send whose id is not stored.
 */
import type { DurableQueue, KeyValueRepository, QueueRecord } from '@causeway/bridge-core';
import type { OutgoingOp, QueuedOp, SendQueueStore } from './gitter';

const SENT_NS = 'sent-ids';
/** The newest id per room, for sends without a `ref` (and as earlier versions stored it for all). */
const LAST_NS = 'last-sent';
const KEEP_MS = 7 * 24 * 3600_000;

/** What is stored per operation: the operation and, for sends, what the Matrix side needs back. */
export type StoredOp = OutgoingOp & { matrix?: StoredMatrixRef };

/** Enough of the Matrix event to report the outcome after a restart. */
interface StoredMatrixRef {
  eventId: string;
  roomId: string;
  sender: string;
  /** The text to send instead if this operation moves to the relay (a puppet's token failed). */
  relayText?: string;
}

export class OutboxSendStore implements SendQueueStore {
  /** Records by seq, to mark and remove them (the queue API takes records). */
  private readonly records = new Map<number, QueueRecord<StoredOp>>();
  /** Per room: the newest id known, from this run's sends and (once read) the stored ones. */
  private readonly lastIds = new Map<string, string>();
  private readonly lastRead = new Map<string, Promise<void>>();

  constructor(
    private readonly queue: DurableQueue<StoredOp>,
    private readonly data: KeyValueRepository,
    /** The account's name in keys: `relay`, or `puppet:<Matrix user id>`. */
    private readonly account: string,
  ) {}

  private key(roomId: string): string {
    return `${this.account}|${roomId}`;
  }

  private roomOf(key: string): string | undefined {
    const prefix = `${this.account}|`;
    return key.startsWith(prefix) ? key.slice(prefix.length) : undefined;
  }

  private toQueued(r: QueueRecord<StoredOp>): QueuedOp {
    this.records.set(r.seq, r);
    return { seq: r.seq, op: r.value, enqueuedAt: r.createdAt, attempts: r.attempted ? 1 : 0 };
  }

  async append(op: OutgoingOp, enqueuedAt: number): Promise<QueuedOp> {
    const [r] = await this.queue.append(this.key(op.roomId), [op], { createdAt: enqueuedAt });
    return this.toQueued(r);
  }

  async head(roomId: string, skip?: ReadonlySet<number>): Promise<QueuedOp | undefined> {
    // Only as many as can be skipped, plus one: the store copies each entry it lists.
    const r = (await this.queue.list(this.key(roomId), { limit: (skip?.size ?? 0) + 1 })).find((x) => !skip?.has(x.seq));
    return r ? this.toQueued(r) : undefined;
  }

  /** Every stored operation of this account, in order (to find a redelivered event's). */
  async all(): Promise<QueuedOp[]> {
    const out: QueuedOp[] = [];
    for (const r of await this.queue.list()) if (this.roomOf(r.key) !== undefined) out.push(this.toQueued(r));
    return out;
  }

  async recordAttempt(_roomId: string, seq: number): Promise<void> {
    const r = this.records.get(seq);
    if (r && !r.attempted) {
      await this.queue.markAttempted([r]);
      r.attempted = true;
    }
  }

  async remove(_roomId: string, seq: number): Promise<void> {
    const r = this.records.get(seq);
    if (!r) return;
    await this.queue.remove([r]);
    this.records.delete(seq);
  }

  async pendingRooms(): Promise<string[]> {
    const rooms = new Set<string>();
    for (const r of await this.queue.list()) {
      const room = this.roomOf(r.key);
      if (room !== undefined) rooms.add(room);
    }
    return [...rooms];
  }

  async size(roomId?: string): Promise<number> {
    if (roomId !== undefined) return (await this.queue.list(this.key(roomId))).length;
    return (await this.all()).length;
  }

  async recordSent(roomId: string, ref: string | undefined, messageId: string): Promise<void> {
    const cur = this.lastIds.get(roomId);
    if (!cur || messageId > cur) this.lastIds.set(roomId, messageId);
    const expiresAt = Date.now() + KEEP_MS;
    if (ref !== undefined) await this.data.put(SENT_NS, `${this.key(roomId)}|${ref}`, messageId, { expiresAt });
    // Sends are recorded in order per room, so this is the room's newest id.
    else await this.data.put(LAST_NS, this.key(roomId), messageId, { expiresAt });
  }

  sentId(roomId: string, ref: string): Promise<string | undefined> {
    return this.data.get<string>(SENT_NS, `${this.key(roomId)}|${ref}`);
  }

  async lastSentId(roomId: string): Promise<string | undefined> {
    let read = this.lastRead.get(roomId);
    if (!read) {
      read = this.readLastSentId(roomId).catch((err: unknown) => {
        this.lastRead.delete(roomId); // the store failed: read again next time
        throw err;
      });
      this.lastRead.set(roomId, read);
    }
    await read;
    return this.lastIds.get(roomId);
  }

  /** The greatest stored id of the room's sends (a week of them, at a restart's first lost send). */
  private async readLastSentId(roomId: string): Promise<void> {
    const key = this.key(roomId);
    const [last, sent] = await Promise.all([this.data.get<string>(LAST_NS, key), this.data.list<string>(SENT_NS, { prefix: `${key}|` })]);
    let max = this.lastIds.get(roomId);
    for (const id of [last, ...sent.map((e) => e.value)]) if (typeof id === 'string' && (!max || id > max)) max = id;
    if (max) this.lastIds.set(roomId, max);
  }
}
