/**
 * Transaction IDs for `PUT /send/…/{txnId}` and `PUT /redact/…/{txnId}`.
 *
 * The homeserver deduplicates per (user/device, endpoint path, txnId). So:
 * - With a caller key (e.g. `msg:<portal>:<remoteId>:<part>`), the ID is a hash of
 *   the key: the same remote message gets the same txnId on a retry and after a
 *   restart, and the homeserver returns the original event instead of a
 *   duplicate. The key must contain everything that makes two sends different
 *   (an edit must not reuse the original's key). The endpoint path already
 *   contains the room and event type, so the same key in another room is fine.
 * - Without a key, the ID is unique: time + process counter + randomness, so
 *   two processes (or a restart within the same millisecond) never collide.
 */
import { createHash, randomBytes } from 'node:crypto';

let counter = 0;
const processTag = randomBytes(4).toString('hex');

/** Deterministic txnId for a caller key (URL-safe, 32 chars). */
export function txnIdForKey(key: string): string {
  return 'cwk' + createHash('sha256').update(key, 'utf8').digest('base64url').slice(0, 29);
}

/** A txnId never handed out before. */
export function uniqueTxnId(): string {
  counter = (counter + 1) % Number.MAX_SAFE_INTEGER;
  return `cwu${Date.now().toString(36)}.${processTag}.${counter.toString(36)}.${randomBytes(4).toString('hex')}`;
}

/** Deterministic when a key is given, unique otherwise. */
export function txnId(key?: string): string {
  return key !== undefined && key !== '' ? txnIdForKey(key) : uniqueTxnId();
}
