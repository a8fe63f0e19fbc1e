// Slack message `text` (mrkdwn, as Slack stores and delivers it) -> the rich-text model.
//
// Slack's rules, as followed here:
// - Text arrives with `&`, `<`, `>` escaped as `&amp;`, `&lt;`, `&gt;`; a raw `<` only ever opens a
//   control token (`<@U1|name>`, `<#C1|name>`, `<!here>`, `<!subteam^S1>`, `<!date^…>`, `<url|label>`).
//   Entities are decoded once, after tokens are cut out, so user text can never become a token.
// - `*bold*`, `_italic_`, `~strike~` and `` `code` `` need word boundaries (see mrkdwn-rules.ts), so
//   `snake_case_name` and `2*3*4` stay plain. They do not span lines; they nest (`*_both_*`).
// - ```` ```pre``` ```` may span lines and sits anywhere; nothing inside code is formatted.
// - A line starting with `>` (delivered as `&gt;`) is a quote; `>>>` quotes the rest of the message.
// - `:name:` (optionally followed by `:skin-tone-N:`) is an emoji by name.
import type { Block, Inline, RichDoc } from './rich-doc';
import { normalizeDoc } from './rich-doc';
import { unescapeMrkdwn } from './escape';
import { canCloseBefore, canOpenAfter } from './mrkdwn-rules';

/** A control token cut out of the text, and how it reads as plain text (inside code). */
interface Token {
  node: Inline;
  plain: string;
}

/** One code point of (decoded) text, or a whole `<...>` token. */
type Unit = string | Token;

const ID_RE = /^[A-Z0-9][A-Z0-9_-]*$/i;
const ENTITY_RE = /&(amp|lt|gt);/y;
const ANGLE_RE = /<([^<>\n]+)>/y;
const EMOJI_NAME_RE = /^[\p{Ll}\p{Lo}\p{N}_+'-]$/u;
const SKIN_RE = /^skin-tone-([2-6](?:-[2-6])?)$/;
const MAX_EMOJI_NAME = 100;

/** Parses Slack mrkdwn into the rich-text model. Never throws. */
export function parseMrkdwn(text: string): RichDoc {
  const units = tokenize(text);
  return normalizeDoc(parseBlocks(units, 0, units.length, true));
}

function tokenize(text: string): Unit[] {
  const units: Unit[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '<') {
      ANGLE_RE.lastIndex = i;
      const m = ANGLE_RE.exec(text);
      if (m) {
        units.push(parseToken(m[1]));
        i += m[0].length;
        continue;
      }
    } else if (c === '&') {
      ENTITY_RE.lastIndex = i;
      const m = ENTITY_RE.exec(text);
      if (m) {
        units.push(m[1] === 'amp' ? '&' : m[1] === 'lt' ? '<' : '>');
        i += m[0].length;
        continue;
      }
    } else if (c === '\r' && text[i + 1] === '\n') {
      i++;
      continue;
    }
    const cp = text.codePointAt(i)!;
    const ch = String.fromCodePoint(cp);
    units.push(ch);
    i += ch.length;
  }
  return units;
}

function splitLabel(inner: string): [string, string | undefined] {
  const bar = inner.indexOf('|');
  return bar < 0 ? [inner, undefined] : [inner.slice(0, bar), unescapeMrkdwn(inner.slice(bar + 1))];
}

function textToken(raw: string): Token {
  // Not a token Slack would produce: show what was there, decoded.
  const text = unescapeMrkdwn(`<${raw}>`);
  return { node: { t: 'text', text }, plain: text };
}

