/**
 * The key-value repository a connector gets as `ctx.data` (namespaced by its protocol ID): the
 * one store interface a connector sees. Both store backends implement it.
 */

/**
 * Namespaced JSON documents for everything else: connector data (IRC nicks,
 * encrypted passwords), admin-room bookkeeping, provisioning sessions, the
 * persisted state cache. Values must be JSON-serialisable (`undefined` is
 * rejected). `expiresAt` is epoch milliseconds; an entry whose expiresAt is
 * <= now is invisible to get/list/delete at once and removed by a periodic
 * sweep. A put without `expiresAt` stores a non-expiring value. `list` is
 * sorted by key, `prefix` is literal, `limit` caps the result.
 */
export interface KeyValueRepository {
  get<T = unknown>(namespace: string, key: string): Promise<T | undefined>;
  put<T = unknown>(namespace: string, key: string, value: T, opts?: { expiresAt?: number }): Promise<void>;
  /** True when a live (unexpired) value was removed. */
  delete(namespace: string, key: string): Promise<boolean>;
  list<T = unknown>(namespace: string, opts?: { prefix?: string; limit?: number }): Promise<Array<{ key: string; value: T }>>;
}
