/**
 * The PostgreSQL backend: a pg Pool, one table per concept (see
 * migrations/001-initial.ts), upserts via INSERT … ON CONFLICT so concurrent
 * puts of one key end in one row, JSONB for connector data and kv values.
 *
 * Limitation: PostgreSQL text and JSONB cannot hold the NUL character (U+0000);
 * such strings are rejected by the server with an error.
 */
import { Pool, type PoolConfig } from 'pg';
import type { Portal } from '../../connector/portal';
import type { GhostKey, PortalKey } from '../../connector/ids';
import { getLogger, registerSecret } from '../../logging/logger';
import { assertKind, assertMembership, cleanGhostKey, encodeJson, makePortal, StoreClosedError } from '../common';
import type {
  GhostRecord,
  GhostRepository,
  IntentRecord,
  IntentRepository,
  KeyValueRepository,
  MessageRecord,
  MessageRepository,
  PortalRepository,
  QueueRecord,
  QueueRepository,
  Store,
  StoredMembership,
} from '../store';
import { PG_MIGRATIONS, type PgMigration } from './migrations';
import { quoteIdent, runMigrations } from './migrate';

const log = getLogger('store').child({ module: 'postgres' });

export interface PostgresStoreOptions {
  /** e.g. postgres://user:pass@host:5432/db. Either this or the discrete fields below. */
  connectionString?: string;
  host?: string;
  port?: number;
  user?: string;
  password?: string;
  database?: string;
  ssl?: PoolConfig['ssl'];
  /** Pool size. Default 10. */
  maxConnections?: number;
  /** Give up connecting (or waiting for a free pooled connection) after this many ms. Default 30 s. */
  connectTimeoutMs?: number;
  /**
   * Put every table in this schema (created if missing) instead of the
   * connection's default search_path. Letters, digits and "_" only. Tests use a
   * fresh random schema each run.
   */
  schema?: string;
  /** How often expired kv rows are deleted, in ms. Default 5 minutes; 0 disables (expiry is still honoured on read). */
  expirySweepIntervalMs?: number;
  /** Replace the migration list (tests inject a failing step). Defaults to PG_MIGRATIONS. */
  migrations?: readonly PgMigration[];
}

const DEFAULT_SWEEP_MS = 5 * 60_000;
const SCHEMA_RE = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

type Queryable = Pick<Pool, 'query'>;

function isUniqueViolation(e: unknown, constraint?: string): boolean {
  const err = e as { code?: string; constraint?: string } | undefined;
  return err?.code === '23505' && (!constraint || err.constraint === constraint);
}

export class PostgresStore implements Store {
  readonly portals: PortalRepository;
  readonly ghosts: GhostRepository;
  readonly messages: MessageRepository;
  readonly intents: IntentRepository;
  readonly kv: KeyValueRepository;
  readonly queues: QueueRepository;

