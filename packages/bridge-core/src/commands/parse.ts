/**
 * Pure helpers of the command framework: tokenising a command line, edit
 * distance for "did you mean", HTML escaping of replies.
 */
import { CommandUsageError } from '../connector/commands';

export interface Token {
  /** The token with quotes removed and escapes resolved. */
  value: string;
  /** Offset of the token's first character in the line. */
  start: number;
  /** Offset just after the token. */
  end: number;
}

const isSpace = (c: string): boolean => c === ' ' || c === '\t' || c === '\f' || c === '\v' || c === '\u00a0';

/** Offset of the first non-blank character at or after `pos` (or `line.length`). */
export function skipSpaces(line: string, pos: number): number {
  while (pos < line.length && isSpace(line[pos])) pos++;
  return pos;
}

/**
 * Read one token starting at `pos` (leading blanks skipped). Returns undefined
 * at the end of the line.
 *
 * Rules (shell-like, without expansions): blanks separate tokens; `"..."` and
 * `'...'` group text containing blanks and may be glued to unquoted text
 * (`a"b c"` is `ab c`); a backslash takes the next character literally, outside
 * quotes and inside both kinds of quotes; `""` is an empty token; a trailing
 * lone backslash is kept as is. An unterminated quote is a CommandUsageError.
 */
export function nextToken(line: string, pos: number): Token | undefined {
  let i = skipSpaces(line, pos);
  if (i >= line.length) return undefined;
  const start = i;
  let value = '';
  while (i < line.length && !isSpace(line[i])) {
    const c = line[i];
    if (c === '\\') {
      if (i + 1 < line.length) {
        value += line[i + 1];
        i += 2;
      } else {
        value += c;
        i++;
      }
    } else if (c === '"' || c === "'") {
      const quote = c;
      i++;
      let closed = false;
      while (i < line.length) {
        const d = line[i];
        if (d === '\\' && i + 1 < line.length) {
          value += line[i + 1];
          i += 2;
          continue;
        }
        if (d === quote) {
          closed = true;
          i++;
          break;
        }
        value += d;
        i++;
      }
      if (!closed) throw new CommandUsageError(`Unterminated ${quote === '"' ? 'double' : 'single'} quote.`);
    } else {
      value += c;
      i++;
    }
  }
  return { value, start, end: i };
}

/** Tokenise a whole line (see nextToken for the rules). */
export function tokenize(line: string): string[] {
  const out: string[] = [];
  let pos = 0;
  for (;;) {
    const t = nextToken(line, pos);
    if (!t) return out;
    out.push(t.value);
    pos = t.end;
  }
}

/** Optimal-string-alignment distance (Levenshtein plus adjacent transpositions). */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  if (!a.length) return b.length;
  if (!b.length) return a.length;
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    rows.push(new Array<number>(b.length + 1).fill(0));
    rows[i][0] = i;
  }
  for (let j = 0; j <= b.length; j++) rows[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, rows[i - 2][j - 2] + 1);
      rows[i][j] = d;
    }
  }
  return rows[a.length][b.length];
}

/**
 * The closest candidate to `word` if it is close enough to be a plausible typo:
 * distance 1 for words up to 4 characters, 2 beyond. Ties go to the
 * alphabetically first candidate.
 */
export function closestMatch(word: string, candidates: Iterable<string>): string | undefined {
  const w = word.toLowerCase();
  const limit = w.length <= 4 ? 1 : 2;
  let best: string | undefined;
  let bestDist = Infinity;
  for (const c of [...candidates].sort()) {
    const d = editDistance(w, c.toLowerCase());
    if (d < bestDist) {
      best = c;
      bestDist = d;
    }
  }
  // Never suggest by replacing the whole word (`!x` is not a typo of `!y`).
  return best !== undefined && bestDist <= limit && bestDist < w.length ? best : undefined;
}

/** Escape text for inclusion in HTML element content or a double/single-quoted attribute. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&#39;'));
}

/**
 * Drop a Matrix reply fallback (leading `> ` quote lines followed by a blank
 * line) so the command typed in a reply is what gets parsed.
 */
export function stripReplyFallback(body: string): string {
  if (!body.startsWith('> <')) return body;
  const lines = body.split('\n');
  let i = 0;
  while (i < lines.length && lines[i].startsWith('>')) i++;
  if (i < lines.length && lines[i].trim() === '') return lines.slice(i + 1).join('\n');
  return body;
}
