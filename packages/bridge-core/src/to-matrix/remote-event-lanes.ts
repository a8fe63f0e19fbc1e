/**
 * The order and the waiting of remote events on their way to Matrix: one lane
 * per portal, applied strictly in emit order, portals concurrently.
 *
 * While the homeserver answers, an event lives in memory only: applying it is
 * one request, and a store write per event would double the cost of the hot
 * path for nothing but the few milliseconds it is in flight. When it cannot be
 * reached (HomeserverGate) the lane stops and waits, and what it holds is
 * stored in a durable queue, in order:
 * - at once when the gate closes (every lane's events, the one in flight
 *   included) and for every event emitted while it is closed;
 * - and for any lane whose oldest event has waited `spillAfterMs`, so a
 *   homeserver that hangs instead of refusing (requests that time out after
 *   30 s) does not keep events in memory for long either.
 * A stored event is removed once applied. At start (`restore`), what the last
 * run stored is put back in its lanes, ahead of anything new, and applied in
 * order when the homeserver answers. An event that has waited `maxWaitMs`
 * since it was emitted is given up (`onExpired`: the connector tells its
 * sender, a metric counts it); typing notifications are never kept waiting.
 *
 * So a kill -9 loses only events emitted within the last `spillAfterMs` (plus
 * a sweep) that had not reached the homeserver yet — while it answers, the few
 * milliseconds a send takes; like the lines still in the kernel's socket
 * buffer, the remote network will not send them again.
 */
import { portalKeyString } from '../connector/ids';
import type { RemoteEvent } from '../connector/remote-events';
import type { DurableQueue } from '../connector/outbox';
import type { QueueRecord } from '../store/store';
import type { Logger } from '../logging/logger';
import { MatrixError } from '../util/matrix-error';
import { isUnreachable, type HomeserverGate } from './homeserver-gate';

/** An event as stored while it waits. `nonce`: its occurrence nonce (see RemoteEventApplier.occurrence), kept so a retry after a restart reuses its txnId. */
export interface StoredRemoteEvent {
  event: RemoteEvent;
  /** When it was emitted (epoch ms). */
  queuedAt: number;
  nonce?: string;
}

interface Item {
  event: RemoteEvent;
  /** When it was emitted (epoch ms): the wait limit counts from here. */
  queuedAt: number;
  record?: QueueRecord<StoredRemoteEvent>;
  /** Being stored (the append is on its way). */
  storing?: Promise<void>;
  resolve?: () => void;
  reject?: (err: unknown) => void;
}

interface Lane {
  key: string;
  items: Item[];
  head: number;
  running: boolean;
  /** The head is being applied right now. */
  applying: boolean;
}

export interface RemoteEventLanesOptions {
  queue: DurableQueue<StoredRemoteEvent>;
  gate: HomeserverGate;
  /** Apply one event (its request(s) to the homeserver); throws when it could not be applied. `queuedAt`: when it was emitted. */
  apply(event: RemoteEvent, queuedAt: number): Promise<void>;
  /** The occurrence nonce to store with an event, if it has one; and to give back a restored event its nonce. */
  nonceOf(event: RemoteEvent): string | undefined;
  restoreNonce(event: RemoteEvent, nonce: string): void;
  /** Given up after `maxWaitMs`. */
  onExpired(event: RemoteEvent, waitedMs: number): void;
  /** Longest an event waits for an unreachable homeserver, from when it was emitted. */
  maxWaitMs: number;
  /** A lane whose oldest event has waited this long is stored even while the gate is open. Default 1 s. */
  spillAfterMs?: number;
  log: Logger;
}

export class RemoteEventLanes {
  private readonly lanes = new Map<string, Lane>();
  private readonly idleWaiters: Array<() => void> = [];
  private readonly spillAfterMs: number;
  private readonly sweepTimer: NodeJS.Timeout;
  private stored = 0;
  private stopping = false;

