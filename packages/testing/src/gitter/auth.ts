// Access tokens: which user a token acts for, issuing and revoking them, and reading the token
// from a request (`Authorization: Bearer`, and on the stream also `?access_token=`). Tokens are
// kept only as SHA-256 digests, so looking one up never compares secrets character by character.
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const digest = (token: string) => createHash('sha256').update(token, 'utf8').digest('base64');

export class TokenStore {
  private readonly users = new Map<string, string>();

  /** A new personal token (40 hex digits, like Gitter's) for the user. */
  issue(userId: string): string {
    const token = randomBytes(20).toString('hex');
    this.users.set(digest(token), userId);
    return token;
  }

  /** Registers a token chosen by the test. */
  add(userId: string, token: string): void {
    if (!token) throw new Error('empty token');
    this.users.set(digest(token), userId);
  }

  /** Returns whether the token existed; later requests with it get 401. */
  revoke(token: string): boolean {
    return this.users.delete(digest(token));
  }

  userFor(token: string | undefined): string | undefined {
    return token ? this.users.get(digest(token)) : undefined;
  }
}

/** The token a request presents, if any. `allowQuery` for the streaming API only. */
export function presentedToken(req: IncomingMessage, url: URL, allowQuery: boolean): string | undefined {
  const header = req.headers.authorization;
  if (typeof header === 'string') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return m ? m[1] : undefined;
  }
  if (allowQuery) return url.searchParams.get('access_token') || undefined;
  return undefined;
}
