// The mIRC formatting model shared by IRC->HTML, HTML->IRC and the line splitter: a parser turning
// text into runs of (text, state), and a serialiser producing the shortest codes to move from one
// state to another. Sharing it keeps the splitter's re-emitted formatting identical to what the
// renderer understands.

export const B = '\x02';
export const I = '\x1d';
export const U = '\x1f';
export const S = '\x1e';
export const M = '\x11';
export const C = '\x03';
export const H = '\x04';
export const R = '\x16';
export const O = '\x0f';

/** A colour: an mIRC palette index 0-99 (99 = default) or a '#rrggbb' hex value (\x04). */
export type Colour = number | string;

export interface FormatState {
  bold: boolean;
  italic: boolean;
  underline: boolean;
  strike: boolean;
  mono: boolean;
  reverse: boolean;
  fg?: Colour;
  bg?: Colour;
}

export const PLAIN: Readonly<FormatState> = Object.freeze({
  bold: false,
  italic: false,
  underline: false,
  strike: false,
  mono: false,
  reverse: false,
});

export interface Run {
  text: string;
  state: FormatState;
}

/** One parsed token: either visible text or a formatting code (kept verbatim for byte counting). */
export type Token = { type: 'text'; text: string } | { type: 'code'; code: string };

const COLOUR_RE = /^\x03(\d{1,2})?(?:,(\d{1,2}))?/;
const HEX_RE = /^\x04([0-9a-fA-F]{6})?(?:,([0-9a-fA-F]{6}))?/;

/** Splits text into formatting codes and text; a colour code with its digits is one token. */
export function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let buf = '';
  let i = 0;
  const flush = () => {
    if (buf) out.push({ type: 'text', text: buf });
    buf = '';
  };
  while (i < text.length) {
    const ch = text[i];
    if (ch === C || ch === H) {
      flush();
      const m = (ch === C ? COLOUR_RE : HEX_RE).exec(text.slice(i, i + 15));
      let code = m ? m[0] : ch;
      // "\x0304," followed by a non-digit: the comma is text, not part of the code.
      if (m && m[2] === undefined && code.endsWith(',')) code = code.slice(0, -1);
      if (m && m[1] === undefined && m[2] !== undefined) code = ch; // "\x03,5" = reset then ",5" text
      out.push({ type: 'code', code });
      i += code.length;
    } else if (ch === B || ch === I || ch === U || ch === S || ch === M || ch === R || ch === O) {
      flush();
      out.push({ type: 'code', code: ch });
      i++;
    } else {
      buf += ch;
      i++;
    }
  }
  flush();
  return out;
}

/** Applies one code token to a state, returning the new state. */
export function applyCode(state: FormatState, code: string): FormatState {
  const s: FormatState = { ...state };
  switch (code[0]) {
    case B:
      s.bold = !s.bold;
      break;
    case I:
      s.italic = !s.italic;
      break;
    case U:
      s.underline = !s.underline;
      break;
    case S:
      s.strike = !s.strike;
      break;
    case M:
      s.mono = !s.mono;
      break;
    case R:
      s.reverse = !s.reverse;
      break;
    case O:
      return { ...PLAIN };
    case C: {
      const m = COLOUR_RE.exec(code);
      if (!m || m[1] === undefined) {
        delete s.fg;
        delete s.bg;
      } else {
        const fg = parseInt(m[1], 10);
        if (fg === 99) delete s.fg;
        else s.fg = fg;
        if (m[2] !== undefined) {
          const bg = parseInt(m[2], 10);
          if (bg === 99) delete s.bg;
          else s.bg = bg;
        }
      }
      break;
    }
    case H: {
      const m = HEX_RE.exec(code);
      if (!m || m[1] === undefined) {
        delete s.fg;
        delete s.bg;
      } else {
        s.fg = '#' + m[1].toLowerCase();
        if (m[2] !== undefined) s.bg = '#' + m[2].toLowerCase();
      }
      break;
    }
  }
  return s;
}

