/**
 * hs_token check for requests from the homeserver: `Authorization: Bearer`
 * (v1.4+) or the legacy `access_token` query parameter. When both are present
 * they must agree. Comparison is constant-time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export type AuthResult = 'ok' | 'missing' | 'forbidden';

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/** The token from the Authorization header: undefined if absent, null if the header is not a Bearer token. */
function bearerToken(req: IncomingMessage): string | undefined | null {
  const h = req.headers.authorization;
  if (h === undefined || h === '') return undefined;
  const m = BEARER.exec(h);
  return m ? m[1] : null;
}

/**
 * Checks requests against the expected hs_token (`queryToken` is the decoded
 * `access_token` query parameter, if any). The expected token's digest is computed once
 * instead of per comparison. Same comparison as util/secure-compare: both sides
 * hashed (nothing about the secret's content or length leaks through timing),
 * then the lengths must agree.
 */
export function hsTokenChecker(expected: string): (req: IncomingMessage, queryToken: string | undefined) => AuthResult {
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  const want = digest(expected);
  const same = (given: string) => timingSafeEqual(digest(given), want) && given.length === expected.length;
  return (req, queryToken) => {
    const header = bearerToken(req);
    if (header === null) return 'forbidden';
    if (header === undefined && queryToken === undefined) return 'missing';
    // Compare every token that was presented: each must match, so a header and
    // a query parameter that disagree are refused.
    let ok = true;
    if (header !== undefined && !same(header)) ok = false;
    if (queryToken !== undefined && !same(queryToken)) ok = false;
    return ok ? 'ok' : 'forbidden';
  };
}
