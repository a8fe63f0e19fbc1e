// IRCv3 message tags on the lines we send (https://ircv3.net/specs/extensions/message-tags).
// A tag value is data from elsewhere (a msgid another server minted, a message map entry), so it
// is escaped here, always: after escaping it holds no space, ';', CR, LF or NUL, and cannot end
// the tag section, start another tag or another command. Keys are ours and only validated.
import { IrcInjectionError } from './sanitize';

/** Client tag data the server accepts per line (4094 bytes, including '+' tags' separators). */
export const CLIENT_TAG_DATA_LIMIT = 4094;

// [+][vendor/]name, vendor a host name: letters, digits, '-' and '.'.
const TAG_KEY = /^\+?(?:[A-Za-z0-9][A-Za-z0-9.-]*\/)?[A-Za-z0-9-]+$/;

/** Escapes a tag value: `\` `;` space CR LF become `\\` `\:` `\s` `\r` `\n`; NUL (no escape exists) is dropped. */
export function escapeTagValue(value: string): string {
  let out = '';
  for (const ch of value) {
    switch (ch) {
      case '\\':
        out += '\\\\';
        break;
      case ';':
        out += '\\:';
        break;
      case ' ':
        out += '\\s';
        break;
      case '\r':
        out += '\\r';
        break;
      case '\n':
        out += '\\n';
        break;
      case '\0':
        break;
      default:
        out += ch;
    }
  }
  return out;
}

/** Undoes escapeTagValue (an unknown escape `\x` reads as `x`; a lone trailing `\` is dropped), as the spec says. */
export function unescapeTagValue(value: string): string {
  if (!value.includes('\\')) return value;
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    if (ch !== '\\') {
      out += ch;
      continue;
    }
    const next = value[++i];
    if (next === undefined) break;
    out += next === ':' ? ';' : next === 's' ? ' ' : next === 'r' ? '\r' : next === 'n' ? '\n' : next;
  }
  return out;
}

/**
 * The tag prefix of a line (`@key=value;key2=value2 `), or '' for no tags. Throws for an invalid
 * key, and for tags over the client tag data limit (the server would refuse the whole line).
 */
export function formatTags(tags: Readonly<Record<string, string>> | undefined): string {
  if (!tags) return '';
  const parts: string[] = [];
  for (const [key, value] of Object.entries(tags)) {
    if (!TAG_KEY.test(key)) throw new IrcInjectionError(`invalid IRC tag key ${JSON.stringify(key)}`);
    const escaped = escapeTagValue(value);
    parts.push(escaped ? `${key}=${escaped}` : key);
  }
  if (parts.length === 0) return '';
  const data = parts.join(';');
  if (Buffer.byteLength(data, 'utf8') > CLIENT_TAG_DATA_LIMIT) throw new IrcInjectionError('IRC tags over the client tag data limit');
  return `@${data} `;
}
