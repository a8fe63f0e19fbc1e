/**
 * The transaction sink the AppserviceServer feeds: journal + room dispatcher
 * + back-pressure, giving exactly-once acceptance and at-least-once handling
 * with a redelivery flag.
 *
 * Guarantees (with a journal; see transaction-journal.ts for fsync modes):
 * 1. A transaction is answered 200 only after its raw body is written to the
 *    journal. A retry (same txnId and same events; same process or after a
 *    restart, within the last `rememberTxns` transactions) is answered 200
 *    without reprocessing. A known txnId with other events is a new
 *    transaction (homeservers reuse them after a restart; logged once at
 *    info). An event already accepted (by event ID, within the last
 *    `rememberEvents`) is never queued again, whatever transaction it comes in.
 * 2. Every acknowledged event reaches the handler at least once, also across
 *    SIGKILL: events not marked done are replayed on start, in journal order,
 *    before any new transaction is taken.
 * 3. Within a room, events reach the handler in journal order, one at a time,
 *    also across restarts (replayed events come first).
 * 4. `delivery.redelivered === false` means the event has never been given to
 *    a handler before, in any process: a STARTED record covering it is
 *    written before its first call (one record per run of a room's queued
 *    events, so some replayed events are flagged although they never ran). A duplicate call can therefore only happen with
 *    `redelivered === true` (crash after the handler started but before its
 *    DONE record, which is batched), or as an in-process retry after a throw
 *    (`attempt > 0`). Handlers with side effects on an idempotent remote
 *    should key them by event ID whenever `redelivered` is set.
 * 5. Back-pressure: when `highWaterMark` events are unfinished, new
 *    transactions wait (their bodies are not even read: the homeserver keeps
 *    them) until the count drops; memory holds at most `highWaterMark` plus
 *    one transaction per concurrent request (the homeserver sends one at a
 *    time).
 *
 * Without `journalDir` the pipeline is in-memory: same ordering and dedupe
 * within the process, nothing survives a restart (tests, dev).
 */
import { getLogger, type Logger } from '../logging/logger';
import { RoomDispatcher, type DispatcherStats, type RoomDispatcherOptions } from './room-dispatcher';
import { SeenTransactions, transactionIdentity, type TransactionIdentity } from './seen-transactions';
import { TransactionJournal, type JournalOptions, type JournalStats } from './transaction-journal';
import {
  mapTransactionItems,
  transactionItemCount,
  transactionItems,
  type Admission,
  type DeliveryItem,
  type EventHandler,
  type TransactionBody,
  type TransactionSink,
} from './transaction';
import { isMatrixEvent, type MatrixEvent } from '../matrix/event';

export interface DeliveryPipelineOptions {
  handler: EventHandler;
  /** Journal directory (inside the bridge's data directory). Omit for in-memory only. */
  journalDir?: string;
  journal?: Omit<JournalOptions, 'dir' | 'log'>;
  /** Unfinished events above which new transactions are held. Default 10,000. */
  highWaterMark?: number;
  concurrency?: RoomDispatcherOptions['concurrency'];
  retry?: RoomDispatcherOptions['retry'];
  log?: Logger;
  /**
   * Timeline events the handler is known to drop: the bridge's own echoes (every message its
   * ghosts send comes back in a transaction). A transaction made only of them is acknowledged
   * without a journal write or a dispatch; `onIgnored` still sees each event, once (the txnId and
   * the digest of its events are remembered, and kept in the journal's snapshots). At a steady
   * message rate from the remote side nearly every transaction is one echo, and each was written
   * to disk for an event nobody handles.
   */
  ignorable?: (event: MatrixEvent) => boolean;
  onIgnored?: (event: MatrixEvent) => void;
}

export interface DeliveryStats extends DispatcherStats {
  /** Transactions waiting for back-pressure to ease. */
  heldTransactions: number;
  /** Events being written to the journal (accepted, not yet dispatched). */
  journaling: number;
  journal?: JournalStats;
}

const FREE: Admission = { ready: undefined, release() {} };
const NONE: readonly string[] = [];

/** A transaction being journaled: a retry of it waits for the same outcome. */
interface InFlight {
  digest: string;
  /** The event IDs it journals (remembered as accepted already: another copy of one must wait for the outcome). */
  eventIds: readonly string[];
  done: Promise<void>;
}

export class DeliveryPipeline implements TransactionSink {
  private readonly dispatcher: RoomDispatcher;
  private readonly inflight = new Map<string, InFlight>();
  /** The journal's (persisted), or the pipeline's own without a journal. */
  private readonly seen: SeenTransactions;
  private reuseLogged = false;
  private memSeq = 0;
  private journaling = 0;
  private readonly hwm: number;
  private waiters: Array<{ resolve: () => void; granted: boolean; released: boolean }> = [];
  /** Admissions granted from the wait queue whose `accept` has not been called yet. */
  private admitting = 0;
  private readonly log: Logger;
  private readonly ignorable: DeliveryPipelineOptions['ignorable'];
  private readonly onIgnored: DeliveryPipelineOptions['onIgnored'];

