// Nick validation and a deterministic sanitiser/fallback sequence. Deterministic so that a user
// gets the same nick after every reconnect, and so collisions are resolved predictably (and
// reported) instead of leaving users as UIDs or silently renamed (MAI #1435, #751).

/** RFC 2812 nick: letter or special first, then letters, digits, specials or '-'. */
const FIRST = /[A-Za-z[\]\\`_^{|}]/;
const REST = /[A-Za-z0-9[\]\\`_^{|}-]/;

/** InspIRCd 3 default <limits maxnick>. */
export const DEFAULT_NICKLEN = 30;

export function isValidNick(nick: string, nickLen = DEFAULT_NICKLEN): boolean {
  if (nick.length === 0 || nick.length > nickLen) return false;
  if (!FIRST.test(nick[0])) return false;
  for (let i = 1; i < nick.length; i++) if (!REST.test(nick[i])) return false;
  return true;
}

/**
 * Turns any display name into a valid nick: accents are folded to ASCII, other invalid
 * characters dropped (spaces become '_'), a leading digit or '-' gets a '_' prefix, and the
 * result is cut to nickLen. Returns `fallback` if nothing usable remains.
 */
export function sanitizeNick(input: string, nickLen = DEFAULT_NICKLEN, fallback = 'matrixuser'): string {
  const folded = input.normalize('NFKD').replace(/[\u0300-\u036f]/g, '');
  let out = '';
  for (const ch of folded) {
    if (REST.test(ch)) out += ch;
    else if (/\s/.test(ch) && out.length > 0 && !out.endsWith('_')) out += '_';
  }
  out = out.replace(/_+$/, '');
  if (out.length > 0 && !FIRST.test(out[0])) out = '_' + out;
  out = out.slice(0, nickLen);
  if (!isValidNick(out, nickLen)) return fallback.slice(0, nickLen);
  return out;
}

/** The suffix marking a bridged user, as in MAI's sample `$DISPLAY[m]`. */
export const BRIDGE_SUFFIX = '[m]';

/**
 * The n-th nick to try for `preferred` (n = 0 is the sanitised preferred nick itself):
 * `Alice`, `Alice[m]`, `Alice[m]2`, `Alice[m]3`, ... cut so the suffix always fits NICKLEN.
 * A preferred nick already ending in [m] continues with `Alice[m]2`.
 */
export function fallbackNick(preferred: string, attempt: number, nickLen = DEFAULT_NICKLEN): string {
  const base = sanitizeNick(preferred, nickLen);
  if (attempt <= 0) return base;
  const stem = base.endsWith(BRIDGE_SUFFIX) ? base.slice(0, -BRIDGE_SUFFIX.length) : base;
  const alreadyMarked = base.endsWith(BRIDGE_SUFFIX);
  const n = alreadyMarked ? attempt + 1 : attempt;
  const suffix = BRIDGE_SUFFIX + (n > 1 ? String(n) : '');
  const cut = stem.slice(0, Math.max(1, nickLen - suffix.length));
  return cut + suffix;
}
