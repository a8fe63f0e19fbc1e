/**
 * The embedded store's message map: `messages.db`, in NeDB's own datafile
 * format, kept by a purpose-built log instead of a NeDB datastore.
 *
 * Why: the message map takes one write per relayed message in each direction,
 * and through NeDB each write paid for four AVL-tree index inserts, deep copies
 * of the document, and a file open + append + close per batch. At 1,000
 * messages a second that was the largest single cost of the IRC bridge's
 * process. The map needs only three lookups (by Matrix event, by remote
 * message, by age), which plain Maps answer.
 *
 * The file stays what NeDB writes, so nothing is migrated and an older
 * Causeway still reads it: one JSON document per line, a later line for the
 * same `_id` replacing the earlier one, `{"$$deleted":true,"_id":…}` removing
 * it, `$$indexCreated` lines kept through compaction. Appends go through one
 * file handle that stays open; compaction (when most lines are dead, on the
 * store's compaction timer and at close) rewrites it via temp file + fsync +
 * rename, in chunks that yield to the event loop.
 *
 * Durability is NeDB's: a put's promise settles once its line is written (not
 * fsynced); a torn last line from a crash is cut off before loading
 * (repair.ts). Lookups see a put at once, before its line is on disk.
 *
 * Writing is a group commit: a put made while no write is on its way goes out
 * at the end of this event-loop turn, with every other put of the turn; puts
 * made while one is on its way gather and share the next. A put is never held
 * back by a timer: callers wait for it (the remote event applier answers a
 * connector's `emit` once the event's mapping is written), and the fixed 10 ms
 * batching window this replaced put 10 ms on every message of a portal whose
 * connector emits one at a time.
 *
 * Memory: the embedded store holds the whole map (message_retention_days of
 * it), so a record in memory keeps only what a lookup returns. The file's
 * `_id`, `ev` and `rk` keys are derived when a line is written; lookups go
 * room → event and portal → remote ID through nested Maps keyed by strings
 * the record holds anyway, and a key with one record holds it without an array.
 */
import { createReadStream, promises as fs } from 'node:fs';
import { createInterface } from 'node:readline';
import { portalKeyString, type PortalKey } from '../../connector/ids';
import { getLogger } from '../../logging/logger';
import { cleanPortalKey, StoreClosedError } from '../common';
import type { MessageRecord, MessageRepository } from '../store';
import { openPrivate } from '../../util/private-files';

const log = getLogger('store').child({ module: 'nedb' });

const SEP = '\u0000';
/** Compaction runs by itself once dead lines outnumber live documents by this many. */
const AUTO_COMPACT_SLACK = 10_000;
/** Documents written per event-loop turn while compacting. */
const COMPACT_CHUNK = 5_000;
/** Like NeDB: a file with more unreadable lines than this share is refused, not half-loaded. */
const CORRUPT_LIMIT = 0.1;

/** A record as held in memory. `pk` is portalKeyString(portal), shared by the portal's records. */
interface MessageDoc {
  roomId: string;
  eventId: string;
  portal: PortalKey;
  pk: string;
  remoteId: string;
  part: number;
  sender: string;
  timestamp: number;
  body?: string;
}

/** A line of the file: NeDB's `_id`, and `ev`/`rk` as earlier versions indexed them. */
type FileDoc = Omit<MessageDoc, 'pk'> & { _id: string; ev: string; rk: string };

/** The records under one key: most keys have one, held without an array. */
type Slot = MessageDoc | MessageDoc[];

interface Pending {
  line: string;
  count: number;
  resolve: () => void;
  reject: (e: unknown) => void;
}

