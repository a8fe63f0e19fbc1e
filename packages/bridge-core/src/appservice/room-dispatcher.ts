/**
 * Per-room ordered, cross-room concurrent event dispatch.
 *
 * - Events of one room are handled strictly one after another, in the order
 *   they were enqueued (journal order = homeserver stream order).
 * - Up to `concurrency` rooms are in flight at once; a room that has more
 *   work after an event goes to the back of the ready queue, so a busy room
 *   cannot starve the others and one slow room (or slow remote) holds at most
 *   one slot.
 * - Events without a `room_id` (presence, to-device) use their own ordered
 *   lane outside the room limit.
 * - A handler that throws (or rejects) is retried with exponential backoff up
 *   to `retry.maxRetries` times (the room waits, in order, but gives its slot
 *   to others while sleeping). Errors carrying `retryable: false` (directly or
 *   in `opts`, like BridgeError) are not retried. After the last attempt the
 *   event is logged at error level with its event ID, counted in
 *   `stats().failed` and treated as finished: a poison event delays its room
 *   by the backoff total at most; it never blocks it forever.
 */
import { backoffDelay, type BackoffPolicy } from '../util/backoff';
import { getLogger, type Logger } from '../logging/logger';
import type { DeliveryItem, EventHandler } from './transaction';

export interface RoomDispatcherOptions {
  handler: EventHandler;
  /** Rooms in flight at once. Default 64. */
  concurrency?: number;
  /** Retry policy for failing handlers. Default 5 retries, 500 ms doubling to 15 s. */
  retry?: BackoffPolicy;
  /**
   * Called before the first handler call of a run of a room's queued events
   * (the head and up to `startBatch - 1` events queued behind it); the head's
   * handler runs once `go` is called. The journal writes one STARTED record
   * for the whole run here, so a busy room costs one journal write per run,
   * not per event. Events marked but not yet run when the process dies are
   * replayed flagged `redelivered` (conservative, never the other way round).
   * `seqs` is only valid during the call (the dispatcher reuses the array):
   * copy what must be kept.
   */
  beforeStart?: (seqs: number[], go: () => void) => void;
  /** Longest run `beforeStart` covers. Default 64. */
  startBatch?: number;
  /** Called once per event when it is finished (handled, or given up on). */
  onFinished?: (item: DeliveryItem, failed: boolean) => void;
  log?: Logger;
}

export interface DispatcherStats {
  /** Events waiting in room queues (not running). */
  queued: number;
  /** Handler calls running now. */
  inFlight: number;
  /** Rooms (lanes) with unfinished events. */
  roomsActive: number;
  /** Enqueued events not finished yet (queued + running + waiting to retry). */
  unfinished: number;
  /** Highest `unfinished` seen. */
  peakUnfinished: number;
  processed: number;
  failed: number;
  retries: number;
}

const DEFAULT_RETRY: BackoffPolicy = { baseMs: 500, maxMs: 15_000, maxRetries: 5 };

/** Lane key for events without a room. */
const NO_ROOM = '\u0000no-room';

/** Idle lanes kept for reuse (their callbacks are allocated once per lane, not per event). */
const LANE_POOL_MAX = 1024;

class Lane {
  key = '';
  roomless = false;
  q: Array<DeliveryItem | undefined> = [];
  head = 0;
  /** idle: nothing to do; ready: waiting for a slot; running; sleeping: backoff before a retry. */
  state: 'idle' | 'ready' | 'running' | 'sleeping' = 'idle';
  /** Handler settlement callbacks and the start callback for the head item: one set per lane, reused for every event. */
  readonly ok: () => void;
  readonly fail: (err: unknown) => void;
  readonly go: () => void;
  readonly retryNow: () => void;
  constructor(d: RoomDispatcher) {
    this.ok = () => d._finish(this, undefined, false);
    this.fail = (err) => d._finish(this, err, true);
    this.go = () => d._invoke(this);
    this.retryNow = () => d._retry(this);
  }
  get size(): number {
    return this.q.length - this.head;
  }
}

function notRetryable(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as { retryable?: unknown; opts?: { retryable?: unknown } };
  return e.retryable === false || e.opts?.retryable === false;
}

export class RoomDispatcher {
  private readonly handler: EventHandler;
  private readonly concurrency: number;
  private readonly retry: BackoffPolicy;
  private readonly beforeStart?: RoomDispatcherOptions['beforeStart'];
  private readonly startBatch: number;
  private readonly onFinished?: RoomDispatcherOptions['onFinished'];
  private readonly log: Logger;

  private readonly lanes = new Map<string, Lane>();
  private readonly lanePool: Lane[] = [];
  /** Scratch array for `beforeStart` (valid during the call only). */
  private readonly startSeqs: number[] = [];
  private ready: Lane[] = [];
  private readyHead = 0;
  private running = 0;
  private readonly st = { queued: 0, inFlight: 0, unfinished: 0, peakUnfinished: 0, processed: 0, failed: 0, retries: 0 };
  private idleWaiters: Array<() => void> = [];
  private progressListener?: () => void;

  constructor(opts: RoomDispatcherOptions) {
    this.handler = opts.handler;
    this.concurrency = Math.max(1, opts.concurrency ?? 64);
    this.retry = opts.retry ?? DEFAULT_RETRY;
    this.beforeStart = opts.beforeStart;
    this.startBatch = Math.max(1, opts.startBatch ?? 64);
    this.onFinished = opts.onFinished;
    this.log = opts.log ?? getLogger('appservice.dispatch');
  }

