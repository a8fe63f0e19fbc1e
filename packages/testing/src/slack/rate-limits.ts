// Per-method rate limits as Slack applies them: per method, app and workspace, by tier, and
// for chat.postMessage about one message per second per channel with short bursts. A token
// bucket per key: `burst` calls at once, refilled at `perMinute`. Over it the call gets HTTP
// 429, `Retry-After` (whole seconds until a call would pass) and `{"ok":false,"error":"ratelimited"}`.
import type { RateTier } from './scopes';

export interface Limit {
  perMinute: number;
  burst: number;
}

/** Slack's published tiers (1+/20+/50+/100+ a minute), with bursts the "+" allows. */
export const TIER_LIMITS: Readonly<Record<RateTier, Limit>> = {
  1: { perMinute: 1, burst: 10 },
  2: { perMinute: 20, burst: 40 },
  3: { perMinute: 50, burst: 100 },
  4: { perMinute: 100, burst: 200 },
  post: { perMinute: 60, burst: 20 },
};

export class RateLimiter {
  enabled: boolean;
  private overrides = new Map<string, Limit>();
  private buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    enabled = true,
    private now: () => number = Date.now,
  ) {
    this.enabled = enabled;
  }

  /** Replaces a method's limit (null restores its tier's). */
  configure(method: string, limit: Limit | null): void {
    if (limit) this.overrides.set(method, limit);
    else this.overrides.delete(method);
    for (const key of this.buckets.keys()) if (key.startsWith(`${method}|`)) this.buckets.delete(key);
  }

  /** Takes one call for `key`; answers 0 when allowed, else the Retry-After seconds. */
  take(method: string, tier: RateTier, key: string): number {
    if (!this.enabled) return 0;
    const limit = this.overrides.get(method) ?? TIER_LIMITS[tier];
    const perMs = limit.perMinute / 60_000;
    const now = this.now();
    const id = `${method}|${key}`;
    const b = this.buckets.get(id) ?? { tokens: limit.burst, at: now };
    b.tokens = Math.min(limit.burst, b.tokens + (now - b.at) * perMs);
    b.at = now;
    this.buckets.set(id, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / perMs / 1000));
  }

  reset(): void {
    this.buckets.clear();
  }
}
