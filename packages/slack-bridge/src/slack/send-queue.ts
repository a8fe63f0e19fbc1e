// The ordered, rate-limited queue every Slack write goes through. Per key (a channel) sends are
// strictly FIFO with one in flight, so a channel never sees messages reordered, and an edit or
// reaction never overtakes the message it targets. A 429 blocks the method for every key for its
// Retry-After (Slack limits per method and workspace), or only the key when the classifier says
// so; transient failures are retried with exponential backoff and jitter; a permanent failure is
// reported (the promise rejects, `onFailed` runs) and the key moves on. Nothing is dropped
// silently and nothing is reordered.
//
// Delivery is at-least-once: an item stays in the store until Slack accepted it, so a crash
// between Slack's answer and the store removal resends it after a restart.
//
// Network-neutral: the caller supplies `send` and `classify`; clock, sleep and the retry delays are
// injectable so specs run on a fake clock.
import type { PendingSend, PendingSendStore } from './pending-sends';
import { MemoryPendingSendStore } from './pending-sends';
import type { SendFailure } from './send-errors';

export interface SendQueueOptions<P, R> {
  /** Performs one Web API call. */
  send(item: PendingSend<P>): Promise<R>;
  /** Decides what a failure of `send` means (e.g. `classifySlackError`). */
  classify(err: unknown, item: PendingSend<P>): SendFailure;
  store?: PendingSendStore<P>;
  /** Called once per delivered item, before it leaves the store (restored items have no promise). */
  onSent?(item: PendingSend<P>, result: R): void | Promise<void>;
  /** Called once per item given up on. */
  onFailed?(item: PendingSend<P>, err: unknown): void | Promise<void>;
  /** Called before each wait caused by a failure, for logs and metrics. */
  onRetry?(item: PendingSend<P>, failure: SendFailure, delayMs: number): void;
  /** A store or hook error that the queue survived (it never stops for one). */
  onError?(err: unknown, item: PendingSend<P>): void;
  /** Give up after this many failed attempts (default: never; rate limiting never counts). */
  maxFailures?: number;
  /**
   * Wait before retrying after the `failures`-th transient failure in a row (1-based), in ms: the
   * bridge's one backoff policy, given by the caller (this layer imports nothing of the core).
   */
  retryDelay(failures: number): number;
  /** Minimum spacing between two sends of a method on one key (e.g. chat.postMessage: 1000). */
  minIntervalMs?: Readonly<Record<string, number>>;
  now?: () => number;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

interface Entry<P, R> {
  item: PendingSend<P>;
  resolve?: (r: R) => void;
  reject?: (e: unknown) => void;
  notBefore: number;
}

const MIN_RATELIMIT_WAIT_MS = 1000;

function realSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason as unknown);
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal.reason as unknown);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export class SendQueueStoppedError extends Error {
  constructor() {
    super('The Slack send queue is stopped.');
  }
}

export class SendQueue<P, R = unknown> {
  private readonly store: PendingSendStore<P>;
  private readonly now: () => number;
  private readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  private readonly queues = new Map<string, Entry<P, R>[]>();
  private readonly workers = new Map<string, Promise<void>>();
  private readonly methodBlockedUntil = new Map<string, number>();
  private readonly keyBlockedUntil = new Map<string, number>();
  private readonly lastSent = new Map<string, number>();
  private idleWaiters: Array<() => void> = [];
  private seq = 0;
  private ids = 0;
  private started = false;
  private abort = new AbortController();

  constructor(private readonly opts: SendQueueOptions<P, R>) {
    this.store = opts.store ?? new MemoryPendingSendStore<P>();
    this.now = opts.now ?? Date.now;
    this.sleep = opts.sleep ?? realSleep;
  }

  /** Loads what the store still holds (oldest first) and starts sending; returns how many. */
  async start(): Promise<number> {
    if (this.started) return 0;
    const restored = (await this.store.list()).sort((a, b) => a.seq - b.seq);
    this.seq = restored.reduce((max, i) => Math.max(max, i.seq), this.seq);
    this.abort = new AbortController();
    this.started = true;
    for (const item of restored) this.push({ item, notBefore: 0 });
    return restored.length;
  }

  /**
   * Queues a call; resolves with `send`'s result once Slack accepted it, rejects when the queue
   * gives up (permanent failure, `maxFailures`) or the store refused the item.
   */
  async enqueue(key: string, method: string, payload: P): Promise<R> {
    if (!this.started) throw new SendQueueStoppedError();
    const seq = ++this.seq;
    const item: PendingSend<P> = {
      id: `${this.now().toString(36)}.${seq}.${(this.ids++).toString(36)}`,
      key,
      method,
      payload,
      seq,
      enqueuedAt: this.now(),
      failures: 0,
    };
    await this.store.add(item);
    return new Promise<R>((resolve, reject) => this.push({ item, resolve, reject, notBefore: 0 }));
  }

  /** Items waiting or in flight, for one key or all. */
  pending(key?: string): number {
    if (key !== undefined) return this.queues.get(key)?.length ?? 0;
    let n = 0;
    for (const q of this.queues.values()) n += q.length;
    return n;
  }

