// The per-room queue of everything the bridge sends to Gitter (posts, edits, deletes). One
// operation per room is in flight at a time, so a room sees its messages in the order they were
// queued, and nothing is dropped: the rate limit is waited out by the client, network failures,
// 5xx answers and a refused token are retried with backoff for as long as it takes (the
// operations wait in the store), and only an operation Gitter itself refuses (403, 404, 400, an
// expired edit window) is settled as failed, with the error, for the connector to report. A post
// whose answer never came is first looked for in recent history (findSentMessage), so a lost
// answer or a restart never posts it twice.
//
// An operation's outcome is reported as soon as Gitter answered; its bookkeeping (the Gitter id
// a send got, the room's newest id, then removing it from the store) is written in order behind
// it, while the room's next operation is already being delivered. Until its bookkeeping is
// written an operation stays stored: a restart finds it (by its stored id, or in history after
// the last id known durable, which is never newer than its own) and does not post it again.
import { sleep as realSleep, type RetryDelay, type Sleep } from './sleep';
import { GitterAbortedError, GitterError, GitterHttpError, GitterNetworkError } from './errors';
import { findSentMessage, type FindSentOptions } from './find-sent';
import type { GitterRestClient } from './rest-client';
import { MemorySendQueueStore, type MessageTarget, type OutgoingOp, type QueuedOp, type SendQueueStore } from './send-queue-store';
import type { GitterMessage } from './types';

export type SendOutcome =
  | {
      ok: true;
      op: OutgoingOp;
      /** The message as Gitter returned it (sends and edits). */
      message?: GitterMessage;
      /** The answer had been lost; the message was found in history instead of being re-sent. */
      recovered?: boolean;
      /** A delete of a message that was already gone. */
      alreadyGone?: boolean;
    }
  | { ok: false; op: OutgoingOp; error: Error };

export interface GitterSendQueueOptions {
  client: GitterRestClient;
  store?: SendQueueStore;
  /** The bridge's own Gitter user id (default: asked once with GET /user). */
  ownUserId?: string;
  now?: () => number;
  sleep?: Sleep;
  /** The wait before each retry after a transient failure or a store failure (the bridge's backoff policy). */
  retryDelay: RetryDelay;
  findSent?: Omit<FindSentOptions, 'signal'>;
  /** Every settled operation, including those resumed from the store after a restart. */
  onSettled?: (entry: QueuedOp, outcome: SendOutcome) => void;
  /** A transient failure; the operation is retried after `delayMs` (e.g. tell the admin room on 401). */
  onRetry?: (entry: QueuedOp, error: Error, delayMs: number) => void;
  /** The store failed; the room's queue is tried again after a backoff delay. */
  onStoreError?: (roomId: string, error: Error) => void;
}

/** Failures that say nothing about the operation itself: wait and try again. */
export function isTransientSendError(err: unknown): boolean {
  if (err instanceof GitterNetworkError) return true;
  if (err instanceof GitterHttpError) return err.kind === 'server' || err.kind === 'unauthorized';
  return false;
}

export class GitterSendQueue {
  readonly store: SendQueueStore;
  private readonly client: GitterRestClient;
  private readonly now: () => number;
  private readonly sleep: Sleep;
  private readonly retryDelay: RetryDelay;
  private readonly workers = new Map<string, Promise<void>>();
  private readonly waiters = new Map<number, (o: SendOutcome) => void>();
  /** Ids recently created per room, so two identical texts are never matched to one message. */
  private readonly recentIds = new Map<string, string[]>();
  /** Per room, the operations answered by Gitter whose bookkeeping is still being written. */
  private readonly finishing = new Map<string, Finishing>();
  /** What Gitter answered to each operation not yet removed from the store (a retry after a store failure reuses it). */
  private readonly answered = new Map<number, Answer>();
  /** Gitter ids of sends (by room and ref) whose bookkeeping is not written yet, for edits and deletes that follow. */
  private readonly unwrittenIds = new Map<string, string>();
  private readonly stopCtl = new AbortController();
  private ownId: Promise<string> | undefined;

  constructor(private readonly opts: GitterSendQueueOptions) {
    this.client = opts.client;
    this.store = opts.store ?? new MemorySendQueueStore();
    this.now = opts.now ?? Date.now;
    this.sleep = opts.sleep ?? realSleep;
    this.retryDelay = opts.retryDelay;
    if (opts.ownUserId) this.ownId = Promise.resolve(opts.ownUserId);
  }

