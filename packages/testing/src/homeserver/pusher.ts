// The appservice transaction pusher. One queue per appservice, one transaction in
// flight at a time. A failed transaction is resent with the SAME txnId and the
// byte-identical body (serialised once) after exponential backoff, and nothing
// newer is sent until it succeeds — that is what gives bridges in-order,
// exactly-once-if-idempotent delivery. Events arriving meanwhile accumulate and
// are batched into the following transactions.
import type { Appservice } from './appservices';
import { Outbound, TransportError } from './outbound';
import { EventRecord, formatEvent } from './rooms';

export interface PusherOptions {
  retryBaseMs: number;
  retryMaxMs: number;
  timeoutMs: number;
  maxEventsPerTxn: number;
  maxEphemeralPerTxn: number;
  /** Also put the hs_token in `?access_token=` (legacy servers). */
  tokenInQuery: boolean;
  /** Retry the legacy `/transactions/{txnId}` path when v1 answers 404/405/501. */
  legacyFallback: boolean;
}

export interface PushAttempt {
  asId: string;
  txnId: string;
  path: string;
  /** HTTP status, or 'timeout' / 'connection' for transport failures, or 'lost' when loseNextResponse ate a 2xx. */
  outcome: number | 'timeout' | 'connection' | 'lost';
  eventIds: string[];
  at: number;
}

interface InFlight {
  txnId: string;
  body: string;
  /** The timeline events, kept to serialise them again after a restart (Synapse reloads them from its database). */
  recs: EventRecord[];
  eventIds: string[];
  ephemeralCount: number;
  attempts: number;
}

class AsQueue {
  events: EventRecord[] = [];
  ephemeral: Record<string, unknown>[] = [];
  inflight?: InFlight;
  sending = false;
  timer?: NodeJS.Timeout;
  scheduled = false;
  failures = 0;
  nextTxn = 1;
  delivered = 0;
  deliveredEphemeral = 0;
  loseNext = 0;
  constructor(readonly as: Appservice) {}
  get pending(): number {
    return this.events.length + this.ephemeral.length + (this.inflight ? this.inflight.eventIds.length + this.inflight.ephemeralCount : 0);
  }
}

export class Pusher {
  private queues = new Map<string, AsQueue>();
  private paused = false;
  private stopped = false;
  private abort = new AbortController();
  /** Bumped by restart(): a push started before it is forgotten, not counted as a failure. */
  private generation = 0;
  /** Between restart() and resumeAfterRestart(): the homeserver is not running. */
  private down = false;
  private log: PushAttempt[] = [];
  private idleWaiters = new Set<() => void>();
  private globalLoss = 0;

  constructor(
    private out: Outbound,
    private opts: PusherOptions,
    private lookup: (asId: string) => Appservice | undefined,
  ) {}

  private queue(as: Appservice): AsQueue {
    let q = this.queues.get(as.id);
    if (!q) this.queues.set(as.id, (q = new AsQueue(as)));
    return q;
  }

  /** Queue a room event for an appservice (no-op for url: null registrations). */
  enqueueEvent(as: Appservice, rec: EventRecord): void {
    if (!as.url || this.stopped) return;
    const q = this.queue(as);
    q.events.push(rec);
    this.schedule(q);
  }

  /** Queue an ephemeral event (typing/receipt) — only for registrations that asked for them. */
  enqueueEphemeral(as: Appservice, edu: Record<string, unknown>): void {
    if (!as.url || !as.ephemeralKey || this.stopped) return;
    const q = this.queue(as);
    q.ephemeral.push(edu);
    this.schedule(q);
  }

  // Defer to the next macrotask so the events produced by one request (e.g. the
  // six or so of a createRoom) land in one transaction, as with Synapse.
  private schedule(q: AsQueue): void {
    if (q.scheduled || q.sending || q.timer || this.paused || this.down) return;
    q.scheduled = true;
    setImmediate(() => {
      q.scheduled = false;
      void this.run(q);
    });
  }