function parseToken(inner: string): Token {
  const [target, label] = splitLabel(inner);
  const sigil = target[0];
  if (sigil === '@' || sigil === '#') {
    const id = target.slice(1);
    if (!ID_RE.test(id)) return textToken(inner);
    const kind = sigil === '@' ? 'user' : 'channel';
    const shown = label || id;
    return {
      node: { t: 'mention', net: 'slack', kind, id, ...(label ? { label } : {}) },
      plain: kind === 'user' ? `@${shown}` : `#${shown}`,
    };
  }
  if (sigil === '!') {
    const [cmd, ...args] = target.slice(1).split('^');
    if (cmd === 'here' || cmd === 'channel' || cmd === 'everyone' || cmd === 'group') {
      const range = cmd === 'group' ? 'channel' : cmd;
      return { node: { t: 'broadcast', range }, plain: `@${range}` };
    }
    if (cmd === 'subteam' && args[0] && ID_RE.test(args[0])) {
      return {
        node: { t: 'mention', net: 'slack', kind: 'usergroup', id: args[0], ...(label ? { label } : {}) },
        plain: label || `@${args[0]}`,
      };
    }
    if (cmd === 'date' && args.length >= 2 && /^-?\d{1,12}$/.test(args[0])) {
      const url = args[2] ? unescapeMrkdwn(args[2]) : undefined;
      return {
        node: {
          t: 'date',
          timestamp: Number(args[0]),
          format: unescapeMrkdwn(args[1]),
          ...(label ? { fallback: label } : {}),
          ...(url ? { url } : {}),
        },
        plain: label ?? unescapeMrkdwn(args[1]),
      };
    }
    // Unknown special command: Slack shows its label when there is one.
    return label ? { node: { t: 'text', text: label }, plain: label } : textToken(inner);
  }
  const url = unescapeMrkdwn(target);
  if (!url) return textToken(inner);
  const children: Inline[] = label ? [{ t: 'text', text: label }] : [];
  return { node: { t: 'link', url, children }, plain: label || url.replace(/^mailto:/i, '') };
}

const isStr = (u: Unit | undefined): u is string => typeof u === 'string';
const isSpace = (u: Unit | undefined) => isStr(u) && /^\s$/u.test(u);

/** May a marker open after `prev`? A token counts as part of a word. */
function openAfter(prev: Unit | undefined, marker: string): boolean {
  return prev === undefined || (isStr(prev) && canOpenAfter(prev, marker));
}

/** May a marker close before `next`? */
function closeBefore(next: Unit | undefined, marker: string): boolean {
  return next === undefined || (isStr(next) && canCloseBefore(next, marker));
}

interface Span {
  start: number;
  end: number;
}

/**
 * Finds ```pre``` spans in [s, e): they are cut out before lines, quotes and inline markup. An
 * opening fence takes the first valid closing fence after it (one pass over precomputed closers,
 * so hostile input cannot make this quadratic).
 */
function findPreSpans(units: Unit[], s: number, e: number): Span[] {
  const closers: number[] = [];
  for (let j = s; j + 2 < e; j++) {
    if (!isFence(units, j)) continue;
    const next = j + 3 < e ? units[j + 3] : undefined;
    if (next !== '`' && closeBefore(next, '`')) closers.push(j);
  }
  const spans: Span[] = [];
  let k = 0;
  let i = s;
  while (i + 2 < e) {
    if (isFence(units, i) && openAfter(i > s ? units[i - 1] : undefined, '`')) {
      while (k < closers.length && closers[k] <= i + 3) k++;
      const found = k < closers.length ? closers[k] : -1;
      if (found >= 0 && hasNonSpace(units, i + 3, found)) {
        spans.push({ start: i, end: found + 3 });
        i = found + 3;
        continue;
      }
    }
    i++;
  }
  return spans;
}

function hasNonSpace(units: Unit[], s: number, e: number): boolean {
  for (let k = s; k < e; k++) if (!isSpace(units[k])) return true;
  return false;
}

function isFence(units: Unit[], i: number): boolean {
  return units[i] === '`' && units[i + 1] === '`' && units[i + 2] === '`';
}

function plainOf(units: Unit[], s: number, e: number): string {
  let out = '';
  for (let i = s; i < e; i++) {
    const u = units[i];
    out += isStr(u) ? u : u.plain;
  }
  return out;
}

function isQuoteStart(units: Unit[], i: number, e: number): boolean {
  return i < e && units[i] === '>';
}

function isTripleQuote(units: Unit[], i: number): boolean {
  return units[i] === '>' && units[i + 1] === '>' && units[i + 2] === '>';
}

