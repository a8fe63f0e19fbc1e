// Test fixtures for the state cache: a fetcher-level fake homeserver (counts,
// peak concurrency, latency, faults), synthetic rooms and an in-memory KV store.
import { MatrixError } from '../../src/util/matrix-error';
import type { StateFetcher } from '../../src/state/state-fetcher';
import type { MatrixEvent } from '../../src/matrix/event';
import type { KeyValueRepository } from '../../src/store/store';

export const SERVER = 'bench.example';

let eventCounter = 0;
export function ev(
  roomId: string,
  type: string,
  stateKey: string,
  content: Record<string, unknown>,
  ts = 1_700_000_000_000,
  sender = `@admin:${SERVER}`,
): MatrixEvent {
  return {
    type,
    state_key: stateKey,
    content,
    sender,
    room_id: roomId,
    origin_server_ts: ts,
    event_id: `$ev${++eventCounter}_${Math.random().toString(36).slice(2, 12)}`,
  };
}

function mediaId(n: number): string {
  // 24 characters, like Synapse media IDs.
  let s = '';
  let x = (n * 2654435761) >>> 0;
  const A = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
  for (let i = 0; i < 24; i++) {
    s += A[x % 52];
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
  }
  return s;
}

/**
 * A room with `members` members (each with displayname and avatar), power levels
 * with a few users, join rules, name, topic, canonical alias, create, encryption
 * and history visibility + guest access (not cached by default): members + 9 events.
 */
export function makeRoom(i: number, members = 21, ts = 1_700_000_000_000): MatrixEvent[] {
  const roomId = roomIdFor(i);
  const admin = `@admin:${SERVER}`;
  const evs: MatrixEvent[] = [
    ev(roomId, 'm.room.create', '', { room_version: '10', creator: admin }, ts, admin),
    ev(
      roomId,
      'm.room.power_levels',
      '',
      {
        users: { [admin]: 100, [`@mod${i}:${SERVER}`]: 50, '@bridgebot:bench.example': 100 },
        users_default: 0,
        events: {
          'm.room.name': 50,
          'm.room.power_levels': 100,
          'm.room.history_visibility': 100,
          'm.room.canonical_alias': 50,
          'm.room.avatar': 50,
          'm.room.tombstone': 100,
          'm.room.server_acl': 100,
          'm.room.encryption': 100,
        },
        events_default: 0,
        state_default: 50,
        ban: 50,
        kick: 50,
        redact: 50,
        invite: 0,
        historical: 100,
        notifications: { room: 50 },
      },
      ts,
    ),
    ev(roomId, 'm.room.join_rules', '', { join_rule: i % 3 === 0 ? 'public' : 'invite' }, ts),
    ev(roomId, 'm.room.history_visibility', '', { history_visibility: 'shared' }, ts),
    ev(roomId, 'm.room.guest_access', '', { guest_access: 'can_join' }, ts),
    ev(roomId, 'm.room.name', '', { name: `Bench room number ${i}` }, ts),
    ev(roomId, 'm.room.topic', '', { topic: `The topic of bench room ${i}: discussion, links and the occasional cat picture` }, ts),
    ev(roomId, 'm.room.canonical_alias', '', { alias: `#bench-room-${i}:${SERVER}` }, ts),
  ];
  if (i % 2 === 0) evs.push(ev(roomId, 'm.room.encryption', '', { algorithm: 'm.megolm.v1.aes-sha2' }, ts));
  else evs.push(ev(roomId, 'm.room.avatar', '', { url: `mxc://${SERVER}/${mediaId(i)}` }, ts));
  for (let m = 0; m < members; m++) {
    const n = i * members + m;
    const userId = m === 0 ? admin : `@user${n}:${SERVER}`;
    evs.push(
      ev(
        roomId,
        'm.room.member',
        userId,
        { membership: 'join', displayname: m === 0 ? 'Admin' : `User ${n}`, avatar_url: `mxc://${SERVER}/${mediaId(n)}` },
        ts + m,
        userId,
      ),
    );
  }
  return evs;
}

export function roomIdFor(i: number): string {
  return `!${mediaId(i + 7_000_000).slice(0, 18)}:${SERVER}`;
}

/** A fetcher over an in-memory room map with request counting, latency and faults. */
export class FakeHomeserver implements StateFetcher {
  readonly rooms = new Map<string, MatrixEvent[]>();
  readonly requests = new Map<string, number>();
  totalRequests = 0;
  inFlight = 0;
  peak = 0;
  latencyMs = 0;
  /** roomId → errors to throw before answering (consumed in order). */
  readonly faults = new Map<string, MatrixError[]>();
  /** Rooms that always fail with this error. */
  readonly forbidden = new Map<string, MatrixError>();
  /** Called at the start of each request. */
  onRequest?: (roomId: string) => void;

  async fetchRoomState(roomId: string): Promise<MatrixEvent[]> {
    this.totalRequests++;
    this.requests.set(roomId, (this.requests.get(roomId) ?? 0) + 1);
    this.inFlight++;
    if (this.inFlight > this.peak) this.peak = this.inFlight;
    try {
      this.onRequest?.(roomId);
      if (this.latencyMs > 0) await new Promise((r) => setTimeout(r, this.latencyMs));
      else await Promise.resolve();
      const f = this.faults.get(roomId);
      if (f && f.length) throw f.shift()!;
      const forbidden = this.forbidden.get(roomId);
      if (forbidden) throw forbidden;
      const evs = this.rooms.get(roomId);
      if (!evs) throw new MatrixError(404, 'M_NOT_FOUND', 'Unknown room');
      // Hand out a fresh copy, as JSON over the wire would.
      return JSON.parse(JSON.stringify(evs)) as MatrixEvent[];
    } finally {
      this.inFlight--;
    }
  }

  count(roomId: string): number {
    return this.requests.get(roomId) ?? 0;
  }
}

export class MemoryKv implements KeyValueRepository {
  readonly data = new Map<string, unknown>();
  gets = 0;
  puts = 0;
  lists = 0;
  private k(ns: string, key: string) {
    return `${ns}\u0000${key}`;
  }
  async get<T>(ns: string, key: string): Promise<T | undefined> {
    this.gets++;
    const v = this.data.get(this.k(ns, key));
    return v === undefined ? undefined : (JSON.parse(JSON.stringify(v)) as T);
  }
  async put<T>(ns: string, key: string, value: T): Promise<void> {
    this.puts++;
    this.data.set(this.k(ns, key), JSON.parse(JSON.stringify(value)));
  }
  async delete(ns: string, key: string): Promise<boolean> {
    return this.data.delete(this.k(ns, key));
  }
  async list<T>(ns: string, opts: { prefix?: string; limit?: number } = {}): Promise<Array<{ key: string; value: T }>> {
    this.lists++;
    const out: Array<{ key: string; value: T }> = [];
    for (const [k, v] of this.data) {
      const [n, key] = k.split('\u0000');
      if (n !== ns || (opts.prefix && !key.startsWith(opts.prefix))) continue;
      out.push({ key, value: JSON.parse(JSON.stringify(v)) as T });
      if (opts.limit && out.length >= opts.limit) break;
    }
    return out;
  }
}
