/**
 * The `Content-Disposition` of a file the media proxy serves, for any file name a Matrix user
 * can give (`résumé.txt`, `文件.txt`, `😀.png`, quotes, line breaks, lone surrogates).
 *
 * A header value must be bytes Node accepts (Latin-1 at most; `writeHead` throws on anything
 * else), so the name travels twice, as RFC 6266 describes: `filename="…"` with an ASCII-only
 * fallback (accents dropped, anything else `_`) for old clients, and `filename*=UTF-8''…`
 * (RFC 8187 percent-encoding) with the exact name, which every current browser prefers.
 */

/** Lone surrogates (not encodable as UTF-8) become U+FFFD. */
export function wellFormed(s: string): string {
  return s.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}

/** The ASCII fallback: accents dropped (é → e), other non-ASCII, controls, `"`, `\` and `%` as `_`. */
function asciiFileName(name: string): string {
  const ascii = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^\x20-\x7e]|["\\%]/g, '_');
  return ascii.trim() || 'file';
}

/** RFC 8187 `attr-char`: everything else is percent-encoded as UTF-8. */
const ATTR_CHAR = /[A-Za-z0-9!#$&+\-.^_`|~]/;

function encodeExtValue(name: string): string {
  let out = '';
  for (const byte of Buffer.from(name, 'utf8')) {
    const ch = String.fromCharCode(byte);
    out += byte < 0x80 && ATTR_CHAR.test(ch) ? ch : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** `inline|attachment; filename="<ascii>"; filename*=UTF-8''<exact name>`: always a valid header value. */
export function contentDisposition(kind: 'inline' | 'attachment', name: string): string {
  const exact = wellFormed(name) || 'file';
  return `${kind}; filename="${asciiFileName(exact)}"; filename*=UTF-8''${encodeExtValue(exact)}`;
}
