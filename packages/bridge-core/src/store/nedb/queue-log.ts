/**
 * The embedded store's durable queues (`queues.db`): an append-only log of
 * operations, one JSON line each, replayed into memory at open.
 *
 *   {"a":queue,"k":key,"s":firstSeq,"t":createdAt,"v":[values…]}   append (one line per call: all or nothing)
 *   {"m":queue,"s":[seqs…]}                                         mark attempted
 *   {"r":queue,"s":[seqs…]}                                         remove
 *   {"n":nextSeq}                                                   (first line after a compaction)
 *
 * Compaction writes the next seq to hand out (so a seq is never reused, even
 * when the newest records were removed) and one append line per live record
 * (with `"x":1` when attempted) to a temp file, fsyncs it and renames it over the log. Every
 * operation names its records by seq, so replaying one twice changes nothing.
 *
 * Why not a NeDB datastore: a queue takes two or three writes per delivered
 * item (append, mark attempted, remove), on the path of every outgoing line of
 * a connector. One line per operation, no indexes and plain Maps keep that a
 * few microseconds; and an append of several entries must survive a crash
 * whole or not at all, which one line gives (a torn last line is cut off
 * before loading, see repair.ts).
 *
 * Writing: operations issued in the same tick share one write; while a write
 * is on its way, later ones gather for the next (group commit). An
 * operation's promise settles once its line has been written — and, with
 * `fsync: 'always'`, fdatasync'd. 'batch' syncs in the background every
 * 100 ms; 'never' leaves it to the OS. A written line survives the process
 * being killed; only a machine crash can take the unsynced ones.
 */
import { createReadStream, promises as fs } from 'node:fs';
import { createInterface } from 'node:readline';
import { getLogger } from '../../logging/logger';
import { encodeJson, StoreClosedError } from '../common';
import type { QueueRecord, QueueRepository } from '../store';
import { openPrivate, replacePrivateFile } from '../../util/private-files';
import { writeAllSync } from '../../util/write-all-sync';

const log = getLogger('store').child({ module: 'nedb' });

export type QueueFsync = 'always' | 'batch' | 'never';

/** Background fdatasync period with fsync 'batch'. */
const BATCH_SYNC_MS = 100;
/** Compaction runs by itself once the file holds this many more lines than live records. */
const AUTO_COMPACT_SLACK = 50_000;

interface Rec {
  key: string;
  seq: number;
  value: unknown;
  createdAt: number;
  attempted: boolean;
}

interface Pending {
  line: string;
  resolve: () => void;
  reject: (e: unknown) => void;
}

export class QueueLog implements QueueRepository {
  /** queue → seq → record, in seq order (Map insertion order: seqs only grow). */
  private readonly queues = new Map<string, Map<number, Rec>>();
  private nextSeq = 1;
  private live = 0;
  private fileLines = 0;
  private fh: fs.FileHandle | undefined;
  private pending: Pending[] = [];
  private flushQueued = false;
  /** A write or compaction is running (the next batch waits for it). */
  private busy = false;
  /** The file operations, one at a time, in order. */
  private chain: Promise<void> = Promise.resolve();
  private unsynced = false;
  private syncTimer: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(
    private readonly file: string,
    private readonly fsyncMode: QueueFsync,
  ) {}

  /** Loads `file` (missing = empty) and opens it for appending. */
  static async open(file: string, opts: { fsync?: QueueFsync } = {}): Promise<QueueLog> {
    const q = new QueueLog(file, opts.fsync ?? 'batch');
    await q.load();
    q.fh = await openPrivate(file, 'a');
    if (q.fsyncMode === 'batch') {
      q.syncTimer = setInterval(() => {
        void q.backgroundSync();
      }, BATCH_SYNC_MS);
      q.syncTimer.unref();
    }
    if (q.fileLines > q.live + 1) await q.compact();
    return q;
  }

  private async load(): Promise<void> {
    const exists = await fs.stat(this.file).then(
      () => true,
      (e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT') return false;
        throw e;
      },
    );
    if (!exists) return;
    let bad = 0;
    const rl = createInterface({ input: createReadStream(this.file, { encoding: 'utf8' }), crlfDelay: Infinity });
    for await (const line of rl) {
      if (line === '') continue;
      this.fileLines++;
      let op: Record<string, unknown>;
      try {
        op = JSON.parse(line) as Record<string, unknown>;
      } catch {
        bad++;
        continue;
      }
      if (!this.replay(op)) bad++;
    }
    // Only the last line can be torn by a crash, and that one is cut before loading: anything else is damage.
    if (bad)
      log.error('Unreadable lines in the queue log were skipped (queued items may be lost or come back)', { file: this.file, lines: bad });
  }

