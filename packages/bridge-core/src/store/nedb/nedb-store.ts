/**
 * The embedded default backend, on NeDB (nedb-promises). Everything lives in
 * one data directory, one append-only datafile per repository:
 *
 *   portals.db  ghosts.db  messages.db  intents.db  memberships.db  kv.db  meta.db (schema version)
 *
 * Each datastore is fully in memory (NeDB's model), indexed for the lookups the
 * repositories make, so reads are in-process map/tree lookups and every write
 * is one appended line.
 *
 * Durability / crash safety: NeDB appends one complete JSON line per change and
 * does not fsync appends. A process kill (kill -9, OOM, crash) therefore loses
 * at most the write that was in flight; its torn line is cut off at the next
 * start (see repair.ts). A power loss or kernel crash may lose the last few
 * seconds the OS had not flushed. Compaction (periodic, and at close) rewrites
 * a file through a temp file + fsync + rename, so it never leaves a half file.
 *
 * Files are created 0600 in a 0700 directory (util/private-files.ts): kv.db holds
 * the media proxy's signing key and provisioning sessions.
 *
 * One process at a time: a `LOCK` file with the owner's PID guards the
 * directory (a lock left by a dead process is taken over).
 *
 * Values are stored as JSON strings (`data`, kv values) rather than NeDB
 * documents, because NeDB forbids field names with "." or a leading "$" (think
 * "m.relates_to") and would turn Dates into its own representation.
 *
 * The message map (`messages.db`) and the key-value store (`kv.db`), same file
 * format, are kept by their own logs (message-log.ts, kv-log.ts over datafile.ts):
 * connectors write them on the hot path. Messages are kept in memory too; call
 * `messages.prune()` periodically. The durable queues (`queues.db`) are an
 * operation log of their own too (queue-log.ts), the one file here that can
 * be fsynced (`queueFsync`, which the bridge sets from `delivery.fsync`).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import Datastore from 'nedb-promises';
import type { Portal } from '../../connector/portal';
import { ghostKeyString, portalKeyString, type GhostKey, type PortalKey } from '../../connector/ids';
import { getLogger } from '../../logging/logger';
import {
  assertKind,
  assertMembership,
  cleanGhostKey,
  cleanPortalKey,
  encodeJson,
  makePortal,
  orderedMigrations,
  StoreClosedError,
} from '../common';
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
import { NEDB_COLLECTIONS, NEDB_MIGRATIONS, type NedbCollection, type NedbMigration } from './migrations';
import { KvLog } from './kv-log';
import { MessageLog } from './message-log';
import { QueueLog, type QueueFsync } from './queue-log';
import { truncateTornTail } from './repair';
import { NEDB_PRIVATE_MODES, makePrivateDir, writePrivateFile } from '../../util/private-files';

const log = getLogger('store').child({ module: 'nedb' });

export interface NedbStoreOptions {
  /** Data directory; created (recursively) if missing. */
  directory: string;
  /**
   * How often datafiles that changed are compacted (rewritten one line per
   * document), in ms. Default 30 minutes; 0 disables (files are still compacted
   * on load and on close). Minimum 5 s.
   */
  compactionIntervalMs?: number;
  /** How often expired kv entries are deleted, in ms. Default 60 s; 0 disables (expiry is still honoured on read). */
  expirySweepIntervalMs?: number;
  /** Replace the migration list (tests). Defaults to NEDB_MIGRATIONS. */
  migrations?: readonly NedbMigration[];
  /**
   * When the durable queues' log (queues.db) is fdatasync'd: with every write ('always'), in the
   * background every 100 ms ('batch', the default) or never. The other files are never fsynced
   * (NeDB's own behaviour); a process kill loses nothing written either way.
   */
  queueFsync?: QueueFsync;
}

type DS = Datastore<{ _id: string }>;
/** `Datastore.create` returns a proxy that also exposes the wrapped @seald-io/nedb datastore's methods. */
type Compactable = { compactDatafileAsync(): Promise<void> };

const SEP = '\u0000';
const DEFAULT_COMPACTION_MS = 30 * 60_000;
const DEFAULT_SWEEP_MS = 60_000;

interface PortalDoc {
  _id: string;
  k: string;
  network: string;
  key: PortalKey;
  kind: string;
  dmUser?: string;
  data?: string;
  createdAt: number;
}
interface GhostDoc {
  _id: string;
  key: GhostKey;
  userId: string;
  displayName?: string;
  avatarMxc?: string;
  avatarSource?: string;
  data?: string;
}
interface IntentDoc {
  _id: string;
  registered: boolean;
  displayName?: string;
  avatarUrl?: string;
}
interface MembershipDoc {
  _id: string;
  roomId: string;
  userId: string;
  membership: StoredMembership;
}
interface MetaDoc {
  _id: string;
  version: number;
  name: string;
  appliedAt: number;
}

