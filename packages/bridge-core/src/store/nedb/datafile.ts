/**
 * A datafile in NeDB's own format, written by a purpose-built log rather than a NeDB datastore:
 * the file half of the embedded store's message map and key-value store (their lookups are plain
 * Maps kept by the owner).
 *
 * Why not a NeDB datastore: each NeDB write pays for index inserts, deep copies of the document,
 * and a file open + append + close. The message map and `ctx.data` take writes on the hot path
 * (a message map entry per relayed message, a Slack event id, a Gitter send's id), where that was
 * the largest single cost of the bridge's process.
 *
 * The file stays what NeDB writes, so nothing is migrated and an older Causeway still reads it:
 * one JSON document per line, a later line for the same `_id` replacing the earlier one,
 * `{"$$deleted":true,"_id":…}` removing it, `$$indexCreated` lines kept through compaction.
 * Appends go through one file handle that stays open; compaction (when most lines are dead, on
 * the store's compaction timer and at close) rewrites it via temp file + fsync + rename, in chunks
 * that yield to the event loop.
 *
 * Durability is NeDB's: an append's promise settles once its line is written (not fsynced); a
 * torn last line from a crash is cut off before loading (repair.ts). The write itself is a
 * synchronous one (util/write-all-sync.ts says why); compaction stays asynchronous.
 *
 * Writing is a group commit: an append made while no write is on its way goes out at the end of
 * this event-loop turn, with every other append of the turn; appends made while one is on its way
 * gather and share the next. An append is never held back by a timer: callers wait for it, and a
 * fixed batching window would put its length on every message of a connector that emits one at
 * a time.
 */
import { createReadStream, promises as fs } from 'node:fs';
import { createInterface } from 'node:readline';
import { getLogger } from '../../logging/logger';
import { StoreClosedError } from '../common';
import { openPrivate, replacePrivateFile } from '../../util/private-files';
import { writeAllSync } from '../../util/write-all-sync';

const log = getLogger('store').child({ module: 'nedb' });

/** Compaction runs by itself once dead lines outnumber live documents by this many. */
const AUTO_COMPACT_SLACK = 10_000;
/** Documents written per event-loop turn while compacting. */
const COMPACT_CHUNK = 5_000;
/** Like NeDB: a file with more unreadable lines than this share is refused, not half-loaded. */
const CORRUPT_LIMIT = 0.1;

/** What the owner of a datafile does with its lines as they are loaded, and gives back to compaction. */
export interface DatafileOwner {
  /** What the file holds, for messages ("message map", "key-value store"). */
  readonly what: string;
  /** A document line; false when it is not one of the owner's documents (counted as unreadable). */
  loadDoc(doc: Record<string, unknown>): boolean;
  /** A `$$deleted` line. */
  loadDeletion(id: string): void;
  /** Documents in memory: with the lines written, how much a compaction would save. */
  liveCount(): number;
  /** One line per live document, for compaction. */
  liveLines(): Iterable<string>;
}

interface Pending {
  line: string;
  count: number;
  resolve: () => void;
  reject: (e: unknown) => void;
}

export class Datafile {
  /** `$$indexCreated` lines found in the file, written back by compaction. */
  private indexLines: string[] = [];
  /** Lines written to the file (all kinds): with the live count, how much compaction would save. */
  private fileLines = 0;
  private fh: fs.FileHandle | undefined;
  private pending: Pending[] = [];
  /** A flush is queued for the end of this event-loop turn. */
  private flushQueued = false;
  /** Batches on the write chain and not yet written: while there is one, new appends gather for the next. */
  private writing = 0;
  /** The write chain: batches and compactions, one at a time, in order. */
  private chain: Promise<void> = Promise.resolve();
  private compactQueued = false;

  private constructor(
    private readonly file: string,
    private readonly owner: DatafileOwner,
  ) {}

