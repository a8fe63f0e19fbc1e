// Slack events between their arrival and their application on Matrix, kept in a durable queue
// (`ctx.outbox`) so an event Slack was told we have (acknowledged) survives a crash: stored first,
// acknowledged second, removed only once applied and its `event_id` recorded. Per conversation the
// events are applied in arrival order (one at a time, so an edit cannot overtake its message);
// conversations run in parallel.
//
// A redelivery (same `event_id`) is dropped while the first copy waits here or once it was applied
// (EventDedupe); one applied twice after a crash between the two steps collapses on Matrix, whose
// transaction IDs come from the Slack message (see slack/message-id.ts).
import type { DurableQueue, Logger, QueueRecord } from '@causeway/bridge-core';
import type { EventDedupe } from './event-dedupe';

export interface StoredEnvelope {
  body: Record<string, unknown>;
  retryNum: number;
}

type Rec = QueueRecord<StoredEnvelope>;

const STOP_WAIT_MS = 5000;

export class SlackInbox {
  private readonly lanes = new Map<string, Rec[]>();
  private readonly workers = new Map<string, Promise<void>>();
  private readonly pendingIds = new Set<string>();
  /** Records in a lane now, so one listed at start and also just appended is applied once. */
  private readonly queued = new Set<number>();
  private running = false;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly queue: DurableQueue<StoredEnvelope>,
    private readonly workspace: string,
    private readonly dedupe: EventDedupe,
    private readonly apply: (env: StoredEnvelope) => Promise<void>,
    private readonly log: Logger,
  ) {}

  private keyOf(lane: string): string {
    return `${this.workspace}\u0000${lane}`;
  }

  /** Resumes what the last run left, then accepts new events. */
  async start(): Promise<void> {
    // Running before the listing: an envelope accepted meanwhile goes to its lane at once (and is
    // skipped if the listing has it too), so none waits for the next restart.
    this.running = true;
    const prefix = this.keyOf('');
    for (const r of await this.queue.list()) {
      if (!r.key.startsWith(prefix)) continue;
      const id = eventIdOf(r.value.body);
      if (id) this.pendingIds.add(id);
      this.push(r);
    }
  }

  /**
   * Stops taking events from the queue. An event being applied gets a few seconds to finish (the
   * homeserver may be down, and then it would never); whatever is unfinished stays stored.
   */
  async stop(): Promise<void> {
    this.running = false;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all([...this.workers.values()]),
      new Promise<void>((r) => {
        timer = setTimeout(r, STOP_WAIT_MS);
      }),
    ]);
    clearTimeout(timer);
    this.lanes.clear();
    this.queued.clear();
  }

  /** Stores an envelope (unless it is a duplicate); resolves once stored. */
  async accept(body: Record<string, unknown>, retryNum: number): Promise<'stored' | 'duplicate'> {
    const id = eventIdOf(body);
    if (id && (this.pendingIds.has(id) || this.dedupe.has(id))) return 'duplicate';
    if (id) this.pendingIds.add(id);
    try {
      const [rec] = await this.queue.append(this.keyOf(laneOf(body)), [{ body, retryNum }]);
      this.push(rec);
    } catch (err) {
      if (id) this.pendingIds.delete(id);
      throw err;
    }
    return 'stored';
  }

  /** Resolves when nothing waits (for specs and a clean stop). */
  idle(): Promise<void> {
    if (this.workers.size === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private push(rec: Rec): void {
    if (!this.running || this.queued.has(rec.seq)) return; // not running: stays stored for the next start
    this.queued.add(rec.seq);
    let lane = this.lanes.get(rec.key);
    if (!lane) this.lanes.set(rec.key, (lane = []));
    lane.push(rec);
    if (!this.workers.has(rec.key)) this.workers.set(rec.key, this.run(rec.key, lane));
  }

  private async run(key: string, lane: Rec[]): Promise<void> {
    await Promise.resolve(); // let push() register this worker first
    try {
      while (this.running && lane.length) {
        const rec = lane[0];
        try {
          await this.apply(rec.value);
        } catch (err) {
          // A failure to apply is logged, not retried forever: the core already retries Matrix
          // requests, so what reaches here is an event that cannot be applied.
          this.log.warn('Slack event could not be bridged', { err: String(err) });
        }
        if (!this.running) return; // stopping mid-event: it stays stored and comes again
        lane.shift();
        const id = eventIdOf(rec.value.body);
        try {
          if (id) await this.dedupe.add(id);
          await this.queue.remove([rec]);
        } catch (err) {
          this.log.warn('Slack event bookkeeping failed (it may be applied again after a restart, without duplicating)', {
            err: String(err),
          });
        }
        if (id) this.pendingIds.delete(id);
        this.queued.delete(rec.seq);
      }
    } finally {
      if (lane.length === 0 && this.lanes.get(key) === lane) this.lanes.delete(key);
      this.workers.delete(key);
      if (this.workers.size === 0) {
        const w = this.idleWaiters;
        this.idleWaiters = [];
        for (const f of w) f();
      }
    }
  }
}

function eventIdOf(body: Record<string, unknown>): string | undefined {
  return typeof body.event_id === 'string' ? body.event_id : undefined;
}

/** The conversation an event belongs to (its ordering lane); workspace-wide events share one. */
function laneOf(body: Record<string, unknown>): string {
  const ev = body.event;
  if (!ev || typeof ev !== 'object') return '-';
  const e = ev as Record<string, unknown>;
  if (typeof e.channel === 'string') return e.channel;
  const ch = e.channel as Record<string, unknown> | undefined;
  if (ch && typeof ch.id === 'string') return ch.id;
  const item = e.item as Record<string, unknown> | undefined;
  if (item && typeof item.channel === 'string') return item.channel;
  return '-';
}