  private constructor(
    opts: DeliveryPipelineOptions,
    private readonly journal: TransactionJournal | undefined,
  ) {
    this.hwm = Math.max(1, opts.highWaterMark ?? 10_000);
    this.log = opts.log ?? getLogger('appservice.delivery');
    this.ignorable = opts.ignorable;
    this.onIgnored = opts.onIgnored;
    this.seen = journal?.seen ?? new SeenTransactions({ maxTxns: opts.journal?.rememberTxns, maxEvents: opts.journal?.rememberEvents });
    const j = journal;
    this.dispatcher = new RoomDispatcher({
      handler: opts.handler,
      concurrency: opts.concurrency,
      retry: opts.retry,
      log: this.log,
      beforeStart: j ? (seqs, go) => j.markStarted(seqs, go) : undefined,
      onFinished: j
        ? (item) => {
            j.markDone(item.seq);
            if (item.carriesSecret) j.forget(item.seq);
          }
        : undefined,
    });
    this.dispatcher.onProgress(() => {
      if (this.waiters.length) this.wake();
    });
  }

  /**
   * Open the journal (if any), queue the replay of unfinished events, and
   * return a pipeline ready to be the server's TransactionSink.
   */
  static async open(opts: DeliveryPipelineOptions): Promise<DeliveryPipeline> {
    let journal: TransactionJournal | undefined;
    let replay: Awaited<ReturnType<typeof TransactionJournal.open>>['replay'] = [];
    if (opts.journalDir) {
      const log = (opts.log ?? getLogger('appservice')).child({ module: 'journal' });
      ({ journal, replay } = await TransactionJournal.open({ ...opts.journal, dir: opts.journalDir, log }));
    }
    const p = new DeliveryPipeline(opts, journal);
    for (const t of replay) {
      const all = transactionItems(t.body);
      const items: DeliveryItem[] = t.pending.map(({ index, seq, started }) => ({
        event: all[index].event,
        kind: all[index].kind,
        txnId: t.txnId,
        seq,
        attempt: 0,
        redelivered: started,
        startMarked: false,
      }));
      p.dispatcher.enqueue(items);
    }
    return p;
  }

  knows(txnId: string): boolean {
    return this.inflight.has(txnId) || this.seen.hasTxn(txnId);
  }

  retry(txnId: string, body: TransactionBody): Promise<void> | undefined {
    return this.retryOf(txnId, transactionIdentity(body).digest);
  }

  private retryOf(txnId: string, digest: string): Promise<void> | undefined {
    const flight = this.inflight.get(txnId);
    if (flight?.digest === digest) return flight.done;
    if (!flight && this.seen.isRetry(txnId, digest)) return Promise.resolve();
    return undefined;
  }

  admit(): Admission {
    if (this.waiters.length === 0 && this.admitting === 0 && this.pressure() < this.hwm) return FREE;
    const w = { resolve: () => {}, granted: false, released: false };
    const ready = new Promise<void>((resolve) => {
      w.resolve = resolve;
    });
    this.waiters.push(w);
    return {
      ready,
      release: () => {
        if (w.released) return;
        w.released = true;
        if (w.granted) this.admitting--;
        else this.waiters.splice(this.waiters.indexOf(w), 1);
        this.wake();
      },
    };
  }

