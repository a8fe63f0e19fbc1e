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
 *   STARTED and DONE are written as ranges: `[f64 first][u32 count]` pairs
 *   (types 5 and 6), so a batch of consecutive sequence numbers costs 12
 *   bytes. Journals from older versions hold one f64 per sequence number
 *   (types 2 and 3); both are read.
 * - SNAPSHOT: first record of every segment: the next sequence number and what
 *   SeenTransactions remembers (the last `rememberTxns` txnIds with a digest
 *   of their events, the last `rememberEvents` event IDs), so old segments can
 *   be deleted without forgetting which transactions and events were
 *   acknowledged (type 7; journals from older versions have type 4, txnIds
 *   only, whose events count as unknown).
 *
 * Secrets (`forget`): an event whose content must not stay on disk once it is
 * handled (a password typed in an admin room) closes its segment at once; the
 * segment goes as soon as nothing in it is unfinished, deleted when it is the
 * oldest, otherwise rewritten (temp file, rename) without its TXN records, all
 * finished by then, keeping the markers older segments' events still need.
 * Segments and the directory are private to the bridge's user (0600/0700).
 *
 * Writing: everything queued in one tick (TXN records of concurrent
 * requests, STARTED and DONE markers) goes to the file in one synchronous
 * `writev` at the end of the tick (a microtask). A page-cache write of a
 * ~20 KB transaction takes ~20 µs; handing it to the libuv thread pool
 * instead cost far more in cross-thread wake-ups than the copy itself and
 * added an event-loop turn to every acknowledgement. Only `fdatasync` (which
 * waits for the disk) runs off the event loop.
 *
 * Durability (`fsync`): a transaction is acknowledged once its record has
 * been `write()`n to the file, which survives the process being killed
 * (SIGKILL, OOM, crash): the data is in the kernel. Machine crashes and power
 * loss are what fsync is for:
 * - 'always': the acknowledgement (and a handler's start, after its STARTED
 *   record) also waits for `fdatasync`. Writes made while a sync is running
 *   share the next one (group commit), so the cost is per batch, not per
 *   transaction, but each 200 pays a disk flush.
 * - 'batch' (default): fdatasync runs in the background every
 *   `fsyncIntervalMs` (default 100 ms); a power loss can lose transactions
 *   acknowledged within that window. Segment rotation is always synced.
 * - 'never': leave flushing to the OS (typically ≤ 30 s of exposure).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { crc32 } from 'node:zlib';
import { getLogger, type Logger } from '../logging/logger';
import { SeenTransactions, UNKNOWN_DIGEST, transactionIdentity, type SeenSnapshot, type TransactionIdentity } from './seen-transactions';
import { mapTransactionItems, type TransactionBody } from './transaction';
import { makePrivateDirSync, openPrivateSync } from '../util/private-files';
import { writeAllSync } from '../util/write-all-sync';

export type FsyncMode = 'always' | 'batch' | 'never';

export interface JournalOptions {
  /** Directory for segment files (created if missing). One journal per directory. */
  dir: string;
  fsync?: FsyncMode;
  /** 'batch' mode: background fdatasync period, ms. Default 100. */
  fsyncIntervalMs?: number;
  /** Rotate to a new segment after this many bytes. Default 64 MiB. */
  segmentBytes?: number;
  /**
   * Rotate a segment holding transactions once it is this old, ms, so finished
   * events leave the disk soon even on a quiet bridge: the journal holds raw
   * messages, some private (commands with a secret go at once: `forget`). Default 1 min:
   * a rotation costs one snapshot of the remembered txnIds and event IDs (≤ rememberTxns
   * and rememberEvents of them, about 1 MB at most) and a sync, so once a minute is cheap, and a
   * finished secret stays on disk for at most about a minute and a half.
   */
  segmentMaxAgeMs?: number;
  /** How many recent txnIds to remember across restarts. Default 10,000. */
  rememberTxns?: number;
  /** How many recent event IDs to remember across restarts (see seen-transactions.ts). Default 10,000. */
  rememberEvents?: number;
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
  knownEvents: number;
  writes: number;
  bytesWritten: number;
  fsyncs: number;
  segmentsDeleted: number;
}