function parseBlocks(units: Unit[], s: number, e: number, allowQuote: boolean): Block[] {
  const pres = findPreSpans(units, s, e);
  // Logical lines: a newline inside a pre span does not end a line.
  const lines: Span[] = [];
  let lineStart = s;
  let p = 0;
  for (let i = s; i < e; i++) {
    if (p < pres.length && i === pres[p].start) {
      i = pres[p].end - 1;
      p++;
      continue;
    }
    if (units[i] === '\n') {
      lines.push({ start: lineStart, end: i });
      lineStart = i + 1;
    }
  }
  lines.push({ start: lineStart, end: e });

  const blocks: Block[] = [];
  let li = 0;
  while (li < lines.length) {
    const line = lines[li];
    if (allowQuote && isQuoteStart(units, line.start, e)) {
      if (isTripleQuote(units, line.start)) {
        // `>>>`: everything after it is quoted.
        let c = line.start + 3;
        if (units[c] === ' ' || units[c] === '\n') c++;
        blocks.push({ t: 'quote', children: parseBlocks(units, c, e, false) });
        break;
      }
      // Consecutive quote lines form one quote; their markers (and one space) are dropped.
      const inner: Unit[] = [];
      let first = true;
      while (li < lines.length && isQuoteStart(units, lines[li].start, e) && !isTripleQuote(units, lines[li].start)) {
        if (!first) inner.push('\n');
        first = false;
        let c = lines[li].start + 1;
        if (units[c] === ' ') c++;
        for (let k = c; k < lines[li].end; k++) inner.push(units[k]);
        li++;
      }
      blocks.push({ t: 'quote', children: parseBlocks(inner, 0, inner.length, false) });
      continue;
    }
    let end = line.end;
    li++;
    while (li < lines.length && !(allowQuote && isQuoteStart(units, lines[li].start, e))) {
      end = lines[li].end;
      li++;
    }
    blocks.push(...parasAndPres(units, line.start, end, pres));
  }
  return blocks;
}

function parasAndPres(units: Unit[], s: number, e: number, pres: Span[]): Block[] {
  const out: Block[] = [];
  let pos = s;
  for (const pre of pres) {
    if (pre.start < s || pre.end > e) continue;
    // A pre block starts a line of its own: spaces that led up to it go.
    let before = pre.start;
    while (before > pos && units[before - 1] === ' ') before--;
    if (before > pos) out.push({ t: 'para', children: parseInline(units, pos, before) });
    let text = plainOf(units, pre.start + 3, pre.end - 3);
    if (text.startsWith('\n')) text = text.slice(1);
    if (text.endsWith('\n')) text = text.slice(0, -1);
    out.push({ t: 'pre', text });
    pos = pre.end;
    while (pos < e && units[pos] === ' ') pos++;
  }
  if (pos < e) out.push({ t: 'para', children: parseInline(units, pos, e) });
  return out;
}

/** End (exclusive) of a `code` span opening at i, or -1. */
function codeSpanEnd(units: Unit[], i: number, s: number, e: number): number {
  if (units[i] !== '`' || units[i + 1] === '`' || !openAfter(i > s ? units[i - 1] : undefined, '`')) return -1;
  for (let j = i + 1; j < e; j++) {
    const u = units[j];
    if (u === '\n') return -1;
    if (u === '`') {
      if (j === i + 1) return -1;
      return closeBefore(j + 1 < e ? units[j + 1] : undefined, '`') ? j + 1 : -1;
    }
  }
  return -1;
}

/** Positions in one inline range that closing-marker searches need, computed once per range. */
interface InlineIndex {
  newlines: number[];
  ticks: number[];
  /** Per marker: positions where it could close a span (non-space before, boundary after). */
  closers: Record<string, number[]>;
}

function indexInline(units: Unit[], s: number, e: number): InlineIndex {
  const idx: InlineIndex = { newlines: [], ticks: [], closers: { '*': [], _: [], '~': [] } };
  for (let j = s; j < e; j++) {
    const u = units[j];
    if (u === '\n') idx.newlines.push(j);
    else if (u === '`') idx.ticks.push(j);
    else if (
      (u === '*' || u === '_' || u === '~') &&
      j > s &&
      !isSpace(units[j - 1]) &&
      closeBefore(j + 1 < e ? units[j + 1] : undefined, u)
    ) {
      idx.closers[u].push(j);
    }
  }
  return idx;
}