  private pool: Pool | undefined;
  private opening: Promise<void> | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: PostgresStoreOptions) {
    if (opts.schema !== undefined && !SCHEMA_RE.test(opts.schema)) {
      throw new TypeError(`postgres store: invalid schema name ${JSON.stringify(opts.schema)}`);
    }
    if (!opts.connectionString && !opts.host && !opts.database) {
      log.debug('No connection string or host given; using libpq environment defaults (PGHOST, PGDATABASE, …)');
    }
    this.portals = new PgPortals(this);
    this.ghosts = new PgGhosts(this);
    this.messages = new PgMessages(this);
    this.intents = new PgIntents(this);
    this.kv = new PgKv(this);
    this.queues = new PgQueues(this);
  }

  /** @internal */
  get db(): Queryable {
    if (!this.pool) throw new StoreClosedError('postgres store');
    return this.pool;
  }

  init(): Promise<void> {
    this.opening ??= this.open().catch(async (e) => {
      this.opening = undefined;
      const pool = this.pool;
      this.pool = undefined;
      await pool?.end().catch(() => undefined);
      throw e;
    });
    return this.opening;
  }

  private async open(): Promise<void> {
    const o = this.opts;
    registerSecret(o.password);
    if (o.connectionString) {
      try {
        registerSecret(decodeURIComponent(new URL(o.connectionString).password));
      } catch {
        /* not a URL (key=value form) */
      }
    }
    const config: PoolConfig = {
      connectionString: o.connectionString,
      host: o.host,
      port: o.port,
      user: o.user,
      password: o.password,
      database: o.database,
      ssl: o.ssl,
      max: o.maxConnections ?? 10,
      connectionTimeoutMillis: o.connectTimeoutMs ?? 30_000,
      application_name: 'causeway',
    };
    if (o.schema) config.options = `-c search_path=${quoteIdent(o.schema)}`;
    const pool = new Pool(config);
    // An idle client losing its connection must not crash the process; the pool replaces it.
    pool.on('error', (e) => log.warn('PostgreSQL idle connection error', { error: e }));
    this.pool = pool;
    const version = await runMigrations(pool, { schema: o.schema, migrations: o.migrations ?? PG_MIGRATIONS, log });
    const sweepMs = o.expirySweepIntervalMs ?? DEFAULT_SWEEP_MS;
    if (sweepMs > 0) {
      this.sweepTimer = setInterval(() => {
        void this.sweepExpired();
      }, sweepMs);
      this.sweepTimer.unref();
    }
    log.info('PostgreSQL store open', { host: o.host, database: o.database, schema: o.schema, schemaVersion: version });
  }

  async schemaVersion(): Promise<number> {
    const { rows } = await this.db.query<{ v: number | null }>('SELECT max(version) AS v FROM schema_version');
    return rows[0]?.v ?? 0;
  }

  /** Delete expired kv rows now (also runs periodically). Returns how many went. */
  async sweepExpired(): Promise<number> {
    if (!this.pool) return 0;
    try {
      const { rowCount } = await this.pool.query('DELETE FROM kv WHERE expires_at <= $1', [Date.now()]);
      return rowCount ?? 0;
    } catch (e) {
      log.warn('kv expiry sweep failed', { error: e as Error });
      return 0;
    }
  }

  async close(): Promise<void> {
    if (this.opening) await this.opening.catch(() => undefined);
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
    const pool = this.pool;
    this.pool = undefined;
    this.opening = undefined;
    if (pool) await pool.end();
  }
}

// ---- rows → records -------------------------------------------------------

interface PortalRow {
  room_id: string;
  network: string;
  remote_id: string;
  receiver: string;
  kind: string;
  dm_user: string | null;
  data: Record<string, unknown> | null;
  created_at: string;
}
interface GhostRow {
  network: string;
  remote_id: string;
  user_id: string;
  display_name: string | null;
  avatar_mxc: string | null;
  avatar_source: string | null;
  data: Record<string, unknown> | null;
}
interface MessageRow {
  room_id: string;
  event_id: string;
  part: number;
  network: string;
  remote_channel: string;
  receiver: string;
  remote_id: string;
  sender: string;
  ts: string;
  body: string | null;
}

function rowKey(network: string, id: string, receiver: string): PortalKey {
  return receiver ? { network, id, receiver } : { network, id };
}

function toPortal(r: PortalRow): Portal {
  assertKind(r.kind);
  return makePortal(r.room_id, rowKey(r.network, r.remote_id, r.receiver), r.kind, Number(r.created_at), r.dm_user, r.data);
}

const PORTAL_COLS = 'room_id, network, remote_id, receiver, kind, dm_user, data, created_at';

class PgPortals implements PortalRepository {
  constructor(private readonly s: PostgresStore) {}

  async put(p: Portal): Promise<void> {
    assertKind(p.kind);
    await this.s.db.query(
      `INSERT INTO portals (${PORTAL_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8)
       ON CONFLICT (room_id) DO UPDATE SET network = EXCLUDED.network, remote_id = EXCLUDED.remote_id,
         receiver = EXCLUDED.receiver, kind = EXCLUDED.kind, dm_user = EXCLUDED.dm_user, data = EXCLUDED.data,
         created_at = EXCLUDED.created_at`,
      [
        p.roomId,
        p.key.network,
        p.key.id,
        p.key.receiver ?? '',
        p.kind,
        p.dmUser || null,
        p.data ? encodeJson(p.data, 'portal.data') : null,
        p.createdAt,
      ],
    );
  }

