/**
 * The embedded store's key-value repository (`ctx.data`): `kv.db`, in NeDB's own datafile format,
 * kept in memory by namespace and written by a Datafile (datafile.ts) instead of a NeDB
 * datastore.
 *
 * Why: connectors write here on their hot paths (a Slack event id per event for exactly-once, a
 * Gitter send's id per message), and a NeDB upsert cost an index update, deep copies and a file
 * open + append + close each. The lookups are by namespace and key, and a namespace's keys in
 * order: nested Maps answer them.
 *
 * A put is seen by get/list at once and settles once its line is written (NeDB's durability).
 * The file's lines are what NeDB wrote (`_id` = namespace NUL key, `ns`, `key`, `value` as JSON
 * text, `expiresAt`), so an existing kv.db loads as it is and an older Causeway still reads ours.
 */
import { encodeJson } from '../common';
import type { KeyValueRepository } from '../store';
import { DatafileRepository } from './datafile';

const SEP = '\u0000';

/** A value in memory: its JSON text (parsed on every read, so callers never share an object). */
interface Entry {
  value: string;
  expiresAt?: number;
}

export class KvLog extends DatafileRepository implements KeyValueRepository {
  readonly what = 'key-value store';
  /** namespace → key → entry. */
  private readonly spaces = new Map<string, Map<string, Entry>>();
  private live = 0;

  private constructor() {
    super();
  }

  /** Loads `file` (missing = empty) and opens it for appending. */
  static async open(file: string): Promise<KvLog> {
    const kv = new KvLog();
    await kv.openFile(file);
    return kv;
  }

  // ---- the repository ----------------------------------------------------------------

  async get<T = unknown>(namespace: string, key: string): Promise<T | undefined> {
    const e = this.spaces.get(namespace)?.get(key);
    return e && isLive(e, Date.now()) ? (JSON.parse(e.value) as T) : undefined;
  }

  async put<T = unknown>(namespace: string, key: string, value: T, opts?: { expiresAt?: number }): Promise<void> {
    this.assertOpen();
    const e: Entry = { value: encodeJson(value, `kv ${namespace}/${key}`) };
    if (opts?.expiresAt !== undefined) e.expiresAt = opts.expiresAt;
    this.set(namespace, key, e);
    await this.append(toLine(namespace, key, e));
  }

  async delete(namespace: string, key: string): Promise<boolean> {
    this.assertOpen();
    const e = this.spaces.get(namespace)?.get(key);
    if (!e) return false;
    this.unset(namespace, key);
    await this.append(tombstone(namespace, key));
    return isLive(e, Date.now());
  }

  async list<T = unknown>(namespace: string, opts: { prefix?: string; limit?: number } = {}): Promise<Array<{ key: string; value: T }>> {
    const now = Date.now();
    const prefix = opts.prefix ?? '';
    const keys: string[] = [];
    for (const [key, e] of this.spaces.get(namespace) ?? []) if (key.startsWith(prefix) && isLive(e, now)) keys.push(key);
    keys.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const limited = opts.limit !== undefined && opts.limit >= 0 ? keys.slice(0, opts.limit) : keys;
    const space = this.spaces.get(namespace)!;
    return limited.map((key) => ({ key, value: JSON.parse(space.get(key)!.value) as T }));
  }

  /** Removes expired entries (they are already invisible); returns how many went. */
  async sweepExpired(now = Date.now()): Promise<number> {
    if (this.isClosed) return 0;
    const gone: string[] = [];
    for (const [ns, space] of this.spaces) {
      for (const [key, e] of space) {
        if (isLive(e, now)) continue;
        this.unset(ns, key);
        gone.push(tombstone(ns, key));
      }
    }
    if (gone.length) await this.append(gone.join('\n'), gone.length);
    return gone.length;
  }

  // ---- the datafile's owner ----------------------------------------------------------

  loadDoc(doc: Record<string, unknown>): boolean {
    const { ns, key, value, expiresAt } = doc;
    if (typeof ns !== 'string' || typeof key !== 'string' || typeof value !== 'string') return false;
    if (expiresAt !== undefined && typeof expiresAt !== 'number') return false;
    this.set(ns, key, expiresAt === undefined ? { value } : { value, expiresAt });
    return true;
  }

  loadDeletion(id: string): void {
    const at = id.indexOf(SEP);
    if (at >= 0) this.unset(id.slice(0, at), id.slice(at + 1));
  }

  liveCount(): number {
    return this.live;
  }

  *liveLines(): IterableIterator<string> {
    for (const [ns, space] of this.spaces) for (const [key, e] of space) yield toLine(ns, key, e);
  }

  // ---- memory and the file -----------------------------------------------------------

  private set(ns: string, key: string, e: Entry): void {
    let space = this.spaces.get(ns);
    if (!space) this.spaces.set(ns, (space = new Map<string, Entry>()));
    if (!space.has(key)) this.live++;
    space.set(key, e);
  }

  private unset(ns: string, key: string): void {
    const space = this.spaces.get(ns);
    if (!space?.delete(key)) return;
    this.live--;
    if (space.size === 0) this.spaces.delete(ns);
  }
}

function isLive(e: Entry, now: number): boolean {
  return e.expiresAt === undefined || e.expiresAt > now;
}

/** The entry's line in the file, as NeDB wrote kv documents. */
function toLine(ns: string, key: string, e: Entry): string {
  const doc: { _id: string; ns: string; key: string; value: string; expiresAt?: number } = { _id: ns + SEP + key, ns, key, value: e.value };
  if (e.expiresAt !== undefined) doc.expiresAt = e.expiresAt;
  return JSON.stringify(doc);
}

function tombstone(ns: string, key: string): string {
  return JSON.stringify({ $$deleted: true, _id: ns + SEP + key });
}
