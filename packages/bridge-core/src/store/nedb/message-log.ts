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
 */
import { createReadStream, promises as fs } from 'node:fs';
import { createInterface } from 'node:readline';
import { portalKeyString, type PortalKey } from '../../connector/ids';
import { getLogger } from '../../logging/logger';
import { cleanPortalKey, StoreClosedError } from '../common';
import type { MessageRecord, MessageRepository } from '../store';

const log = getLogger('store').child({ module: 'nedb' });

const SEP = '\u0000';
/** How long the first write of a batch waits for others to share its append. */
const BATCH_WINDOW_MS = 10;
/** Compaction runs by itself once dead lines outnumber live documents by this many. */
const AUTO_COMPACT_SLACK = 10_000;
/** Documents written per event-loop turn while compacting. */
const COMPACT_CHUNK = 5_000;
/** Like NeDB: a file with more unreadable lines than this share is refused, not half-loaded. */
const CORRUPT_LIMIT = 0.1;

interface MessageDoc {
  _id: string; ev: string; rk: string; roomId: string; eventId: string; portal: PortalKey; remoteId: string;
  part: number; sender: string; timestamp: number; body?: string;
}

interface Pending { line: string; count: number; resolve: () => void; reject: (e: unknown) => void }

export class MessageLog implements MessageRepository {
  private readonly byId = new Map<string, MessageDoc>();
  private readonly byEvent = new Map<string, MessageDoc[]>();
  private readonly byRemote = new Map<string, MessageDoc[]>();
  /** `$$indexCreated` lines found in the file, written back by compaction. */
  private indexLines: string[] = [];
  /** Lines written to the file (all kinds): with the live count, how much compaction would save. */
  private fileLines = 0;
  private fh: fs.FileHandle | undefined;
  private pending: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** The write chain: batches and compactions, one at a time, in order. */
  private chain: Promise<void> = Promise.resolve();
  private closed = false;
  private compactQueued = false;

  private constructor(private readonly file: string) {}

  /** Loads `file` (missing = empty) and opens it for appending. */
  static async open(file: string): Promise<MessageLog> {
    const m = new MessageLog(file);
    await m.load();
    m.fh = await fs.open(file, 'a');
    return m;
  }

