// Which message versions the bridge has already passed on, so each (id, v) is delivered once
// although streams and catch-up pages overlap after a reconnect. Bounded: the oldest ids are
// forgotten first (catch-up never reaches further back than the last reconnect).

export class SeenVersions {
  private readonly versions = new Map<string, number>();

  constructor(private readonly capacity = 10_000) {}

  /** True (and remembered) when this version is newer than any seen for the id. */
  admit(id: string, v: number): boolean {
    const prev = this.versions.get(id);
    if (prev !== undefined && prev >= v) return false;
    if (prev !== undefined) this.versions.delete(id); // re-insert: most recent last
    this.versions.set(id, v);
    if (this.versions.size > this.capacity) this.versions.delete(this.versions.keys().next().value!);
    return true;
  }

  /** A removed message: no later version of it is admitted. */
  remove(id: string): boolean {
    if (this.versions.get(id) === Infinity) return false;
    this.versions.delete(id);
    this.versions.set(id, Infinity);
    if (this.versions.size > this.capacity) this.versions.delete(this.versions.keys().next().value!);
    return true;
  }

  has(id: string): boolean {
    return this.versions.has(id);
  }
}