  async getByRoom(roomId: string): Promise<Portal | undefined> {
    const { rows } = await this.s.db.query<PortalRow>(`SELECT ${PORTAL_COLS} FROM portals WHERE room_id = $1`, [roomId]);
    return rows.length ? toPortal(rows[0]) : undefined;
  }

  async getByKey(key: PortalKey): Promise<Portal[]> {
    const { rows } = await this.s.db.query<PortalRow>(
      `SELECT ${PORTAL_COLS} FROM portals WHERE network = $1 AND remote_id = $2 AND receiver = $3 ORDER BY created_at, room_id COLLATE "C"`,
      [key.network, key.id, key.receiver ?? ''],
    );
    return rows.map(toPortal);
  }

  async list(filter: { network?: string; kind?: Portal['kind'] } = {}): Promise<Portal[]> {
    const { rows } = await this.s.db.query<PortalRow>(
      `SELECT ${PORTAL_COLS} FROM portals WHERE ($1::text IS NULL OR network = $1) AND ($2::text IS NULL OR kind = $2)
       ORDER BY created_at, room_id COLLATE "C"`,
      [filter.network ?? null, filter.kind ?? null],
    );
    return rows.map(toPortal);
  }

  async delete(roomId: string): Promise<boolean> {
    const { rowCount } = await this.s.db.query('DELETE FROM portals WHERE room_id = $1', [roomId]);
    return (rowCount ?? 0) > 0;
  }

  async count(): Promise<number> {
    const { rows } = await this.s.db.query<{ n: string }>('SELECT count(*) AS n FROM portals');
    return Number(rows[0].n);
  }
}

function toGhost(r: GhostRow): GhostRecord {
  const g: GhostRecord = { key: { network: r.network, id: r.remote_id }, userId: r.user_id };
  if (r.display_name !== null) g.displayName = r.display_name;
  if (r.avatar_mxc !== null) g.avatarMxc = r.avatar_mxc;
  if (r.avatar_source !== null) g.avatarSource = r.avatar_source;
  if (r.data !== null) g.data = r.data;
  return g;
}

const GHOST_COLS = 'network, remote_id, user_id, display_name, avatar_mxc, avatar_source, data';

class PgGhosts implements GhostRepository {
  constructor(private readonly s: PostgresStore) {}

  async put(g: GhostRecord): Promise<void> {
    const key = cleanGhostKey(g.key);
    try {
      await this.s.db.query(
        `INSERT INTO ghosts (${GHOST_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)
         ON CONFLICT (network, remote_id) DO UPDATE SET user_id = EXCLUDED.user_id, display_name = EXCLUDED.display_name,
           avatar_mxc = EXCLUDED.avatar_mxc, avatar_source = EXCLUDED.avatar_source, data = EXCLUDED.data`,
        [
          key.network,
          key.id,
          g.userId,
          g.displayName ?? null,
          g.avatarMxc ?? null,
          g.avatarSource ?? null,
          g.data !== undefined ? encodeJson(g.data, 'ghost.data') : null,
        ],
      );
    } catch (e) {
      if (isUniqueViolation(e, 'ghosts_user_id_key'))
        throw new Error(`ghost user ID ${g.userId} already belongs to another remote user`, { cause: e });
      throw e;
    }
  }

  async get(key: GhostKey): Promise<GhostRecord | undefined> {
    const { rows } = await this.s.db.query<GhostRow>(`SELECT ${GHOST_COLS} FROM ghosts WHERE network = $1 AND remote_id = $2`, [
      key.network,
      key.id,
    ]);
    return rows.length ? toGhost(rows[0]) : undefined;
  }

  async getByUserId(userId: string): Promise<GhostRecord | undefined> {
    const { rows } = await this.s.db.query<GhostRow>(`SELECT ${GHOST_COLS} FROM ghosts WHERE user_id = $1`, [userId]);
    return rows.length ? toGhost(rows[0]) : undefined;
  }

  async count(): Promise<number> {
    const { rows } = await this.s.db.query<{ n: string }>('SELECT count(*) AS n FROM ghosts');
    return Number(rows[0].n);
  }
}

