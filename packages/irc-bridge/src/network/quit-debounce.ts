/**
 * Netsplit debouncing (MAI's `quitDebounce`). When two IRC servers lose each other, every user
 * behind the far one QUITs at once and usually JOINs again minutes later. Bridged one for one,
 * that is hundreds of leaves and then joins in every room, a flood for the homeserver and noise
 * for everyone reading. While QUITs arrive faster than `quitsPerSecond`, each one is held for a
 * random delay between `delayMinMs` and `delayMaxMs` instead, and dropped if the nick comes back
 * first to that channel (a nick back in some of its channels still leaves the others when the
 * delay ends). Held leaves are bounded and are not kept across a restart (they only tidy the list).
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

interface Held {
  timer: NodeJS.Timeout;
  /** Channel (case-folded) → its leave, still to apply. */
  leaves: Map<string, () => void>;
}

export class QuitDebounce {
  private readonly recent: number[] = [];
  private readonly held = new Map<string, Held>();
  private readonly maxHeld: number;
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(private readonly opts: QuitDebounceOptions) {
    this.maxHeld = opts.maxHeld ?? 10_000;
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
  }

  /**
   * A QUIT arrived for `key` (the nick, case-folded), with its leave per channel (case-folded).
   * Runs them now, or later except those `rejoined` first. Returns whether they were held.
   */
  quit(key: string, leaves: Map<string, () => void>): boolean {
    const applyAll = (m: Map<string, () => void>) => {
      for (const apply of m.values()) apply();
    };
    if (!this.opts.enabled) {
      applyAll(leaves);
      return false;
    }
    const t = this.now();
    this.recent.push(t);
    while (this.recent.length && this.recent[0] <= t - 1000) this.recent.shift();
    if (this.recent.length <= this.opts.quitsPerSecond || this.held.size >= this.maxHeld) {
      applyAll(leaves);
      return false;
    }
    const before = this.held.get(key);
    if (before) clearTimeout(before.timer);
    const delay = this.opts.delayMinMs + this.random() * Math.max(0, this.opts.delayMaxMs - this.opts.delayMinMs);
    const entry: Held = {
      leaves: new Map(leaves),
      timer: setTimeout(() => {
        this.held.delete(key);
        applyAll(entry.leaves);
      }, delay),
    };
    entry.timer.unref();
    this.held.set(key, entry);
    return true;
  }

  /** The nick is back in `channel` (JOIN): its held leave of that channel is dropped. Returns whether one was held. */
  rejoined(key: string, channel: string): boolean {
    const h = this.held.get(key);
    if (!h || !h.leaves.delete(channel)) return false;
    if (h.leaves.size === 0) {
      clearTimeout(h.timer);
      this.held.delete(key);
    }
    return true;
  }

  /** Nicks with leaves held. */
  get heldCount(): number {
    return this.held.size;
  }

  stop(): void {
    for (const h of this.held.values()) clearTimeout(h.timer);
    this.held.clear();
  }
}
