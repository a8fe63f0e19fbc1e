// Where the per-room send queue keeps what it has not delivered yet. An interface, because the
// bridge core will provide a durable outbox (so a restart resumes the queue); the in-memory
// store here is for now and for specs. A store keeps each room's operations in append order,
// remembers how often each was attempted (an attempted POST whose answer was lost must be looked
// for before it is sent again), the Gitter id each delivered send got (later edits and deletes
// can name a send by the caller's reference before its id is known) and the last id sent per room.
import type { SendMessageBody } from './types';

/** A message to post, or an edit or delete of one (by Gitter id, or by the `ref` of an earlier send). */
export type OutgoingOp =
  | { kind: 'send'; roomId: string; body: SendMessageBody; ref?: string }
  | { kind: 'edit'; roomId: string; target: MessageTarget; text: string; ref?: string }
  | { kind: 'delete'; roomId: string; target: MessageTarget; ref?: string };

export type MessageTarget = { messageId: string } | { sendRef: string };

export interface QueuedOp {
  /** Increases with every append, across rooms. */
  seq: number;
  op: OutgoingOp;
  /** Epoch ms. */
  enqueuedAt: number;
  /** Times delivery was started (recorded before the request goes out). */
  attempts: number;
}

export interface SendQueueStore {
  append(op: OutgoingOp, enqueuedAt: number): Promise<QueuedOp>;
  /** The oldest operation of the room not yet removed (skipping those in `skip`, by seq). */
  head(roomId: string, skip?: ReadonlySet<number>): Promise<QueuedOp | undefined>;
  recordAttempt(roomId: string, seq: number): Promise<void>;
  remove(roomId: string, seq: number): Promise<void>;
  /** Rooms with operations waiting (to resume after a restart). */
  pendingRooms(): Promise<string[]>;
  size(roomId?: string): Promise<number>;
  /**
   * A send got `messageId` from Gitter: remembered under its `ref` (when it has one) and, from
   * then on, `lastSentId` of the room is at least it. Stored before this resolves: the queue
   * removes the operation afterwards.
   */
  recordSent(roomId: string, ref: string | undefined, messageId: string): Promise<void>;
  /** The Gitter id the send with this `ref` got. */
  sentId(roomId: string, ref: string): Promise<string | undefined>;
  /**
   * The newest message id this queue created in the room (a lost send's message comes after it).
   * Never ahead of a send whose id is not stored: after a restart, a message found after it is
   * not one of this queue's earlier sends.
   */
  lastSentId(roomId: string): Promise<string | undefined>;
}

export interface MemorySendQueueStoreOptions {
  /** Send refs remembered per room (default 1000, oldest forgotten first). */
  maxRefsPerRoom?: number;
}

export class MemorySendQueueStore implements SendQueueStore {
  private seq = 0;
  private readonly queues = new Map<string, QueuedOp[]>();
  private readonly refs = new Map<string, Map<string, string>>();
  private readonly lastIds = new Map<string, string>();
  private readonly maxRefs: number;

  constructor(opts: MemorySendQueueStoreOptions = {}) {
    this.maxRefs = opts.maxRefsPerRoom ?? 1000;
  }

  async append(op: OutgoingOp, enqueuedAt: number): Promise<QueuedOp> {
    const entry: QueuedOp = { seq: ++this.seq, op: structuredClone(op), enqueuedAt, attempts: 0 };
    let q = this.queues.get(op.roomId);
    if (!q) this.queues.set(op.roomId, (q = []));
    q.push(entry);
    return { ...entry };
  }

  async head(roomId: string, skip?: ReadonlySet<number>): Promise<QueuedOp | undefined> {
    const e = this.queues.get(roomId)?.find((x) => !skip?.has(x.seq));
    return e ? { ...e } : undefined;
  }

  async recordAttempt(roomId: string, seq: number): Promise<void> {
    const e = this.queues.get(roomId)?.find((x) => x.seq === seq);
    if (e) e.attempts++;
  }

  async remove(roomId: string, seq: number): Promise<void> {
    const q = this.queues.get(roomId);
    if (!q) return;
    const i = q.findIndex((x) => x.seq === seq);
    if (i !== -1) q.splice(i, 1);
    if (q.length === 0) this.queues.delete(roomId);
  }

  async pendingRooms(): Promise<string[]> {
    return [...this.queues.keys()];
  }

  async size(roomId?: string): Promise<number> {
    if (roomId !== undefined) return this.queues.get(roomId)?.length ?? 0;
    let n = 0;
    for (const q of this.queues.values()) n += q.length;
    return n;
  }

  async recordSent(roomId: string, ref: string | undefined, messageId: string): Promise<void> {
    if (ref !== undefined) {
      let m = this.refs.get(roomId);
      if (!m) this.refs.set(roomId, (m = new Map<string, string>()));
      m.set(ref, messageId);
      if (m.size > this.maxRefs) m.delete(m.keys().next().value!);
    }
    const cur = this.lastIds.get(roomId);
    if (!cur || messageId > cur) this.lastIds.set(roomId, messageId);
  }

  async sentId(roomId: string, ref: string): Promise<string | undefined> {
    return this.refs.get(roomId)?.get(ref);
  }

  async lastSentId(roomId: string): Promise<string | undefined> {
    return this.lastIds.get(roomId);
  }
}