const REC_TXN = 1;
const REC_STARTED = 2;
const REC_DONE = 3;
const REC_SNAPSHOT = 4;
const REC_STARTED_RANGES = 5;
const REC_DONE_RANGES = 6;
const REC_SNAPSHOT_SEEN = 7;
/** One range in a STARTED/DONE range record: f64 first sequence number, u32 count. */
const RANGE = 12;
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
  /** When the segment was opened (this run), for age-based rotation. */
  openedAt: number;
  /** Holds an event whose content must leave the disk once everything in the segment finished (`forget`). */
  secret?: boolean;
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

/**
 * A STARTED/DONE record of `seqs` (any order, duplicates allowed) as sorted
 * ranges of consecutive sequence numbers.
 */
export function rangeRecord(type: number, seqs: readonly number[]): Buffer {
  // Markers mostly arrive in ascending order already (a transaction's events
  // start and finish in journal order): sort only when they do not.
  let ascending = true;
  for (let i = 1; i < seqs.length; i++)
    if (seqs[i] < seqs[i - 1]) {
      ascending = false;
      break;
    }
  const sorted = ascending ? seqs : Float64Array.from(seqs).sort();
  let ranges = 0;
  for (let i = 0; i < sorted.length; i++) if (i === 0 || sorted[i] > sorted[i - 1] + 1) ranges++;
  const out = Buffer.allocUnsafe(HEADER + ranges * RANGE);
  out.writeUInt32LE(1 + ranges * RANGE, 0);
  out[8] = type;
  let o = HEADER - RANGE;
  let first = 0,
    count = 0;
  for (let i = 0; i < sorted.length; i++) {
    const seq = sorted[i];
    if (count > 0 && seq <= first + count) {
      if (seq === first + count) count++; // else a duplicate, already covered
      continue;
    }
    if (count > 0) out.writeUInt32LE(count, o + 8);
    o += RANGE;
    out.writeDoubleLE(seq, o);
    first = seq;
    count = 1;
  }
  if (count > 0) out.writeUInt32LE(count, o + 8);
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
  private readonly segmentMaxAgeMs: number;
  private ageTimer?: NodeJS.Timeout;
  private readonly doneFlushMs: number;
  private readonly log: Logger;

  /** The transactions and events journaled (or being journaled), and the echo-only ones the pipeline reports. */
  readonly seen: SeenTransactions;
  private nextSeq = 0;
  private readonly segments: Segment[] = [];
  private fd = -1;

  private chunks: Buffer[] = [];
  private chunkBytes = 0;
  private txnCbs: TxnCallback[] = [];
  private txns: Array<{ txnId: string; firstSeq: number; count: number; eventIds: readonly string[] }> = [];
  private started: number[] = [];
  private startedCbs: Array<() => void> = [];
  private done: number[] = [];
  /** 'always' mode: written batches waiting for the next fdatasync. */
  private syncTxnCbs: TxnCallback[] = [];
  private syncTxns: Array<{ seg: Segment; count: number }> = [];
  private syncStartedCbs: Array<() => void> = [];

  /** 'always' mode: an fdatasync that callbacks wait for is running. */
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
  private readonly st: JournalStats = {
    segments: 0,
    knownTxns: 0,
    knownEvents: 0,
    writes: 0,
    bytesWritten: 0,
    fsyncs: 0,
    segmentsDeleted: 0,
  };

  private constructor(opts: JournalOptions) {
    this.dir = opts.dir;
    this.mode = opts.fsync ?? 'batch';
    this.segmentBytes = opts.segmentBytes ?? 64 * 1024 * 1024;
    this.segmentMaxAgeMs = opts.segmentMaxAgeMs ?? 60_000;
    this.seen = new SeenTransactions({ maxTxns: opts.rememberTxns, maxEvents: opts.rememberEvents });
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
    j.startAgeTimer();
    if (j.mode === 'batch') {
      const interval = opts.fsyncIntervalMs ?? 100;
      j.syncTimer = setInterval(() => j.backgroundSync(), interval);
      j.syncTimer.unref();
    }
    return { journal: j, replay };
  }

  /**
   * Journal a transaction: `raw` is the request body (as received, or without
   * events already accepted), `count` the number of items `transactionItems`
   * yields for it, `identity` its transactionIdentity (computed from `raw`
   * when omitted; remembered in `seen` at once, forgotten again if the write
   * fails). Resolves with the first
   * item's sequence number once the record is written (and fdatasync'd in
   * 'always' mode); the events are then durable and may be acknowledged.
   */
  append(txnId: string, raw: Buffer, count: number, identity?: TransactionIdentity): Promise<number> {
    if (this.closed) return Promise.reject(new Error('journal is closed'));
    identity ??= transactionIdentity(JSON.parse(raw.toString('utf8')) as TransactionBody);
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
    this.txns.push({ txnId, firstSeq, count, eventIds: identity.eventIds });
    this.seen.remember(txnId, identity.digest, identity.eventIds);
    return new Promise<number>((resolve, reject) => {
      this.txnCbs.push((err) => {
        if (err) {
          this.seen.forget(txnId, identity.eventIds);
          reject(err);
        } else resolve(firstSeq);
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
      this.doneTimer = setTimeout(() => {
        this.doneTimer = undefined;
        this.kick();
      }, this.doneFlushMs);
    }
  }

  /**
   * Event `seq` carried a secret and has finished (call after `markDone`): its TXN record must
   * not stay on disk. Its segment, if still the one being written, is closed now; it is dropped
   * (deleted, or rewritten without its transactions) as soon as everything in it has finished.
   */
  forget(seq: number): void {
    const seg = this.segmentOf(seq);
    if (!seg || this.closed) return;
    seg.secret = true;
    if (seg === this.segments.at(-1)) {
      // Rotation fdatasyncs the file: not while a sync runs on it (the next write rotates).
      if (this.syncing || !this.rotate()) this.rotateNext = true;
    } else {
      this.deleteFinishedSegments();
    }
  }

  stats(): JournalStats {
    return { ...this.st, segments: this.segments.length, knownTxns: this.seen.txnCount, knownEvents: this.seen.eventCount };
  }

  /** Write everything pending (DONE markers included) and wait for it. */
  flush(): Promise<void> {
    if (this.doneTimer) {
      clearTimeout(this.doneTimer);
      this.doneTimer = undefined;
    }
    this.kick();
    if (!this.writing && !this.flushQueued && !this.hasPending()) return Promise.resolve();
    return new Promise((resolve) => {
      this.idleWaiters.push(resolve);
      // A flush on a closed journal, or one whose last write failed, must not hang.
      if (this.closed) this.notifyIdle(true);
    });
  }

  /** Flush, sync (unless 'never') and close the current segment. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush();
    this.closed = true;
    for (const t of [this.doneTimer, this.syncTimer, this.retryTimer]) if (t) clearTimeout(t);
    clearInterval(this.ageTimer);
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
    if (this.flushQueued || this.closed) return;
    this.flushQueued = true;
    queueMicrotask(() => this.write());
  }

  /** Write everything queued, synchronously, in one writev. */
  private write(): void {
    this.flushQueued = false;
    if (this.fd < 0) return;
    if (this.chunks.length === 0 && this.started.length === 0 && this.done.length === 0) return this.notifyIdle();
    if (this.rotateNext || this.segments.at(-1)!.bytes >= this.segmentBytes) {
      // Rotation fdatasyncs and closes the file: not while an fdatasync runs
      // on it. The sync's completion kicks the write again.
      if (this.syncing) return;
      if (!this.rotate()) return this.refuseQueued(new Error('the journal could not start a new segment'));
    }

    const started = this.started,
      done = this.done;
    const chunks = this.chunks;
    let bytes = this.chunkBytes;
    // Markers first: a STARTED record needs no TXN record of this batch, and
    // TXN records stay in the order their callers appended them.
    if (done.length) {
      const rec = rangeRecord(REC_DONE_RANGES, done);
      chunks.unshift(rec);
      bytes += rec.length;
    }
    if (started.length) {
      const rec = rangeRecord(REC_STARTED_RANGES, started);
      chunks.unshift(rec);
      bytes += rec.length;
    }
    const txnCbs = this.txnCbs,
      txns = this.txns,
      startedCbs = this.startedCbs;
    this.chunks = [];
    this.chunkBytes = 0;
    this.txnCbs = [];
    this.txns = [];
    this.started = [];
    this.startedCbs = [];
    this.done = [];
    if (this.doneTimer) {
      clearTimeout(this.doneTimer);
      this.doneTimer = undefined;
    }

    const seg = this.segments.at(-1)!;
    try {
      writeAllSync(this.fd, chunks, bytes);
    } catch (err) {
      // The file may end in a partial record now: continue in a new segment.
      this.log.error('Journal write failed; refusing transactions until a write succeeds', { error: (err as Error).message });
      this.rotateNext = true;
      // STARTED/DONE markers are re-queued (their events must not run before
      // their STARTED record is written); the transactions are refused (the
      // homeserver resends them).
      this.started = started.concat(this.started);
      this.startedCbs = startedCbs.concat(this.startedCbs);
      this.done = done.concat(this.done);
      for (let i = 0; i < txnCbs.length; i++) txnCbs[i](err as Error);
      if (!this.retryTimer)
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          this.kick();
        }, 1000);
      this.notifyIdle(true);
      return;
    }
    for (let i = 0; i < txns.length; i++) {
      const t = txns[i];
      if (t.firstSeq < seg.firstSeq) seg.firstSeq = t.firstSeq;
      seg.unfinished += t.count;
    }
    seg.bytes += bytes;
    this.unsynced += bytes;
    this.st.writes++;
    this.st.bytesWritten += bytes;
    if (this.mode === 'always') {
      for (let i = 0; i < txnCbs.length; i++) this.syncTxnCbs.push(txnCbs[i]);
      for (let i = 0; i < txns.length; i++) this.syncTxns.push({ seg, count: txns[i].count });
      for (let i = 0; i < startedCbs.length; i++) this.syncStartedCbs.push(startedCbs[i]);
      this.syncForCallbacks();
    } else {
      for (let i = 0; i < txnCbs.length; i++) txnCbs[i](null);
      for (let i = 0; i < startedCbs.length; i++) startedCbs[i]();
    }
    // Callbacks may have queued more (a STARTED run, say): the next microtask takes it.
    if (!this.hasPending()) this.notifyIdle();
  }

  /** 'always' mode: fdatasync for the written batches' callbacks (one sync at a time; later writes share the next). */
  private syncForCallbacks(): void {
    if (this.syncing || (this.syncTxnCbs.length === 0 && this.syncStartedCbs.length === 0)) return;
    const txnCbs = this.syncTxnCbs,
      txns = this.syncTxns,
      startedCbs = this.syncStartedCbs;
    this.syncTxnCbs = [];
    this.syncTxns = [];
    this.syncStartedCbs = [];
    this.syncing = true;
    this.writing = true;
    this.unsynced = 0;
    fs.fdatasync(this.fd, (err) => {
      this.syncing = false;
      this.writing = false;
      if (err) {
        this.log.error('Journal fdatasync failed; refusing transactions until a write succeeds', { error: err.message });
        // Unknown what reached the disk: start a new segment; the events
        // whose STARTED record may be lost run anyway (their record was
        // written, it survives a process crash).
        this.rotateNext = true;
        // Refused: the homeserver resends them; they are never dispatched from here.
        for (let i = 0; i < txns.length; i++) txns[i].seg.unfinished -= txns[i].count;
        for (let i = 0; i < txnCbs.length; i++) txnCbs[i](err);
        this.deleteFinishedSegments();
      } else {
        this.st.fsyncs++;
        for (let i = 0; i < txnCbs.length; i++) txnCbs[i](null);
      }
      for (let i = 0; i < startedCbs.length; i++) startedCbs[i]();
      this.syncForCallbacks();
      if (this.hasPending()) this.kick();
      else this.notifyIdle();
    });
  }

  private notifyIdle(force = false): void {
    if (!force && (this.writing || this.hasPending())) return;
    if (this.idleWaiters.length === 0) return;
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const f of w) f();
  }

  private backgroundSync(): void {
    if (this.syncing || this.unsynced === 0 || this.fd < 0 || this.closed) return;
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

  /**
   * Continue in a new segment. On a disk error (full, read-only, EIO) the current segment stays
   * open and nothing is lost: false is returned, rotation is retried, and until it succeeds
   * transactions are refused (the homeserver resends them) instead of the process crashing.
   */
  private rotate(): boolean {
    const old = this.segments.at(-1)!;
    const oldFd = this.fd;
    try {
      if (this.mode !== 'never') fs.fdatasyncSync(oldFd);
      this.openSegment(old.id + 1);
    } catch (err) {
      this.log.error('Journal could not start a new segment; refusing transactions until it can', { error: (err as Error).message });
      this.rotateNext = true;
      if (!this.retryTimer)
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          this.kick();
        }, 1000);
      return false;
    }
    try {
      fs.closeSync(oldFd);
    } catch {
      /* already synced; nothing more to lose */
    }
    this.rotateNext = false;
    this.deleteFinishedSegments();
    return true;
  }

  /** Answers every queued transaction with `err` (they were not written); STARTED/DONE markers stay queued. */
  private refuseQueued(err: Error): void {
    const txnCbs = this.txnCbs;
    this.chunks = [];
    this.chunkBytes = 0;
    this.txnCbs = [];
    this.txns = [];
    for (const cb of txnCbs) cb(err);
    this.notifyIdle(true);
  }

  /** Periodic: rotate an aged segment that holds transactions, and drop finished old segments. */
  private startAgeTimer(): void {
    this.ageTimer = setInterval(
      () => {
        if (this.closed || this.fd < 0 || this.syncing) return;
        const current = this.segments.at(-1)!;
        if (current.firstSeq !== Infinity && Date.now() - current.openedAt >= this.segmentMaxAgeMs) this.rotate();
        else this.deleteFinishedSegments();
      },
      Math.max(10, Math.min(this.segmentMaxAgeMs / 2, 60_000)),
    );
    this.ageTimer.unref();
  }

  /** Start segment `id` with a SNAPSHOT of what `seen` remembers, but the transactions not written yet. */
  private openSegment(id: number): void {
    const file = path.join(this.dir, segmentName(id));
    const notWritten = new Set(this.txns.map((t) => t.txnId));
    const notWrittenEvents = new Set(this.txns.flatMap((t) => t.eventIds));
    const json = Buffer.from(JSON.stringify(this.seen.snapshot(notWritten, notWrittenEvents)), 'utf8');
    const payload = Buffer.allocUnsafe(8 + json.length);
    payload.writeDoubleLE(this.nextSeq, 0);
    json.copy(payload, 8);
    const snap = record(REC_SNAPSHOT_SEEN, payload);
    const fd = openPrivateSync(file, 'a');
    try {
      fs.writeSync(fd, snap);
      if (this.mode !== 'never') {
        fs.fdatasyncSync(fd);
        syncDir(this.dir);
      }
    } catch (err) {
      // Not a segment yet: leave no descriptor and no partial file behind for the next attempt.
      try {
        fs.closeSync(fd);
      } catch {
        /* ignore */
      }
      try {
        fs.unlinkSync(file);
      } catch {
        /* ignore */
      }
      throw err;
    }
    this.fd = fd;
    this.segments.push({ id, file, firstSeq: Infinity, unfinished: 0, bytes: snap.length, openedAt: Date.now() });
  }

  private segmentOf(seq: number): Segment | undefined {
    for (let i = this.segments.length - 1; i >= 0; i--) if (this.segments[i].firstSeq <= seq) return this.segments[i];
    return undefined;
  }

  /**
   * Delete the oldest segments while they are fully finished (never the current one); then
   * drop the transactions of finished segments holding a secret that older ones keep alive.
   */
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
    for (let i = 0; i < this.segments.length - 1; i++) {
      const seg = this.segments[i];
      if (seg.secret && seg.unfinished <= 0) this.dropTransactions(seg);
    }
  }

  /**
   * Rewrite a finished, closed segment without its TXN records: its SNAPSHOT and STARTED/DONE
   * markers stay (events of older segments may be marked in it). Every txnId it held is in a
   * later segment's SNAPSHOT, so retries are still recognised. Crash-safe: temp file, rename.
   */
  private dropTransactions(seg: Segment): void {
    const tmp = `${seg.file}.tmp`;
    try {
      const buf = fs.readFileSync(seg.file);
      const kept: Buffer[] = [];
      let off = 0;
      while (off + HEADER <= buf.length) {
        const len = buf.readUInt32LE(off);
        const end = off + 8 + len;
        if (len < 1 || end > buf.length) break;
        if (buf[off + 8] !== REC_TXN) kept.push(buf.subarray(off, end));
        off = end;
      }
      const fd = openPrivateSync(tmp, 'w');
      try {
        const out = Buffer.concat(kept);
        writeAllSync(fd, [out], out.length);
        if (this.mode !== 'never') fs.fdatasyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(tmp, seg.file);
      if (this.mode !== 'never') syncDir(this.dir);
      seg.secret = false;
    } catch (err) {
      try {
        fs.unlinkSync(tmp);
      } catch {
        /* not created */
      }
      this.log.warn('Could not drop the finished transactions of a journal segment holding a secret; it goes with the segment', {
        file: seg.file,
        error: (err as Error).message,
      });
      seg.secret = false;
    }
  }

  // ---- loading ----

  private load(): JournaledTxn[] {
    makePrivateDirSync(this.dir);
    const ids = fs
      .readdirSync(this.dir)
      .map((f) => SEGMENT_RE.exec(f))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
    const txns: LoadedTxn[] = [];
    const started = new Set<number>();
    const done = new Set<number>();
    for (const id of ids) {
      const file = path.join(this.dir, segmentName(id));
      const buf = fs.readFileSync(file);
      const seg: Segment = { id, file, firstSeq: Infinity, unfinished: 0, bytes: buf.length, openedAt: Date.now() };
      this.segments.push(seg);
      let off = 0;
      while (off + HEADER <= buf.length) {
        const len = buf.readUInt32LE(off);
        const end = off + 8 + len;
        if (len < 1 || end > buf.length || crc32(buf.subarray(off + 8, end)) >>> 0 !== buf.readUInt32LE(off + 4)) break;
        const type = buf[off + 8];
        const p = off + HEADER;
        if (type === REC_TXN) {
          const firstSeq = buf.readDoubleLE(p);
          const count = buf.readUInt32LE(p + 8);
          const idLen = buf.readUInt16LE(p + 12);
          const txnId = buf.toString('utf8', p + 14, p + 14 + idLen);
          const t = parseTxn(txnId, firstSeq, count, buf.subarray(p + 14 + idLen, end), seg);
          txns.push(t);
          // In record order, like snapshots: what was written last is what the homeserver's txnId stands for now.
          this.seen.remember(txnId, t.digest, t.eventIds);
          if (firstSeq < seg.firstSeq) seg.firstSeq = firstSeq;
          if (firstSeq + count > this.nextSeq) this.nextSeq = firstSeq + count;
        } else if (type === REC_STARTED || type === REC_DONE) {
          const set = type === REC_STARTED ? started : done;
          for (let o = p; o + 8 <= end; o += 8) set.add(buf.readDoubleLE(o));
        } else if (type === REC_STARTED_RANGES || type === REC_DONE_RANGES) {
          const set = type === REC_STARTED_RANGES ? started : done;
          for (let o = p; o + RANGE <= end; o += RANGE) {
            const first = buf.readDoubleLE(o);
            const count = buf.readUInt32LE(o + 8);
            for (let k = 0; k < count; k++) set.add(first + k);
          }
        } else if (type === REC_SNAPSHOT || type === REC_SNAPSHOT_SEEN) {
          const next = buf.readDoubleLE(p);
          if (next > this.nextSeq) this.nextSeq = next;
          const json = JSON.parse(buf.toString('utf8', p + 8, end)) as unknown;
          if (type === REC_SNAPSHOT_SEEN) this.seen.restore(json as SeenSnapshot);
          // Older journals: txnIds only, their events unknown (never overriding what a TXN record told).
          else for (const t of json as string[]) if (!this.seen.hasTxn(t)) this.seen.remember(t, UNKNOWN_DIGEST, []);
        }
        off = end;
      }
      if (off !== buf.length) {
        this.log.warn('Journal segment ends in a torn or corrupt record; ignoring the rest', { file, offset: off, size: buf.length });
      }
    }
    // An event written twice: the first write was refused (it failed, or its fdatasync did, after
    // the bytes reached the file) and the homeserver sent it again, under the same txnId or, after
    // a restart of its own, possibly another composition of it. Only the last copy was
    // acknowledged; replaying the first too would deliver it twice. A record is superseded whole
    // by a later one of the same txnId and events; an event, by a later record holding it.
    const lastCopy = new Map<string, number>();
    const lastHolder = new Map<string, number>();
    txns.forEach((t, i) => {
      lastCopy.set(`${t.txnId}\u0000${t.digest}`, i);
      for (const e of t.eventIds) lastHolder.set(e, i);
    });
    const replay: JournaledTxn[] = [];
    for (const [i, t] of txns.entries()) {
      if (lastCopy.get(`${t.txnId}\u0000${t.digest}`) !== i) continue;
      const pending: JournaledTxn['pending'] = [];
      for (let k = 0; k < t.count; k++) {
        const seq = t.firstSeq + k;
        if (done.has(seq)) continue;
        const eventId = t.itemEventIds?.[k];
        if (eventId !== undefined && lastHolder.get(eventId) !== i) continue;
        pending.push({ index: k, seq, started: started.has(seq) });
      }
      if (pending.length === 0) continue;
      if (t.error !== undefined) {
        this.log.error('Journaled transaction cannot be replayed; skipping it', { txnId: t.txnId, error: t.error });
        continue;
      }
      t.seg.unfinished += pending.length;
      // Parsed again rather than kept from the scan: only transactions with pending events are held in memory.
      replay.push({ txnId: t.txnId, firstSeq: t.firstSeq, body: JSON.parse(t.raw.toString('utf8')) as TransactionBody, pending });
    }
    if (ids.length) {
      const events = replay.reduce((n, r) => n + r.pending.length, 0);
      this.log.info('Journal loaded', {
        segments: ids.length,
        knownTxns: this.seen.txnCount,
        knownEvents: this.seen.eventCount,
        replayEvents: events,
      });
    }
    return replay;
  }
}

/** A TXN record read back: its identity, and `error` when its body cannot be read. */
interface LoadedTxn {
  txnId: string;
  firstSeq: number;
  count: number;
  seg: Segment;
  raw: Buffer;
  digest: string;
  eventIds: string[];
  /** Item index → its timeline event ID (undefined for ephemeral items and events without one). */
  itemEventIds?: Array<string | undefined>;
  error?: string;
}

function parseTxn(txnId: string, firstSeq: number, count: number, raw: Buffer, seg: Segment): LoadedTxn {
  try {
    const body = JSON.parse(raw.toString('utf8')) as TransactionBody;
    const itemEventIds = mapTransactionItems(body, (event, kind) =>
      kind === 'timeline' && typeof event.event_id === 'string' ? event.event_id : undefined,
    );
    if (itemEventIds.length !== count) throw new Error(`expected ${count} events, found ${itemEventIds.length}`);
    const { digest, eventIds } = transactionIdentity(body);
    return { txnId, firstSeq, count, seg, raw, digest, eventIds, itemEventIds };
  } catch (err) {
    return { txnId, firstSeq, count, seg, raw, digest: UNKNOWN_DIGEST, eventIds: [], error: (err as Error).message };
  }
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