function toMessage(r: MessageRow): MessageRecord {
  const m: MessageRecord = {
    roomId: r.room_id,
    eventId: r.event_id,
    portal: rowKey(r.network, r.remote_channel, r.receiver),
    remoteId: r.remote_id,
    part: r.part,
    sender: r.sender,
    timestamp: Number(r.ts),
  };
  if (r.body !== null) m.body = r.body;
  return m;
}

const MESSAGE_COLS = 'room_id, event_id, part, network, remote_channel, receiver, remote_id, sender, ts, body';
/** Message-map size from which count() answers the planner's estimate instead of counting. */
const EXACT_COUNT_BELOW = 100_000;

class PgMessages implements MessageRepository {
  constructor(private readonly s: PostgresStore) {}

  async put(m: MessageRecord): Promise<void> {
    await this.s.db.query(
      `INSERT INTO messages (${MESSAGE_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
       ON CONFLICT (room_id, event_id, part) DO UPDATE SET network = EXCLUDED.network, remote_channel = EXCLUDED.remote_channel,
         receiver = EXCLUDED.receiver, remote_id = EXCLUDED.remote_id, sender = EXCLUDED.sender, ts = EXCLUDED.ts, body = EXCLUDED.body`,
      [
        m.roomId,
        m.eventId,
        m.part,
        m.portal.network,
        m.portal.id,
        m.portal.receiver ?? '',
        m.remoteId,
        m.sender,
        m.timestamp,
        m.body ?? null,
      ],
    );
  }

  async getByEvent(roomId: string, eventId: string): Promise<MessageRecord[]> {
    const { rows } = await this.s.db.query<MessageRow>(
      `SELECT ${MESSAGE_COLS} FROM messages WHERE room_id = $1 AND event_id = $2 ORDER BY part`,
      [roomId, eventId],
    );
    return rows.map(toMessage);
  }

  async getByRemote(portal: PortalKey, remoteId: string): Promise<MessageRecord[]> {
    const { rows } = await this.s.db.query<MessageRow>(
      `SELECT ${MESSAGE_COLS} FROM messages WHERE network = $1 AND remote_channel = $2 AND receiver = $3 AND remote_id = $4
       ORDER BY part, room_id COLLATE "C"`,
      [portal.network, portal.id, portal.receiver ?? '', remoteId],
    );
    return rows.map(toMessage);
  }

  async deleteByEvent(roomId: string, eventId: string): Promise<void> {
    await this.s.db.query('DELETE FROM messages WHERE room_id = $1 AND event_id = $2', [roomId, eventId]);
  }

  async prune(olderThan: number): Promise<number> {
    const { rowCount } = await this.s.db.query('DELETE FROM messages WHERE ts < $1', [olderThan]);
    return rowCount ?? 0;
  }

  /**
   * The planner's estimate (pg_class.reltuples, kept by autovacuum/ANALYZE) for a large table, so a
   * metrics scrape never scans millions of rows; an exact count below EXACT_COUNT_BELOW rows, where
   * it is cheap and the estimate may be stale or missing (-1 before the first ANALYZE).
   */
  async count(): Promise<number> {
    const est = await this.s.db.query<{ n: number | null }>(
      `SELECT reltuples::float8 AS n FROM pg_class WHERE oid = to_regclass('messages')`,
    );
    const estimate = Number(est.rows[0]?.n ?? -1);
    if (estimate >= EXACT_COUNT_BELOW) return Math.round(estimate);
    const { rows } = await this.s.db.query<{ n: string }>('SELECT count(*) AS n FROM messages');
    return Number(rows[0].n);
  }
}

class PgIntents implements IntentRepository {
  constructor(private readonly s: PostgresStore) {}

  async get(userId: string): Promise<IntentRecord | undefined> {
    const { rows } = await this.s.db.query<{
      user_id: string;
      registered: boolean;
      display_name: string | null;
      avatar_url: string | null;
    }>('SELECT user_id, registered, display_name, avatar_url FROM intents WHERE user_id = $1', [userId]);
    if (!rows.length) return undefined;
    const r = rows[0];
    const rec: IntentRecord = { userId: r.user_id, registered: r.registered };
    if (r.display_name !== null) rec.displayName = r.display_name;
    if (r.avatar_url !== null) rec.avatarUrl = r.avatar_url;
    return rec;
  }