  /** Queue events (in order). Never blocks; back-pressure is the caller's job (see `unfinished`). */
  enqueue(items: DeliveryItem[]): void {
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      const roomId = item.event.room_id;
      const key = typeof roomId === 'string' ? roomId : NO_ROOM;
      let lane = this.lanes.get(key);
      if (!lane) {
        lane = this.lanePool.pop() ?? new Lane(this);
        lane.key = key;
        lane.roomless = key === NO_ROOM;
        this.lanes.set(key, lane);
      }
      lane.q.push(item);
      this.st.queued++;
      this.st.unfinished++;
      if (lane.state === 'idle') this.makeReady(lane);
    }
    if (this.st.unfinished > this.st.peakUnfinished) this.st.peakUnfinished = this.st.unfinished;
    this.pump();
  }

  /** Events enqueued and not yet finished. */
  get unfinished(): number {
    return this.st.unfinished;
  }

  /** Called (synchronously) whenever an event finishes; used for back-pressure. */
  onProgress(listener: () => void): void {
    this.progressListener = listener;
  }

  /** Resolves when every enqueued event has finished. */
  idle(): Promise<void> {
    if (this.st.unfinished === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  stats(): DispatcherStats {
    return { ...this.st, roomsActive: this.lanes.size };
  }

  private makeReady(lane: Lane): void {
    if (lane.roomless) {
      this.start(lane);
      return;
    }
    lane.state = 'ready';
    this.ready.push(lane);
  }

  private pump(): void {
    while (this.running < this.concurrency && this.readyHead < this.ready.length) {
      const lane = this.ready[this.readyHead++];
      this.start(lane);
    }
    if (this.readyHead > 1024 && this.readyHead * 2 > this.ready.length) {
      this.ready = this.ready.slice(this.readyHead);
      this.readyHead = 0;
    }
  }

  private start(lane: Lane): void {
    lane.state = 'running';
    if (!lane.roomless) this.running++;
    const item = lane.q[lane.head]!;
    this.st.queued--;
    this.st.inFlight++;
    if (this.beforeStart && !item.startMarked) {
      const seqs = this.startSeqs;
      seqs.length = 0;
      const end = Math.min(lane.q.length, lane.head + this.startBatch);
      for (let i = lane.head; i < end; i++) {
        const it = lane.q[i]!;
        if (it.startMarked) break;
        it.startMarked = true;
        seqs.push(it.seq);
      }
      this.beforeStart(seqs, lane.go);
      seqs.length = 0;
    } else this._invoke(lane);
  }

  /** @internal Call the handler for the lane's head item. */
  _invoke(lane: Lane): void {
    const item = lane.q[lane.head]!;
    let p: Promise<void>;
    try {
      p = this.handler(item.event, item);
    } catch (err) {
      // Settled asynchronously like a rejection: no re-entrant pump from here.
      p = Promise.reject(err);
    }
    // One promise reaction per event, with the lane's preallocated callbacks.
    p.then(lane.ok, lane.fail);
  }

  /** @internal The lane's head item settled. */
  _finish(lane: Lane, err: unknown, threw: boolean): void {
    const item = lane.q[lane.head]!;
    this.st.inFlight--;
    if (!lane.roomless) this.running--;
    if (threw) {
      if (item.attempt < this.retry.maxRetries && !notRetryable(err)) {
        const delay = backoffDelay(item.attempt, this.retry);
        item.attempt++;
        this.st.retries++;
        this.st.queued++;
        lane.state = 'sleeping';
        this.log.warn('Event handler failed; will retry', {
          eventId: item.event.event_id,
          roomId: item.event.room_id,
          type: item.event.type,
          attempt: item.attempt,
          retryInMs: delay,
          error: errorText(err),
        });
        setTimeout(lane.retryNow, delay);
        this.pump();
        return;
      }
      this.st.failed++;
      this.log.error('Event handler failed; giving up on this event', {
        eventId: item.event.event_id,
        roomId: item.event.room_id,
        type: item.event.type,
        attempts: item.attempt + 1,
        error: errorText(err),
      });
    } else {
      this.st.processed++;
    }
    lane.q[lane.head++] = undefined;
    this.st.unfinished--;
    if (lane.size > 0) {
      if (lane.head > 256 && lane.head * 2 > lane.q.length) {
        lane.q = lane.q.slice(lane.head);
        lane.head = 0;
      }
      this.makeReady(lane);
    } else {
      lane.state = 'idle';
      this.lanes.delete(lane.key);
      lane.q.length = 0;
      lane.head = 0;
      if (this.lanePool.length < LANE_POOL_MAX) this.lanePool.push(lane);
    }
    this.onFinished?.(item, threw);
    this.pump();
    this.progressListener?.();
    if (this.st.unfinished === 0 && this.idleWaiters.length) {
      const w = this.idleWaiters;
      this.idleWaiters = [];
      for (const f of w) f();
    }
  }

  /** @internal Backoff over: the lane's head item is tried again. */
  _retry(lane: Lane): void {
    this.makeReady(lane);
    this.pump();
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
