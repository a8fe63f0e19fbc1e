/**
 * Cached room state: who is in a room, power levels, join rules, name, topic,
 * encryption... answered from memory. A room is fetched with exactly one
 * `GET /rooms/{roomId}/state` on first use (or at warm-up), concurrent callers
 * share that request, every request goes through a process-wide semaphore, and
 * state events from transactions (`onEvent`) keep it current with no request.
 *
 * Memory: only the configured event types and the fields that matter are kept,
 * packed into one string per room (see room-table.ts); least-recently-used rooms
 * are evicted beyond `maxRooms`. Optional persistence in the KeyValueRepository
 * (namespace `state-cache`) avoids refetching everything after a restart.
 */
import { backoffDelay, DEFAULT_BACKOFF, sleep, type BackoffPolicy } from '../util/backoff';
import { MatrixError } from '../util/matrix-error';
import { getLogger, type Logger } from '../logging/logger';
import type { KeyValueRepository } from '../store/store';
import { Semaphore, sharedSemaphore, type Priority, type SemaphoreTicket } from './semaphore';
import type { StateFetcher } from './state-fetcher';
import type { MatrixEvent } from '../matrix/event';
import {
  decJson,
  decKey,
  decMember,
  decMembership,
  decField,
  encField,
  encJson,
  encKey,
  encMember,
  eventHash,
  makeValue,
  parseValue,
  REDACTION_KEEPS,
  tableDeserialize,
  tableEntries,
  tableFromEntries,
  tableGet,
  tableSerialize,
  tableSet,
  US,
  valuePayload,
  valueTs,
  type MemberInfo,
  type RoomTable,
} from './room-table';

export type { MemberInfo } from './room-table';

export const DEFAULT_STATE_EVENT_TYPES: readonly string[] = [
  'm.room.member',
  'm.room.power_levels',
  'm.room.join_rules',
  'm.room.name',
  'm.room.topic',
  'm.room.encryption',
  'm.room.canonical_alias',
  'm.room.create',
];

const STATE_CACHE_NAMESPACE = 'state-cache';
/** Bump when the packed format changes; persisted rooms with another stamp are ignored. */
const FORMAT_VERSION = 1;

export interface StateCacheOptions {
  fetcher: StateFetcher;
  /** Event types kept (default DEFAULT_STATE_EVENT_TYPES). Others are never stored. */
  eventTypes?: readonly string[];
  /** Rooms kept in memory; least recently used beyond this are evicted (default 10 000). */
  maxRooms?: number;
  /**
   * Caps concurrent state requests. Default: the process-wide `sharedSemaphore()`
   * (capacity `maxConcurrentRequests`, default 4), shared with everything else using it.
   */
  semaphore?: Semaphore;
  maxConcurrentRequests?: number;
  /** Retry policy for 5xx / 429 / network failures (default DEFAULT_BACKOFF). */
  backoff?: BackoffPolicy;
  /** How long a room that answered 403/404 (or exhausted its retries) is not asked again, ms (default 60 s). */
  negativeTtlMs?: number;
  /** Persist rooms here (namespace `state-cache`) so a restart does not refetch them. */
  kv?: KeyValueRepository;
  /** Write changed rooms every this many ms (default 5 s). */
  persistIntervalMs?: number;
  /** Ignore persisted rooms older than this, ms (default 24 h). */
  persistMaxAgeMs?: number;
  /** The bridge bot: when it leaves or is banned from a room, the room is dropped (no more events arrive for it). */
  botUserId?: string;
  /** Warm-up progress log interval, ms (default 5 s). */
  progressIntervalMs?: number;
  logger?: Logger;
  /** For tests. */
  random?: () => number;
  /** Clock for negative-cache expiry; injectable so tests need no real waiting. */
  now?: () => number;
}

interface WarmupProgress {
  total: number;
  done: number;
  fetched: number;
  fromStore: number;
  failed: number;
}

export interface WarmupResult extends WarmupProgress {
  /** Rooms skipped because they were already cached (or negatively cached). */
  skipped: number;
  ms: number;
  aborted: boolean;
}

export interface WarmupOptions {
  onProgress?: (p: WarmupProgress) => void;
  signal?: AbortSignal;
}