  /** Queues an operation; resolves (never rejects) once it is delivered or refused by Gitter. */
  async enqueue(op: OutgoingOp): Promise<SendOutcome> {
    if (this.stopCtl.signal.aborted) return { ok: false, op, error: new GitterError('the Gitter send queue is stopped') };
    const entry = await this.store.append(op, this.now());
    const done = new Promise<SendOutcome>((resolve) => this.waiters.set(entry.seq, resolve));
    this.kick(op.roomId);
    return done;
  }

  /** Starts delivering what the store still holds (after a restart); outcomes go to onSettled. */
  async resume(): Promise<void> {
    for (const roomId of await this.store.pendingRooms()) this.kick(roomId);
  }

  pending(roomId?: string): Promise<number> {
    return this.store.size(roomId);
  }

  /** Resolves when no room has anything in flight. */
  async idle(): Promise<void> {
    while (this.workers.size) await Promise.all([...this.workers.values()]);
  }

  /**
   * Stops after the operations in flight; what is queued stays in the store for resume() (the
   * promises of those operations stay pending: their outcome goes to onSettled after resume).
   */
  async stop(): Promise<void> {
    this.stopCtl.abort();
    await Promise.all([...this.workers.values()]);
  }

  private kick(roomId: string, storeFailures = 0): void {
    if (this.workers.has(roomId) || this.stopCtl.signal.aborted) return;
    const worker = this.work(roomId)
      .then(async () => {
        this.workers.delete(roomId);
        // Something queued while the worker was finding its queue empty.
        if ((await this.store.head(roomId)) !== undefined) this.kick(roomId);
      })
      .catch(async (err: unknown) => {
        // The store failed (e.g. its database is down): nothing is lost, try again later.
        this.workers.delete(roomId);
        this.opts.onStoreError?.(roomId, err instanceof Error ? err : new Error(String(err)));
        try {
          await this.sleep(this.retryDelay(storeFailures + 1), this.stopCtl.signal);
          this.kick(roomId, storeFailures + 1);
        } catch {
          /* stopped */
        }
      });
    this.workers.set(roomId, worker);
  }

  private async work(roomId: string): Promise<void> {
    const fin: Finishing = { tail: Promise.resolve(), seqs: new Set() };
    this.finishing.set(roomId, fin);
    try {
      for (;;) {
        if (fin.failed) throw fin.failed;
        if (this.stopCtl.signal.aborted) return;
        const entry = await this.store.head(roomId, fin.seqs);
        if (!entry) {
          if (!fin.seqs.size) return;
          await fin.tail; // then look again: something may have been queued meanwhile
          continue;
        }
        const outcome = await this.deliverWithRetry(entry);
        if (!outcome) return; // stopped: the operation stays queued
        const sentId = this.answered.get(entry.seq)?.sentId;
        if (outcome.ok && outcome.op.kind === 'send' && sentId) this.noteSent(outcome.op, sentId);
        fin.seqs.add(entry.seq);
        fin.tail = fin.tail
          .then(async () => {
            if (fin.failed) return;
            await this.finish(entry, outcome);
            fin.seqs.delete(entry.seq);
          })
          .catch((err: unknown) => {
            fin.failed ??= err instanceof Error ? err : new Error(String(err));
          });
        this.opts.onSettled?.(entry, outcome);
        this.waiters.get(entry.seq)?.(outcome);
        this.waiters.delete(entry.seq);
      }
    } finally {
      await fin.tail;
      if (this.finishing.get(roomId) === fin) this.finishing.delete(roomId);
    }
  }

  /** Writes what an answered operation leaves behind (a send's Gitter id), then removes it from the store. */
  private async finish(entry: QueuedOp, outcome: SendOutcome): Promise<void> {
    const { op } = entry;
    const sentId = this.answered.get(entry.seq)?.sentId;
    if (outcome.ok && op.kind === 'send' && sentId) await this.store.recordSent(op.roomId, op.ref, sentId);
    await this.store.remove(op.roomId, entry.seq);
    this.answered.delete(entry.seq);
    if (op.kind === 'send' && op.ref !== undefined) this.unwrittenIds.delete(refKey(op.roomId, op.ref));
  }

  private async deliverWithRetry(entry: QueuedOp): Promise<SendOutcome | undefined> {
    for (let failures = 0; ;) {
      if (this.stopCtl.signal.aborted) return undefined;
      try {
        return await this.deliverOnce(entry);
      } catch (err) {
        if (this.stopCtl.signal.aborted) return undefined;
        const error = err instanceof Error ? err : new Error(String(err));
        if (!isTransientSendError(error)) return { ok: false, op: entry.op, error };
        failures++;
        const delay = this.retryDelay(failures);
        this.opts.onRetry?.(entry, error, delay);
        try {
          await this.sleep(delay, this.stopCtl.signal);
        } catch (e) {
          if (e instanceof GitterAbortedError) return undefined;
          throw e;
        }
      }
    }
  }