/** Directories locked by this process, so a stale LOCK carrying our own PID (container restart) is recognised. */
const heldLocks = new Set<string>();

function isUniqueViolation(e: unknown): boolean {
  return !!e && typeof e === 'object' && (e as { errorType?: string }).errorType === 'uniqueViolated';
}

export class NedbStore implements Store {
  readonly portals: PortalRepository;
  readonly ghosts: GhostRepository;
  readonly messages: MessageRepository;
  readonly intents: IntentRepository;
  readonly kv: KeyValueRepository;
  readonly queues: QueueRepository;

  private readonly dir: string;
  private ds: Record<NedbCollection, DS> | undefined;
  private meta: DS | undefined;
  private messageLog: MessageLog | undefined;
  private kvLog: KvLog | undefined;
  private queueLog: QueueLog | undefined;
  private readonly dirty = new Set<NedbCollection>();
  private timers: NodeJS.Timeout[] = [];
  private opening: Promise<void> | undefined;
  private lockFile: string | undefined;

  constructor(private readonly opts: NedbStoreOptions) {
    if (!opts.directory) throw new TypeError('nedb store: directory is required');
    this.dir = path.resolve(opts.directory);
    this.portals = new NedbPortals(this);
    this.ghosts = new NedbGhosts(this);
    this.messages = new NedbMessages(this);
    this.intents = new NedbIntents(this);
    this.kv = new NedbKv(this);
    this.queues = new NedbQueues(this);
  }

  /** @internal The durable queues, once open. */
  queueStore(): QueueLog {
    if (!this.queueLog) throw new StoreClosedError('nedb store');
    return this.queueLog;
  }

  /** @internal The message map, once open. */
  messageMap(): MessageLog {
    if (!this.messageLog) throw new StoreClosedError('nedb store');
    return this.messageLog;
  }

  /** @internal The key-value store, once open. */
  kvStore(): KvLog {
    if (!this.kvLog) throw new StoreClosedError('nedb store');
    return this.kvLog;
  }

  /** @internal Datastore accessor for the repositories; marks it dirty when `write` is set. */
  db(name: NedbCollection, write = false): DS {
    if (!this.ds) throw new StoreClosedError('nedb store');
    if (write) this.dirty.add(name);
    return this.ds[name];
  }

  init(): Promise<void> {
    this.opening ??= this.open().catch(async (e) => {
      this.opening = undefined;
      // A file that failed to load leaves the ones opened before it open: close them.
      for (const opened of [this.kvLog, this.messageLog, this.queueLog]) await opened?.close().catch(() => undefined);
      this.kvLog = undefined;
      this.messageLog = undefined;
      this.queueLog = undefined;
      await this.releaseLock();
      throw e;
    });
    return this.opening;
  }