export interface StateCacheStats {
  hits: number;
  misses: number;
  /** Lookups that joined a request already in flight for the same room. */
  coalesced: number;
  /** Rooms currently being loaded (distinct). */
  inFlight: number;
  /** HTTP requests currently running (holding a semaphore slot). */
  requestsInFlight: number;
  /** Loads waiting for a semaphore slot. */
  queueDepth: number;
  /** Rooms still to do in running warm-ups. */
  warmupPending: number;
  roomsCached: number;
  evictions: number;
  requests: number;
  failures: number;
  retries: number;
  negativeCached: number;
  eventsApplied: number;
  eventsIgnored: number;
  loadedFromStore: number;
}

/** Thrown by lookups when a room's state cannot be had (403/404, or retries exhausted). */
export class RoomStateUnavailableError extends Error {
  readonly status?: number;
  readonly errcode?: string;
  constructor(
    readonly roomId: string,
    override readonly cause: unknown,
    readonly cachedUntil?: number,
  ) {
    super(`state of ${roomId} is unavailable: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'RoomStateUnavailableError';
    if (cause instanceof MatrixError) {
      this.status = cause.status;
      this.errcode = cause.errcode;
    }
  }
}

interface Persisted {
  v: string;
  at: number;
  s: string;
}

interface Loading {
  promise: Promise<RoomTable>;
  ticket?: SemaphoreTicket;
  /** Events that arrived while the room was loading; applied to the result. */
  buffered: MatrixEvent[];
  invalidated: boolean;
}

const MAX_BUFFERED = 10_000;

function isRetryable(err: unknown): boolean {
  // status 0: MatrixHttpClient's MatrixConnectionError (refused, reset, timed out).
  if (err instanceof MatrixError) return err.status === 0 || err.status === 408 || err.status === 429 || err.status >= 500;
  if (err instanceof RoomStateUnavailableError) return false;
  return true; // network errors, timeouts
}

function retryAfterMs(err: unknown): number | undefined {
  if (err instanceof MatrixError) {
    const v = err.extra.retry_after_ms ?? err.extra.retryAfterMs;
    if (typeof v === 'number' && v >= 0) return v;
  }
  return undefined;
}

export class StateCache {
  private readonly fetcher: StateFetcher;
  private readonly types: readonly string[];
  private readonly codes = new Map<string, string>();
  private readonly typeByCode = new Map<string, string>();
  private readonly memberCode: string | undefined;
  private readonly maxRooms: number;
  readonly semaphore: Semaphore;
  private readonly backoff: BackoffPolicy;
  private readonly negativeTtlMs: number;
  private readonly kv?: KeyValueRepository;
  private readonly stamp: string;
  private readonly persistMaxAgeMs: number;
  private readonly botUserId?: string;
  private readonly progressIntervalMs: number;
  private readonly log: Logger;
  private readonly random: () => number;
  private readonly now: () => number;

  /** roomId → packed state, in LRU order (oldest first). */
  private readonly rooms = new Map<string, RoomTable>();
  private readonly loading = new Map<string, Loading>();
  private readonly negative = new Map<string, { until: number; error: RoomStateUnavailableError }>();
  private readonly dirty = new Set<string>();
  private readonly kvChain = new Map<string, Promise<unknown>>();
  private persistTimer?: NodeJS.Timeout;
  private closed = false;
  private readonly closeController = new AbortController();

  private c = {
    hits: 0,
    misses: 0,
    coalesced: 0,
    evictions: 0,
    requests: 0,
    failures: 0,
    retries: 0,
    eventsApplied: 0,
    eventsIgnored: 0,
    loadedFromStore: 0,
    requestsInFlight: 0,
    queued: 0,
    warmupPending: 0,
  };

  constructor(opts: StateCacheOptions) {
    this.fetcher = opts.fetcher;
    this.types = [...new Set(opts.eventTypes ?? DEFAULT_STATE_EVENT_TYPES)];
    if (this.types.length > 94) throw new RangeError('StateCache: at most 94 event types can be cached');
    this.types.forEach((t, i) => {
      const code = String.fromCharCode(0x21 + i);
      this.codes.set(t, code);
      this.typeByCode.set(code, t);
    });
    this.memberCode = this.codes.get('m.room.member');
    this.maxRooms = opts.maxRooms ?? 10_000;
    if (!(this.maxRooms >= 1)) throw new RangeError('StateCache: maxRooms must be ≥ 1');
    this.semaphore = opts.semaphore ?? sharedSemaphore('matrix-room-state', opts.maxConcurrentRequests);
    this.backoff = opts.backoff ?? DEFAULT_BACKOFF;
    this.negativeTtlMs = opts.negativeTtlMs ?? 60_000;
    this.kv = opts.kv;
    this.stamp = `${FORMAT_VERSION}:${this.types.join(',')}`;
    this.persistMaxAgeMs = opts.persistMaxAgeMs ?? 24 * 3600_000;
    this.botUserId = opts.botUserId;
    this.progressIntervalMs = opts.progressIntervalMs ?? 5000;
    this.log = opts.logger ?? getLogger('state-cache');
    this.random = opts.random ?? Math.random;
    this.now = opts.now ?? Date.now;
    if (this.kv) {
      this.persistTimer = setInterval(() => {
        void this.flush();
      }, opts.persistIntervalMs ?? 5000);
      this.persistTimer.unref();
    }
  }

  // ---- lookups -----------------------------------------------------------------

  /** Content of a cached state event (for m.room.member: `{membership, displayname?, avatar_url?}`), or undefined. */
  async getState(roomId: string, type: string, stateKey = ''): Promise<Record<string, unknown> | undefined> {
    const code = this.codeFor(type);
    const t = await this.table(roomId);
    const v = tableGet(t, code + encKey(stateKey));
    if (v === undefined) return undefined;
    const payload = valuePayload(v);
    if (code === this.memberCode) {
      const { userId: _u, ...content } = decMember(stateKey, payload);
      return content;
    }
    return this.decodeContent(type, payload);
  }

  /** Members with the given membership(s) (default joined). */
  async getMembers(roomId: string, membership: string | readonly string[] = 'join'): Promise<MemberInfo[]> {
    const code = this.codeFor('m.room.member');
    const t = await this.table(roomId);
    const want = membership === 'all' ? undefined : new Set(typeof membership === 'string' ? [membership] : membership);
    const out: MemberInfo[] = [];
    for (const [k, v] of tableEntries(t, code)) {
      const payload = valuePayload(v);
      if (want && !want.has(decMembership(payload))) continue;
      out.push(decMember(decKey(k.slice(1)), payload));
    }
    return out;
  }

  /** User IDs of joined members. */
  async getJoinedUserIds(roomId: string): Promise<string[]> {
    return (await this.getMembers(roomId, 'join')).map((m) => m.userId);
  }

  async getMember(roomId: string, userId: string): Promise<MemberInfo | undefined> {
    const code = this.codeFor('m.room.member');
    const v = tableGet(await this.table(roomId), code + encKey(userId));
    return v === undefined ? undefined : decMember(userId, valuePayload(v));
  }

  /** 'join' | 'invite' | 'leave' | 'ban' | 'knock', or undefined when the user never had a membership. */
  async getMembership(roomId: string, userId: string): Promise<string | undefined> {
    const code = this.codeFor('m.room.member');
    const v = tableGet(await this.table(roomId), code + encKey(userId));
    return v === undefined ? undefined : decMembership(valuePayload(v));
  }

  /** A user's power level, following the spec's defaults (and room v12 creators: Infinity). */
  async getPowerLevel(roomId: string, userId: string): Promise<number> {
    const t = await this.table(roomId);
    const create = this.createInfo(t);
    if (create.infiniteCreators && create.creators.includes(userId)) return Number.POSITIVE_INFINITY;
    const pl = this.contentOf(t, 'm.room.power_levels');
    if (!pl) return create.creators.includes(userId) ? 100 : 0;
    const users = pl.users as Record<string, unknown> | undefined;
    const own = users && typeof users === 'object' ? toLevel(users[userId]) : undefined;
    return own ?? toLevel(pl.users_default) ?? 0;
  }

  /** Power level needed to send `eventType` (a state event when `isState`). */
  async requiredPowerLevel(roomId: string, eventType: string, isState: boolean): Promise<number> {
    const pl = this.contentOf(await this.table(roomId), 'm.room.power_levels');
    if (!pl) return 0; // no power_levels event: state_default and events_default are 0
    const events = pl.events as Record<string, unknown> | undefined;
    const specific = events && typeof events === 'object' ? toLevel(events[eventType]) : undefined;
    if (specific !== undefined) return specific;
    return isState ? (toLevel(pl.state_default) ?? 50) : (toLevel(pl.events_default) ?? 0);
  }

  /** Power level needed to invite / kick / ban / redact. */
  async requiredPowerLevelFor(roomId: string, action: 'invite' | 'kick' | 'ban' | 'redact'): Promise<number> {
    const pl = this.contentOf(await this.table(roomId), 'm.room.power_levels');
    const def = action === 'invite' ? 0 : 50;
    if (!pl) return def;
    return toLevel(pl[action]) ?? def;
  }

  /** Whether the user can send this event type (power level check only). */
  async canSend(roomId: string, userId: string, eventType: string, isState: boolean): Promise<boolean> {
    return (await this.getPowerLevel(roomId, userId)) >= (await this.requiredPowerLevel(roomId, eventType, isState));
  }

  async isEncrypted(roomId: string): Promise<boolean> {
    const c = this.contentOf(await this.table(roomId), 'm.room.encryption');
    return !!c && typeof c.algorithm === 'string';
  }

  async getName(roomId: string): Promise<string | undefined> {
    const c = this.contentOf(await this.table(roomId), 'm.room.name');
    return typeof c?.name === 'string' && c.name !== '' ? c.name : undefined;
  }

  async getTopic(roomId: string): Promise<string | undefined> {
    const c = this.contentOf(await this.table(roomId), 'm.room.topic');
    return typeof c?.topic === 'string' && c.topic !== '' ? c.topic : undefined;
  }

  async getCanonicalAlias(roomId: string): Promise<string | undefined> {
    const c = this.contentOf(await this.table(roomId), 'm.room.canonical_alias');
    return typeof c?.alias === 'string' ? c.alias : undefined;
  }

  /** The join rule; 'invite' when the room has no m.room.join_rules (the auth rules' default). */
  async joinRule(roomId: string): Promise<string> {
    const c = this.contentOf(await this.table(roomId), 'm.room.join_rules');
    return typeof c?.join_rule === 'string' ? c.join_rule : 'invite';
  }

  /** Whether the room is in memory (no request, does not count as a hit). */
  has(roomId: string): boolean {
    return this.rooms.has(roomId);
  }

  /** Make sure a room is loaded (e.g. before a burst of lookups); rejects like the lookups. */
  async ensure(roomId: string): Promise<void> {
    await this.table(roomId);
  }

  // ---- events --------------------------------------------------------------------

  /**
   * Feed an event from a transaction. State events of cached types update the
   * cache in the order they arrive (the homeserver's order, whatever their
   * timestamps say), redactions of cached state events are applied. Returns true when the cache changed (or the event was
   * queued for a room being loaded).
   */
  onEvent(event: MatrixEvent): boolean {
    const roomId = event.room_id;
    if (typeof roomId !== 'string' || this.closed) return false;
    const isRedaction = event.type === 'm.room.redaction';
    if (!isRedaction && (typeof event.state_key !== 'string' || !this.codes.has(event.type))) return false;

    const loading = this.loading.get(roomId);
    if (loading) {
      if (loading.buffered.length < MAX_BUFFERED) loading.buffered.push(event);
      else loading.invalidated = true;
      return true;
    }
    const t = this.rooms.get(roomId);
    if (t === undefined) {
      // Not in memory: a persisted copy (if any) is now stale.
      if (this.kv && !isRedaction) this.kvDelete(roomId);
      // The bot was let in: a room it could not read may be readable now.
      if (
        event.type === 'm.room.member' &&
        event.state_key === this.botUserId &&
        (event.content?.membership === 'join' || event.content?.membership === 'invite')
      )
        this.negative.delete(roomId);
      return false;
    }
    const next = this.apply(roomId, t, event);
    if (next === undefined) {
      this.c.eventsIgnored++;
      return false;
    }
    this.c.eventsApplied++;
    if (next !== t) this.rooms.set(roomId, next); // Map.set on an existing key keeps its LRU position
    if (this.kv) this.dirty.add(roomId);
    if (event.type === 'm.room.member' && event.state_key === this.botUserId) {
      const m = event.content?.membership;
      if (m === 'leave' || m === 'ban') this.invalidate(roomId);
    }
    return true;
  }

  /** Forget a room (memory, negative cache and persisted copy); the next lookup refetches it. */
  invalidate(roomId: string): void {
    this.rooms.delete(roomId);
    this.negative.delete(roomId);
    this.dirty.delete(roomId);
    const l = this.loading.get(roomId);
    if (l) l.invalidated = true;
    if (this.kv) this.kvDelete(roomId);
  }

  // ---- warm-up -------------------------------------------------------------------

  /**
   * Load many rooms in the background (persisted copies first, then `/state` for
   * the rest) at `normal` priority, so lookups meanwhile overtake it. Never holds
   * more than the semaphore's capacity; logs progress every `progressIntervalMs`.
   */
  async warm(roomIds: Iterable<string>, opts: WarmupOptions = {}): Promise<WarmupResult> {
    const started = Date.now();
    const ids = [...new Set(roomIds)];
    const p: WarmupProgress = { total: ids.length, done: 0, fetched: 0, fromStore: 0, failed: 0 };
    let aborted = false;
    if (ids.length > this.maxRooms) {
      this.log.warn(`state cache warm-up: ${ids.length} rooms but maxRooms is ${this.maxRooms}; the least recently used will be evicted`);
    }
    this.c.warmupPending += ids.length;
    this.log.info(`state cache warm-up: starting, ${ids.length} rooms, at most ${this.semaphore.capacity} requests at a time`);
    const progressTimer = setInterval(() => {
      this.log.info(`state cache warm-up: ${p.done}/${p.total} rooms`, { fetched: p.fetched, fromStore: p.fromStore, failed: p.failed });
    }, this.progressIntervalMs);
    progressTimer.unref();
    const finishOne = () => {
      p.done++;
      this.c.warmupPending--;
      opts.onProgress?.({ ...p });
    };
    try {
      let storeChecked = false;
      if (this.kv) {
        const want = new Set(ids.filter((id) => !this.rooms.has(id)));
        if (want.size) {
          try {
            const rows = await this.kv.list<Persisted>(STATE_CACHE_NAMESPACE);
            for (const { key, value } of rows) {
              if (!want.has(key) || this.rooms.has(key) || this.loading.has(key)) continue;
              const t = this.fromPersisted(value);
              if (t === undefined) continue;
              this.insert(key, t);
              this.c.loadedFromStore++;
              p.fromStore++;
            }
            storeChecked = true;
          } catch (err) {
            this.log.warn('state cache warm-up: could not read persisted rooms, fetching them all', { error: err });
          }
        }
      }
      let next = 0;
      const worker = async () => {
        while (next < ids.length) {
          if (opts.signal?.aborted || this.closed) {
            aborted = true;
            return;
          }
          const roomId = ids[next++];
          if (this.rooms.has(roomId) || this.isNegative(roomId)) {
            finishOne();
            continue;
          }
          try {
            // The bulk read above already looked for this room in the store.
            await this.table(roomId, 'normal', false, storeChecked);
            p.fetched++;
          } catch {
            p.failed++;
          }
          finishOne();
        }
      };
      // Twice the cap: while one load of a pair parses/stores its answer, the other
      // is already queued for the slot, so no slot idles between requests. The
      // semaphore still bounds the requests; lookups (high priority) still overtake.
      const workers = Math.max(2, this.semaphore.capacity * 2);
      await Promise.all(Array.from({ length: Math.min(workers, ids.length) }, worker));
    } finally {
      clearInterval(progressTimer);
      this.c.warmupPending -= p.total - p.done;
    }
    const ms = Date.now() - started;
    const skipped = p.total - p.fetched - p.failed - p.fromStore - (aborted ? p.total - p.done : 0);
    this.log.info(`state cache warm-up ${aborted ? 'aborted' : 'finished'}: ${p.done}/${p.total} rooms in ${(ms / 1000).toFixed(1)} s`, {
      fetched: p.fetched,
      fromStore: p.fromStore,
      failed: p.failed,
      skipped,
    });
    return { ...p, skipped, ms, aborted };
  }

  // ---- persistence -----------------------------------------------------------------

  /** Write rooms changed since the last flush (no-op without `kv`). */
  async flush(): Promise<void> {
    if (!this.kv || this.dirty.size === 0) return;
    const ids = [...this.dirty];
    this.dirty.clear();
    let i = 0;
    const worker = async () => {
      while (i < ids.length) {
        const roomId = ids[i++];
        const t = this.rooms.get(roomId);
        if (t !== undefined) await this.kvPut(roomId, t);
      }
    };
    await Promise.all(Array.from({ length: Math.min(8, ids.length) }, worker));
  }

  /** Stop timers and warm-ups, write pending changes. */
  async close(): Promise<void> {
    this.closed = true;
    this.closeController.abort(new Error('state cache closed'));
    if (this.persistTimer) clearInterval(this.persistTimer);
    await this.flush();
    await Promise.allSettled([...this.kvChain.values()]);
  }

  // ---- stats -----------------------------------------------------------------------

  get size(): number {
    return this.rooms.size;
  }

  stats(): StateCacheStats {
    const c = this.c;
    return {
      hits: c.hits,
      misses: c.misses,
      coalesced: c.coalesced,
      inFlight: this.loading.size,
      requestsInFlight: c.requestsInFlight,
      queueDepth: c.queued,
      warmupPending: c.warmupPending,
      roomsCached: this.rooms.size,
      evictions: c.evictions,
      requests: c.requests,
      failures: c.failures,
      retries: c.retries,
      negativeCached: this.negative.size,
      eventsApplied: c.eventsApplied,
      eventsIgnored: c.eventsIgnored,
      loadedFromStore: c.loadedFromStore,
    };
  }

  // ---- internals ---------------------------------------------------------------------

  private codeFor(type: string): string {
    const code = this.codes.get(type);
    if (code === undefined) throw new Error(`StateCache: ${type} is not a cached event type (add it to eventTypes)`);
    return code;
  }

  private isNegative(roomId: string): boolean {
    const n = this.negative.get(roomId);
    if (!n) return false;
    if (n.until > this.now()) return true;
    this.negative.delete(roomId);
    return false;
  }

  /** The room's table: from memory (hit), else one shared load. */
  private table(roomId: string, priority: Priority = 'high', countStats = true, skipStore = false): Promise<RoomTable> {
    const t = this.rooms.get(roomId);
    if (t !== undefined) {
      if (countStats) this.c.hits++;
      this.rooms.delete(roomId);
      this.rooms.set(roomId, t);
      return Promise.resolve(t);
    }
    const n = this.negative.get(roomId);
    if (n) {
      if (n.until > this.now()) return Promise.reject(n.error);
      this.negative.delete(roomId);
    }
    if (this.closed) return Promise.reject(new RoomStateUnavailableError(roomId, new Error('state cache closed')));
    const existing = this.loading.get(roomId);
    if (existing) {
      if (countStats) this.c.coalesced++;
      if (priority === 'high') existing.ticket?.promote();
      return existing.promise;
    }
    if (countStats) this.c.misses++;
    const l: Loading = { promise: undefined as unknown as Promise<RoomTable>, buffered: [], invalidated: false };
    this.loading.set(roomId, l);
    l.promise = this.load(roomId, priority, l, skipStore).finally(() => this.endLoading(roomId, l));
    return l.promise;
  }

  private async load(roomId: string, priority: Priority, l: Loading, skipStore: boolean): Promise<RoomTable> {
    let t: RoomTable | undefined;
    let fromStore = false;
    try {
      if (this.kv && !skipStore) {
        const pending = this.kvChain.get(roomId);
        if (pending) await pending;
        try {
          const rec = await this.kv.get<Persisted>(STATE_CACHE_NAMESPACE, roomId);
          t = rec ? this.fromPersisted(rec) : undefined;
          if (t !== undefined) {
            fromStore = true;
            this.c.loadedFromStore++;
          }
        } catch (err) {
          this.log.warn(`state cache: could not read persisted state of ${roomId}; fetching it`, { error: err });
        }
      }
      if (t === undefined) t = this.build(await this.fetchWithRetry(roomId, priority, l));
    } catch (err) {
      this.endLoading(roomId, l);
      const error =
        err instanceof RoomStateUnavailableError ? err : new RoomStateUnavailableError(roomId, err, this.now() + this.negativeTtlMs);
      this.negative.set(roomId, { until: this.now() + this.negativeTtlMs, error });
      this.pruneNegative();
      throw error;
    }
    let table: RoomTable = t;
    for (const ev of l.buffered) {
      const next: RoomTable | undefined = this.apply(roomId, table, ev);
      if (next !== undefined) {
        table = next;
        this.c.eventsApplied++;
      } else this.c.eventsIgnored++;
    }
    // In the same synchronous step as the insert: from here on onEvent applies to the stored table.
    this.endLoading(roomId, l);
    if (!l.invalidated && !this.closed) {
      this.insert(roomId, table);
      if (this.kv && (!fromStore || l.buffered.length)) this.dirty.add(roomId);
    }
    return table;
  }

  private endLoading(roomId: string, l: Loading): void {
    if (this.loading.get(roomId) === l) this.loading.delete(roomId);
  }

  private async fetchWithRetry(roomId: string, priority: Priority, l: Loading): Promise<MatrixEvent[]> {
    for (let attempt = 0; ; attempt++) {
      this.c.queued++;
      const ticket = this.semaphore.enqueue(priority);
      l.ticket = ticket;
      let release: () => void;
      try {
        release = await ticket.promise;
      } finally {
        this.c.queued--;
        l.ticket = undefined;
      }
      let err: unknown;
      this.c.requests++;
      this.c.requestsInFlight++;
      try {
        return await this.fetcher.fetchRoomState(roomId, this.closeController.signal);
      } catch (e) {
        err = e;
      } finally {
        this.c.requestsInFlight--;
        release();
      }
      this.c.failures++;
      const desc = err instanceof MatrixError ? `${err.status} ${err.errcode}: ${err.message}` : String((err as Error)?.message ?? err);
      if (!isRetryable(err) || this.closed) {
        this.log.warn(
          `state cache: cannot read state of ${roomId} (${desc}); not asking again for ${Math.round(this.negativeTtlMs / 1000)} s`,
        );
        throw new RoomStateUnavailableError(roomId, err, this.now() + this.negativeTtlMs);
      }
      if (attempt >= this.backoff.maxRetries) {
        this.log.error(
          `state cache: giving up on ${roomId} after ${attempt + 1} attempts (${desc}); not asking again for ${Math.round(this.negativeTtlMs / 1000)} s`,
        );
        throw new RoomStateUnavailableError(roomId, err, this.now() + this.negativeTtlMs);
      }
      const delay = Math.max(retryAfterMs(err) ?? 0, backoffDelay(attempt, this.backoff, this.random));
      this.c.retries++;
      this.log.debug(`state cache: fetching ${roomId} failed (${desc}); retry ${attempt + 1} in ${delay} ms`);
      await sleep(delay, this.closeController.signal).catch(() => undefined);
    }
  }

  private build(events: MatrixEvent[]): RoomTable {
    const recs = new Map<string, string>();
    for (const ev of events) {
      if (!ev || typeof ev.state_key !== 'string') continue;
      const code = this.codes.get(ev.type);
      if (code === undefined) continue;
      const key = code + encKey(ev.state_key);
      const ts = typeof ev.origin_server_ts === 'number' ? ev.origin_server_ts : 0;
      const prev = recs.get(key);
      if (prev !== undefined && valueTs(prev) > ts) continue;
      recs.set(key, makeValue(ts, eventHash(ev.event_id), this.encodePayload(code, ev)));
    }
    return tableFromEntries(recs);
  }

  private encodePayload(code: string, ev: MatrixEvent): string {
    const content = ev.content && typeof ev.content === 'object' ? ev.content : {};
    if (code === this.memberCode) return encMember(ev.state_key!, content);
    if (ev.type === 'm.room.create') return encField(ev.sender) + US + encJson(content);
    return encJson(content);
  }

  private decodeContent(type: string, payload: string): Record<string, unknown> {
    if (type === 'm.room.create') return decJson(payload.slice(payload.indexOf(US) + 1));
    return decJson(payload);
  }

  private contentOf(t: RoomTable, type: string): Record<string, unknown> | undefined {
    const code = this.codes.get(type);
    if (code === undefined) return undefined;
    const v = tableGet(t, code);
    return v === undefined ? undefined : this.decodeContent(type, valuePayload(v));
  }

  private createInfo(t: RoomTable): { creators: string[]; infiniteCreators: boolean } {
    const code = this.codes.get('m.room.create');
    const v = code === undefined ? undefined : tableGet(t, code);
    if (v === undefined) return { creators: [], infiniteCreators: false };
    const payload = valuePayload(v);
    const sep = payload.indexOf(US);
    const sender = decField(payload.slice(0, sep));
    const content = decJson(payload.slice(sep + 1));
    const version = typeof content.room_version === 'string' ? content.room_version : '1';
    // Room v12 (MSC4289): the creator(s) have unlimited power and are not listed in power_levels.
    const infinite = /^\d+$/.test(version) && Number(version) >= 12;
    const creators: string[] = [];
    if (infinite) {
      if (sender) creators.push(sender);
      if (Array.isArray(content.additional_creators))
        for (const c of content.additional_creators) if (typeof c === 'string') creators.push(c);
    } else {
      const c = typeof content.creator === 'string' ? content.creator : sender;
      if (c) creators.push(c);
    }
    return { creators, infiniteCreators: infinite };
  }

  /** Apply one event to a table; undefined when it changes nothing (older, duplicate, not ours). */
  private apply(roomId: string, t: RoomTable, ev: MatrixEvent): RoomTable | undefined {
    if (ev.type === 'm.room.redaction') {
      const target = typeof ev.redacts === 'string' ? ev.redacts : ev.content?.redacts;
      const h = eventHash(target);
      if (!h) return undefined;
      for (const [k, v] of tableEntries(t)) {
        const pv = parseValue(v);
        if (pv.hash !== h) continue;
        const type = this.typeByCode.get(k[0])!;
        const content =
          k[0] === this.memberCode
            ? { membership: decMembership(pv.payload) }
            : this.redactContent(type, this.decodeContent(type, pv.payload));
        const payload =
          k[0] === this.memberCode
            ? encMember(decKey(k.slice(1)), content)
            : type === 'm.room.create'
              ? pv.payload // create content survives redaction (v11)
              : encJson(content);
        return tableSet(t, k, makeValue(pv.ts, pv.hash, payload));
      }
      return undefined;
    }
    const code = this.codes.get(ev.type);
    if (code === undefined || typeof ev.state_key !== 'string') return undefined;
    const key = code + encKey(ev.state_key);
    // Events apply in the order the homeserver sends them: that is the order it resolved the room's
    // state in. origin_server_ts is chosen by the sending server, so comparing it would let a skewed
    // clock, or a forged future timestamp on a join, freeze a membership against every later ban.
    const ts = typeof ev.origin_server_ts === 'number' ? ev.origin_server_ts : Date.now();
    const hash = eventHash(ev.event_id);
    const prev = tableGet(t, key);
    if (prev !== undefined && hash && parseValue(prev).hash === hash) return undefined; // the same event again
    const value = makeValue(ts, hash, this.encodePayload(code, ev));
    if (value === prev) return undefined;
    return tableSet(t, key, value);
  }

  private redactContent(type: string, content: Record<string, unknown>): Record<string, unknown> {
    const keeps = REDACTION_KEEPS[type];
    if (keeps === 'all') return content;
    const out: Record<string, unknown> = {};
    if (keeps) for (const k of keeps) if (k in content) out[k] = content[k];
    return out;
  }

  private insert(roomId: string, t: RoomTable): void {
    this.rooms.delete(roomId);
    this.rooms.set(roomId, t);
    while (this.rooms.size > this.maxRooms) {
      const oldest = this.rooms.keys().next().value as string;
      if (this.kv && this.dirty.has(oldest)) {
        // Write it before it goes so the persisted copy is current.
        this.dirty.delete(oldest);
        void this.kvPut(oldest, this.rooms.get(oldest)!);
      }
      this.rooms.delete(oldest);
      this.c.evictions++;
    }
  }

  private pruneNegative(): void {
    if (this.negative.size <= Math.max(1000, this.maxRooms)) return;
    const now = Date.now();
    for (const [id, n] of this.negative) if (n.until <= now) this.negative.delete(id);
    while (this.negative.size > Math.max(1000, this.maxRooms)) this.negative.delete(this.negative.keys().next().value as string);
  }

  private fromPersisted(rec: Persisted | undefined): RoomTable | undefined {
    if (!rec || rec.v !== this.stamp || typeof rec.s !== 'string') return undefined;
    if (typeof rec.at !== 'number' || Date.now() - rec.at > this.persistMaxAgeMs) return undefined;
    return tableDeserialize(rec.s);
  }

  private chainKv(roomId: string, op: () => Promise<unknown>): Promise<void> {
    const prev = this.kvChain.get(roomId) ?? Promise.resolve();
    const p = prev.then(op, op).then(
      () => undefined,
      (err) => {
        this.log.warn(`state cache: could not persist state of ${roomId}`, { error: err });
      },
    );
    this.kvChain.set(roomId, p);
    void p.then(() => {
      if (this.kvChain.get(roomId) === p) this.kvChain.delete(roomId);
    });
    return p;
  }

  private kvPut(roomId: string, t: RoomTable): Promise<void> {
    const value: Persisted = { v: this.stamp, at: Date.now(), s: tableSerialize(t) };
    return this.chainKv(roomId, () => this.kv!.put(STATE_CACHE_NAMESPACE, roomId, value));
  }

  private kvDelete(roomId: string): void {
    void this.chainKv(roomId, () => this.kv!.delete(STATE_CACHE_NAMESPACE, roomId));
  }
}

function toLevel(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return Math.trunc(v);
  if (typeof v === 'string' && /^\s*[+-]?\d+\s*$/.test(v)) return parseInt(v, 10); // old rooms allow strings
  return undefined;
}
