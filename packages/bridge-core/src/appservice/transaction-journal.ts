/**
 * Append-only journal of accepted transactions, for exactly-once delivery of
 * homeserver events across crashes.
 *
 * Layout: `<dir>/seg-<n>.log` segment files, written append-only; a new
 * segment is started on every open and whenever the current one passes
 * `segmentBytes`. Files are never rewritten: a segment is deleted as a whole
 * once every event journaled in it has finished and all older segments are
 * gone. Each record is `[u32 length][u32 crc32][u8 type][payload]`; reading
 * stops at the first truncated or corrupt record (a torn tail after a machine
 * crash).
 *
 * Records:
 * - TXN: txnId, first sequence number, event count and the raw request body
 *   exactly as received (never re-serialised).
 * - STARTED: sequence numbers whose handler is about to run. Written (and
 *   the write completed) BEFORE the handler is called, so after a crash an
 *   event without a STARTED record has certainly never reached a handler.
 * - DONE: sequence numbers whose handling finished (success or given up).
 *   Batched: a crash can lose the last `doneFlushMs` worth, and those events
 *   are replayed flagged `redelivered`.
 * - SNAPSHOT: first record of every segment: the next sequence number and the
 *   most recent `rememberTxns` txnIds already journaled, so old segments can
 *   be deleted without forgetting which transactions were acknowledged.
 *
 * Durability (`fsync`): a transaction is acknowledged once its record has
 * been `write()`n to the file, which survives the process being killed
 * (SIGKILL, OOM, crash): the data is in the kernel. Machine crashes and power
 * loss are what fsync is for:
 * - 'always': the acknowledgement also waits for `fdatasync`. Concurrent
 *   transactions share one write + fdatasync (group commit), so the cost is
 *   per batch, not per transaction, but each 200 pays a disk flush.
 * - 'batch' (default): fdatasync runs in the background every
 *   `fsyncIntervalMs` (default 100 ms); a power loss can lose transactions
 *   acknowledged within that window. Segment rotation is always synced.
 * - 'never': leave flushing to the OS (typically ≤ 30 s of exposure).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { crc32 } from 'node:zlib';
import { getLogger, type Logger } from '../logging/logger';
import { transactionItems, type TransactionBody } from './transaction';

export type FsyncMode = 'always' | 'batch' | 'never';

export interface JournalOptions {
  /** Directory for segment files (created if missing). One journal per directory. */
  dir: string;
  fsync?: FsyncMode;
  /** 'batch' mode: background fdatasync period, ms. Default 100. */
  fsyncIntervalMs?: number;
  /** Rotate to a new segment after this many bytes. Default 64 MiB. */
  segmentBytes?: number;
  /** How many recent txnIds to remember across restarts. Default 10,000. */
  rememberTxns?: number;
  /** Longest a DONE marker waits for a write to ride on, ms. Default 25. */
  doneFlushMs?: number;
  log?: Logger;
}

/** A journaled transaction with events that never finished, for replay. */
export interface JournaledTxn {
  txnId: string;
  firstSeq: number;
  body: TransactionBody;
  /** Unfinished events: index into `transactionItems(body)`, sequence number, and whether a STARTED record exists. */
  pending: Array<{ index: number; seq: number; started: boolean }>;
}

export interface JournalStats {
  segments: number;
  knownTxns: number;
  writes: number;
  bytesWritten: number;
  fsyncs: number;
  segmentsDeleted: number;
}

const REC_TXN = 1;
const REC_STARTED = 2;
const REC_DONE = 3;
const REC_SNAPSHOT = 4;
/** u32 length (of type + payload), u32 crc32 (of type + payload), u8 type. */
const HEADER = 9;
const SEGMENT_RE = /^seg-(\d+)\.log$/;

interface Segment {
  id: number;
  file: string;
  /** Lowest sequence number journaled in it (Infinity when it holds no TXN). */
  firstSeq: number;
  /** Events journaled in it that have not finished. */
  unfinished: number;
  bytes: number;
}

type TxnCallback = (err: Error | null) => void;

function record(type: number, payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(HEADER + payload.length);
  out.writeUInt32LE(1 + payload.length, 0);
  out[8] = type;
  payload.copy(out, HEADER);
  out.writeUInt32LE(crc32(out.subarray(8)) >>> 0, 4);
  return out;
}