  async put(r: IntentRecord): Promise<void> {
    await this.s.db.query(
      `INSERT INTO intents (user_id, registered, display_name, avatar_url) VALUES ($1, $2, $3, $4)
       ON CONFLICT (user_id) DO UPDATE SET registered = EXCLUDED.registered, display_name = EXCLUDED.display_name,
         avatar_url = EXCLUDED.avatar_url`,
      [r.userId, !!r.registered, r.displayName ?? null, r.avatarUrl ?? null],
    );
  }

  async getMembership(roomId: string, userId: string): Promise<StoredMembership | undefined> {
    const { rows } = await this.s.db.query<{ membership: StoredMembership }>(
      'SELECT membership FROM memberships WHERE room_id = $1 AND user_id = $2',
      [roomId, userId],
    );
    return rows[0]?.membership;
  }

  async setMembership(roomId: string, userId: string, membership: StoredMembership): Promise<void> {
    assertMembership(membership);
    await this.s.db.query(
      `INSERT INTO memberships (room_id, user_id, membership) VALUES ($1, $2, $3)
       ON CONFLICT (room_id, user_id) DO UPDATE SET membership = EXCLUDED.membership`,
      [roomId, userId, membership],
    );
  }

  async joinedRooms(userId: string): Promise<string[]> {
    const { rows } = await this.s.db.query<{ room_id: string }>(
      `SELECT room_id FROM memberships WHERE user_id = $1 AND membership = 'join' ORDER BY room_id COLLATE "C"`,
      [userId],
    );
    return rows.map((r) => r.room_id);
  }

  async forgetRoom(roomId: string): Promise<void> {
    await this.s.db.query('DELETE FROM memberships WHERE room_id = $1', [roomId]);
  }
}

function likePrefix(prefix: string): string {
  return prefix.replace(/[\\%_]/g, (c) => '\\' + c) + '%';
}

/**
 * kv keys (and queue names and keys) as stored. PostgreSQL text cannot hold U+0000, which connectors use as a separator
 * (the embedded store takes it), so NUL is written as U+E000 U+0030 and U+E000 itself doubled.
 * Keys without either (all keys ever written before this) are unchanged; prefixes and listed keys
 * go through the same mapping, so ordering and prefix lists keep working.
 */
const KV_ESC = '\uE000';
const encodeKvKey = (key: string): string =>
  /[\u0000\uE000]/.test(key) ? key.replace(/[\u0000\uE000]/g, (c) => (c === KV_ESC ? KV_ESC + KV_ESC : KV_ESC + '0')) : key;
const decodeKvKey = (key: string): string =>
  key.includes(KV_ESC) ? key.replace(/\uE000(\uE000|0)/g, (_m, c: string) => (c === '0' ? '\u0000' : KV_ESC)) : key;

class PgKv implements KeyValueRepository {
  constructor(private readonly s: PostgresStore) {}

  async get<T = unknown>(namespace: string, key: string): Promise<T | undefined> {
    const { rows } = await this.s.db.query<{ value: T }>(
      'SELECT value FROM kv WHERE namespace = $1 AND key = $2 AND (expires_at IS NULL OR expires_at > $3)',
      [namespace, encodeKvKey(key), Date.now()],
    );
    return rows.length ? rows[0].value : undefined;
  }

  async put<T = unknown>(namespace: string, key: string, value: T, opts?: { expiresAt?: number }): Promise<void> {
    await this.s.db.query(
      `INSERT INTO kv (namespace, key, value, expires_at) VALUES ($1, $2, $3::jsonb, $4)
       ON CONFLICT (namespace, key) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at`,
      [namespace, encodeKvKey(key), encodeJson(value, `kv ${namespace}`), opts?.expiresAt ?? null],
    );
  }

  async delete(namespace: string, key: string): Promise<boolean> {
    const { rows } = await this.s.db.query<{ live: boolean }>(
      'DELETE FROM kv WHERE namespace = $1 AND key = $2 RETURNING (expires_at IS NULL OR expires_at > $3) AS live',
      [namespace, encodeKvKey(key), Date.now()],
    );
    return rows.length > 0 && rows[0].live;
  }

