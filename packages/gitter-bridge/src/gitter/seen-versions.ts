// Which message versions the bridge has already passed on, so each (id, v) is delivered once
// although streams and catch-up pages overlap after a reconnect. Bounded: the ids touched longest
// ago are forgotten first (catch-up never reaches further back than the last reconnect).
//
// It is also what the catch-up's re-read of recent history compares against (an edit is a `v`
// above the one passed on; a message passed on and now missing from history was deleted), and a
// snapshot of its newest ids is saved so that comparison works across a restart. Thread replies
// are marked: history leaves them out, so their absence there means nothing. The author is kept
// for a deletion found that way: the message is gone, and its author's ghost is the one that may
// redact it on Matrix.

/** One remembered message: its version passed on, or `removed`. */
export interface SeenEntry {
  id: string;
  v: number | 'removed';
  /** A thread reply (history does not list it). */
  thread?: true;
  /** The author's username. */
  by?: string;
}

interface Seen {
  v: number;
  thread: boolean;
  by?: string;
}

export class SeenVersions {
  private readonly versions = new Map<string, Seen>();

  constructor(
    private readonly capacity = 10_000,
    entries: readonly SeenEntry[] = [],
  ) {
    for (const e of entries) {
      if (e.v === 'removed') this.remove(e.id);
      else this.admit(e.id, e.v, { thread: e.thread === true, ...(e.by ? { author: e.by } : {}) });
    }
  }

  /** True (and remembered) when this version is newer than any seen for the id. */
  admit(id: string, v: number, opts: { thread?: boolean; author?: string } = {}): boolean {
    const prev = this.versions.get(id);
    if (prev !== undefined && prev.v >= v) return false;
    const by = opts.author ?? prev?.by;
    this.put(id, { v, thread: opts.thread ?? prev?.thread ?? false, ...(by ? { by } : {}) });
    return true;
  }

  /** A removed message: no later version of it is admitted. */
  remove(id: string): boolean {
    const prev = this.versions.get(id);
    if (prev?.v === Infinity) return false;
    this.put(id, { v: Infinity, thread: prev?.thread ?? false, ...(prev?.by ? { by: prev.by } : {}) });
    return true;
  }

  has(id: string): boolean {
    return this.versions.has(id);
  }

  /** The author's username, when remembered. */
  author(id: string): string | undefined {
    return this.versions.get(id)?.by;
  }

  /** The version passed on for `id` (Infinity once removed), or undefined when not remembered. */
  version(id: string): number | undefined {
    return this.versions.get(id)?.v;
  }

  /**
   * Remembered main-line messages (not thread replies, not removed) with ids in [from, to]: the
   * ones a page of history covering that range must list unless they were deleted.
   */
  liveBetween(from: string, to: string): string[] {
    const out: string[] = [];
    for (const [id, s] of this.versions) if (id >= from && id <= to && !s.thread && s.v !== Infinity) out.push(id);
    return out;
  }

  /** The `limit` newest ids (by id: Gitter ids sort by time) and what was seen of them, to save. */
  snapshot(limit: number): SeenEntry[] {
    const ids = [...this.versions.keys()].sort().slice(-limit);
    return ids.map((id) => {
      const s = this.versions.get(id)!;
      return { id, v: s.v === Infinity ? 'removed' : s.v, ...(s.thread ? { thread: true as const } : {}), ...(s.by ? { by: s.by } : {}) };
    });
  }

  private put(id: string, s: Seen): void {
    this.versions.delete(id); // re-insert: most recent last
    this.versions.set(id, s);
    if (this.versions.size > this.capacity) this.versions.delete(this.versions.keys().next().value!);
  }
}
