/**
 * Provisioning sessions: bearer tokens handed out after an OpenID exchange.
 *
 * A token is 32 random bytes (base64url, with a `cwps_` prefix so it is
 * recognisable in a leak report). Only its SHA-256 is stored, as the key in
 * the KeyValueRepository namespace `provisioning-sessions`, with the store's
 * own expiry, so sessions survive restarts, expire without a sweep of ours,
 * and a stolen database does not yield usable tokens.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { KeyValueRepository } from '../store/store';
import type { ProvisioningSessionRecord as SessionRecord, ProvisioningSession as Session } from '../connector/routes';

export const SESSION_NAMESPACE = 'provisioning-sessions';
const SESSION_TOKEN_PREFIX = 'cwps_';
export const DEFAULT_SESSION_TTL_MS = 24 * 60 * 60_000;

export { type Session };

export function hashSessionToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export class SessionStore {
  constructor(
    private readonly kv: KeyValueRepository,
    private readonly ttlMs: number = DEFAULT_SESSION_TTL_MS,
    private readonly now: () => number = Date.now,
  ) {
    if (!(ttlMs > 0)) throw new Error('session TTL must be positive');
  }

  /** Create a session for `userId`; the token is returned once and never stored. */
  async create(userId: string): Promise<{ token: string; session: Session }> {
    const token = SESSION_TOKEN_PREFIX + randomBytes(32).toString('base64url');
    const createdAt = this.now();
    const record: SessionRecord = { userId, createdAt, expiresAt: createdAt + this.ttlMs };
    const id = hashSessionToken(token);
    await this.kv.put<SessionRecord>(SESSION_NAMESPACE, id, record, { expiresAt: record.expiresAt });
    return { token, session: { id, ...record } };
  }

  /** The live session a token belongs to, if any. */
  async lookup(token: string): Promise<Session | undefined> {
    if (!token.startsWith(SESSION_TOKEN_PREFIX)) return undefined;
    const id = hashSessionToken(token);
    const rec = await this.kv.get<SessionRecord>(SESSION_NAMESPACE, id);
    // The store hides expired entries; the explicit check covers a clock the store does not share.
    if (!rec || typeof rec.userId !== 'string' || rec.expiresAt <= this.now()) return undefined;
    return { id, ...rec };
  }

  /** Revoke one session by its ID (the token hash). True when one was removed. */
  revoke(id: string): Promise<boolean> {
    return this.kv.delete(SESSION_NAMESPACE, id);
  }

  /** Revoke every session of a user; returns how many went. */
  async revokeAllForUser(userId: string): Promise<number> {
    const all = await this.kv.list<SessionRecord>(SESSION_NAMESPACE);
    let n = 0;
    for (const { key, value } of all) {
      if (value?.userId === userId && (await this.kv.delete(SESSION_NAMESPACE, key))) n++;
    }
    return n;
  }

  /** Live sessions of a user (IDs are token hashes). */
  async listForUser(userId: string): Promise<Session[]> {
    const all = await this.kv.list<SessionRecord>(SESSION_NAMESPACE);
    const now = this.now();
    return all.filter(({ value }) => value?.userId === userId && value.expiresAt > now).map(({ key, value }) => ({ id: key, ...value }));
  }
}
