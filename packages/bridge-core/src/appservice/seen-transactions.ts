/**
 * What the bridge remembers of the transactions it accepted, to tell a homeserver's retry from
 * a new transaction.
 *
 * A txnId is an idempotency key for retries, not a global identity: Synapse on SQLite numbers
 * transactions from 1 again after a restart once the earlier ones were delivered (synapse#14556),
 * so "1" can be a new transaction tomorrow. A transaction is therefore known by its txnId *and*
 * its events: a retry carries the same txnId and the same events (not necessarily the same bytes:
 * a restarted Synapse serialises them again, with a new `unsigned.age` and without the
 * ephemeral events it never stored). A known txnId with other events is a new transaction.
 * Independently, every timeline event ID accepted is remembered, so an event the homeserver
 * sends again in another transaction is not handled twice.
 *
 * Both memories are bounded by count, oldest forgotten first:
 * - `maxTxns` txnIds (default 10,000), with a 128-bit digest of their events each;
 * - `maxEvents` event IDs (default 10,000). A homeserver sends one transaction at a time per
 *   appservice and retries only the oldest one not acknowledged (Synapse: at most 100 events
 *   each); a restarted Synapse sends again only the transactions it had stored as not yet
 *   acknowledged. So a duplicate is always among the last few hundred events at most; 10,000 is
 *   a wide margin that costs about 1 MB of memory, and about 0.5 MB in each journal segment's
 *   snapshot. An event sent again after 10,000 newer ones would be handled again.
 * The journal persists both (segment snapshots plus its TXN records), so they survive restarts.
 */
import { createHash } from 'node:crypto';
import { FifoMap, FifoSet } from '../util/fifo-map';
import { mapTransactionItems, type TransactionBody } from './transaction';

export interface SeenTransactionsOptions {
  /** txnIds remembered. Default 10,000. */
  maxTxns?: number;
  /** Timeline event IDs remembered. Default 10,000. */
  maxEvents?: number;
}

/** Digest of a transaction whose events are not known (a journal written before digests existed). */
export const UNKNOWN_DIGEST = '';

/** What a transaction is made of, for telling a retry from a new transaction. */
export interface TransactionIdentity {
  /** 128-bit digest of its timeline event IDs (of its ephemeral events when it has no timeline events). */
  digest: string;
  /** Its timeline event IDs, in order (entries without an ID are left out). */
  eventIds: string[];
}

/**
 * The identity of a transaction body. Timeline events are named by event ID (a retry after a
 * homeserver restart has the same events, re-serialised, and may lack the ephemeral ones); a
 * transaction of ephemeral events only (typing, receipts: no IDs) is named by their content.
 */
export function transactionIdentity(body: TransactionBody): TransactionIdentity {
  const eventIds: string[] = [];
  let anonymous: string[] | undefined;
  let ephemeral: string[] | undefined;
  mapTransactionItems(body, (event, kind) => {
    if (kind !== 'timeline') (ephemeral ??= []).push(JSON.stringify(event));
    else if (typeof event.event_id === 'string') eventIds.push(event.event_id);
    else (anonymous ??= []).push(JSON.stringify(event));
    return 0;
  });
  // Event IDs start with `$` and JSON with `{`: the three lists cannot be mistaken for each other.
  const text = eventIds.length || anonymous ? `${eventIds.join('\n')}\n${anonymous?.join('\n') ?? ''}` : (ephemeral?.join('\n') ?? '');
  return { digest: createHash('sha256').update(text).digest('base64url').slice(0, 22), eventIds };
}

/** The JSON a journal snapshot holds: `[txnId, digest]` pairs and event IDs, oldest first. */
export interface SeenSnapshot {
  t: Array<[string, string]>;
  e: string[];
}

export class SeenTransactions {
  /** txnId → digest, oldest accepted first (a reused txnId moves to the newest place). */
  private readonly txns: FifoMap<string>;
  private readonly events: FifoSet;

  constructor(opts: SeenTransactionsOptions = {}) {
    this.txns = new FifoMap(Math.max(1, opts.maxTxns ?? 10_000));
    this.events = new FifoSet(Math.max(0, opts.maxEvents ?? 10_000));
  }

  hasTxn(txnId: string): boolean {
    return this.txns.has(txnId);
  }

  /** Same txnId, same events: the homeserver is retrying a transaction already accepted. */
  isRetry(txnId: string, digest: string): boolean {
    const known = this.txns.get(txnId);
    return known !== undefined && known !== UNKNOWN_DIGEST && known === digest;
  }

  hasEvent(eventId: string): boolean {
    return this.events.has(eventId);
  }

  /** Record an accepted transaction (a reused txnId now stands for these events). */
  remember(txnId: string, digest: string, eventIds: readonly string[]): void {
    this.txns.set(txnId, digest);
    for (let i = 0; i < eventIds.length; i++) this.events.add(eventIds[i]);
  }

  /** Undo `remember` for a transaction that was not accepted after all (its journal write failed). */
  forget(txnId: string, eventIds: readonly string[]): void {
    this.txns.delete(txnId);
    for (const id of eventIds) this.events.delete(id);
  }

  /** Everything remembered but the given transactions and events (queued for the journal, not yet written). */
  snapshot(exceptTxns: ReadonlySet<string> = new Set(), exceptEvents: ReadonlySet<string> = new Set()): SeenSnapshot {
    const t: Array<[string, string]> = [];
    for (const [id, digest] of this.txns.entries()) if (!exceptTxns.has(id)) t.push([id, digest]);
    const e: string[] = [];
    for (const id of this.events.values()) if (!exceptEvents.has(id)) e.push(id);
    return { t, e };
  }

  /** Take in a snapshot (newer than anything remembered so far: it overrides). */
  restore(s: SeenSnapshot): void {
    for (const [id, digest] of s.t) this.txns.set(id, digest);
    for (const id of s.e) this.events.add(id);
  }

  get txnCount(): number {
    return this.txns.size;
  }

  get eventCount(): number {
    return this.events.size;
  }
}