  constructor(private readonly o: RemoteEventLanesOptions) {
    this.spillAfterMs = o.spillAfterMs ?? 1000;
    o.gate.onDown(() => {
      for (const lane of this.lanes.values()) void this.store(lane);
    });
    this.sweepTimer = setInterval(() => this.sweep(), Math.max(100, Math.min(1000, this.spillAfterMs)));
    this.sweepTimer.unref();
  }

  /** Queue an event behind its portal's; resolves once applied, rejects when it failed or was given up. */
  push(event: RemoteEvent): Promise<void> {
    if (this.stopping) return Promise.reject(new Error('the bridge is stopping'));
    return new Promise<void>((resolve, reject) => {
      const key = portalKeyString(event.portal);
      const lane = this.lane(key);
      lane.items.push({ event, queuedAt: Date.now(), resolve, reject });
      if (!this.o.gate.reachable) void this.store(lane);
      if (!lane.running) void this.run(lane);
    });
  }

  /** Put back what the last run stored (before anything new is pushed), in order, and start applying it. */
  async restore(): Promise<number> {
    const records = await this.o.queue.list();
    for (const record of records) {
      const { event, nonce, queuedAt } = record.value;
      if (nonce !== undefined) this.o.restoreNonce(event, nonce);
      const lane = this.lane(record.key);
      lane.items.push({ event, queuedAt: queuedAt ?? record.createdAt, record });
      this.stored++;
    }
    if (records.length)
      this.o.log.info('remote events stored while the homeserver was unreachable resume', {
        events: records.length,
        portals: this.lanes.size,
      });
    for (const lane of this.lanes.values()) if (!lane.running) void this.run(lane);
    return records.length;
  }

  /** Events queued (in memory or stored) and not yet applied. */
  get pending(): number {
    let n = 0;
    for (const l of this.lanes.values()) n += l.items.length - l.head;
    return n;
  }

  /** Events stored because they had to wait, not yet applied. */
  get waiting(): number {
    return this.stored;
  }

