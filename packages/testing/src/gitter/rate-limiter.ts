// Gitter's API rate limit: a fixed window per token (100 requests per 60 s by default) that
// starts with the token's first request. Every answer carries X-RateLimit-Limit/-Remaining/-Reset
// (the window's end in epoch milliseconds); over the limit a request is refused with 429, or with
// the webapp's own 403 "rate limit exceeded" in legacy mode. Switched off (for benches) nothing is
// refused and no headers are sent, so clients have nothing to slow down for.

export interface RateLimitConfig {
  enabled: boolean;
  /** Requests per window (Gitter: 100). */
  limit: number;
  /** Window length (Gitter: 60 s). */
  windowMs: number;
  /** How a refusal looks: `429`, or `legacy-403` (the old webapp limiter's 403). */
  refusal: '429' | 'legacy-403';
}

export const DEFAULT_RATE_LIMIT: RateLimitConfig = { enabled: true, limit: 100, windowMs: 60_000, refusal: '429' };

export interface RateLimitVerdict {
  allowed: boolean;
  headers: Record<string, string>;
}

export class RateLimiter {
  private readonly windows = new Map<string, { start: number; used: number }>();

  constructor(
    public config: RateLimitConfig,
    private readonly now: () => number,
  ) {}

  take(key: string): RateLimitVerdict {
    if (!this.config.enabled) return { allowed: true, headers: {} };
    const now = this.now();
    let w = this.windows.get(key);
    if (!w || now >= w.start + this.config.windowMs) this.windows.set(key, (w = { start: now, used: 0 }));
    const allowed = w.used < this.config.limit;
    if (allowed) w.used++;
    return {
      allowed,
      headers: {
        'X-RateLimit-Limit': String(this.config.limit),
        'X-RateLimit-Remaining': String(Math.max(0, this.config.limit - w.used)),
        'X-RateLimit-Reset': String(w.start + this.config.windowMs),
      },
    };
  }

  reset(): void {
    this.windows.clear();
  }
}