function seqRecord(type: number, seqs: number[]): Buffer {
  const out = Buffer.allocUnsafe(HEADER + seqs.length * 8);
  out.writeUInt32LE(1 + seqs.length * 8, 0);
  out[8] = type;
  for (let i = 0; i < seqs.length; i++) out.writeDoubleLE(seqs[i], HEADER + i * 8);
  out.writeUInt32LE(crc32(out.subarray(8)) >>> 0, 4);
  return out;
}

function segmentName(id: number): string {
  return `seg-${String(id).padStart(10, '0')}.log`;
}

export class TransactionJournal {
  private readonly dir: string;
  private readonly mode: FsyncMode;
  private readonly segmentBytes: number;
  private readonly rememberTxns: number;
  private readonly doneFlushMs: number;
  private readonly log: Logger;

  /** txnIds journaled (or being journaled), oldest first. */
  private readonly known = new Map<string, true>();
  private nextSeq = 0;
  private readonly segments: Segment[] = [];
  private fd = -1;

  private chunks: Buffer[] = [];
  private chunkBytes = 0;
  private txnCbs: TxnCallback[] = [];
  private txns: Array<{ txnId: string; firstSeq: number; count: number }> = [];
  private started: number[] = [];
  private startedCbs: Array<() => void> = [];
  private done: number[] = [];

  private writing = false;
  private syncing = false;
  private flushQueued = false;
  private rotateNext = false;
  private unsynced = 0;
  private doneTimer?: NodeJS.Timeout;
  private syncTimer?: NodeJS.Timeout;
  private retryTimer?: NodeJS.Timeout;
  private closed = false;
  private idleWaiters: Array<() => void> = [];
  private readonly st: JournalStats = { segments: 0, knownTxns: 0, writes: 0, bytesWritten: 0, fsyncs: 0, segmentsDeleted: 0 };

  private constructor(opts: JournalOptions) {
    this.dir = opts.dir;
    this.mode = opts.fsync ?? 'batch';
    this.segmentBytes = opts.segmentBytes ?? 64 * 1024 * 1024;
    this.rememberTxns = opts.rememberTxns ?? 10_000;
    this.doneFlushMs = opts.doneFlushMs ?? 25;
    this.log = opts.log ?? getLogger('appservice.journal');
  }

  /**
   * Open (or create) the journal in `opts.dir`, load what previous runs left,
   * and start a fresh segment. Returns the transactions whose events have not
   * all finished, in journal order, for the caller to replay.
   */
  static async open(opts: JournalOptions): Promise<{ journal: TransactionJournal; replay: JournaledTxn[] }> {
    const j = new TransactionJournal(opts);
    const replay = j.load();
    j.openSegment((j.segments.at(-1)?.id ?? 0) + 1);
    j.deleteFinishedSegments();
    if (j.mode === 'batch') {
      const interval = opts.fsyncIntervalMs ?? 100;
      j.syncTimer = setInterval(() => j.backgroundSync(), interval);
      j.syncTimer.unref();
    }
    return { journal: j, replay };
  }

  /** Whether this txnId was journaled (or is being journaled right now). */
  has(txnId: string): boolean {
    return this.known.has(txnId);
  }

  /**
   * Journal a transaction: `raw` is the request body as received, `count` the
   * number of items `transactionItems` yields for it. Resolves with the first
   * item's sequence number once the record is written (and fdatasync'd in
   * 'always' mode); the events are then durable and may be acknowledged.
   */
  append(txnId: string, raw: Buffer, count: number): Promise<number> {
    if (this.closed) return Promise.reject(new Error('journal is closed'));
    const id = Buffer.from(txnId, 'utf8');
    if (id.length > 0xffff) return Promise.reject(new Error('txnId too long'));
    const firstSeq = this.nextSeq;
    this.nextSeq += count;
    const head = Buffer.allocUnsafe(HEADER + 14 + id.length);
    head.writeUInt32LE(1 + 14 + id.length + raw.length, 0);
    head[8] = REC_TXN;
    head.writeDoubleLE(firstSeq, 9);
    head.writeUInt32LE(count, 17);
    head.writeUInt16LE(id.length, 21);
    id.copy(head, 23);
    head.writeUInt32LE(crc32(raw, crc32(head.subarray(8))) >>> 0, 4);
    this.chunks.push(head, raw);
    this.chunkBytes += head.length + raw.length;
    this.txns.push({ txnId, firstSeq, count });
    this.remember(txnId);
    return new Promise<number>((resolve, reject) => {
      this.txnCbs.push((err) => {
        if (err) { this.known.delete(txnId); reject(err); } else resolve(firstSeq);
      });
      this.kick();
    });
  }

