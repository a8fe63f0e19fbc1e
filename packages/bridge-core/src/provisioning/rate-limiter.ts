/**
 * In-memory token-bucket rate limiter, one bucket per key (a user ID, an IP).
 * A bucket holds up to `perMinute` tokens and refills continuously at
 * `perMinute` per minute, so bursts up to the limit are allowed and the
 * long-run rate is bounded. Idle buckets (refilled to full) are dropped, so
 * memory stays proportional to recently active keys.
 */

export interface RateLimitDecision {
  allowed: boolean;
  /** When refused: milliseconds until one request would be allowed. 0 when allowed. */
  retryAfterMs: number;
}

export interface RateLimiterOptions {
  /** Requests allowed per key per minute (bucket size and refill rate). */
  perMinute: number;
  /** Clock, for tests. */
  now?: () => number;
  /** Sweep idle buckets once the map holds more than this many keys. Default 10,000. */
  sweepThreshold?: number;
}

interface Bucket {
  tokens: number;
  updated: number;
}

const MINUTE = 60_000;

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly capacity: number;
  private readonly perMs: number;
  private readonly now: () => number;
  private readonly sweepThreshold: number;
  private lastSweep = -Infinity;

  constructor(opts: RateLimiterOptions) {
    if (!(opts.perMinute > 0)) throw new Error('RateLimiter: perMinute must be positive');
    this.capacity = opts.perMinute;
    this.perMs = opts.perMinute / MINUTE;
    this.now = opts.now ?? Date.now;
    this.sweepThreshold = opts.sweepThreshold ?? 10_000;
  }

  /** Take one token for `key`; refused (nothing taken) when the bucket is empty. */
  take(key: string): RateLimitDecision {
    const now = this.now();
    let b = this.buckets.get(key);
    if (!b) {
      // At most one sweep per second, so a flood of distinct keys stays O(1) per request.
      if (this.buckets.size >= this.sweepThreshold && now - this.lastSweep >= 1000) this.sweep(now);
      b = { tokens: this.capacity, updated: now };
      this.buckets.set(key, b);
    } else {
      this.refill(b, now);
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { allowed: true, retryAfterMs: 0 };
    }
    return { allowed: false, retryAfterMs: Math.max(1, Math.ceil((1 - b.tokens) / this.perMs)) };
  }

  /** Forget a key (e.g. after an operator lifts a limit). */
  reset(key?: string): void {
    if (key === undefined) this.buckets.clear();
    else this.buckets.delete(key);
  }

  /** Number of tracked keys (for tests and metrics). */
  get size(): number {
    return this.buckets.size;
  }

  private refill(b: Bucket, now: number): void {
    if (now > b.updated) {
      b.tokens = Math.min(this.capacity, b.tokens + (now - b.updated) * this.perMs);
      b.updated = now;
    }
  }

  private sweep(now: number): void {
    this.lastSweep = now;
    for (const [k, b] of this.buckets) {
      this.refill(b, now);
      if (b.tokens >= this.capacity) this.buckets.delete(k);
    }
  }
}