  /** Applies one line read from the file; false when it is not an operation. */
  private replay(op: Record<string, unknown>): boolean {
    if (typeof op.n === 'number') {
      if (op.n > this.nextSeq) this.nextSeq = op.n;
      return true;
    }
    if (
      typeof op.a === 'string' &&
      typeof op.k === 'string' &&
      typeof op.s === 'number' &&
      typeof op.t === 'number' &&
      Array.isArray(op.v)
    ) {
      const q = this.queue(op.a);
      op.v.forEach((value, i) => {
        const seq = (op.s as number) + i;
        if (!q.has(seq)) this.live++;
        q.set(seq, { key: op.k as string, seq, value, createdAt: op.t as number, attempted: op.x === 1 });
        if (seq >= this.nextSeq) this.nextSeq = seq + 1;
      });
      return true;
    }
    const name = typeof op.m === 'string' ? op.m : typeof op.r === 'string' ? op.r : undefined;
    if (name === undefined || !Array.isArray(op.s)) return false;
    const q = this.queues.get(name);
    for (const seq of op.s as number[]) {
      const rec = q?.get(seq);
      if (!rec) continue;
      if (typeof op.m === 'string') rec.attempted = true;
      else {
        q!.delete(seq);
        this.live--;
      }
    }
    if (q?.size === 0) this.queues.delete(name);
    return true;
  }

  private queue(name: string): Map<number, Rec> {
    let q = this.queues.get(name);
    if (!q) this.queues.set(name, (q = new Map<number, Rec>()));
    return q;
  }

  // ---- the repository ------------------------------------------------------------

  async append<T = unknown>(queue: string, key: string, values: readonly T[], createdAt = Date.now()): Promise<QueueRecord<T>[]> {
    this.assertOpen();
    if (values.length === 0) return [];
    // Serialised before anything changes, so a value that cannot be stored fails the call alone.
    const json = `[${values.map((v, i) => encodeJson(v, `queue ${queue} value ${i}`)).join(',')}]`;
    const line = `{"a":${JSON.stringify(queue)},"k":${JSON.stringify(key)},"s":${this.nextSeq},"t":${createdAt},"v":${json}}`;
    // Memory and the caller each get their own copy, as the file would give them.
    const held = JSON.parse(json) as unknown[];
    const given = JSON.parse(json) as T[];
    const q = this.queue(queue);
    const out: QueueRecord<T>[] = [];
    held.forEach((value, i) => {
      const rec: Rec = { key, seq: this.nextSeq++, value, createdAt, attempted: false };
      q.set(rec.seq, rec);
      this.live++;
      out.push({ queue, key, seq: rec.seq, value: given[i], createdAt, attempted: false });
    });
    try {
      await this.write(line);
    } catch (err) {
      // Not in the file: not in the queue either.
      for (const r of out) if (q.delete(r.seq)) this.live--;
      if (q.size === 0) this.queues.delete(queue);
      throw err;
    }
    return out;
  }

  async list<T = unknown>(queue: string, opts: { key?: string; limit?: number } = {}): Promise<QueueRecord<T>[]> {
    this.assertOpen();
    const out: QueueRecord<T>[] = [];
    const limit = opts.limit !== undefined && opts.limit >= 0 ? opts.limit : Infinity;
    for (const rec of this.queues.get(queue)?.values() ?? []) {
      if (out.length >= limit) break;
      if (opts.key === undefined || rec.key === opts.key) out.push(toRecord(queue, rec) as QueueRecord<T>);
    }
    return out;
  }

  async markAttempted(queue: string, seqs: readonly number[]): Promise<void> {
    this.assertOpen();
    const q = this.queues.get(queue);
    const hit = seqs.filter((s) => {
      const r = q?.get(s);
      return r && !r.attempted;
    });
    if (hit.length === 0) return;
    for (const s of hit) q!.get(s)!.attempted = true;
    await this.write(JSON.stringify({ m: queue, s: hit }));
  }

