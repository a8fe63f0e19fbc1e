// Issued tokens and request authentication. Bot (xoxb-), user (xoxp-) and app-level (xapp-)
// tokens carry their scopes; a revoked token keeps answering the error it was revoked with
// (`token_revoked`, `invalid_auth`, `account_inactive`), as Slack does for removed apps.
// Tokens are looked up, never logged: the call log records who called, not with what.
import type { IncomingMessage } from 'node:http';
import { SlackApiError } from './errors';
import { randomHex } from './ids';
import type { TokenKind } from './scopes';

export interface TokenRecord {
  kind: TokenKind;
  appId: string;
  teamId?: string;
  /** The bot user (bot tokens) or the authorizing user (user tokens). */
  userId?: string;
  scopes: Set<string>;
  /** Error code answered from now on; undefined while the token is good. */
  revoked?: string;
}

export class TokenRegistry {
  private tokens = new Map<string, TokenRecord>();
  private serial = 1000;

  issue(kind: TokenKind, rec: Omit<TokenRecord, 'kind' | 'revoked'>): string {
    const n = () => String(++this.serial * 7919);
    const token =
      kind === 'bot'
        ? `xoxb-${n()}-${n()}-${randomHex(12)}`
        : kind === 'user'
          ? `xoxp-${n()}-${n()}-${n()}-${randomHex(16)}`
          : `xapp-1-${rec.appId}-${n()}-${randomHex(32)}`;
    this.tokens.set(token, { kind, ...rec, scopes: new Set(rec.scopes) });
    return token;
  }

  get(token: string): TokenRecord | undefined {
    return this.tokens.get(token);
  }

  /** From now on `token` answers `error` instead of working. */
  revoke(token: string, error = 'token_revoked'): void {
    const rec = this.tokens.get(token);
    if (!rec) throw new Error('revoke: unknown token');
    rec.revoked = error;
  }

  /** Forgets the token entirely (auth.revoke): it is then simply invalid. */
  forget(token: string): void {
    this.tokens.delete(token);
  }

  /** Restores a revoked token, for specs that recover. */
  restore(token: string): void {
    const rec = this.tokens.get(token);
    if (rec) rec.revoked = undefined;
  }
}

/**
 * The token of a request: `Authorization: Bearer …`, else (unless the method insists on the
 * header, or the body is JSON, which cannot carry one) a `token` argument.
 */
export function requestToken(req: IncomingMessage, fields: Record<string, unknown>, allowField: boolean): string | undefined {
  const auth = req.headers.authorization;
  if (auth) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    return m ? m[1] : undefined;
  }
  if (!allowField) return undefined;
  const t = fields.token;
  return typeof t === 'string' && t !== '' ? t : undefined;
}

export function authenticate(registry: TokenRegistry, token: string | undefined): { token: string; record: TokenRecord } {
  if (!token) throw new SlackApiError('not_authed');
  const record = registry.get(token);
  if (!record) throw new SlackApiError('invalid_auth');
  if (record.revoked) throw new SlackApiError(record.revoked);
  return { token, record };
}