  async list<T = unknown>(namespace: string, opts: { prefix?: string; limit?: number } = {}): Promise<Array<{ key: string; value: T }>> {
    const limit = opts.limit !== undefined && opts.limit >= 0 ? Math.floor(opts.limit) : null;
    const { rows } = await this.s.db.query<{ key: string; value: T }>(
      `SELECT key, value FROM kv WHERE namespace = $1 AND key LIKE $2 AND (expires_at IS NULL OR expires_at > $3)
       ORDER BY key LIMIT $4`,
      [namespace, likePrefix(encodeKvKey(opts.prefix ?? '')), Date.now(), limit],
    );
    return rows.map((r) => ({ key: decodeKvKey(r.key), value: r.value }));
  }
}

interface QueueRow {
  seq: string;
  key: string;
  value: string;
  created_at: string;
  attempted: boolean;
}

function toQueueRecord<T>(queue: string, r: QueueRow): QueueRecord<T> {
  return {
    queue,
    key: decodeKvKey(r.key),
    seq: Number(r.seq),
    value: JSON.parse(r.value) as T,
    createdAt: Number(r.created_at),
    attempted: r.attempted,
  };
}

class PgQueues implements QueueRepository {
  constructor(private readonly s: PostgresStore) {}

  async append<T = unknown>(queue: string, key: string, values: readonly T[], createdAt = Date.now()): Promise<QueueRecord<T>[]> {
    const json = values.map((v, i) => encodeJson(v, `queue ${queue} value ${i}`));
    if (json.length === 0) return [];
    // One statement: all or nothing. Identity values are drawn in the SELECT's order, so the
    // returned seqs, sorted, belong to the values in order. Two appends to the same key at once
    // would draw their identity values interleaved (a sequence is not locked by a statement), so
    // the statement first takes a transaction lock on the key: one append's entries stay together.
    const { rows } = await this.s.db.query<{ seq: string }>(
      `WITH key_lock AS (SELECT pg_advisory_xact_lock(hashtextextended($1 || E'\\x01' || $2, 0)))
       INSERT INTO queue_entries (queue, key, value, created_at)
       SELECT $1, $2, v, $3 FROM key_lock, unnest($4::text[]) WITH ORDINALITY AS t(v, i) ORDER BY i
       RETURNING seq`,
      [encodeKvKey(queue), encodeKvKey(key), createdAt, json],
    );
    const seqs = rows.map((r) => Number(r.seq)).sort((a, b) => a - b);
    return json.map((j, i) => ({ queue, key, seq: seqs[i], value: JSON.parse(j) as T, createdAt, attempted: false }));
  }

  async list<T = unknown>(queue: string, opts: { key?: string; limit?: number } = {}): Promise<QueueRecord<T>[]> {
    const limit = opts.limit !== undefined && opts.limit >= 0 ? Math.floor(opts.limit) : null;
    const { rows } = await this.s.db.query<QueueRow>(
      `SELECT seq, key, value, created_at, attempted FROM queue_entries
       WHERE queue = $1 AND ($2::text IS NULL OR key = $2) ORDER BY seq LIMIT $3`,
      [encodeKvKey(queue), opts.key === undefined ? null : encodeKvKey(opts.key), limit],
    );
    return rows.map((r) => toQueueRecord<T>(queue, r));
  }

  async markAttempted(queue: string, seqs: readonly number[]): Promise<void> {
    if (seqs.length === 0) return;
    await this.s.db.query('UPDATE queue_entries SET attempted = true WHERE queue = $1 AND seq = ANY($2::bigint[]) AND NOT attempted', [
      encodeKvKey(queue),
      seqs,
    ]);
  }

  async remove(queue: string, seqs: readonly number[]): Promise<number> {
    if (seqs.length === 0) return 0;
    const { rowCount } = await this.s.db.query('DELETE FROM queue_entries WHERE queue = $1 AND seq = ANY($2::bigint[])', [
      encodeKvKey(queue),
      seqs,
    ]);
    return rowCount ?? 0;
  }

  async count(queue?: string): Promise<number> {
    const { rows } = await this.s.db.query<{ n: string }>(
      'SELECT count(*) AS n FROM queue_entries WHERE ($1::text IS NULL OR queue = $1)',
      [queue === undefined ? null : encodeKvKey(queue)],
    );
    return Number(rows[0].n);
  }
}