  private async open(): Promise<void> {
    await makePrivateDir(this.dir);
    await this.acquireLock();
    const datastores = {} as Record<NedbCollection, DS>;
    for (const name of [...NEDB_COLLECTIONS, 'meta', 'messages', 'queues']) {
      const filename = path.join(this.dir, `${name}.db`);
      const dropped = await truncateTornTail(filename);
      if (dropped) log.warn('Dropped a torn last line (a write interrupted by a crash)', { file: filename, bytes: dropped });
      if (name === 'messages' || name === 'queues') continue;
      // `modes` is @seald-io/nedb's (file and directory permissions); nedb-promises' types omit it.
      const options = { filename, autoload: false, modes: { ...NEDB_PRIVATE_MODES } };
      const ds = Datastore.create(options);
      // NeDB's own errors (a mostly corrupt file) do not say which file: the operator needs that.
      await ds.load().catch((e: unknown) => {
        throw new Error(`${filename}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
      });
      if (name === 'meta') this.meta = ds;
      else datastores[name as NedbCollection] = ds;
    }
    await this.migrate(datastores);
    // kv.db was loaded as a NeDB datastore for the migrations only (they may index it); from here
    // on the key-value log owns the file and the datastore is never written again.
    delete (datastores as Partial<Record<NedbCollection, DS>>).kv;
    this.kvLog = await KvLog.open(path.join(this.dir, 'kv.db'));
    this.messageLog = await MessageLog.open(path.join(this.dir, 'messages.db'));
    this.queueLog = await QueueLog.open(path.join(this.dir, 'queues.db'), { fsync: this.opts.queueFsync });
    this.ds = datastores;

    const compactMs = this.opts.compactionIntervalMs ?? DEFAULT_COMPACTION_MS;
    if (compactMs > 0) {
      const t = setInterval(
        () => {
          void this.compactDirty();
        },
        Math.max(5000, compactMs),
      );
      t.unref();
      this.timers.push(t);
    }
    const sweepMs = this.opts.expirySweepIntervalMs ?? DEFAULT_SWEEP_MS;
    if (sweepMs > 0) {
      const t = setInterval(() => {
        void this.sweepExpired();
      }, sweepMs);
      t.unref();
      this.timers.push(t);
    }
    log.info('NeDB store open', { directory: this.dir, schemaVersion: await this.schemaVersion() });
  }

  private async migrate(datastores: Record<NedbCollection, DS>): Promise<void> {
    const migrations = orderedMigrations(this.opts.migrations ?? NEDB_MIGRATIONS);
    const current = await this.readVersion();
    for (const m of migrations) {
      if (m.version <= current) continue;
      log.info('Applying NeDB migration', { version: m.version, name: m.name });
      await m.up({ datastores });
      const doc: MetaDoc = { _id: `migration:${m.version}`, version: m.version, name: m.name, appliedAt: Date.now() };
      await this.meta!.update({ _id: doc._id }, doc, { upsert: true });
    }
  }

  private async readVersion(): Promise<number> {
    if (!this.meta) throw new StoreClosedError('nedb store');
    const docs = await this.meta
      .find<MetaDoc>({ version: { $exists: true } })
      .sort({ version: -1 })
      .limit(1);
    return docs.length ? docs[0].version : 0;
  }

  schemaVersion(): Promise<number> {
    return this.readVersion();
  }

  /** Delete expired kv entries now (also runs periodically). Returns how many went. */
  async sweepExpired(): Promise<number> {
    if (!this.kvLog) return 0;
    try {
      const n = await this.kvLog.sweepExpired();
      if (n) log.debug('Expired kv entries removed', { count: n });
      return n;
    } catch (e) {
      log.warn('kv expiry sweep failed', { error: e as Error });
      return 0;
    }
  }

  /** Compact the datafiles written since the last compaction. */
  async compactDirty(): Promise<void> {
    if (!this.ds) return;
    await this.messageLog?.compact();
    await this.kvLog?.compact();
    const names = [...this.dirty];
    this.dirty.clear();
    for (const name of names) {
      try {
        await (this.ds[name] as unknown as Compactable).compactDatafileAsync();
      } catch (e) {
        this.dirty.add(name);
        log.warn('NeDB compaction failed', { datastore: name, error: e as Error });
      }
    }
  }

  async close(): Promise<void> {
    if (this.opening) await this.opening.catch(() => undefined);
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    if (this.ds) {
      await this.messageLog?.close().catch((e) => log.error('NeDB: message mappings not written at close', { error: e as Error }));
      this.messageLog = undefined;
      await this.kvLog?.close().catch((e) => log.error('NeDB: key-value entries not written at close', { error: e as Error }));
      this.kvLog = undefined;
      await this.queueLog?.close().catch((e) => log.error('NeDB: queue operations not written at close', { error: e as Error }));
      this.queueLog = undefined;
      // Compaction is queued behind every pending operation, so this also drains in-flight writes.
      await this.compactDirty();
      this.ds = undefined;
      this.meta = undefined;
    }
    this.opening = undefined;
    await this.releaseLock();
  }

  private async acquireLock(): Promise<void> {
    const file = path.join(this.dir, 'LOCK');
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await writePrivateFile(file, String(process.pid), 'wx');
        this.lockFile = file;
        heldLocks.add(this.dir);
        return;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const pid = Number((await fs.readFile(file, 'utf8').catch(() => '')).trim());
      if (pid && pidAlive(pid) && (pid !== process.pid || heldLocks.has(this.dir))) {
        throw new Error(`NeDB data directory ${this.dir} is in use by process ${pid} (remove ${file} if that is wrong)`);
      }
      log.warn('Taking over a stale NeDB lock', { file, pid });
      await fs.rm(file, { force: true });
    }
    throw new Error(`could not lock NeDB data directory ${this.dir}`);
  }

  private async releaseLock(): Promise<void> {
    if (!this.lockFile) return;
    await fs.rm(this.lockFile, { force: true }).catch(() => undefined);
    heldLocks.delete(this.dir);
    this.lockFile = undefined;
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function parseData(s: string | undefined): Record<string, unknown> | undefined {
  return s === undefined ? undefined : (JSON.parse(s) as Record<string, unknown>);
}

class NedbPortals implements PortalRepository {
  constructor(private readonly s: NedbStore) {}

  private static toPortal(d: PortalDoc): Portal {
    assertKind(d.kind);
    return makePortal(d._id, d.key, d.kind, d.createdAt, d.dmUser, parseData(d.data));
  }

  async put(portal: Portal): Promise<void> {
    assertKind(portal.kind);
    const key = cleanPortalKey(portal.key);
    const doc: PortalDoc = {
      _id: portal.roomId,
      k: portalKeyString(key),
      network: key.network,
      key,
      kind: portal.kind,
      createdAt: portal.createdAt,
    };
    if (portal.dmUser) doc.dmUser = portal.dmUser;
    if (portal.data) doc.data = encodeJson(portal.data, 'portal.data');
    await this.s.db('portals', true).update({ _id: doc._id }, doc, { upsert: true });
  }

  async getByRoom(roomId: string): Promise<Portal | undefined> {
    const d = await this.s.db('portals').findOne<PortalDoc>({ _id: roomId });
    return d ? NedbPortals.toPortal(d) : undefined;
  }

  async getByKey(key: PortalKey): Promise<Portal[]> {
    const docs = await this.s
      .db('portals')
      .find<PortalDoc>({ k: portalKeyString(key) })
      .sort({ createdAt: 1, _id: 1 });
    return docs.map((d) => NedbPortals.toPortal(d));
  }

  async list(filter: { network?: string; kind?: Portal['kind'] } = {}): Promise<Portal[]> {
    const q: Record<string, unknown> = {};
    if (filter.network !== undefined) q.network = filter.network;
    if (filter.kind !== undefined) q.kind = filter.kind;
    const docs = await this.s.db('portals').find<PortalDoc>(q).sort({ createdAt: 1, _id: 1 });
    return docs.map((d) => NedbPortals.toPortal(d));
  }

  async delete(roomId: string): Promise<boolean> {
    return (await this.s.db('portals', true).remove({ _id: roomId }, { multi: false })) > 0;
  }

  count(): Promise<number> {
    return this.s.db('portals').count({});
  }
}

class NedbGhosts implements GhostRepository {
  constructor(private readonly s: NedbStore) {}

  private static toGhost(d: GhostDoc): GhostRecord {
    const g: GhostRecord = { key: cleanGhostKey(d.key), userId: d.userId };
    if (d.displayName !== undefined) g.displayName = d.displayName;
    if (d.avatarMxc !== undefined) g.avatarMxc = d.avatarMxc;
    if (d.avatarSource !== undefined) g.avatarSource = d.avatarSource;
    if (d.data !== undefined) g.data = parseData(d.data);
    return g;
  }

  async put(ghost: GhostRecord): Promise<void> {
    const key = cleanGhostKey(ghost.key);
    const doc: GhostDoc = { _id: ghostKeyString(key), key, userId: ghost.userId };
    if (ghost.displayName !== undefined) doc.displayName = ghost.displayName;
    if (ghost.avatarMxc !== undefined) doc.avatarMxc = ghost.avatarMxc;
    if (ghost.avatarSource !== undefined) doc.avatarSource = ghost.avatarSource;
    if (ghost.data !== undefined) doc.data = encodeJson(ghost.data, 'ghost.data');
    try {
      await this.s.db('ghosts', true).update({ _id: doc._id }, doc, { upsert: true });
    } catch (e) {
      if (isUniqueViolation(e)) throw new Error(`ghost user ID ${ghost.userId} already belongs to another remote user`, { cause: e });
      throw e;
    }
  }

  async get(key: GhostKey): Promise<GhostRecord | undefined> {
    const d = await this.s.db('ghosts').findOne<GhostDoc>({ _id: ghostKeyString(key) });
    return d ? NedbGhosts.toGhost(d) : undefined;
  }

  async getByUserId(userId: string): Promise<GhostRecord | undefined> {
    const d = await this.s.db('ghosts').findOne<GhostDoc>({ userId });
    return d ? NedbGhosts.toGhost(d) : undefined;
  }

  count(): Promise<number> {
    return this.s.db('ghosts').count({});
  }
}

/** The message map, through the store (so it follows init/close). */
class NedbMessages implements MessageRepository {
  constructor(private readonly s: NedbStore) {}
  put(r: MessageRecord): Promise<void> {
    return this.s.messageMap().put(r);
  }
  getByEvent(roomId: string, eventId: string): Promise<MessageRecord[]> {
    return this.s.messageMap().getByEvent(roomId, eventId);
  }
  getByRemote(portal: PortalKey, remoteId: string): Promise<MessageRecord[]> {
    return this.s.messageMap().getByRemote(portal, remoteId);
  }
  deleteByEvent(roomId: string, eventId: string): Promise<void> {
    return this.s.messageMap().deleteByEvent(roomId, eventId);
  }
  prune(olderThan: number): Promise<number> {
    return this.s.messageMap().prune(olderThan);
  }
  count(): Promise<number> {
    return this.s.messageMap().count();
  }
}

/** The durable queues, through the store (so they follow init/close). */
class NedbQueues implements QueueRepository {
  constructor(private readonly s: NedbStore) {}
  async append<T = unknown>(queue: string, key: string, values: readonly T[], createdAt?: number): Promise<QueueRecord<T>[]> {
    return this.s.queueStore().append(queue, key, values, createdAt);
  }
  async list<T = unknown>(queue: string, opts?: { key?: string; limit?: number }): Promise<QueueRecord<T>[]> {
    return this.s.queueStore().list(queue, opts);
  }
  async markAttempted(queue: string, seqs: readonly number[]): Promise<void> {
    return this.s.queueStore().markAttempted(queue, seqs);
  }
  async remove(queue: string, seqs: readonly number[]): Promise<number> {
    return this.s.queueStore().remove(queue, seqs);
  }
  async count(queue?: string): Promise<number> {
    return this.s.queueStore().count(queue);
  }
}

class NedbIntents implements IntentRepository {
  constructor(private readonly s: NedbStore) {}

  async get(userId: string): Promise<IntentRecord | undefined> {
    const d = await this.s.db('intents').findOne<IntentDoc>({ _id: userId });
    if (!d) return undefined;
    const r: IntentRecord = { userId: d._id, registered: d.registered };
    if (d.displayName !== undefined) r.displayName = d.displayName;
    if (d.avatarUrl !== undefined) r.avatarUrl = d.avatarUrl;
    return r;
  }

  async put(record: IntentRecord): Promise<void> {
    const doc: IntentDoc = { _id: record.userId, registered: !!record.registered };
    if (record.displayName !== undefined) doc.displayName = record.displayName;
    if (record.avatarUrl !== undefined) doc.avatarUrl = record.avatarUrl;
    await this.s.db('intents', true).update({ _id: doc._id }, doc, { upsert: true });
  }

  async getMembership(roomId: string, userId: string): Promise<StoredMembership | undefined> {
    const d = await this.s.db('memberships').findOne<MembershipDoc>({ _id: roomId + SEP + userId });
    return d?.membership;
  }

  async setMembership(roomId: string, userId: string, membership: StoredMembership): Promise<void> {
    assertMembership(membership);
    const doc: MembershipDoc = { _id: roomId + SEP + userId, roomId, userId, membership };
    await this.s.db('memberships', true).update({ _id: doc._id }, doc, { upsert: true });
  }

  async joinedRooms(userId: string): Promise<string[]> {
    const docs = await this.s.db('memberships').find<MembershipDoc>({ userId, membership: 'join' }).sort({ roomId: 1 });
    return docs.map((d) => d.roomId);
  }

  async forgetRoom(roomId: string): Promise<void> {
    await this.s.db('memberships', true).remove({ roomId }, { multi: true });
  }
}

/** The key-value log, through the store (so it follows init/close). */
class NedbKv implements KeyValueRepository {
  constructor(private readonly s: NedbStore) {}
  async get<T = unknown>(namespace: string, key: string): Promise<T | undefined> {
    return this.s.kvStore().get<T>(namespace, key);
  }
  async put<T = unknown>(namespace: string, key: string, value: T, opts?: { expiresAt?: number }): Promise<void> {
    return this.s.kvStore().put(namespace, key, value, opts);
  }
  async delete(namespace: string, key: string): Promise<boolean> {
    return this.s.kvStore().delete(namespace, key);
  }
  async list<T = unknown>(namespace: string, opts?: { prefix?: string; limit?: number }): Promise<Array<{ key: string; value: T }>> {
    return this.s.kvStore().list<T>(namespace, opts);
  }
}
