/**
 * Matrix permalinks: `https://matrix.to/#/<id>[/<event>]` and `matrix:u/…`, `matrix:r/…`,
 * `matrix:roomid/…[/e/…]` URIs. Recognised here once, so every bridge agrees on what a pill is.
 */
import type { MatrixPermalink } from './html-tree';

const MATRIX_TO = /^https:\/\/matrix\.to\/#\/([^?]*)/i;
const MATRIX_URI = /^matrix:(u|r|roomid)\/([^/?#]+)(?:\/e\/([^/?#]+))?(?:[?#].*)?$/i;
const SIGILS: Record<string, string> = { u: '@', r: '#', roomid: '!' };

function decode(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

/** A user, alias or room ID as the spec shapes it: sigil, no whitespace, a server (room IDs may lack one). */
function validId(id: string): boolean {
  return /^[@#!]\S+$/.test(id) && (id[0] === '!' || /^.[^:]+:.+$/.test(id));
}

function fromParts(id: string | undefined, event: string | undefined): MatrixPermalink | undefined {
  if (id === undefined || !validId(id)) return undefined;
  if (event !== undefined) {
    if (id[0] === '@' || !/^\$\S+$/.test(event)) return undefined;
    return { kind: 'event', roomId: id, eventId: event };
  }
  return id[0] === '@' ? { kind: 'user', id } : { kind: 'room', id };
}

/** What a link's `href` points at in Matrix, or undefined when it is no Matrix permalink. */
export function parseMatrixPermalink(href: string): MatrixPermalink | undefined {
  const to = MATRIX_TO.exec(href);
  if (to) {
    const parts = to[1].split('/');
    // `#/!room:x/` (trailing slash) still names the room.
    if (parts.length === 2 && parts[1] === '') parts.pop();
    if (parts.length > 2) return undefined;
    const event = parts.length === 2 ? decode(parts[1]) : undefined;
    if (parts.length === 2 && event === undefined) return undefined;
    return fromParts(decode(parts[0]), event);
  }
  const uri = MATRIX_URI.exec(href);
  if (!uri) return undefined;
  const rest = decode(uri[2]);
  const sigil = SIGILS[uri[1].toLowerCase()];
  const event = uri[3] === undefined ? undefined : decode(`$${uri[3]}`);
  if (uri[3] !== undefined && event === undefined) return undefined;
  return rest === undefined ? undefined : fromParts(sigil + rest, event);
}
