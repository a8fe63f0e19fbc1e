/**
 * The one store interface. Every backend (embedded NeDB, PostgreSQL) implements
 * it and passes the same contract suite (spec/bridge-core/store/contract.ts).
 * Repositories are per concept so a backend can index each the way it needs.
 */
import type { Portal } from '../connector/portal';
import type { GhostKey, PortalKey } from '../connector/ids';
import type { KeyValueRepository } from '../connector/key-value';
import type { QueueRecord } from '../connector/outbox';

export interface GhostRecord {
  key: GhostKey;
  userId: string;
  displayName?: string;
  avatarMxc?: string;
  /** Opaque identity of the avatar's source (URL or hash), to avoid re-uploading the same picture. */
  avatarSource?: string;
  data?: Record<string, unknown>;
}

export interface MessageRecord {
  roomId: string;
  eventId: string;
  portal: PortalKey;
  remoteId: string;
  /** A Matrix message may become several remote messages (split lines) and vice versa. */
  part: number;
  /** Matrix user ID of the author (a real user or a ghost). */
  sender: string;
  timestamp: number;
  /** Plain text as bridged, for reply quotes and edit diffs. */
  body?: string;
}

/** What the core remembers about a Matrix user it acts as (the bot or a ghost). */
export interface IntentRecord {
  userId: string;
  registered: boolean;
  displayName?: string;
  avatarUrl?: string;
}

export type StoredMembership = 'join' | 'invite' | 'leave' | 'ban';

export interface PortalRepository {
  /** Insert or replace the portal of `portal.roomId` (room IDs are unique). Optional fields left out are cleared. */
  put(portal: Portal): Promise<void>;
  getByRoom(roomId: string): Promise<Portal | undefined>;
  /**
   * All rooms linked to a remote place (usually one), oldest first. The key
   * matches exactly: a key with a `receiver` finds only that receiver's DM
   * portals, a key without one finds only portals stored without a receiver.
   */
  getByKey(key: PortalKey): Promise<Portal[]>;
  /** Portals matching every given filter field (none: all), ordered by createdAt then roomId. */
  list(filter?: { network?: string; kind?: Portal['kind'] }): Promise<Portal[]>;
  /** True when a portal was removed. */
  delete(roomId: string): Promise<boolean>;
  count(): Promise<number>;
}

export interface GhostRepository {
  /**
   * Insert or replace the ghost of `ghost.key`. A user ID belongs to one
   * remote user: putting a second key with a user ID already held by another
   * key rejects.
   */
  put(ghost: GhostRecord): Promise<void>;
  get(key: GhostKey): Promise<GhostRecord | undefined>;
  getByUserId(userId: string): Promise<GhostRecord | undefined>;
  count(): Promise<number>;
}

export interface MessageRepository {
  /** Idempotent: storing the same (roomId, eventId, part) again replaces it. */
  put(record: MessageRecord): Promise<void>;
  /** Parts of one Matrix event, in part order. */
  getByEvent(roomId: string, eventId: string): Promise<MessageRecord[]>;
  /** Records for one remote message (portal key matched exactly, receiver included), in part order. */
  getByRemote(portal: PortalKey, remoteId: string): Promise<MessageRecord[]>;
  deleteByEvent(roomId: string, eventId: string): Promise<void>;
  /** Drop records older than a timestamp (strictly: `timestamp < olderThan`); returns how many went. */
  prune(olderThan: number): Promise<number>;
  /**
   * Records held (one per event part and room). Exact where counting is cheap; PostgreSQL answers
   * its planner's estimate once the table is large, where an exact count would scan it.
   */
  count(): Promise<number>;
}

export interface IntentRepository {
  get(userId: string): Promise<IntentRecord | undefined>;
  put(record: IntentRecord): Promise<void>;
  getMembership(roomId: string, userId: string): Promise<StoredMembership | undefined>;
  setMembership(roomId: string, userId: string, membership: StoredMembership): Promise<void>;
  /** Rooms the user is recorded as joined to (membership 'join'), sorted. */
  joinedRooms(userId: string): Promise<string[]>;
  /** Forget everything recorded about a room (after it is unlinked or we were removed). */
  forgetRoom(roomId: string): Promise<void>;
}

/** Defined with the connector contract (connectors see it as `ctx.data`). */
export type { KeyValueRepository };

export type { QueueRecord };

/**
 * Durable FIFO queues of JSON values, one per (queue, key): what must survive a restart until it has
 * been delivered, in order (remote events waiting for the homeserver, a connector's outgoing lines
 * waiting for a rate limit or a connection). Queue names and keys are any strings; values must be
 * JSON-serialisable.
 *
 * `append` is all or nothing, also across a crash (the entries of one call are stored together).
 * Two appends to one key that overlap in time may be stored in either order: a caller that needs
 * their order waits for the first (the core's DurableQueues service does).
 */
export interface QueueRepository {
  /** Append `values` at the tail of (queue, key), in order. Returns their records (an empty list for no values). */
  append<T = unknown>(queue: string, key: string, values: readonly T[], createdAt?: number): Promise<QueueRecord<T>[]>;
  /** A queue's records in `seq` order: of one key with `key`, else of all keys; `limit` caps the result. */
  list<T = unknown>(queue: string, opts?: { key?: string; limit?: number }): Promise<QueueRecord<T>[]>;
  /** Flag records as attempted (unknown seqs are ignored). */
  markAttempted(queue: string, seqs: readonly number[]): Promise<void>;
  /** Remove records (unknown seqs are ignored); returns how many went. */
  remove(queue: string, seqs: readonly number[]): Promise<number>;
  /** Records held in one queue, or in all without `queue`. */
  count(queue?: string): Promise<number>;
}

export interface Store {
  readonly portals: PortalRepository;
  readonly ghosts: GhostRepository;
  readonly messages: MessageRepository;
  readonly intents: IntentRepository;
  readonly kv: KeyValueRepository;
  readonly queues: QueueRepository;
  /** Open connections and run pending migrations (each in a transaction). */
  init(): Promise<void>;
  close(): Promise<void>;
  /** The applied schema version, for diagnostics and tests. */
  schemaVersion(): Promise<number>;
}