export class MessageLog implements MessageRepository {
  /** room ID → event ID → the event's parts. */
  private readonly byEvent = new Map<string, Map<string, Slot>>();
  /** portal key string → remote ID → its records (one per room it reached). */
  private readonly byRemote = new Map<string, Map<string, Slot>>();
  /** One portal key object and key string per portal, shared by its records. */
  private readonly portals = new Map<string, { portal: PortalKey; pk: string }>();
  /** Records in memory. */
  private live = 0;
  /** `$$indexCreated` lines found in the file, written back by compaction. */
  private indexLines: string[] = [];
  /** Lines written to the file (all kinds): with the live count, how much compaction would save. */
  private fileLines = 0;
  private fh: fs.FileHandle | undefined;
  private pending: Pending[] = [];
  /** A flush is queued for the end of this event-loop turn. */
  private flushQueued = false;
  /** Batches on the write chain and not yet written: while there is one, new puts gather for the next. */
  private writing = 0;
  /** The write chain: batches and compactions, one at a time, in order. */
  private chain: Promise<void> = Promise.resolve();
  private closed = false;
  private compactQueued = false;

  private constructor(private readonly file: string) {}

  /** Loads `file` (missing = empty) and opens it for appending. */
  static async open(file: string): Promise<MessageLog> {
    const m = new MessageLog(file);
    await m.load();
    m.fh = await openPrivate(file, 'a');
    return m;
  }

  private async load(): Promise<void> {
    let lines = 0;
    let corrupt = 0;
    const exists = await fs.stat(this.file).then(
      () => true,
      (e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT') return false;
        throw e;
      },
    );
    if (exists) {
      const rl = createInterface({ input: createReadStream(this.file, { encoding: 'utf8' }), crlfDelay: Infinity });
      for await (const line of rl) {
        if (line === '') continue;
        lines++;
        let doc: Record<string, unknown>;
        try {
          doc = JSON.parse(line) as Record<string, unknown>;
        } catch {
          corrupt++;
          continue;
        }
        if (doc.$$indexCreated !== undefined) {
          this.indexLines.push(line);
        } else if (doc.$$deleted === true && typeof doc._id === 'string') {
          const id = parseId(doc._id);
          if (id) this.forget(id.roomId, id.eventId, id.part);
        } else if (isFileDoc(doc)) {
          this.remember(this.toDoc(doc));
        } else {
          corrupt++;
        }
      }
    }
    if (lines > 0 && corrupt / lines > CORRUPT_LIMIT) {
      throw new Error(
        `${this.file}: ${corrupt} of ${lines} lines are not message records (over ${CORRUPT_LIMIT * 100}%); refusing to load it`,
      );
    }
    if (corrupt) log.warn('Skipped unreadable lines in the message map', { file: this.file, lines: corrupt });
    this.fileLines = lines;
  }

  // ---- the repository ------------------------------------------------------------

  put(r: MessageRecord): Promise<void> {
    this.assertOpen();
    const doc = this.toDoc(r);
    this.remember(doc);
    return this.append(toLine(doc));
  }

  async getByEvent(roomId: string, eventId: string): Promise<MessageRecord[]> {
    const docs = list(this.byEvent.get(roomId)?.get(eventId));
    return docs.sort((a, b) => a.part - b.part).map(toRecord);
  }

  async getByRemote(portal: PortalKey, remoteId: string): Promise<MessageRecord[]> {
    const docs = list(this.byRemote.get(portalKeyString(cleanPortalKey(portal)))?.get(remoteId));
    return docs.sort((a, b) => a.part - b.part || (a.roomId < b.roomId ? -1 : a.roomId > b.roomId ? 1 : 0)).map(toRecord);
  }

  async deleteByEvent(roomId: string, eventId: string): Promise<void> {
    this.assertOpen();
    const docs = list(this.byEvent.get(roomId)?.get(eventId));
    if (docs.length === 0) return;
    for (const d of docs) this.forget(d.roomId, d.eventId, d.part);
    await this.append(docs.map(tombstone).join('\n'), docs.length);
  }

  async prune(olderThan: number): Promise<number> {
    this.assertOpen();
    const old: MessageDoc[] = [];
    for (const d of this.docs()) if (d.timestamp < olderThan) old.push(d);
    if (old.length === 0) return 0;
    for (const d of old) this.forget(d.roomId, d.eventId, d.part);
    await this.append(old.map(tombstone).join('\n'), old.length);
    return old.length;
  }

  async count(): Promise<number> {
    return this.live;
  }

  // ---- memory ----------------------------------------------------------------------

