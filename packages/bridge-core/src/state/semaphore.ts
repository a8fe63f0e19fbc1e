/**
 * A counting semaphore with two priorities, used to cap concurrent room-state
 * requests (`/state`, `/members`) for the whole process. Lookups that a caller
 * is waiting on take `high` priority and overtake background warm-up work
 * (`normal`); a queued normal waiter can be promoted when a caller starts
 * waiting on it.
 */

export type Release = () => void;
export type Priority = 'high' | 'normal';

/** A place in the queue. `promise` resolves with the release function once a slot is held. */
export interface SemaphoreTicket {
  readonly promise: Promise<Release>;
  /** Move a still-queued normal waiter to the high-priority queue (no-op otherwise). */
  promote(): void;
  /** Leave the queue; if the slot was already granted, it is released. */
  cancel(): void;
}

interface Waiter {
  /** 0 queued normal, 1 queued high, 2 granted, 3 cancelled */
  state: 0 | 1 | 2 | 3;
  resolve: (r: Release) => void;
  reject: (e: unknown) => void;
  release?: Release;
}

/** FIFO with O(1) shift; entries no longer in the expected state are skipped lazily. */
class Queue {
  private items: Waiter[] = [];
  private head = 0;
  push(w: Waiter): void {
    this.items.push(w);
  }
  shift(want: 0 | 1): Waiter | undefined {
    while (this.head < this.items.length) {
      const w = this.items[this.head++];
      if (this.head > 1024 && this.head * 2 > this.items.length) {
        this.items = this.items.slice(this.head);
        this.head = 0;
      }
      if (w.state === want) return w;
    }
    return undefined;
  }
}

export class Semaphore {
  private capacity_: number;
  private active_ = 0;
  private peak_ = 0;
  private waitingHigh = 0;
  private waitingNormal = 0;
  private readonly high = new Queue();
  private readonly normal = new Queue();

  constructor(capacity = 4) {
    this.capacity_ = Semaphore.check(capacity);
  }

  private static check(n: number): number {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`semaphore capacity must be a positive integer, got ${n}`);
    return n;
  }

  get capacity(): number {
    return this.capacity_;
  }
  /** Slots currently held. */
  get active(): number {
    return this.active_;
  }
  /** Highest number of slots ever held at once (see resetPeak). */
  get peak(): number {
    return this.peak_;
  }
  /** Waiters queued (both priorities). */
  get waiting(): number {
    return this.waitingHigh + this.waitingNormal;
  }

  resetPeak(): void {
    this.peak_ = this.active_;
  }

  /** Change the cap at run time; lowering it lets held slots drain naturally. */
  setCapacity(n: number): void {
    this.capacity_ = Semaphore.check(n);
    this.pump();
  }

  /** A slot if one is free right now and nobody is queued, else undefined. */
  tryAcquire(): Release | undefined {
    if (this.active_ >= this.capacity_ || this.waiting > 0) return undefined;
    return this.grant();
  }

  acquire(priority: Priority = 'normal'): Promise<Release> {
    return this.enqueue(priority).promise;
  }

  /** Run `fn` holding a slot. */
  async run<T>(fn: () => Promise<T>, priority: Priority = 'normal'): Promise<T> {
    const release = await this.acquire(priority);
    try {
      return await fn();
    } finally {
      release();
    }
  }

  enqueue(priority: Priority = 'normal'): SemaphoreTicket {
    let w!: Waiter;
    const promise = new Promise<Release>((resolve, reject) => {
      w = { state: priority === 'high' ? 1 : 0, resolve, reject };
    });
    if (priority === 'high') {
      this.high.push(w);
      this.waitingHigh++;
    } else {
      this.normal.push(w);
      this.waitingNormal++;
    }
    this.pump();
    return {
      promise,
      promote: () => {
        if (w.state !== 0) return;
        w.state = 1;
        this.waitingNormal--;
        this.waitingHigh++;
        this.high.push(w);
        this.pump();
      },
      cancel: () => {
        if (w.state === 2) {
          w.release?.();
          w.state = 3;
          return;
        }
        if (w.state === 3) return;
        if (w.state === 0) this.waitingNormal--;
        else this.waitingHigh--;
        w.state = 3;
        w.reject(new Error('semaphore wait cancelled'));
      },
    };
  }

  private grant(): Release {
    this.active_++;
    if (this.active_ > this.peak_) this.peak_ = this.active_;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.active_--;
      this.pump();
    };
  }

  private pump(): void {
    while (this.active_ < this.capacity_) {
      let w: Waiter | undefined;
      if (this.waitingHigh > 0 && (w = this.high.shift(1))) this.waitingHigh--;
      else if (this.waitingNormal > 0 && (w = this.normal.shift(0))) this.waitingNormal--;
      else return;
      w.state = 2;
      w.release = this.grant();
      w.resolve(w.release);
    }
  }
}

const shared = new Map<string, Semaphore>();

/**
 * The process-wide semaphore of a given name (default: the one capping room
 * state requests), created with `capacity` on first use. Passing a capacity
 * later resizes it.
 */
export function sharedSemaphore(name = 'matrix-room-state', capacity?: number): Semaphore {
  let s = shared.get(name);
  if (!s) shared.set(name, (s = new Semaphore(capacity ?? 4)));
  else if (capacity !== undefined && capacity !== s.capacity) s.setCapacity(capacity);
  return s;
}
