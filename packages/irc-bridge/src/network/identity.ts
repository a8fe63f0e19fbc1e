/**
 * How a Matrix user appears on IRC: nick, username (ident), realname and an
 * optional per-user IPv6 source address. All derived deterministically from
 * the user ID, so a user gets the same identity after every reconnect.
 */
import { createHash } from 'node:crypto';
import { sanitizeNick, sanitizeParam } from '../irc';

export interface MatrixIdentity {
  userId: string;
  displayName?: string;
}

function localpartOf(userId: string): string {
  return /^@([^:]+):/.exec(userId)?.[1] ?? userId.replace(/^@/, '');
}

/** Renders the nick template (`$DISPLAY[m]`), then makes it a valid nick (the IRC layer's sanitiser). */
export function nickFromTemplate(template: string, who: MatrixIdentity, nickLen = 30): string {
  const localpart = localpartOf(who.userId);
  const display = (who.displayName ?? '').trim() || localpart;
  const raw = template
    .replace(/\$DISPLAY/g, display)
    .replace(/\$LOCALPART/g, localpart)
    .replace(/\$USERID/g, who.userId);
  return sanitizeNick(raw, nickLen, sanitizeNick(localpart, nickLen));
}

/** Ident/username: lower-case letters and digits of the localpart, at most 10 (InspIRCd maxident). */
export function usernameFor(userId: string): string {
  const cleaned = localpartOf(userId)
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '')
    .slice(0, 10);
  return /^[a-z]/.test(cleaned) ? cleaned : `m${cleaned}`.slice(0, 10);
}

export function realnameFor(format: 'mxid' | 'reverse-mxid' | 'display', who: MatrixIdentity): string {
  if (format === 'display') return sanitizeParam(who.displayName?.trim() || who.userId);
  if (format === 'reverse-mxid') {
    const m = /^@([^:]+):(.+)$/.exec(who.userId);
    if (m) return `${m[2].split('.').reverse().join('.')}:${m[1]}`;
  }
  return who.userId;
}

/**
 * A stable address inside `prefix` (e.g. `2001:db8:1:2::`) from a hash of the user ID: the low
 * 64 bits come from the hash, so each user has their own source address (clone limits count per
 * /128 on InspIRCd's default ipv6clone).
 */
export function ipv6For(prefix: string, userId: string): string {
  const h = createHash('sha256').update(userId).digest();
  const groups = [0, 2, 4, 6].map((i) => h.readUInt16BE(i).toString(16));
  const head = prefix.replace(/::?$/, '').split(':').filter(Boolean).slice(0, 4);
  while (head.length < 4) head.push('0');
  return [...head, ...groups].join(':');
}
