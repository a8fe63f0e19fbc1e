/**
 * Shapes of what the homeserver pushes, and the one function that turns a
 * transaction body into the ordered list of items the dispatcher delivers.
 * The journal re-runs the same function on replay, so it must stay
 * deterministic: item N of a transaction is always the same event.
 */
import { isMatrixEvent, type MatrixEvent } from '../matrix/event';

export type { MatrixEvent };

/** The parsed body of `PUT /transactions/{txnId}`. */
export interface TransactionBody {
  events: unknown[];
  ephemeral?: unknown;
  'de.sorunome.msc2409.ephemeral'?: unknown;
  [key: string]: unknown;
}

export type DeliveryKind = 'timeline' | 'ephemeral';

/** What a handler learns about one delivery of one event. */
export interface DeliveryContext {
  /**
   * True when this event may already have been handed to a handler before:
   * it was replayed from the journal after a restart and a "started" record
   * for it had been written (or start tracking is off). A connector whose
   * remote accepts an idempotency key (Slack `client_msg_id`, a Matrix txnId,
   * a message nonce) should derive that key from the event ID so the remote
   * collapses the duplicate. When false, this is the first time any handler
   * has seen the event (in any process lifetime).
   */
  readonly redelivered: boolean;
  /** Homeserver transaction the event arrived in. */
  readonly txnId: string;
  /** Journal sequence number, unique and increasing across restarts. */
  readonly seq: number;
  /** Retry attempt within this process, 0 for the first call. */
  readonly attempt: number;
  readonly kind: DeliveryKind;
  /**
   * Set by a handler when the event carries a secret (a password typed in an admin room): once
   * it has finished, the journal drops it from disk instead of keeping it until its segment ages out.
   */
  carriesSecret?: boolean;
}

export type EventHandler = (event: MatrixEvent, delivery: DeliveryContext) => Promise<void>;

/** One event on its way through the dispatcher (it doubles as its DeliveryContext). */
export interface DeliveryItem extends DeliveryContext {
  readonly event: MatrixEvent;
  redelivered: boolean;
  attempt: number;
  /** Internal: a STARTED record has been requested for it. */
  startMarked: boolean;
}

/**
 * The items of a transaction in delivery order: timeline `events` first, then
 * ephemeral events (`ephemeral`, or the MSC2409 key). Entries that are not
 * event objects are skipped (a malformed entry must not make the homeserver
 * retry the whole transaction forever).
 */
export function transactionItems(body: TransactionBody): Array<{ event: MatrixEvent; kind: DeliveryKind }> {
  return mapTransactionItems(body, (event, kind) => ({ event, kind }));
}

function ephemeralOf(body: TransactionBody): unknown[] | undefined {
  return Array.isArray(body.ephemeral)
    ? body.ephemeral
    : Array.isArray(body['de.sorunome.msc2409.ephemeral'])
      ? (body['de.sorunome.msc2409.ephemeral'] as unknown[])
      : undefined;
}

/**
 * `transactionItems(body)` mapped through `make` (item N is made from the
 * same event as `transactionItems(body)[N]`), without the intermediate objects.
 */
export function mapTransactionItems<T>(body: TransactionBody, make: (event: MatrixEvent, kind: DeliveryKind, index: number) => T): T[] {
  const out: T[] = [];
  const events = body.events;
  for (let i = 0; i < events.length; i++) {
    const e = events[i];
    if (isMatrixEvent(e)) out.push(make(e, 'timeline', out.length));
  }
  const eph = ephemeralOf(body);
  if (eph) {
    for (let i = 0; i < eph.length; i++) {
      const e = eph[i];
      if (isMatrixEvent(e)) out.push(make(e, 'ephemeral', out.length));
    }
  }
  return out;
}

/** `transactionItems(body).length`, without building the items. */
export function transactionItemCount(body: TransactionBody): number {
  let n = 0;
  const events = body.events;
  for (let i = 0; i < events.length; i++) if (isMatrixEvent(events[i])) n++;
  const eph = ephemeralOf(body);
  if (eph) for (let i = 0; i < eph.length; i++) if (isMatrixEvent(eph[i])) n++;
  return n;
}

/** Why a body is not an acceptable transaction, or undefined if it is. */
export function transactionShapeError(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'Transaction body must be a JSON object';
  if (!Array.isArray((body as { events?: unknown }).events)) return '"events" must be an array';
  return undefined;
}

/**
 * Where transactions go once the HTTP layer has authenticated and parsed
 * them. `DeliveryPipeline` is the production implementation.
 *
 * A txnId alone does not identify a transaction (homeservers reuse them after
 * a restart): a retry is the same txnId with the same events. So the HTTP
 * layer asks `knows` first, and only for a known txnId reads the body before
 * back-pressure to ask `retry`; everything else waits for `admit` unread.
 */
export interface TransactionSink {
  /** Whether this txnId was accepted before or is being accepted now (the body decides whether this is a retry). */
  knows(txnId: string): boolean;
  /**
   * A retry of a transaction already accepted (same txnId, same events): a promise that
   * resolves when it may be answered 200 (at once, or when the first copy is durably
   * queued), without processing anything. undefined when it is not a retry.
   */
  retry(txnId: string, body: TransactionBody): Promise<void> | undefined;
  /**
   * Back-pressure. `ready` is undefined when a new transaction may be taken
   * now, otherwise a promise that resolves when it may. `release()` must be
   * called once `accept` has been called, or when the request is abandoned
   * (also while still waiting); calls after the first are ignored.
   */
  admit(): Admission;
  /**
   * Durably queue the transaction's events, but those already accepted (by
   * event ID); resolves once it is safe to answer 200. A retry that raced its
   * first copy resolves with it.
   */
  accept(txnId: string, body: TransactionBody, raw: Buffer): Promise<void>;
}

export interface Admission {
  readonly ready: Promise<void> | undefined;
  release(): void;
}
