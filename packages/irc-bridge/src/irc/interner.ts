/**
 * One shared copy per distinct value that every connection to a server learns alike (ISUPPORT,
 * enabled caps, the server's version line). Each user has their own connection, so a per-
 * connection copy of the same few KB is multiplied by every bridged user. Interned values are
 * never mutated: whoever holds one replaces it instead.
 */
export class Interner<T> {
  private readonly values = new Map<string, T>();

  /** `max` distinct values at most (a bridge talks to few servers); the oldest is forgotten beyond. */
  constructor(private readonly max = 32) {}

  /** The shared value for `key`: the first `value` given for it. */
  intern(key: string, value: T): T {
    const hit = this.values.get(key);
    if (hit !== undefined) return hit;
    if (this.values.size >= this.max) this.values.delete(this.values.keys().next().value!);
    this.values.set(key, value);
    return value;
  }
}