  private async run(q: AsQueue): Promise<void> {
    if (this.stopped || this.paused || this.down || q.sending || q.timer) return;
    if (!q.inflight) {
      if (q.events.length === 0 && q.ephemeral.length === 0) return this.checkIdle();
      q.inflight = this.build(q);
    }
    const t = q.inflight;
    const generation = this.generation;
    q.sending = true;
    t.attempts++;
    let outcome: PushAttempt['outcome'];
    let path = `/_matrix/app/v1/transactions/${encodeURIComponent(t.txnId)}`;
    try {
      const paths = [path];
      if (this.opts.legacyFallback) paths.push(`/transactions/${encodeURIComponent(t.txnId)}`);
      const r = await this.out.withFallback('PUT', q.as.url!, paths, {
        token: q.as.hsToken,
        tokenInQuery: this.opts.tokenInQuery,
        body: t.body,
        timeoutMs: this.opts.timeoutMs,
        signal: this.abort.signal,
      });
      path = r.path;
      outcome = r.status;
      if (r.status >= 200 && r.status < 300 && (q.loseNext > 0 || this.globalLoss > 0)) {
        if (q.loseNext > 0) q.loseNext--;
        else this.globalLoss--;
        outcome = 'lost';
      }
    } catch (e) {
      outcome = e instanceof TransportError ? e.kind : 'connection';
    }
    if (generation !== this.generation) return;
    q.sending = false;
    if (this.stopped) return;
    this.log.push({ asId: q.as.id, txnId: t.txnId, path, outcome, eventIds: t.eventIds, at: Date.now() });
    if (typeof outcome === 'number' && outcome >= 200 && outcome < 300) {
      q.inflight = undefined;
      q.failures = 0;
      q.delivered += t.eventIds.length;
      q.deliveredEphemeral += t.ephemeralCount;
      if (q.events.length || q.ephemeral.length) this.schedule(q);
      else this.checkIdle();
      return;
    }
    // Failure: keep the same transaction at the head and back off exponentially.
    q.failures++;
    const delay = Math.min(this.opts.retryBaseMs * 2 ** (q.failures - 1), this.opts.retryMaxMs);
    q.timer = setTimeout(() => {
      q.timer = undefined;
      void this.run(q);
    }, delay);
  }

  private build(q: AsQueue): InFlight {
    const now = Date.now();
    const recs = q.events.splice(0, this.opts.maxEventsPerTxn);
    const eph = q.ephemeral.splice(0, this.opts.maxEphemeralPerTxn);
    const body: Record<string, unknown> = { events: recs.map((r) => formatEvent(r, now)) };
    if (eph.length && q.as.ephemeralKey) body[q.as.ephemeralKey] = eph;
    return {
      txnId: String(q.nextTxn++),
      // Serialised once: a retry resends exactly these bytes.
      body: JSON.stringify(body),
      recs,
      eventIds: recs.map((r) => r.ev.event_id),
      ephemeralCount: eph.length,
      attempts: 0,
    };
  }

  // ---- test hooks ------------------------------------------------------------

  /** Events (and ephemeral events) queued or in flight, for one AS or all. */
  pending(asId?: string): number {
    if (asId !== undefined) return this.queues.get(asId)?.pending ?? 0;
    let n = 0;
    for (const q of this.queues.values()) n += q.pending;
    return n;
  }

  /** Events acknowledged by the AS (2xx), for one AS or all. */
  delivered(asId?: string): number {
    if (asId !== undefined) return this.queues.get(asId)?.delivered ?? 0;
    let n = 0;
    for (const q of this.queues.values()) n += q.delivered;
    return n;
  }

  deliveredEphemeral(asId?: string): number {
    if (asId !== undefined) return this.queues.get(asId)?.deliveredEphemeral ?? 0;
    let n = 0;
    for (const q of this.queues.values()) n += q.deliveredEphemeral;
    return n;
  }