  /** Record that these events' handlers are about to run; `cb` runs once that is written. */
  markStarted(seqs: number[], cb: () => void): void {
    for (let i = 0; i < seqs.length; i++) this.started.push(seqs[i]);
    this.startedCbs.push(cb);
    this.kick();
  }

  /** Record that `seq` finished (batched). */
  markDone(seq: number): void {
    this.done.push(seq);
    const seg = this.segmentOf(seq);
    if (seg && --seg.unfinished <= 0 && seg !== this.segments.at(-1)) this.deleteFinishedSegments();
    if (this.done.length >= 8192) this.kick();
    else if (!this.doneTimer && !this.closed) {
      this.doneTimer = setTimeout(() => { this.doneTimer = undefined; this.kick(); }, this.doneFlushMs);
    }
  }

  stats(): JournalStats {
    return { ...this.st, segments: this.segments.length, knownTxns: this.known.size };
  }

  /** Write everything pending (DONE markers included) and wait for it. */
  flush(): Promise<void> {
    if (this.doneTimer) { clearTimeout(this.doneTimer); this.doneTimer = undefined; }
    this.kick();
    if (!this.writing && !this.flushQueued && !this.hasPending()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Flush, sync (unless 'never') and close the current segment. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush();
    this.closed = true;
    for (const t of [this.doneTimer, this.syncTimer, this.retryTimer]) if (t) clearTimeout(t);
    clearInterval(this.syncTimer);
    while (this.syncing) await new Promise((r) => setTimeout(r, 1));
    if (this.fd >= 0) {
      if (this.mode !== 'never') fs.fdatasyncSync(this.fd);
      fs.closeSync(this.fd);
      this.fd = -1;
    }
  }

  // ---- writing ----

  private hasPending(): boolean {
    return this.chunks.length > 0 || this.started.length > 0 || this.done.length > 0;
  }

  private kick(): void {
    if (this.flushQueued || this.writing || this.closed) return;
    this.flushQueued = true;
    queueMicrotask(() => this.write());
  }

  private write(): void {
    this.flushQueued = false;
    if (this.writing || this.fd < 0) return;
    if (this.started.length) { this.push(seqRecord(REC_STARTED, this.started)); this.started = []; }
    if (this.done.length) {
      this.push(seqRecord(REC_DONE, this.done));
      this.done = [];
      if (this.doneTimer) { clearTimeout(this.doneTimer); this.doneTimer = undefined; }
    }
    if (this.chunks.length === 0) return this.notifyIdle();
    if ((this.rotateNext || this.segments.at(-1)!.bytes >= this.segmentBytes) && !this.syncing) this.rotate();

    const chunks = this.chunks, bytes = this.chunkBytes, txnCbs = this.txnCbs, txns = this.txns, startedCbs = this.startedCbs;
    this.chunks = []; this.chunkBytes = 0; this.txnCbs = []; this.txns = []; this.startedCbs = [];
    const seg = this.segments.at(-1)!;
    for (const t of txns) {
      if (t.firstSeq < seg.firstSeq) seg.firstSeq = t.firstSeq;
      seg.unfinished += t.count;
    }
    const fd = this.fd;
    this.writing = true;
    writeAll(fd, chunks, (err) => {
      if (err || this.mode !== 'always') return this.written(err, seg, bytes, chunks, txns, txnCbs, startedCbs);
      fs.fdatasync(fd, (e) => {
        if (!e) this.st.fsyncs++;
        this.written(e, seg, bytes, chunks, txns, txnCbs, startedCbs);
      });
    });
  }

  private written(
    err: Error | null, seg: Segment, bytes: number, chunks: Buffer[],
    txns: Array<{ txnId: string; count: number }>, txnCbs: TxnCallback[], startedCbs: Array<() => void>,
  ): void {
    this.writing = false;
    if (err) {
      // The file may end in a partial record now: continue in a new segment.
      this.log.error('Journal write failed; refusing transactions until a write succeeds', { error: err.message });
      this.rotateNext = true;
      for (const t of txns) seg.unfinished -= t.count;
      // STARTED/DONE markers in the failed batch are re-queued (their events
      // must not run before their STARTED record is on disk).
      for (const c of chunks) {
        if (c.length >= HEADER && (c[8] === REC_STARTED || c[8] === REC_DONE) && c.readUInt32LE(0) === c.length - 8) {
          const list = c[8] === REC_STARTED ? this.started : this.done;
          for (let o = HEADER; o < c.length; o += 8) list.push(c.readDoubleLE(o));
        }
      }
      this.startedCbs.unshift(...startedCbs);
      for (const cb of txnCbs) cb(err);
      if (!this.retryTimer) this.retryTimer = setTimeout(() => { this.retryTimer = undefined; this.kick(); }, 1000);
      return;
    }
    seg.bytes += bytes;
    this.unsynced += bytes;
    this.st.writes++;
    this.st.bytesWritten += bytes;
    for (let i = 0; i < txnCbs.length; i++) txnCbs[i](null);
    for (let i = 0; i < startedCbs.length; i++) startedCbs[i]();
    if (this.hasPending()) this.write();
    else this.notifyIdle();
  }

  private push(buf: Buffer): void {
    this.chunks.push(buf);
    this.chunkBytes += buf.length;
  }

  private notifyIdle(): void {
    if (this.writing || this.hasPending() || this.idleWaiters.length === 0) return;
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const f of w) f();
  }

