/**
 * Last activity per user and per room, for the active-user (MAU) and
 * active-room gauges. Kept in memory, evaluated at scrape time, and persisted
 * write-behind in the store's key-value repository (namespace `activity`) so a
 * restart does not reset the figures. Each user/room is written at most once
 * per `persistEveryMs` (default one hour): the persisted timestamp may lag the
 * real last activity by up to that much, which is harmless for day-sized windows.
 */
import type { KeyValueRepository } from '../store/store';
import type { Logger } from '../logging/logger';
import { getLogger } from '../logging/logger';
import { ACTIVITY_KINDS, ACTIVITY_WINDOWS, ACTIVITY_WINDOW_MS, type ActivityKind, type ActivityWindow } from './definitions';

export const ACTIVITY_NAMESPACE = 'activity';
const HOUR = 3600_000;
const DAY = 24 * HOUR;

export interface ActivityTrackerOptions {
  /** Where activity is persisted; without it the tracker is memory-only. */
  kv?: KeyValueRepository;
  /** Clock (epoch ms), injectable for tests. */
  now?: () => number;
  /** Minimum interval between two writes of the same user/room (default 1 h). */
  persistEveryMs?: number;
  /** How often pending writes are flushed (default 60 s; 0 disables the timer: call flush()). */
  flushIntervalMs?: number;
  /** Activity older than this is forgotten (default 30 days, the largest window). */
  retentionMs?: number;
  logger?: Logger;
}

interface WindowCounts {
  users: Record<ActivityWindow, Record<ActivityKind, number>>;
  rooms: Record<ActivityWindow, number>;
}

export interface ActivityCounts extends WindowCounts {
  /**
   * The same per remote network (an IRC network, a Slack workspace, a Gitter deployment), for
   * activity recorded with one. A user active on two networks counts once in the totals above.
   */
  networks: Record<string, WindowCounts>;
}

interface Entry {
  /** Last activity, epoch ms. */
  last: number;
  /** Last activity per network, when recorded with one. */
  nets?: Map<string, number>;
  /** When this entry was last queued for a write (epoch ms), if ever. */
  persistedAt?: number;
}

interface StoredActivity {
  ts: number;
  n?: Record<string, number>;
}

export class ActivityTracker {
  private readonly kv?: KeyValueRepository;
  private readonly now: () => number;
  private readonly persistEveryMs: number;
  private readonly flushIntervalMs: number;
  private readonly retentionMs: number;
  private readonly log: Logger;
  /** Keys: `matrix:<userId>`, `remote:<id>`, `room:<roomId>` (the same keys as in the store). */
  private readonly entries = new Map<string, Entry>();
  private readonly dirty = new Set<string>();
  private timer?: NodeJS.Timeout;
  private flushing?: Promise<void>;
  private closed = false;

  constructor(opts: ActivityTrackerOptions = {}) {
    this.kv = opts.kv;
    this.now = opts.now ?? Date.now;
    this.persistEveryMs = opts.persistEveryMs ?? HOUR;
    this.flushIntervalMs = opts.flushIntervalMs ?? 60_000;
    this.retentionMs = opts.retentionMs ?? 30 * DAY;
    this.log = opts.logger ?? getLogger('metrics.activity');
  }

  /** Load persisted activity and start the flush timer. Records made before this are kept (the later timestamp wins). */
  async init(): Promise<void> {
    if (!this.kv) return;
    const rows = await this.kv.list<StoredActivity>(ACTIVITY_NAMESPACE);
    const cutoff = this.now() - this.retentionMs;
    for (const { key, value } of rows) {
      if (!value || typeof value.ts !== 'number' || value.ts < cutoff || !parseKey(key)) continue;
      let e = this.entries.get(key);
      if (!e) this.entries.set(key, (e = { last: value.ts, persistedAt: value.ts }));
      else if (e.last < value.ts) e.last = value.ts;
      if (value.n && typeof value.n === 'object') {
        for (const [net, ts] of Object.entries(value.n)) if (typeof ts === 'number' && ts >= cutoff) noteNetwork(e, net, ts);
      }
    }
    if (this.flushIntervalMs > 0 && !this.timer && !this.closed) {
      this.timer = setInterval(() => {
        void this.flush();
      }, this.flushIntervalMs);
      this.timer.unref();
    }
  }

  /** A Matrix user talked through the bridge (on `network`, when known). */
  recordMatrixUser(userId: string, at?: number, network?: string): void {
    this.touch(`matrix:${userId}`, at, network);
  }
  /** A remote user's ghost talked (pass a stable ID: the ghost's user ID or the remote user ID). */
  recordRemoteUser(id: string, at?: number, network?: string): void {
    this.touch(`remote:${id}`, at, network);
  }
  recordUser(kind: ActivityKind, id: string, at?: number, network?: string): void {
    this.touch(`${kind}:${id}`, at, network);
  }
  /** A portal room carried bridged traffic. */
  recordRoom(roomId: string, at?: number, network?: string): void {
    this.touch(`room:${roomId}`, at, network);
  }