  /** Every push attempt so far (including retries and fallbacks), oldest first. */
  attempts(asId?: string): PushAttempt[] {
    return asId === undefined ? this.log.slice() : this.log.filter((a) => a.asId === asId);
  }

  /** Forget the attempt log (counters for delivered/pending are unaffected). */
  clearAttempts(): void {
    this.log.length = 0;
  }

  /** Stop starting transactions (one in flight finishes); events accumulate. */
  pause(): void {
    this.paused = true;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  resume(): void {
    this.paused = false;
    for (const q of this.queues.values()) this.schedule(q);
  }

  /**
   * The AS will receive the next transaction and answer 2xx, but the emulator acts as
   * if the response was lost and resends the same txnId + body after the backoff.
   */
  loseNextResponse(asId?: string, times = 1): void {
    if (asId === undefined) {
      this.globalLoss += times;
      return;
    }
    const as = this.lookup(asId);
    if (!as) throw new Error(`unknown appservice ${asId}`);
    this.queue(as).loseNext += times;
  }

  /** Resolves once every queue is empty with nothing in flight; rejects after timeoutMs (default 5000). */
  waitForIdle(timeoutMs = 5000): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = () => {
        if (!this.isIdle()) return;
        clearTimeout(t);
        this.idleWaiters.delete(done);
        resolve();
      };
      const t = setTimeout(() => {
        this.idleWaiters.delete(done);
        reject(new Error(`pusher not idle after ${timeoutMs}ms: ${this.pending()} pending${this.paused ? ' (paused)' : ''}`));
      }, timeoutMs);
      this.idleWaiters.add(done);
    });
  }

  private isIdle(): boolean {
    for (const q of this.queues.values()) if (q.pending > 0 || q.scheduled) return false;
    return true;
  }

  private checkIdle(): void {
    if (this.idleWaiters.size === 0) return;
    for (const w of [...this.idleWaiters]) w();
  }

  /**
   * What a homeserver restart does to appservice delivery, as Synapse 1.67 does it:
   * - a push in flight is cut off (the appservice may or may not have got it);
   * - a transaction not yet acknowledged was stored in the database: it is sent again after the
   *   restart under the same txnId with the same events, serialised anew (a new `unsigned.age`,
   *   so not the same bytes) and without its ephemeral events, which were never stored;
   * - events queued in memory behind it, not yet in a transaction, are lost: Synapse had already
   *   moved its appservice stream position past them (typing and receipts too);
   * - `resetTxnIds` (SQLite): the ID sequence restarts after the highest stored transaction, so
   *   from 1 when every transaction had been acknowledged. With PostgreSQL it continues.
   */
  restart(opts: { resetTxnIds: boolean }): void {
    this.generation++;
    this.down = true;
    this.abort.abort();
    this.abort = new AbortController();
    const now = Date.now();
    for (const q of this.queues.values()) {
      if (q.timer) clearTimeout(q.timer);
      q.timer = undefined;
      q.sending = false;
      q.failures = 0;
      q.events = [];
      q.ephemeral = [];
      const t = q.inflight;
      if (t && t.recs.length === 0) q.inflight = undefined;
      else if (t) {
        q.inflight = { ...t, body: JSON.stringify({ events: t.recs.map((r) => formatEvent(r, now)) }), ephemeralCount: 0 };
      }
      if (opts.resetTxnIds) q.nextTxn = q.inflight ? Number(q.inflight.txnId) + 1 : 1;
    }
    this.checkIdle();
  }

  /** After restart(): resend what was stored, once the homeserver is up again. */
  resumeAfterRestart(): void {
    this.down = false;
    for (const q of this.queues.values()) this.schedule(q);
  }

  stop(): void {
    this.stopped = true;
    this.abort.abort();
    for (const q of this.queues.values()) if (q.timer) clearTimeout(q.timer);
  }
}