/** Parses mIRC-formatted text into runs of text with the state that applies to them. */
export function parseRuns(text: string): Run[] {
  let state: FormatState = { ...PLAIN };
  const runs: Run[] = [];
  for (const t of tokenize(text)) {
    if (t.type === 'code') state = applyCode(state, t.code);
    else if (runs.length && sameState(runs[runs.length - 1].state, state)) runs[runs.length - 1].text += t.text;
    else runs.push({ text: t.text, state });
  }
  return runs;
}

/** Any formatting code at all: most lines have none, and then there is nothing to parse. */
export const HAS_CODES = /[\x02\x03\x04\x0f\x11\x16\x1d\x1e\x1f]/;

export function stripCodes(text: string): string {
  if (!HAS_CODES.test(text)) return text;
  return tokenize(text)
    .filter((t) => t.type === 'text')
    .map((t) => (t as { text: string }).text)
    .join('');
}

export function sameState(a: FormatState, b: FormatState): boolean {
  return (
    a.bold === b.bold &&
    a.italic === b.italic &&
    a.underline === b.underline &&
    a.strike === b.strike &&
    a.mono === b.mono &&
    a.reverse === b.reverse &&
    a.fg === b.fg &&
    a.bg === b.bg
  );
}

export function isPlain(s: FormatState): boolean {
  return sameState(s, PLAIN);
}

function colourCode(fg: Colour | undefined, bg: Colour | undefined): string {
  const hex = typeof fg === 'string' || typeof bg === 'string';
  if (hex) {
    const h = (c: Colour | undefined) => (typeof c === 'string' ? c.slice(1).toUpperCase() : '000000');
    return H + h(fg) + (bg !== undefined ? ',' + h(bg) : '');
  }
  // Always two digits, so text starting with a digit is never read as part of the colour.
  const two = (n: number | undefined) => String(n ?? 99).padStart(2, '0');
  return C + two(fg) + (bg !== undefined ? ',' + two(bg) : '');
}

/**
 * Codes that turn state `from` into state `to`. `nextText` is the text that will follow, so a
 * following "," + digit cannot be absorbed into a colour code (a bold toggle pair separates them).
 */
export function transition(from: FormatState, to: FormatState, nextText = ''): string {
  if (sameState(from, to)) return '';
  let out = '';
  let cur = from;
  // Removing a colour needs a bare \x03 (which clears both); resetting everything may be shorter.
  const colourRemoved = (cur.fg !== undefined && to.fg === undefined) || (cur.bg !== undefined && to.bg === undefined);
  if (colourRemoved) {
    if (isPlain(to)) return O;
    out += C;
    cur = { ...cur };
    delete cur.fg;
    delete cur.bg;
  }
  const toggles: [keyof FormatState, string][] = [
    ['bold', B],
    ['italic', I],
    ['underline', U],
    ['strike', S],
    ['mono', M],
    ['reverse', R],
  ];
  for (const [k, code] of toggles) if (cur[k] !== to[k]) out += code;
  if (to.fg !== cur.fg || to.bg !== cur.bg) {
    if (to.fg !== undefined || to.bg !== undefined) {
      out += colourCode(to.fg, to.bg);
      if (to.bg === undefined && /^,[0-9a-fA-F]/.test(nextText)) out += B + B;
    }
  } else if (out.endsWith(C) && /^[\d,]/.test(nextText)) {
    // A bare \x03 followed by digits would start a new colour.
    out += B + B;
  }
  return out;
}

/** Codes that establish `state` from plain (used at the start of continuation lines). */
export function stateToCodes(state: FormatState, nextText = ''): string {
  return transition(PLAIN, state, nextText);
}

/** Serialises runs back into mIRC text with minimal codes, ending plain. */
export function runsToMirc(runs: readonly Run[], closeAtEnd = false): string {
  let out = '';
  let state: FormatState = { ...PLAIN };
  for (const r of runs) {
    if (!r.text) continue;
    out += transition(state, r.state, r.text) + r.text;
    state = r.state;
  }
  if (closeAtEnd && !isPlain(state)) out += O;
  return out;
}