  /** The shared key object and key string for a portal. */
  private portal(key: PortalKey): { portal: PortalKey; pk: string } {
    const clean = cleanPortalKey(key);
    const pk = portalKeyString(clean);
    let known = this.portals.get(pk);
    if (!known) this.portals.set(pk, (known = { portal: clean, pk }));
    return known;
  }

  /** The in-memory form of a record (or of a line read from the file). */
  private toDoc(d: MessageRecord): MessageDoc {
    const { portal, pk } = this.portal(d.portal);
    const doc: MessageDoc = {
      roomId: d.roomId,
      eventId: d.eventId,
      portal,
      pk,
      remoteId: d.remoteId,
      part: d.part,
      sender: d.sender,
      timestamp: d.timestamp,
    };
    if (d.body !== undefined) doc.body = d.body;
    return doc;
  }

  private remember(doc: MessageDoc): void {
    this.forget(doc.roomId, doc.eventId, doc.part);
    add(this.byEvent, doc.roomId, doc.eventId, doc);
    add(this.byRemote, doc.pk, doc.remoteId, doc);
    this.live++;
  }

  private forget(roomId: string, eventId: string, part: number): void {
    const old = list(this.byEvent.get(roomId)?.get(eventId)).find((d) => d.part === part);
    if (!old) return;
    remove(this.byEvent, old.roomId, old.eventId, old);
    remove(this.byRemote, old.pk, old.remoteId, old);
    this.live--;
  }

  /** Every record in memory. */
  private *docs(): IterableIterator<MessageDoc> {
    for (const events of this.byEvent.values()) for (const slot of events.values()) yield* list(slot);
  }

  // ---- the file --------------------------------------------------------------------

  /** Queues `line` (holding `count` records) for the next batch; settles when it is written. */
  private append(line: string, count = 1): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ line, count, resolve, reject });
      this.kick();
    });
  }

  /**
   * Group commit: with no batch on its way, what was put in this event-loop turn (every answer
   * that arrived in it) is written at its end; otherwise it waits for that batch to be written
   * and goes out with everything put meanwhile.
   */
  private kick(): void {
    if (this.writing > 0 || this.flushQueued) return;
    this.flushQueued = true;
    setImmediate(() => {
      this.flushQueued = false;
      void this.flush(); // never rejects: a failed write rejects its batch's own promises
    });
  }

  /** Puts what is waiting on the write chain now. */
  private flush(): Promise<void> {
    const batch = this.pending;
    if (batch.length === 0) return this.chain;
    this.pending = [];
    this.writing++;
    this.chain = this.chain.then(async () => {
      try {
        await this.fh!.appendFile(batch.map((p) => p.line).join('\n') + '\n');
        for (const p of batch) this.fileLines += p.count;
        for (const p of batch) p.resolve();
      } catch (err) {
        log.error('Message map: append failed', { file: this.file, error: err as Error });
        for (const p of batch) p.reject(err);
      } finally {
        this.writing--;
        if (this.pending.length) this.kick();
      }
    });
    // Checked with the lines written so far: a prune's tombstones trigger it one batch later.
    if (!this.compactQueued && this.fileLines > 2 * this.live + AUTO_COMPACT_SLACK) void this.compact();
    return this.chain;
  }

  /** Dead lines in the file: what a compaction would remove. */
  get waste(): number {
    return Math.max(0, this.fileLines - this.live - this.indexLines.length);
  }

  /**
   * Rewrites the file with one line per live record (temp file, fsync, rename).
   * Writes made meanwhile wait on the chain and land in the new file.
   */
  compact(): Promise<void> {
    this.compactQueued = true;
    const run = this.chain
      .then(async () => {
        this.compactQueued = false;
        if (this.waste === 0) return;
        const tmp = `${this.file}~`;
        const out = await openPrivate(tmp, 'w');
        let lines = this.indexLines.length;
        try {
          if (this.indexLines.length) await out.appendFile(this.indexLines.join('\n') + '\n');
          let chunk: string[] = [];
          for (const doc of this.docs()) {
            chunk.push(toLine(doc));
            if (chunk.length >= COMPACT_CHUNK) {
              lines += chunk.length;
              await out.appendFile(chunk.join('\n') + '\n');
              chunk = [];
              await new Promise((r) => setImmediate(r)); // a large map must not stall the bridge
            }
          }
          lines += chunk.length;
          if (chunk.length) await out.appendFile(chunk.join('\n') + '\n');
          await out.sync();
        } finally {
          await out.close();
        }
        await fs.rename(tmp, this.file);
        await this.fh!.close();
        this.fh = await openPrivate(this.file, 'a');
        // Batches queued behind this compaction count themselves as they are written.
        this.fileLines = lines;
      })
      .catch((err) => {
        log.warn('Message map compaction failed', { file: this.file, error: err as Error });
      });
    this.chain = run;
    return run;
  }

  /** Writes everything pending, compacts if anything is dead, and closes the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.flush();
    await this.compact();
    await this.chain;
    await this.fh?.close();
    this.fh = undefined;
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreClosedError('nedb store (message map)');
  }
}

/** NeDB's `_id` of a record: one per (room, event, part). */
function idOf(d: MessageDoc): string {
  return d.roomId + SEP + d.eventId + SEP + d.part;
}