  private async deliverOnce(entry: QueuedOp): Promise<SendOutcome> {
    const { op } = entry;
    const signal = this.stopCtl.signal;
    if (this.answered.has(entry.seq)) {
      // Answered, but its bookkeeping failed to be written (the store failed): not sent again.
      const { message } = this.answered.get(entry.seq)!;
      return { ok: true, op, ...(message ? { message } : {}), ...(op.kind === 'send' ? { recovered: true } : {}) };
    }
    if (op.kind === 'send') {
      if (entry.attempts > 0) {
        // Stored before a restart with the id it got, but not yet removed.
        const known = op.ref !== undefined ? await this.store.sentId(op.roomId, op.ref) : undefined;
        if (known) {
          this.answered.set(entry.seq, { sentId: known });
          return { ok: true, op, recovered: true };
        }
        // A previous attempt may have reached Gitter: look before sending again.
        const found = await findSentMessage(
          this.client,
          {
            roomId: op.roomId,
            userId: await this.ownUserId(),
            text: op.body.text,
            status: !!op.body.status,
            ...(op.body.parentId ? { parentId: op.body.parentId } : {}),
            notBefore: entry.enqueuedAt,
            ...(await this.afterIdFor(op.roomId)),
            exclude: new Set(this.recentIds.get(op.roomId) ?? []),
          },
          { ...this.opts.findSent, signal },
        );
        if (found) {
          this.answered.set(entry.seq, { message: found, sentId: found.id });
          return { ok: true, op, message: found, recovered: true };
        }
      }
      await this.attempt(entry);
      const message = await this.client.sendMessage(op.roomId, op.body, signal);
      this.answered.set(entry.seq, { message, sentId: message.id });
      return { ok: true, op, message };
    }
    const messageId = await this.resolve(op.roomId, op.target);
    if (!messageId) return { ok: false, op, error: new GitterError('the message this refers to was never sent to Gitter') };
    await this.attempt(entry);
    if (op.kind === 'edit') {
      const message = await this.client.editMessage(op.roomId, messageId, op.text, signal);
      this.answered.set(entry.seq, { message });
      return { ok: true, op, message };
    }
    try {
      await this.client.deleteMessage(op.roomId, messageId, signal);
      this.answered.set(entry.seq, {});
      return { ok: true, op };
    } catch (err) {
      // On a retry after a lost answer, 404 means the first attempt worked. On a first attempt it
      // may also mean the server has no delete route, so it is reported.
      if (err instanceof GitterHttpError && err.kind === 'not_found' && entry.attempts > 1) return { ok: true, op, alreadyGone: true };
      throw err;
    }
  }

  private async attempt(entry: QueuedOp): Promise<void> {
    await this.store.recordAttempt(entry.op.roomId, entry.seq);
    entry.attempts++;
  }

  /** What the room's next operations need at once (its bookkeeping is written behind). */
  private noteSent(op: Extract<OutgoingOp, { kind: 'send' }>, id: string): void {
    const ids = this.recentIds.get(op.roomId) ?? [];
    ids.push(id);
    if (ids.length > 50) ids.shift();
    this.recentIds.set(op.roomId, ids);
    if (op.ref !== undefined) this.unwrittenIds.set(refKey(op.roomId, op.ref), id);
  }

  private async resolve(roomId: string, target: MessageTarget): Promise<string | undefined> {
    if ('messageId' in target) return target.messageId;
    return this.unwrittenIds.get(refKey(roomId, target.sendRef)) ?? this.store.sentId(roomId, target.sendRef);
  }

  private async afterIdFor(roomId: string): Promise<{ afterId?: string }> {
    const id = await this.store.lastSentId(roomId);
    return id ? { afterId: id } : {};
  }

  private ownUserId(): Promise<string> {
    this.ownId ??= this.client.currentUser(this.stopCtl.signal).then(
      (u) => u.id,
      (err) => {
        this.ownId = undefined;
        throw err;
      },
    );
    return this.ownId;
  }
}

/** What Gitter answered to an operation (for a send, also found by its stored id after a restart). */
interface Answer {
  message?: GitterMessage;
  sentId?: string;
}

/** A room's answered operations whose bookkeeping is being written, in order. */
interface Finishing {
  /** Resolves once every bookkeeping step queued so far has run (never rejects: see `failed`). */
  tail: Promise<void>;
  /** Their store seqs: the worker's next operation is the oldest stored one not among them. */
  seqs: Set<number>;
  /** A step failed: the later ones are skipped (their operations stay stored) and the worker retries. */
  failed?: Error;
}

function refKey(roomId: string, ref: string): string {
  return `${roomId}|${ref}`;
}
