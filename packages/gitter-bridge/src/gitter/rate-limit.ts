// Gitter's per-token rate limit, seen from the client: the last X-RateLimit-Remaining and
// X-RateLimit-Reset (epoch milliseconds) the server sent. Before each request the caller waits
// while the window is used up, and a refusal (429, or the webapp's 403 "rate limit exceeded")
// marks it used up until the reset, so a refused request is retried after the wait instead of
// failing. One tracker per token: the REST client and the streams of that token share it.
import { sleep as realSleep, type Sleep } from './sleep';

export interface RateLimitTrackerOptions {
  now?: () => number;
  sleep?: Sleep;
  /** Requests kept spare in each window (default 0); the old Gitter bridge stayed near 95 of 100. */
  reserve?: number;
  /** Wait after a refusal that did not say when the window ends (default 60 s, Gitter's window). */
  fallbackWaitMs?: number;
  /** Added to waits, for clock differences with the server (default 100 ms). */
  marginMs?: number;
}

export interface RateLimitState {
  limit?: number;
  remaining?: number;
  /** Epoch ms when the current window ends. */
  resetAt?: number;
}

export interface HeaderSource {
  get(name: string): string | null;
}

export class RateLimitTracker {
  private readonly now: () => number;
  private readonly sleep: Sleep;
  private readonly reserve: number;
  private readonly fallbackWaitMs: number;
  private readonly marginMs: number;
  private state: RateLimitState = {};
  /** Requests that waited for a window to end, for metrics and specs. */
  waits = 0;

  constructor(opts: RateLimitTrackerOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.sleep = opts.sleep ?? realSleep;
    this.reserve = Math.max(0, opts.reserve ?? 0);
    this.fallbackWaitMs = opts.fallbackWaitMs ?? 60_000;
    this.marginMs = opts.marginMs ?? 100;
  }

  snapshot(): RateLimitState {
    return { ...this.state };
  }

  /** How long a request made now would have to wait (0 = go). */
  delayMs(): number {
    const { remaining, resetAt } = this.state;
    if (remaining === undefined || resetAt === undefined) return 0;
    const now = this.now();
    if (now >= resetAt) {
      this.state = { ...(this.state.limit !== undefined ? { limit: this.state.limit } : {}) };
      return 0;
    }
    return remaining > this.reserve ? 0 : resetAt - now + this.marginMs;
  }

  /** Waits until a request may be made, then counts it against the window. */
  async acquire(signal?: AbortSignal): Promise<void> {
    for (let wait = this.delayMs(); wait > 0; wait = this.delayMs()) {
      this.waits++;
      await this.sleep(wait, signal);
    }
    if (this.state.remaining !== undefined) this.state.remaining--;
  }

  /** Reads the headers of any answer. */
  update(headers: HeaderSource): void {
    const limit = num(headers.get('x-ratelimit-limit'));
    const remaining = num(headers.get('x-ratelimit-remaining'));
    const resetAt = num(headers.get('x-ratelimit-reset'));
    if (remaining === undefined || resetAt === undefined) return;
    const cur = this.state;
    // Answers can arrive out of order: within one window the lowest count is the latest.
    const sameWindow = cur.resetAt !== undefined && Math.abs(cur.resetAt - resetAt) < 1000;
    if (sameWindow && cur.remaining !== undefined && cur.remaining < remaining) return;
    if (cur.resetAt !== undefined && resetAt < cur.resetAt - 1000) return;
    this.state = { remaining, resetAt, ...(limit !== undefined ? { limit } : {}) };
  }

  /** A refused request: nothing more until the window ends (told by headers, Retry-After, or assumed). */
  refused(headers: HeaderSource): void {
    const resetAt = num(headers.get('x-ratelimit-reset'));
    const retryAfter = num(headers.get('retry-after'));
    const now = this.now();
    const until =
      resetAt !== undefined && resetAt > now ? resetAt : retryAfter !== undefined ? now + retryAfter * 1000 : now + this.fallbackWaitMs;
    this.state = { ...this.state, remaining: 0, resetAt: until };
  }
}

function num(v: string | null): number | undefined {
  if (v === null || v.trim() === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}