  /** When `method` may be called again (ms timestamp), if it is rate limited now. */
  blockedUntil(method: string): number | undefined {
    const until = this.methodBlockedUntil.get(method);
    return until !== undefined && until > this.now() ? until : undefined;
  }

  /** Resolves when nothing is waiting or in flight. */
  idle(): Promise<void> {
    if (this.workers.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Stops sending: calls in flight finish, waits end at once, queued items stay in the store
   * (their promises reject with SendQueueStoppedError) for the next `start`.
   */
  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    this.abort.abort(new SendQueueStoppedError());
    await Promise.all([...this.workers.values()]);
    for (const q of this.queues.values()) for (const e of q) e.reject?.(new SendQueueStoppedError());
    this.queues.clear();
  }

  private push(entry: Entry<P, R>): void {
    const key = entry.item.key;
    let q = this.queues.get(key);
    if (!q) this.queues.set(key, (q = []));
    q.push(entry);
    if (!this.workers.has(key)) this.workers.set(key, this.run(key, q));
  }

  /** When the head of `key` may be sent, given every limit that applies. */
  private readyAt(key: string, entry: Entry<P, R>): number {
    const method = entry.item.method;
    const spacing = this.opts.minIntervalMs?.[method];
    const last = spacing ? this.lastSent.get(`${method}\u0000${key}`) : undefined;
    return Math.max(
      entry.notBefore,
      this.until(this.methodBlockedUntil, method),
      this.until(this.keyBlockedUntil, key),
      spacing && last !== undefined ? last + spacing : 0,
    );
  }

  /** A block's end, forgetting it once it is over (these maps would otherwise only grow). */
  private until(map: Map<string, number>, id: string): number {
    const t = map.get(id);
    if (t === undefined) return 0;
    if (t <= this.now()) {
      map.delete(id);
      return 0;
    }
    return t;
  }

  private async run(key: string, q: Entry<P, R>[]): Promise<void> {
    // Let push() register this worker before anything below can finish it.
    await Promise.resolve();
    try {
      while (this.started && q.length) {
        const entry = q[0];
        const wait = this.readyAt(key, entry) - this.now();
        if (wait > 0) {
          try {
            await this.sleep(wait, this.abort.signal);
          } catch {
            return; // stopped
          }
          continue; // limits may have moved while asleep
        }
        const { item } = entry;
        let result: R;
        try {
          if (this.opts.minIntervalMs?.[item.method]) this.lastSent.set(`${item.method}\u0000${key}`, this.now());
          result = await this.opts.send(item);
        } catch (err) {
          await this.failed(key, q, entry, err);
          continue;
        }
        q.shift();
        await this.guard(item, () => this.opts.onSent?.(item, result));
        await this.guard(item, () => this.store.remove(item.id));
        entry.resolve?.(result);
      }
    } finally {
      // Synchronous with the loop's last check, so a push() in between cannot be stranded.
      if (q.length === 0 && this.queues.get(key) === q) this.queues.delete(key);
      this.workers.delete(key);
      if (this.workers.size === 0) {
        const waiters = this.idleWaiters;
        this.idleWaiters = [];
        for (const w of waiters) w();
      }
    }
  }

  private async failed(key: string, q: Entry<P, R>[], entry: Entry<P, R>, err: unknown): Promise<void> {
    const { item } = entry;
    let failure: SendFailure;
    try {
      failure = this.opts.classify(err, item);
    } catch {
      failure = { type: 'permanent' };
    }
    if (failure.type === 'ratelimited') {
      // A floor, so a `Retry-After: 0` (or a classifier's 0) cannot turn into a tight loop.
      const wait = Math.max(MIN_RATELIMIT_WAIT_MS, Number.isFinite(failure.retryAfterMs) ? failure.retryAfterMs : 0);
      const until = this.now() + wait;
      const map = failure.scope === 'key' ? this.keyBlockedUntil : this.methodBlockedUntil;
      const id = failure.scope === 'key' ? key : item.method;
      map.set(id, Math.max(map.get(id) ?? 0, until));
      this.opts.onRetry?.(item, failure, wait);
      return;
    }
    if (failure.type === 'transient') item.failures++;
    const maxFailures = this.opts.maxFailures ?? Infinity;
    if (failure.type === 'permanent' || item.failures >= maxFailures) {
      q.shift();
      await this.guard(item, () => this.opts.onFailed?.(item, err));
      await this.guard(item, () => this.store.remove(item.id));
      entry.reject?.(err);
      return;
    }
    const delay = Math.max(1, failure.retryAfterMs ?? 0, this.opts.retryDelay(item.failures));
    entry.notBefore = this.now() + delay;
    this.opts.onRetry?.(item, failure, delay);
    await this.guard(item, () => this.store.update(item));
  }

  private async guard(item: PendingSend<P>, fn: () => unknown): Promise<void> {
    try {
      await fn();
    } catch (err) {
      try {
        this.opts.onError?.(err, item);
      } catch {
        // A failing error hook must not stop the queue either.
      }
    }
  }
}
