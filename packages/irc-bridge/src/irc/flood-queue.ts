// Per-connection outgoing flood control. irc-framework has no send throttle, and InspIRCd's
// default connect class drains penalty at 1000/s (one PRIVMSG per second) and fake-lags or kills
// ("Excess Flood"/"RecvQ exceeded") past its threshold. A token bucket measured in the server's
// own penalty units keeps a connection under that: `burst` tokens up front, then `ratePerSecond`.
// The queue also records how long lines waited, so the bridge can expose queueing delay.
// With `prepare`, the lines the bucket lets out are first handed over together (to store that they
// are being sent, see IrcConnection), and written once that has settled.

/** InspIRCd 3 command penalties (x1000 in its source) for the commands we send. */
export const DEFAULT_COSTS: Readonly<Record<string, number>> = {
  PRIVMSG: 1,
  NOTICE: 1,
  TAGMSG: 1,
  JOIN: 2,
  TOPIC: 2,
  WHOIS: 2,
  MODE: 1,
  KICK: 1,
  NICK: 1,
  INVITE: 4,
  PART: 5,
  LIST: 5,
};

export interface FloodQueueOptions<T = unknown> {
  /** Tokens available at once (default 4). */
  burst?: number;
  /** Tokens regained per second (default 1, InspIRCd's default commandrate). */
  ratePerSecond?: number;
  /** Cost of commands absent from the cost table (default 1). */
  defaultCost?: number;
  costs?: Readonly<Record<string, number>>;
  /** Clock, replaceable in tests. */
  now?: () => number;
  /**
   * Called once per item, before it is written, with the run of items the bucket lets out now. A
   * returned promise holds those items (and everything behind them) until it settles.
   */
  prepare?: (items: T[]) => Promise<void> | undefined;
}

export interface QueuedItem<T> {
  item: T;
  cost: number;
  enqueuedAt: number;
  /** `prepare` has been called for it. */
  prepared?: boolean;
}

export interface FloodStats {
  pending: number;
  sent: number;
  /** Delay of the last line sent (ms between enqueue and write). */
  lastDelayMs: number;
  maxDelayMs: number;
}

export class FloodQueue<T> {
  private readonly burst: number;
  private readonly rate: number;
  private readonly defaultCost: number;
  private readonly costs: Readonly<Record<string, number>>;
  private readonly now: () => number;
  private tokens: number;
  private lastRefill: number;
  private readonly queue: QueuedItem<T>[] = [];
  private timer: NodeJS.Timeout | null = null;
  private paused = true;
  /** Waiting for `prepare`'s promise. */
  private preparing = false;
  private readonly prepare: FloodQueueOptions<T>['prepare'];
  private stats: FloodStats = { pending: 0, sent: 0, lastDelayMs: 0, maxDelayMs: 0 };

  /** `sink` writes one item to the socket. */
  constructor(
    private readonly sink: (item: T, waitedMs: number) => void,
    opts: FloodQueueOptions<T> = {},
  ) {
    this.prepare = opts.prepare;
    this.burst = Math.max(1, opts.burst ?? 4);
    this.rate = opts.ratePerSecond ?? 1;
    this.defaultCost = opts.defaultCost ?? 1;
    this.costs = opts.costs ?? DEFAULT_COSTS;
    this.now = opts.now ?? Date.now;
    this.tokens = this.burst;
    this.lastRefill = this.now();
  }

  costOf(command: string): number {
    return this.costs[command.toUpperCase()] ?? this.defaultCost;
  }

  push(item: T, command: string): void {
    this.queue.push({ item, cost: this.costOf(command), enqueuedAt: this.now() });
    this.pump();
  }

  /** Queues `item` ahead of everything waiting: a control line that must not wait behind chat. */
  pushFront(item: T, command: string): void {
    this.queue.unshift({ item, cost: this.costOf(command), enqueuedAt: this.now() });
    this.pump();
  }

  /** Allows sending (after registration). */
  resume(): void {
    this.paused = false;
    this.tokens = this.burst;
    this.lastRefill = this.now();
    this.pump();
  }

  /** Stops sending; items stay queued. */
  pause(): void {
    this.paused = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Removes and returns every queued item, oldest first (for requeueing or failure reports). */
  takeAll(): QueuedItem<T>[] {
    return this.queue.splice(0, this.queue.length);
  }

  get pending(): number {
    return this.queue.length;
  }

  getStats(): FloodStats {
    return { ...this.stats, pending: this.queue.length };
  }

  /** Hands `prepare` the items the bucket lets out now; true when they have to wait for it. */
  private prepareRun(): boolean {
    const run: QueuedItem<T>[] = [];
    let tokens = this.tokens;
    for (const q of this.queue) {
      if (tokens + 1e-9 < Math.min(q.cost, this.burst)) break;
      tokens -= q.cost;
      if (!q.prepared) run.push(q);
    }
    for (const q of run) q.prepared = true;
    const wait = this.prepare!(run.map((q) => q.item));
    if (!wait) return false;
    this.preparing = true;
    const go = () => {
      this.preparing = false;
      this.pump();
    };
    wait.then(go, go);
    return true;
  }

  private refill(): void {
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.lastRefill) / 1000) * this.rate);
    this.lastRefill = now;
  }

  private pump(): void {
    if (this.paused || this.timer || this.preparing) return;
    this.refill();
    while (this.queue.length) {
      const head = this.queue[0];
      // An item costlier than the whole bucket is allowed once the bucket is full.
      const need = Math.min(head.cost, this.burst);
      if (this.tokens + 1e-9 < need) break;
      if (this.prepare && !head.prepared && this.prepareRun()) return;
      this.queue.shift();
      this.tokens -= head.cost;
      const waited = this.now() - head.enqueuedAt;
      this.stats.sent++;
      this.stats.lastDelayMs = waited;
      this.stats.maxDelayMs = Math.max(this.stats.maxDelayMs, waited);
      this.sink(head.item, waited);
      if (this.paused) return;
    }
    if (this.queue.length && this.rate > 0) {
      const need = Math.min(this.queue[0].cost, this.burst) - this.tokens;
      const waitMs = Math.max(1, Math.ceil((need / this.rate) * 1000));
      this.timer = setTimeout(() => {
        this.timer = null;
        this.pump();
      }, waitMs);
    }
  }
}