/** First index in the sorted array whose value is >= v. */
function lowerBound(a: number[], v: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * End (exclusive) of a `*`/`_`/`~` span opening at i, or -1: the first closing marker on the line
 * that is not between two backticks (counted in pairs from the opening marker; whatever sits
 * between them cannot close the span, even where they do not make a code span on their own).
 */
function styleSpanEnd(units: Unit[], i: number, s: number, e: number, idx: InlineIndex): number {
  const marker = units[i] as string;
  const first = units[i + 1];
  if (i + 1 >= e || first === undefined || isSpace(first) || first === marker) return -1;
  if (!openAfter(i > s ? units[i - 1] : undefined, marker)) return -1;
  const nl = lowerBound(idx.newlines, i);
  const lineStop = nl < idx.newlines.length ? idx.newlines[nl] : e;
  const cands = idx.closers[marker];
  const t0 = lowerBound(idx.ticks, i + 1);
  let k = lowerBound(cands, i + 2);
  while (k < cands.length && cands[k] < lineStop) {
    const c = cands[k];
    const n = lowerBound(idx.ticks, c) - t0;
    const pairClose = t0 + n;
    if (n % 2 === 1 && pairClose < idx.ticks.length && idx.ticks[pairClose] < lineStop) {
      k = lowerBound(cands, idx.ticks[pairClose] + 1);
      continue;
    }
    return c + 1;
  }
  return -1;
}

const STYLE_OF: Record<string, 'bold' | 'italic' | 'strike'> = { '*': 'bold', _: 'italic', '~': 'strike' };

/** Emoji at i: [end, name, skinTone] or undefined. */
function emojiAt(units: Unit[], i: number, e: number): [number, string, string | undefined] | undefined {
  let j = i + 1;
  let name = '';
  for (let u = units[j]; j < e && isStr(u) && EMOJI_NAME_RE.test(u) && name.length <= MAX_EMOJI_NAME; u = units[++j]) name += u;
  if (!name || units[j] !== ':' || name.length > MAX_EMOJI_NAME) return undefined;
  j++;
  // `:name::skin-tone-3:`
  if (units[j] === ':') {
    let k = j + 1;
    let tone = '';
    for (let u = units[k]; k < e && isStr(u) && /^[a-z0-9-]$/.test(u) && tone.length < 16; u = units[++k]) tone += u;
    const m = SKIN_RE.exec(tone);
    if (m && units[k] === ':') return [k + 1, name, m[1]];
  }
  return [j, name, undefined];
}

function parseInline(units: Unit[], s: number, e: number): Inline[] {
  const idx = indexInline(units, s, e);
  const out: Inline[] = [];
  let text = '';
  const flush = () => {
    if (text) out.push({ t: 'text', text });
    text = '';
  };
  let i = s;
  while (i < e) {
    const u = units[i];
    if (!isStr(u)) {
      flush();
      out.push(u.node);
      i++;
      continue;
    }
    if (u === '\n') {
      flush();
      out.push({ t: 'br' });
      i++;
      continue;
    }
    if (u === '`') {
      const end = codeSpanEnd(units, i, s, e);
      if (end > 0) {
        flush();
        out.push({ t: 'code', text: plainOf(units, i + 1, end - 1) });
        i = end;
        continue;
      }
    } else if (u === '*' || u === '_' || u === '~') {
      const end = styleSpanEnd(units, i, s, e, idx);
      if (end > 0) {
        flush();
        out.push({ t: 'style', style: STYLE_OF[u], children: parseInline(units, i + 1, end - 1) });
        i = end;
        continue;
      }
    } else if (u === ':') {
      const em = emojiAt(units, i, e);
      if (em) {
        flush();
        const [end, name, skinTone] = em;
        out.push({ t: 'emoji', name, ...(skinTone ? { skinTone } : {}) });
        i = end;
        continue;
      }
    }
    text += u;
    i++;
  }
  flush();
  return out;
}