  private backgroundSync(): void {
    if (this.syncing || this.unsynced === 0 || this.fd < 0) return;
    this.syncing = true;
    this.unsynced = 0;
    fs.fdatasync(this.fd, (err) => {
      this.syncing = false;
      if (err) this.log.warn('Journal fdatasync failed', { error: err.message });
      else this.st.fsyncs++;
      if (this.hasPending()) this.kick();
    });
  }

  // ---- segments ----

  private remember(txnId: string): void {
    this.known.delete(txnId);
    this.known.set(txnId, true);
    if (this.known.size > this.rememberTxns) {
      const oldest = this.known.keys().next().value;
      if (oldest !== undefined) this.known.delete(oldest);
    }
  }

  private rotate(): void {
    const old = this.segments.at(-1)!;
    if (this.mode !== 'never') fs.fdatasyncSync(this.fd);
    fs.closeSync(this.fd);
    this.fd = -1;
    this.rotateNext = false;
    this.openSegment(old.id + 1);
    this.deleteFinishedSegments();
  }

  /** Start segment `id` with a SNAPSHOT of the txnIds already written. */
  private openSegment(id: number): void {
    const file = path.join(this.dir, segmentName(id));
    const notWritten = new Set(this.txns.map((t) => t.txnId));
    const ids: string[] = [];
    for (const k of this.known.keys()) if (!notWritten.has(k)) ids.push(k);
    const json = Buffer.from(JSON.stringify(ids), 'utf8');
    const payload = Buffer.allocUnsafe(8 + json.length);
    payload.writeDoubleLE(this.nextSeq, 0);
    json.copy(payload, 8);
    const snap = record(REC_SNAPSHOT, payload);
    const fd = fs.openSync(file, 'a');
    fs.writeSync(fd, snap);
    if (this.mode !== 'never') {
      fs.fdatasyncSync(fd);
      syncDir(this.dir);
    }
    this.fd = fd;
    this.segments.push({ id, file, firstSeq: Infinity, unfinished: 0, bytes: snap.length });
  }

  private segmentOf(seq: number): Segment | undefined {
    for (let i = this.segments.length - 1; i >= 0; i--) if (this.segments[i].firstSeq <= seq) return this.segments[i];
    return undefined;
  }

  /** Delete the oldest segments while they are fully finished (never the current one). */
  private deleteFinishedSegments(): void {
    while (this.segments.length > 1 && this.segments[0].unfinished <= 0) {
      const seg = this.segments.shift()!;
      try {
        fs.unlinkSync(seg.file);
        this.st.segmentsDeleted++;
      } catch (err) {
        this.log.warn('Could not delete finished journal segment', { file: seg.file, error: (err as Error).message });
      }
    }
  }

  // ---- loading ----

