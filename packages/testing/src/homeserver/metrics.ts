// Request counting and in-flight concurrency per endpoint key, so tests can assert
// "the bridge sent N messages" or "never more than K concurrent /join calls".
// Traffic from the emulator's own TestUser helpers is tracked separately and left
// out of the default numbers: tests want to measure the bridge, not their fixtures.
import { normaliseKey } from './router';

interface Bucket {
  count: number;
  inFlight: number;
  peak: number;
}

export class Metrics {
  private bridge = new Map<string, Bucket>();
  private fixtures = new Map<string, Bucket>();
  private total: Bucket = { count: 0, inFlight: 0, peak: 0 };
  private fixtureTotal: Bucket = { count: 0, inFlight: 0, peak: 0 };

  /** Records the start of a request; returns the function that records its end (idempotent). */
  begin(key: string, fromTestClient: boolean): () => void {
    const map = fromTestClient ? this.fixtures : this.bridge;
    const total = fromTestClient ? this.fixtureTotal : this.total;
    let b = map.get(key);
    if (!b) map.set(key, (b = { count: 0, inFlight: 0, peak: 0 }));
    const bucket = b;
    bucket.count++;
    total.count++;
    if (++bucket.inFlight > bucket.peak) bucket.peak = bucket.inFlight;
    if (++total.inFlight > total.peak) total.peak = total.inFlight;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      bucket.inFlight--;
      total.inFlight--;
    };
  }

  count(endpoint?: string, includeTestClients = false): number {
    if (endpoint === undefined) return this.total.count + (includeTestClients ? this.fixtureTotal.count : 0);
    const k = normaliseKey(endpoint);
    return (this.bridge.get(k)?.count ?? 0) + (includeTestClients ? (this.fixtures.get(k)?.count ?? 0) : 0);
  }

  counts(includeTestClients = false): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [k, b] of this.bridge) if (b.count) out[k] = b.count;
    if (includeTestClients) for (const [k, b] of this.fixtures) if (b.count) out[k] = (out[k] ?? 0) + b.count;
    return out;
  }

  peak(endpoint?: string): number {
    if (endpoint === undefined) return this.total.peak;
    return this.bridge.get(normaliseKey(endpoint))?.peak ?? 0;
  }

  inFlight(endpoint?: string): number {
    if (endpoint === undefined) return this.total.inFlight;
    return this.bridge.get(normaliseKey(endpoint))?.inFlight ?? 0;
  }

  /** Zeroes counts and peaks; requests still in flight stay counted as in flight. */
  reset(): void {
    for (const map of [this.bridge, this.fixtures]) {
      for (const b of map.values()) {
        b.count = 0;
        b.peak = b.inFlight;
      }
    }
    for (const t of [this.total, this.fixtureTotal]) {
      t.count = 0;
      t.peak = t.inFlight;
    }
  }
}