function parseId(id: string): { roomId: string; eventId: string; part: number } | null {
  const [roomId, eventId, part, ...rest] = id.split(SEP);
  return eventId === undefined || part === undefined || rest.length || !/^\d+$/.test(part) ? null : { roomId, eventId, part: Number(part) };
}

/** The record's line in the file, with the keys NeDB and earlier versions read. */
function toLine(d: MessageDoc): string {
  const ev = d.roomId + SEP + d.eventId;
  const line: FileDoc = {
    _id: ev + SEP + d.part,
    ev,
    rk: d.pk + SEP + d.remoteId,
    roomId: d.roomId,
    eventId: d.eventId,
    portal: d.portal,
    remoteId: d.remoteId,
    part: d.part,
    sender: d.sender,
    timestamp: d.timestamp,
  };
  if (d.body !== undefined) line.body = d.body;
  return JSON.stringify(line);
}

function tombstone(d: MessageDoc): string {
  return JSON.stringify({ $$deleted: true, _id: idOf(d) });
}

function list(slot: Slot | undefined): MessageDoc[] {
  return slot === undefined ? [] : Array.isArray(slot) ? [...slot] : [slot];
}

function add(m: Map<string, Map<string, Slot>>, k1: string, k2: string, d: MessageDoc): void {
  let inner = m.get(k1);
  if (!inner) m.set(k1, (inner = new Map<string, Slot>()));
  const slot = inner.get(k2);
  if (slot === undefined) inner.set(k2, d);
  else if (Array.isArray(slot)) slot.push(d);
  else inner.set(k2, [slot, d]);
}

function remove(m: Map<string, Map<string, Slot>>, k1: string, k2: string, d: MessageDoc): void {
  const inner = m.get(k1);
  const slot = inner?.get(k2);
  if (!inner || slot === undefined) return;
  if (Array.isArray(slot)) {
    const i = slot.indexOf(d);
    if (i >= 0) slot.splice(i, 1);
    if (slot.length === 1) inner.set(k2, slot[0]);
    else if (slot.length === 0) inner.delete(k2);
  } else if (slot === d) {
    inner.delete(k2);
  }
  if (inner.size === 0) m.delete(k1);
}

function isFileDoc(d: Record<string, unknown>): d is FileDoc & Record<string, unknown> {
  return (
    typeof d._id === 'string' &&
    typeof d.roomId === 'string' &&
    typeof d.eventId === 'string' &&
    typeof d.remoteId === 'string' &&
    typeof d.part === 'number' &&
    !!d.portal &&
    typeof d.portal === 'object'
  );
}

function toRecord(d: MessageDoc): MessageRecord {
  const r: MessageRecord = {
    roomId: d.roomId,
    eventId: d.eventId,
    portal: cleanPortalKey(d.portal),
    remoteId: d.remoteId,
    part: d.part,
    sender: d.sender,
    timestamp: d.timestamp,
  };
  if (d.body !== undefined) r.body = d.body;
  return r;
}