  private load(): JournaledTxn[] {
    fs.mkdirSync(this.dir, { recursive: true });
    const ids = fs.readdirSync(this.dir)
      .map((f) => SEGMENT_RE.exec(f))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
    const txns: Array<{ txnId: string; firstSeq: number; count: number; body: Buffer; seg: Segment }> = [];
    const started = new Set<number>();
    const done = new Set<number>();
    for (const id of ids) {
      const file = path.join(this.dir, segmentName(id));
      const buf = fs.readFileSync(file);
      const seg: Segment = { id, file, firstSeq: Infinity, unfinished: 0, bytes: buf.length };
      this.segments.push(seg);
      let off = 0;
      while (off + HEADER <= buf.length) {
        const len = buf.readUInt32LE(off);
        const end = off + 8 + len;
        if (len < 1 || end > buf.length || (crc32(buf.subarray(off + 8, end)) >>> 0) !== buf.readUInt32LE(off + 4)) break;
        const type = buf[off + 8];
        const p = off + HEADER;
        if (type === REC_TXN) {
          const firstSeq = buf.readDoubleLE(p);
          const count = buf.readUInt32LE(p + 8);
          const idLen = buf.readUInt16LE(p + 12);
          const txnId = buf.toString('utf8', p + 14, p + 14 + idLen);
          txns.push({ txnId, firstSeq, count, body: buf.subarray(p + 14 + idLen, end), seg });
          if (firstSeq < seg.firstSeq) seg.firstSeq = firstSeq;
          if (firstSeq + count > this.nextSeq) this.nextSeq = firstSeq + count;
          this.remember(txnId);
        } else if (type === REC_STARTED || type === REC_DONE) {
          const set = type === REC_STARTED ? started : done;
          for (let o = p; o < end; o += 8) set.add(buf.readDoubleLE(o));
        } else if (type === REC_SNAPSHOT) {
          const next = buf.readDoubleLE(p);
          if (next > this.nextSeq) this.nextSeq = next;
          for (const t of JSON.parse(buf.toString('utf8', p + 8, end)) as string[]) if (!this.known.has(t)) this.remember(t);
        }
        off = end;
      }
      if (off !== buf.length) {
        this.log.warn('Journal segment ends in a torn or corrupt record; ignoring the rest', { file, offset: off, size: buf.length });
      }
    }
    const replay: JournaledTxn[] = [];
    for (const t of txns) {
      const pending: JournaledTxn['pending'] = [];
      for (let i = 0; i < t.count; i++) {
        const seq = t.firstSeq + i;
        if (!done.has(seq)) pending.push({ index: i, seq, started: started.has(seq) });
      }
      if (pending.length === 0) continue;
      let body: TransactionBody;
      try {
        body = JSON.parse(t.body.toString('utf8')) as TransactionBody;
        const n = transactionItems(body).length;
        if (n !== t.count) throw new Error(`expected ${t.count} events, found ${n}`);
      } catch (err) {
        this.log.error('Journaled transaction cannot be replayed; skipping it', { txnId: t.txnId, error: (err as Error).message });
        continue;
      }
      t.seg.unfinished += pending.length;
      replay.push({ txnId: t.txnId, firstSeq: t.firstSeq, body, pending });
    }
    if (ids.length) {
      const events = replay.reduce((n, r) => n + r.pending.length, 0);
      this.log.info('Journal loaded', { segments: ids.length, knownTxns: this.known.size, replayEvents: events });
    }
    return replay;
  }
}

function writeAll(fd: number, chunks: Buffer[], cb: (err: Error | null) => void): void {
  fs.writev(fd, chunks, (err, written) => {
    if (err) return cb(err);
    let total = 0;
    for (const c of chunks) total += c.length;
    if (written >= total) return cb(null);
    // Short write (rare on regular files): continue with what is left.
    let skip = written;
    const rest: Buffer[] = [];
    for (const c of chunks) {
      if (skip >= c.length) { skip -= c.length; continue; }
      rest.push(skip > 0 ? c.subarray(skip) : c);
      skip = 0;
    }
    writeAll(fd, rest, cb);
  });
}

function syncDir(dir: string): void {
  let fd = -1;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Not supported on every platform/filesystem; best effort.
  } finally {
    if (fd >= 0) fs.closeSync(fd);
  }
}