  /** When a Matrix user last had an event relayed (epoch ms), within retention; undefined when not known. */
  lastMatrixActivity(userId: string): number | undefined {
    return this.entries.get(`matrix:${userId}`)?.last;
  }

  /** Users of a kind active within the last `windowMs`. */
  activeUsers(windowMs: number, kind: ActivityKind): number {
    return this.countPrefix(`${kind}:`, windowMs);
  }

  activeRooms(windowMs: number): number {
    return this.countPrefix('room:', windowMs);
  }

  /** Every window at once (one pass), forgetting entries past retention. */
  counts(): ActivityCounts {
    const now = this.now();
    const totals = emptyCounts();
    const networks: Record<string, WindowCounts> = {};
    for (const [key, e] of this.entries) {
      const age = now - e.last;
      if (age > this.retentionMs) {
        if (!this.dirty.has(key)) this.entries.delete(key);
        continue;
      }
      const kind = parseKey(key)!;
      count(totals, kind, age);
      if (e.nets) {
        for (const [net, last] of e.nets) {
          if (now - last > this.retentionMs) {
            e.nets.delete(net);
            continue;
          }
          count((networks[net] ??= emptyCounts()), kind, now - last);
        }
      }
    }
    return { ...totals, networks };
  }

  /** Number of users/rooms remembered (for tests and diagnostics). */
  get size(): number {
    return this.entries.size;
  }

  /** Write pending updates to the store. Safe to call concurrently. */
  async flush(): Promise<void> {
    if (!this.kv) return;
    while (this.flushing) await this.flushing;
    if (this.dirty.size === 0) return;
    const run = this.writeDirty().finally(() => {
      this.flushing = undefined;
    });
    this.flushing = run;
    await run;
  }

  /** Flush and stop the timer. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  private touch(key: string, at?: number, network?: string): void {
    const ts = at ?? this.now();
    let e = this.entries.get(key);
    const fresh = !e;
    if (!e) this.entries.set(key, (e = { last: ts }));
    // A network's own time is kept even when it is not the entry's latest (written with the next write).
    if (network !== undefined) noteNetwork(e, network, ts);
    if (!fresh) {
      if (ts > e.last) e.last = ts;
      else return;
    }
    if (this.kv && (e.persistedAt === undefined || ts - e.persistedAt >= this.persistEveryMs)) {
      e.persistedAt = ts;
      this.dirty.add(key);
    }
  }

  private async writeDirty(): Promise<void> {
    const kv = this.kv!;
    const keys = [...this.dirty];
    this.dirty.clear();
    for (let i = 0; i < keys.length; i++) {
      const e = this.entries.get(keys[i]);
      if (!e) continue;
      try {
        const stored: StoredActivity = { ts: e.last };
        if (e.nets?.size) stored.n = Object.fromEntries(e.nets);
        await kv.put<StoredActivity>(ACTIVITY_NAMESPACE, keys[i], stored, { expiresAt: e.last + this.retentionMs });
      } catch (err) {
        // The store is likely down: keep this key and the rest for the next flush.
        for (const k of keys.slice(i)) this.dirty.add(k);
        this.log.warn('could not persist activity; will retry', { error: err instanceof Error ? err.message : String(err) });
        return;
      }
    }
  }

  private countPrefix(prefix: string, windowMs: number): number {
    const cutoff = this.now() - windowMs;
    let n = 0;
    for (const [key, e] of this.entries) if (e.last >= cutoff && key.startsWith(prefix)) n++;
    return n;
  }
}

function noteNetwork(e: Entry, network: string, ts: number): void {
  const nets = (e.nets ??= new Map());
  if ((nets.get(network) ?? 0) < ts) nets.set(network, ts);
}

function emptyCounts(): WindowCounts {
  return {
    users: Object.fromEntries(
      ACTIVITY_WINDOWS.map((w) => [w, Object.fromEntries(ACTIVITY_KINDS.map((k) => [k, 0]))]),
    ) as WindowCounts['users'],
    rooms: Object.fromEntries(ACTIVITY_WINDOWS.map((w) => [w, 0])) as WindowCounts['rooms'],
  };
}

function count(c: WindowCounts, kind: ActivityKind | 'room', age: number): void {
  for (const w of ACTIVITY_WINDOWS) {
    if (age > ACTIVITY_WINDOW_MS[w]) continue;
    if (kind === 'room') c.rooms[w]++;
    else c.users[w][kind]++;
  }
}

function parseKey(key: string): ActivityKind | 'room' | undefined {
  const i = key.indexOf(':');
  if (i <= 0) return undefined;
  const k = key.slice(0, i);
  return k === 'room' || k === 'matrix' || k === 'remote' ? k : undefined;
}
