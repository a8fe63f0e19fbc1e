// Per-network admission control for connection attempts. Servers throttle or Z-line hosts that
// connect too fast (connflood, connectban), and a reconnect storm also costs the bridge CPU (MAI
// #313), so every (re)connect of a network goes through one FIFO that starts at most
// `connectsPerSecond` attempts per second and keeps at most `maxConcurrent` registrations in
// flight. Throughput stays at exactly the configured limits, not below them (MAI #1409).

export interface SchedulerOptions {
  /** Connection attempts started per second (default 10). 0 = unlimited. */
  connectsPerSecond?: number;
  /** Attempts in flight at once (default 50). 0 = unlimited. */
  maxConcurrent?: number;
  now?: () => number;
}

interface Job {
  run: () => Promise<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  cancelled: boolean;
}

export interface SchedulerStats {
  queued: number;
  inFlight: number;
  started: number;
}

/** A handle to a scheduled attempt: cancel() removes it if it has not started. */
export interface ScheduledTask<T> {
  promise: Promise<T>;
  cancel(): boolean;
}

export class CancelledError extends Error {
  constructor() {
    super('connection attempt cancelled');
    this.name = 'CancelledError';
  }
}

export class ConnectScheduler {
  private readonly intervalMs: number;
  private readonly maxConcurrent: number;
  private readonly now: () => number;
  private readonly queue: Job[] = [];
  private inFlight = 0;
  private started = 0;
  private lastStart = -Infinity;
  private timer: NodeJS.Timeout | null = null;
  private paused = false;
  /** Start times, for tests and metrics. */
  readonly startLog: number[] = [];

  constructor(opts: SchedulerOptions = {}) {
    const rate = opts.connectsPerSecond ?? 10;
    this.intervalMs = rate > 0 ? 1000 / rate : 0;
    this.maxConcurrent = opts.maxConcurrent && opts.maxConcurrent > 0 ? opts.maxConcurrent : Infinity;
    this.now = opts.now ?? Date.now;
  }

  /** Queues an attempt; `run` starts when rate and concurrency allow, in FIFO order. */
  schedule<T>(run: () => Promise<T>): ScheduledTask<T> {
    let job!: Job;
    const promise = new Promise<T>((resolve, reject) => {
      job = { run, resolve: resolve as (v: unknown) => void, reject, cancelled: false };
    });
    this.queue.push(job);
    this.pump();
    return {
      promise,
      cancel: () => {
        const i = this.queue.indexOf(job);
        if (i === -1) return false;
        this.queue.splice(i, 1);
        job.cancelled = true;
        job.reject(new CancelledError());
        return true;
      },
    };
  }

  /** Holds all queued attempts (e.g. while the network is known to be down); attempts keep queueing in order. */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.pump();
  }

  getStats(): SchedulerStats {
    return { queued: this.queue.length, inFlight: this.inFlight, started: this.started };
  }

  private pump(): void {
    if (this.timer || this.paused) return;
    while (this.queue.length && this.inFlight < this.maxConcurrent) {
      const wait = this.lastStart + this.intervalMs - this.now();
      if (wait > 0) {
        this.timer = setTimeout(() => {
          this.timer = null;
          this.pump();
        }, Math.ceil(wait));
        return;
      }
      if (this.paused) return;
      const job = this.queue.shift()!;
      this.lastStart = this.now();
      this.startLog.push(this.lastStart);
      if (this.startLog.length > 10_000) this.startLog.splice(0, 5_000);
      this.started++;
      this.inFlight++;
      let p: Promise<unknown>;
      try {
        p = job.run();
      } catch (e) {
        p = Promise.reject(e instanceof Error ? e : new Error(String(e)));
      }
      p.then(job.resolve, job.reject).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }
}