  accept(txnId: string, body: TransactionBody, raw: Buffer): Promise<void> {
    const identity = transactionIdentity(body);
    const retry = this.retryOf(txnId, identity.digest);
    if (retry) return retry;
    // Another transaction with this txnId is being journaled right now: decide once its outcome is known.
    const flight = this.inflight.get(txnId);
    if (flight)
      return flight.done.then(
        () => this.accept(txnId, body, raw),
        () => this.accept(txnId, body, raw),
      );

    // Events already accepted in an earlier transaction are not queued again.
    const again = this.alreadyAccepted(identity.eventIds);
    if (again.length && this.inflight.size) {
      // Some may be in a transaction still being journaled (a homeserver that restarted mid-request
      // sends them again): if that write fails they are not accepted after all, so wait for it.
      const holders = [...this.inflight.values()].filter((f) => again.some((id) => f.eventIds.includes(id)));
      if (holders.length) return Promise.allSettled(holders.map((f) => f.done)).then(() => this.accept(txnId, body, raw));
    }
    if (this.seen.hasTxn(txnId)) this.noteReusedTxnId(txnId);
    if (again.length) {
      body = withoutEvents(body, new Set(again));
      raw = Buffer.from(JSON.stringify(body));
      this.log.debug('Events already accepted left out of a transaction', { txnId, events: again.length });
    }
    const n = transactionItemCount(body);
    if (n === 0 || (this.ignorable && this.onlyIgnorable(body))) {
      // Nothing to journal: remembered so a retry is known (echoes' event IDs are not worth the room).
      this.seen.remember(txnId, identity.digest, n === 0 ? identity.eventIds : []);
      if (n > 0 && this.onIgnored) for (const e of body.events) if (isMatrixEvent(e)) this.onIgnored(e);
      return Promise.resolve();
    }
    const fresh = again.length ? identity.eventIds.filter((id) => !again.includes(id)) : identity.eventIds;
    const recorded: TransactionIdentity = { digest: identity.digest, eventIds: fresh };
    let p: Promise<void>;
    if (this.journal) {
      this.journaling += n;
      const b = body;
      p = this.journal.append(txnId, raw, n, recorded).then(
        (firstSeq) => {
          this.journaling -= n;
          this.dispatch(txnId, b, firstSeq);
        },
        (err) => {
          this.journaling -= n;
          this.wake();
          throw err;
        },
      );
    } else {
      this.seen.remember(txnId, recorded.digest, recorded.eventIds);
      const firstSeq = this.memSeq;
      this.memSeq += n;
      this.dispatch(txnId, body, firstSeq);
      p = Promise.resolve();
    }
    const entry: InFlight = { digest: identity.digest, eventIds: fresh, done: p };
    this.inflight.set(txnId, entry);
    const clear = () => {
      if (this.inflight.get(txnId) === entry) this.inflight.delete(txnId);
    };
    p.then(clear, clear);
    return p;
  }

  /** The event IDs among `ids` accepted before (no allocation in the usual case: none). */
  private alreadyAccepted(ids: readonly string[]): readonly string[] {
    let again: string[] | undefined;
    for (let i = 0; i < ids.length; i++) if (this.seen.hasEvent(ids[i])) (again ??= []).push(ids[i]);
    return again ?? NONE;
  }

  /**
   * A txnId seen before with other events: not a retry but a new transaction. Synapse on SQLite
   * numbers transactions from 1 again after a restart (synapse#14556); said once, at info.
   */
  private noteReusedTxnId(txnId: string): void {
    if (this.reuseLogged) {
      if (this.log.isLevelEnabled('debug')) this.log.debug('Transaction ID reused by the homeserver', { txnId });
      return;
    }
    this.reuseLogged = true;
    this.log.info(
      'The homeserver reused a transaction ID for other events (it numbers transactions anew after a restart, ' +
        'as Synapse with SQLite does); taking it as a new transaction. Retries are still recognised by their events.',
      { txnId },
    );
  }

  /** Resolves when every accepted event has finished. */
  async idle(): Promise<void> {
    while (this.journaling > 0 || this.dispatcher.unfinished > 0) {
      await this.dispatcher.idle();
      if (this.journaling > 0) await new Promise((r) => setImmediate(r));
    }
  }

  stats(): DeliveryStats {
    return {
      ...this.dispatcher.stats(),
      heldTransactions: this.waiters.filter((w) => !w.granted).length,
      journaling: this.journaling,
      journal: this.journal?.stats(),
    };
  }

  /**
   * Flush DONE markers and close the journal. Handlers still running are not
   * awaited (call `idle()` first for a clean drain); their events will be
   * replayed, flagged redelivered, on the next start.
   */
  async close(): Promise<void> {
    await this.journal?.close();
  }

  /** Only timeline events, every one of them ignorable (a transaction with anything else goes the normal way). */
  private onlyIgnorable(body: TransactionBody): boolean {
    const events = body.events;
    if (events.length === 0 || transactionItemCount(body) !== events.length) return false;
    for (const e of events) if (!isMatrixEvent(e) || !this.ignorable!(e)) return false;
    return true;
  }

  private pressure(): number {
    return this.dispatcher.unfinished + this.journaling;
  }

  private wake(): void {
    while (this.admitting === 0 && this.pressure() < this.hwm) {
      const w = this.waiters.find((x) => !x.granted);
      if (!w) return;
      this.waiters.splice(this.waiters.indexOf(w), 1);
      w.granted = true;
      this.admitting++;
      w.resolve();
    }
  }

  private dispatch(txnId: string, body: TransactionBody, firstSeq: number): void {
    this.dispatcher.enqueue(
      mapTransactionItems(body, (event, kind, i): DeliveryItem => ({
        event,
        kind,
        txnId,
        seq: firstSeq + i,
        attempt: 0,
        redelivered: false,
        startMarked: false,
      })),
    );
  }
}

/** The body without the timeline events whose IDs are in `ids` (ephemeral events stay). */
function withoutEvents(body: TransactionBody, ids: ReadonlySet<string>): TransactionBody {
  return {
    ...body,
    events: body.events.filter((e) => !(isMatrixEvent(e) && e.event_id !== undefined && ids.has(e.event_id))),
  };
}