  /** Resolves when every lane is empty. */
  idle(): Promise<void> {
    if (this.lanes.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Stop applying: what is left is stored for the next start (events being applied finish, or stay
   * stored when they fail). While the homeserver answers, lanes get up to `drainMs` to empty first.
   */
  async stop(drainMs = 5000): Promise<void> {
    clearInterval(this.sweepTimer);
    if (this.o.gate.reachable && this.lanes.size) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.idle(),
        new Promise<void>((r) => {
          timer = setTimeout(r, drainMs);
        }),
      ]);
      clearTimeout(timer);
    }
    this.stopping = true;
    const lanes = [...this.lanes.values()];
    await Promise.all(lanes.map((l) => this.store(l)));
    for (const l of lanes) {
      for (let i = l.head; i < l.items.length; i++) {
        const it = l.items[i];
        // One being applied is removed from the store if it still succeeds.
        it.reject?.(new Error('the bridge stopped before the event was applied; it is stored and applied after the next start'));
        it.resolve = it.reject = undefined;
      }
    }
    this.o.gate.stop();
  }

  private lane(key: string): Lane {
    let lane = this.lanes.get(key);
    if (!lane) this.lanes.set(key, (lane = { key, items: [], head: 0, running: false, applying: false }));
    return lane;
  }

  private async run(lane: Lane): Promise<void> {
    lane.running = true;
    while (lane.head < lane.items.length && !this.stopping) {
      const item = lane.items[lane.head];
      if (!this.o.gate.reachable) {
        if (item.event.type === 'typing') {
          this.finish(lane, item);
          continue;
        } // stale by the time it could show
        await this.store(lane);
        await this.o.gate.whenReachable();
        continue;
      }
      if (this.expire(lane, item)) continue;
      lane.applying = true;
      let failure: unknown;
      try {
        await this.o.apply(item.event, item.queuedAt);
      } catch (err) {
        failure = err;
      }
      lane.applying = false;
      if (failure === undefined) {
        this.finish(lane, item);
      } else if (this.stopping && item.event.type !== 'typing') {
        break; // stored by stop(): tried again after the next start
      } else if (failure instanceof MatrixError && isUnreachable(failure) && item.event.type !== 'typing') {
        // Kept at the head: tried again, first, once the homeserver answers.
        this.o.gate.reportDown(String(failure));
        await this.store(lane);
      } else {
        this.finish(lane, item, failure);
      }
    }
    lane.running = false;
    if (lane.head >= lane.items.length) {
      this.lanes.delete(lane.key);
      if (this.lanes.size === 0) for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  /** Done with the head (applied, failed for good, or given up): settled, and its stored copy removed. */
  private finish(lane: Lane, item: Item, err?: unknown): void {
    lane.items[lane.head++] = undefined as unknown as Item;
    if (lane.head > 64 && lane.head * 2 > lane.items.length) {
      lane.items = lane.items.slice(lane.head);
      lane.head = 0;
    }
    if (item.record || item.storing) void this.unstore(item); // most events were never stored
    if (err === undefined) item.resolve?.();
    else item.reject?.(err);
  }

  /** Gives up on the head when it has waited too long (true: it was, and the lane moved on). */
  private expire(lane: Lane, item: Item): boolean {
    const waited = Date.now() - item.queuedAt;
    if (waited < this.o.maxWaitMs) return false;
    this.o.onExpired(item.event, waited);
    this.finish(lane, item, new Error(`given up after waiting ${Math.round(waited / 1000)} s for the homeserver`));
    return true;
  }

  /** Stores the lane's events that are not stored yet, in order (one append). */
  private store(lane: Lane): Promise<void> {
    const items: Item[] = [];
    for (let i = lane.head; i < lane.items.length; i++) {
      const it = lane.items[i];
      if (!it.record && !it.storing && it.event.type !== 'typing') items.push(it);
    }
    if (items.length === 0) return Promise.all(lane.items.slice(lane.head).flatMap((it) => it.storing ?? [])).then(() => undefined);
    this.stored += items.length;
    const values = items.map((it): StoredRemoteEvent => {
      const nonce = this.o.nonceOf(it.event);
      return nonce === undefined ? { event: it.event, queuedAt: it.queuedAt } : { event: it.event, queuedAt: it.queuedAt, nonce };
    });
    const storing = this.o.queue.append(lane.key, values, { createdAt: items[0].queuedAt }).then(
      (records) => {
        records.forEach((r, i) => {
          items[i].record = r;
          items[i].storing = undefined;
        });
      },
      (err) => {
        this.stored -= items.length;
        for (const it of items) it.storing = undefined;
        this.o.log.error('could not store remote events waiting for the homeserver (a restart would lose them)', {
          events: items.length,
          err: String(err),
        });
      },
    );
    for (const it of items) it.storing = storing;
    return storing;
  }

  private async unstore(item: Item): Promise<void> {
    if (item.storing) await item.storing;
    const record = item.record;
    if (!record) return;
    item.record = undefined;
    this.stored--;
    await this.o.queue.remove([record]).catch((err) => {
      this.o.log.warn('could not remove an applied remote event from the store (it is applied again after a restart)', {
        err: String(err),
      });
    });
  }

  /** Periodically: gives up on waiting events past the limit, and stores lanes whose oldest event has waited long. */
  private sweep(): void {
    const now = Date.now();
    for (const lane of this.lanes.values()) {
      const head = lane.items[lane.head];
      if (!head) continue;
      // A lane waiting for the gate does not run; its expired heads are given up from here.
      if (!lane.applying && !this.o.gate.reachable) {
        while (lane.head < lane.items.length && this.expire(lane, lane.items[lane.head]));
      }
      const oldest = lane.items[lane.head];
      if (oldest && now - oldest.queuedAt >= this.spillAfterMs) void this.store(lane);
    }
  }
}