  /** Loads `file` (missing = empty) into `owner` and opens it for appending. */
  static async open(file: string, owner: DatafileOwner): Promise<Datafile> {
    const d = new Datafile(file, owner);
    await d.load();
    d.fh = await openPrivate(file, 'a');
    return d;
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
        if (doc.$$indexCreated !== undefined) this.indexLines.push(line);
        else if (doc.$$deleted === true && typeof doc._id === 'string') this.owner.loadDeletion(doc._id);
        else if (!this.owner.loadDoc(doc)) corrupt++;
      }
    }
    if (lines > 0 && corrupt / lines > CORRUPT_LIMIT) {
      throw new Error(
        `${this.file}: ${corrupt} of ${lines} lines are not ${this.owner.what} records (over ${CORRUPT_LIMIT * 100}%); refusing to load it`,
      );
    }
    if (corrupt) log.warn(`Skipped unreadable lines in the ${this.owner.what}`, { file: this.file, lines: corrupt });
    this.fileLines = lines;
  }

  /** Queues `line` (holding `count` documents or deletions) for the next batch; settles when it is written. */
  append(line: string, count = 1): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ line, count, resolve, reject });
      this.kick();
    });
  }

  /**
   * Group commit: with no batch on its way, what was appended in this event-loop turn is written
   * at its end; otherwise it waits for that batch to be written and goes out with everything
   * appended meanwhile.
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
        writeAllSync(this.fh!.fd, [Buffer.from(batch.map((p) => p.line).join('\n') + '\n', 'utf8')]);
        for (const p of batch) this.fileLines += p.count;
        for (const p of batch) p.resolve();
      } catch (err) {
        log.error(`${this.owner.what}: append failed`, { file: this.file, error: err as Error });
        for (const p of batch) p.reject(err);
      } finally {
        this.writing--;
        if (this.pending.length) this.kick();
      }
    });
    // Checked with the lines written so far: a prune's tombstones trigger it one batch later.
    if (!this.compactQueued && this.fileLines > 2 * this.owner.liveCount() + AUTO_COMPACT_SLACK) void this.compact();
    return this.chain;
  }

  /** Dead lines in the file: what a compaction would remove. */
  get waste(): number {
    return Math.max(0, this.fileLines - this.owner.liveCount() - this.indexLines.length);
  }

  /**
   * Rewrites the file with one line per live document (temp file, fsync, rename).
   * Writes made meanwhile wait on the chain and land in the new file.
   */
  compact(): Promise<void> {
    this.compactQueued = true;
    const run = this.chain
      .then(async () => {
        this.compactQueued = false;
        if (this.waste === 0) return;
        let lines = this.indexLines.length;
        await replacePrivateFile(this.file, async (out) => {
          if (this.indexLines.length) await out.appendFile(this.indexLines.join('\n') + '\n');
          let chunk: string[] = [];
          for (const line of this.owner.liveLines()) {
            chunk.push(line);
            if (chunk.length >= COMPACT_CHUNK) {
              lines += chunk.length;
              await out.appendFile(chunk.join('\n') + '\n');
              chunk = [];
              await new Promise((r) => setImmediate(r)); // a large file must not stall the bridge
            }
          }
          lines += chunk.length;
          if (chunk.length) await out.appendFile(chunk.join('\n') + '\n');
        });
        await this.fh!.close();
        this.fh = await openPrivate(this.file, 'a');
        // Batches queued behind this compaction count themselves as they are written.
        this.fileLines = lines;
      })
      .catch((err) => {
        log.warn(`${this.owner.what} compaction failed`, { file: this.file, error: err as Error });
      });
    this.chain = run;
    return run;
  }

  /** Writes everything pending, compacts if anything is dead, and closes the file. */
  async close(): Promise<void> {
    await this.flush();
    await this.compact();
    await this.chain;
    await this.fh?.close();
    this.fh = undefined;
  }
}

/**
 * What every repository kept in a datafile shares: its file opened over its loaded documents,
 * appends, compaction, closing, and writes refused once closed. A subclass keeps the documents and
 * their lookups (the DatafileOwner half).
 */
export abstract class DatafileRepository implements DatafileOwner {
  abstract readonly what: string;
  private datafile: Datafile | undefined;
  private closed = false;

  abstract loadDoc(doc: Record<string, unknown>): boolean;
  abstract loadDeletion(id: string): void;
  abstract liveCount(): number;
  abstract liveLines(): Iterable<string>;

  /** Loads `file` (missing = empty) into this repository and opens it for appending. */
  protected async openFile(file: string): Promise<void> {
    this.datafile = await Datafile.open(file, this);
  }

  /** Appends `line` (holding `count` documents or deletions); settles once written. */
  protected append(line: string, count = 1): Promise<void> {
    return this.datafile!.append(line, count);
  }

  protected get isClosed(): boolean {
    return this.closed;
  }

  protected assertOpen(): void {
    if (this.closed) throw new StoreClosedError(`nedb store (${this.what})`);
  }

  /** Dead lines in the file: what a compaction would remove. */
  get waste(): number {
    return this.datafile?.waste ?? 0;
  }

  /** Rewrites the file with one line per live document (see Datafile.compact). */
  compact(): Promise<void> {
    return this.datafile?.compact() ?? Promise.resolve();
  }

  /** Writes everything pending, compacts if anything is dead, and closes the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.datafile?.close();
    this.datafile = undefined;
  }
}
