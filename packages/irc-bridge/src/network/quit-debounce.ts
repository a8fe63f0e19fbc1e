/**
 * Netsplit debouncing (MAI's `quitDebounce`). When two IRC servers lose each other, every user
 * behind the far one QUITs at once and usually JOINs again minutes later. Bridged one for one,
 * that is hundreds of leaves and then joins in every room, a flood for the homeserver and noise
 * for everyone reading. While QUITs arrive faster than `quitsPerSecond`, each one is held for a
 * random delay between `delayMinMs` and `delayMaxMs` instead, and dropped if the nick comes back
 * first. Held leaves are bounded and are not kept across a restart (they only tidy the list).
 */
export interface QuitDebounceOptions {
  enabled: boolean;
  quitsPerSecond: number;
  delayMinMs: number;
  delayMaxMs: number;
  /** Most QUITs held at once; beyond it they are applied at once. */
  maxHeld?: number;
  now?: () => number;
  random?: () => number;
}

export class QuitDebounce {
  private readonly recent: number[] = [];
  private readonly held = new Map<string, NodeJS.Timeout>();
  private readonly maxHeld: number;
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(private readonly opts: QuitDebounceOptions) {
    this.maxHeld = opts.maxHeld ?? 10_000;
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
  }

  /**
   * A QUIT arrived for `key` (the nick, case-folded). Runs `apply` now, or later unless `rejoined`
   * is called first. Returns whether it was held.
   */
  quit(key: string, apply: () => void): boolean {
    if (!this.opts.enabled) { apply(); return false; }
    const t = this.now();
    this.recent.push(t);
    while (this.recent.length && this.recent[0] <= t - 1000) this.recent.shift();
    if (this.recent.length <= this.opts.quitsPerSecond || this.held.size >= this.maxHeld) { apply(); return false; }
    clearTimeout(this.held.get(key));
    const delay = this.opts.delayMinMs + this.random() * Math.max(0, this.opts.delayMaxMs - this.opts.delayMinMs);
    const timer = setTimeout(() => { this.held.delete(key); apply(); }, delay);
    timer.unref();
    this.held.set(key, timer);
    return true;
  }

  /** The nick is back (JOIN or NICK to it): its held QUIT is dropped. Returns whether one was held. */
  rejoined(key: string): boolean {
    const timer = this.held.get(key);
    if (!timer) return false;
    clearTimeout(timer);
    this.held.delete(key);
    return true;
  }

  get heldCount(): number { return this.held.size; }

  stop(): void {
    for (const t of this.held.values()) clearTimeout(t);
    this.held.clear();
  }
}