  async remove(queue: string, seqs: readonly number[]): Promise<number> {
    this.assertOpen();
    const q = this.queues.get(queue);
    const hit = seqs.filter((s) => q?.delete(s));
    if (hit.length === 0) return 0;
    this.live -= hit.length;
    if (q!.size === 0) this.queues.delete(queue);
    await this.write(JSON.stringify({ r: queue, s: hit }));
    return hit.length;
  }

  async count(queue?: string): Promise<number> {
    this.assertOpen();
    return queue === undefined ? this.live : (this.queues.get(queue)?.size ?? 0);
  }

  // ---- the file --------------------------------------------------------------------

  /** Queues a line for the next write; settles once it is written (and synced with 'always'). */
  private write(line: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ line, resolve, reject });
      this.kick();
    });
  }

  /**
   * Group commit: one write at a time; what arrives meanwhile (or in the same tick) goes out
   * together in the next one, so a burst of operations costs one write, not a queue of them.
   */
  private kick(): void {
    if (this.busy || this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(() => {
      this.flushQueued = false;
      void this.flush();
    });
  }

  private flush(): Promise<void> {
    if (this.busy || this.pending.length === 0) return this.chain;
    const batch = this.pending;
    this.pending = [];
    return this.run(async () => {
      try {
        // A synchronous write (util/write-all-sync.ts says why); only fdatasync waits off the event loop.
        writeAllSync(this.fh!.fd, [Buffer.from(batch.map((p) => p.line).join('\n') + '\n', 'utf8')]);
        this.fileLines += batch.length;
        if (this.fsyncMode === 'always') await this.fh!.datasync();
        else this.unsynced = true;
        for (const p of batch) p.resolve();
      } catch (err) {
        log.error('Queue log: write failed', { file: this.file, error: err as Error });
        for (const p of batch) p.reject(err);
      }
      if (this.fileLines > this.live + AUTO_COMPACT_SLACK) await this.compactNow();
    });
  }

  /** Runs one file operation at a time; afterwards, what queued meanwhile is written. */
  private run(op: () => Promise<void>): Promise<void> {
    this.busy = true;
    this.chain = this.chain.then(op).finally(() => {
      this.busy = false;
      if (this.pending.length) this.kick();
    });
    return this.chain;
  }

  private async backgroundSync(): Promise<void> {
    if (!this.unsynced || !this.fh) return;
    this.unsynced = false;
    await this.fh.datasync().catch((err) => log.warn('Queue log: fdatasync failed', { file: this.file, error: err as Error }));
  }

  /** Rewrites the log with one line per live record (temp file, fsync, rename); writes made meanwhile follow it. */
  compact(): Promise<void> {
    return this.run(() => this.compactNow());
  }

  private async compactNow(): Promise<void> {
    if (this.fileLines === this.live + 1) return; // the seq line and one line per record already
    try {
      let lines = 0;
      await replacePrivateFile(this.file, async (out) => {
        const chunk: string[] = [JSON.stringify({ n: this.nextSeq })];
        for (const [name, q] of this.queues) {
          for (const r of q.values()) {
            chunk.push(
              `{"a":${JSON.stringify(name)},"k":${JSON.stringify(r.key)},"s":${r.seq},"t":${r.createdAt},"v":[${JSON.stringify(r.value)}]${r.attempted ? ',"x":1' : ''}}`,
            );
          }
        }
        lines = chunk.length;
        await out.appendFile(chunk.join('\n') + '\n');
      });
      await this.fh!.close();
      this.fh = await openPrivate(this.file, 'a');
      this.fileLines = lines;
      this.unsynced = false;
    } catch (err) {
      log.warn('Queue log compaction failed', { file: this.file, error: err as Error });
    }
  }

  /** Writes everything pending, compacts, syncs and closes the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.syncTimer) clearInterval(this.syncTimer);
    while (this.pending.length || this.busy) {
      await this.chain;
      await this.flush();
    }
    await this.compact();
    if (this.fsyncMode !== 'never') await this.fh?.datasync().catch(() => undefined);
    await this.fh?.close();
    this.fh = undefined;
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreClosedError('nedb store (queues)');
  }
}

function toRecord(queue: string, r: Rec): QueueRecord {
  return { queue, key: r.key, seq: r.seq, value: structuredClone(r.value), createdAt: r.createdAt, attempted: r.attempted };
}
