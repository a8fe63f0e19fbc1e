// Requests per token and endpoint, so a bridge spec can assert what the bridge asked of Gitter
// (e.g. that a catch-up paged instead of refetching, or that nothing was sent twice). Keys are
// "<METHOD> <template>", e.g. "POST /v1/rooms/{roomId}/chatMessages"; stream connections count
// as "STREAM /v1/rooms/{roomId}/chatMessages".

export class RequestCounter {
  private readonly counts = new Map<string, Map<string, number>>();

  add(token: string, key: string): void {
    let perKey = this.counts.get(token);
    if (!perKey) this.counts.set(token, (perKey = new Map<string, number>()));
    perKey.set(key, (perKey.get(key) ?? 0) + 1);
  }

  /** Requests made with `token` (to `key` only, if given). */
  count(token: string, key?: string): number {
    const perKey = this.counts.get(token);
    if (!perKey) return 0;
    if (key !== undefined) return perKey.get(key) ?? 0;
    let n = 0;
    for (const v of perKey.values()) n += v;
    return n;
  }

  byEndpoint(token: string): Record<string, number> {
    return Object.fromEntries(this.counts.get(token) ?? []);
  }

  reset(): void {
    this.counts.clear();
  }
}
