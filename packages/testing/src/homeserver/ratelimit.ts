// Per-user token-bucket rate limiting, like Synapse's rc_message. Off by default so
// tests stay deterministic; a test enables it to exercise a bridge's 429 handling.
export interface RateLimitConfig {
  enabled: boolean;
  /** Sustained requests per second per user. */
  perSecond: number;
  /** Bucket size (requests allowed in a burst). */
  burst: number;
}

export class RateLimiter {
  private buckets = new Map<string, { tokens: number; at: number }>();

  constructor(public config: RateLimitConfig) {}

  /** 0 when allowed, otherwise milliseconds until the next action would be allowed. */
  take(key: string, now = Date.now()): number {
    const { perSecond, burst } = this.config;
    let b = this.buckets.get(key);
    if (!b) this.buckets.set(key, (b = { tokens: burst, at: now }));
    b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * perSecond);
    b.at = now;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - b.tokens) / perSecond) * 1000);
  }

  reset(): void {
    this.buckets.clear();
  }
}