  private async load(): Promise<void> {
    let lines = 0;
    let corrupt = 0;
    const exists = await fs.stat(this.file).then(() => true, (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return false;
      throw e;
    });
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
          this.forget(doc._id);
        } else if (isMessageDoc(doc)) {
          this.remember(doc);
        } else {
          corrupt++;
        }
      }
    }
    if (lines > 0 && corrupt / lines > CORRUPT_LIMIT) {
      throw new Error(`${this.file}: ${corrupt} of ${lines} lines are not message records (over ${CORRUPT_LIMIT * 100}%); refusing to load it`);
    }
    if (corrupt) log.warn('Skipped unreadable lines in the message map', { file: this.file, lines: corrupt });
    this.fileLines = lines;
  }

  // ---- the repository ------------------------------------------------------------

  put(r: MessageRecord): Promise<void> {
    this.assertOpen();
    const portal = cleanPortalKey(r.portal);
    const ev = r.roomId + SEP + r.eventId;
    const doc: MessageDoc = {
      _id: ev + SEP + r.part, ev, rk: portalKeyString(portal) + SEP + r.remoteId,
      roomId: r.roomId, eventId: r.eventId, portal, remoteId: r.remoteId, part: r.part, sender: r.sender, timestamp: r.timestamp,
    };
    if (r.body !== undefined) doc.body = r.body;
    this.remember(doc);
    return this.append(JSON.stringify(doc));
  }

  async getByEvent(roomId: string, eventId: string): Promise<MessageRecord[]> {
    const docs = this.byEvent.get(roomId + SEP + eventId);
    return docs ? [...docs].sort((a, b) => a.part - b.part).map(toRecord) : [];
  }

  async getByRemote(portal: PortalKey, remoteId: string): Promise<MessageRecord[]> {
    const docs = this.byRemote.get(portalKeyString(cleanPortalKey(portal)) + SEP + remoteId);
    if (!docs) return [];
    return [...docs].sort((a, b) => a.part - b.part || (a.roomId < b.roomId ? -1 : a.roomId > b.roomId ? 1 : 0)).map(toRecord);
  }

  async deleteByEvent(roomId: string, eventId: string): Promise<void> {
    this.assertOpen();
    const docs = this.byEvent.get(roomId + SEP + eventId);
    if (!docs) return;
    const ids = docs.map((d) => d._id);
    for (const id of ids) this.forget(id);
    await this.append(ids.map(tombstone).join('\n'), ids.length);
  }

  async prune(olderThan: number): Promise<number> {
    this.assertOpen();
    const ids: string[] = [];
    for (const d of this.byId.values()) if (d.timestamp < olderThan) ids.push(d._id);
    if (ids.length === 0) return 0;
    for (const id of ids) this.forget(id);
    await this.append(ids.map(tombstone).join('\n'), ids.length);
    return ids.length;
  }

  // ---- memory ----------------------------------------------------------------------

  private remember(doc: MessageDoc): void {
    this.forget(doc._id);
    this.byId.set(doc._id, doc);
    push(this.byEvent, doc.ev, doc);
    push(this.byRemote, doc.rk, doc);
  }

  private forget(id: string): void {
    const old = this.byId.get(id);
    if (!old) return;
    this.byId.delete(id);
    pull(this.byEvent, old.ev, old);
    pull(this.byRemote, old.rk, old);
  }

  // ---- the file --------------------------------------------------------------------

  /** Queues `line` (holding `count` records) for the next batch; settles when it is written. */
  private append(line: string, count = 1): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ line, count, resolve, reject });
      // The first write of a batch waits a few ms for company: one write() per batch, not per message.
      this.timer ??= setTimeout(() => {
        this.timer = undefined;
        this.flush();
      }, BATCH_WINDOW_MS);
    });
  }

  /** Puts what is waiting on the write chain now. */
  private flush(): Promise<void> {
    if (this.timer) { clearTimeout(this.timer); this.timer = undefined; }
    const batch = this.pending;
    if (batch.length === 0) return this.chain;
    this.pending = [];
    this.chain = this.chain.then(async () => {
      try {
        await this.fh!.appendFile(batch.map((p) => p.line).join('\n') + '\n');
        for (const p of batch) this.fileLines += p.count;
        for (const p of batch) p.resolve();
      } catch (err) {
        log.error('Message map: append failed', { file: this.file, error: err as Error });
        for (const p of batch) p.reject(err);
      }
    });
    // Checked with the lines written so far: a prune's tombstones trigger it one batch later.
    if (!this.compactQueued && this.fileLines > 2 * this.byId.size + AUTO_COMPACT_SLACK) void this.compact();
    return this.chain;
  }

  /** Dead lines in the file: what a compaction would remove. */
  get waste(): number {
    return Math.max(0, this.fileLines - this.byId.size - this.indexLines.length);
  }

  /**
   * Rewrites the file with one line per live record (temp file, fsync, rename).
   * Writes made meanwhile wait on the chain and land in the new file.
   */
  compact(): Promise<void> {
    this.compactQueued = true;
    const run = this.chain.then(async () => {
      this.compactQueued = false;
      if (this.waste === 0) return;
      const tmp = `${this.file}~`;
      const out = await fs.open(tmp, 'w');
      let lines = this.indexLines.length;
      try {
        if (this.indexLines.length) await out.appendFile(this.indexLines.join('\n') + '\n');
        let chunk: string[] = [];
        for (const doc of this.byId.values()) {
          chunk.push(JSON.stringify(doc));
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
      this.fh = await fs.open(this.file, 'a');
      // Batches queued behind this compaction count themselves as they are written.
      this.fileLines = lines;
    }).catch((err) => {
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

function tombstone(id: string): string {
  return JSON.stringify({ $$deleted: true, _id: id });
}

function push(m: Map<string, MessageDoc[]>, k: string, d: MessageDoc): void {
  const list = m.get(k);
  if (list) list.push(d); else m.set(k, [d]);
}

function pull(m: Map<string, MessageDoc[]>, k: string, d: MessageDoc): void {
  const list = m.get(k);
  if (!list) return;
  const i = list.indexOf(d);
  if (i >= 0) list.splice(i, 1);
  if (list.length === 0) m.delete(k);
}

function isMessageDoc(d: Record<string, unknown>): d is MessageDoc & Record<string, unknown> {
  return typeof d._id === 'string' && typeof d.ev === 'string' && typeof d.rk === 'string' && typeof d.roomId === 'string'
    && typeof d.eventId === 'string' && typeof d.remoteId === 'string' && typeof d.part === 'number'
    && !!d.portal && typeof d.portal === 'object';
}

function toRecord(d: MessageDoc): MessageRecord {
  const r: MessageRecord = {
    roomId: d.roomId, eventId: d.eventId, portal: cleanPortalKey(d.portal), remoteId: d.remoteId,
    part: d.part, sender: d.sender, timestamp: d.timestamp,
  };
  if (d.body !== undefined) r.body = d.body;
  return r;
}
