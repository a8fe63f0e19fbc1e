// Splits outgoing text into IRC lines that fit the real byte budget of the line as *relayed* to
// recipients (`:nick!user@host PRIVMSG target :text`), because InspIRCd silently cuts relayed
// lines at 510 bytes even mid-UTF-8. Cuts only at grapheme boundaries (ZWJ emoji, flags,
// combining marks survive), prefers whitespace, never cuts inside a colour code, and re-emits the
// active formatting at the start of each continuation line.
import { tokenize, applyCode, stateToCodes, PLAIN, type FormatState } from './mirc-codes';
import { splitUserTextLines } from './sanitize';

export type MessageKind = 'privmsg' | 'notice' | 'action';

export interface BudgetInput {
  nick: string;
  /** Username/ident as the server shows it (with '~' if ident failed). */
  user: string;
  /** Host as the server shows it (001/396/CHGHOST; cloaks change it). */
  host: string;
  target: string;
  kind?: MessageKind;
}

/** Worst-case identity on InspIRCd 3 defaults, used until the server tells us our real host. */
export const WORST_CASE_IDENTITY = { nickLen: 30, userLen: 11, hostLen: 64 };

/** Max text bytes per line for this sender/target (RFC 1459 512-byte lines including CRLF). */
export function lineBudget(b: BudgetInput): number {
  const utf8 = (s: string) => Buffer.byteLength(s, 'utf8');
  const prefix = utf8(b.nick) + utf8(b.user) + utf8(b.host) + 4; // ":" "!" "@" " "
  const kind = b.kind ?? 'privmsg';
  const command = kind === 'notice' ? 7 : 8; // "NOTICE " / "PRIVMSG "
  const actionWrap = kind === 'action' ? 9 : 0; // "\x01ACTION " + "\x01"
  return 510 - prefix - command - utf8(b.target) - 2 - actionWrap; // " :" before the text
}

export interface SplitOptions {
  /** Byte budget per line (see lineBudget). */
  budget: number;
}

export interface SplitResult {
  lines: string[];
}

const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

type Atom = { kind: 'code'; text: string } | { kind: 'char'; text: string; space: boolean };

function atomsOf(line: string): Atom[] {
  const atoms: Atom[] = [];
  for (const tok of tokenize(line)) {
    if (tok.type === 'code') atoms.push({ kind: 'code', text: tok.code });
    else for (const { segment } of segmenter.segment(tok.text)) atoms.push({ kind: 'char', text: segment, space: /^\s+$/.test(segment) });
  }
  return atoms;
}

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');
const CONTROL = /[\x00-\x1f\x7f]/;
const NOT_SPACE_AT_END = /\S$/;

/** Splits a grapheme that alone exceeds the budget (absurd ZWJ/combining chains) by code points. */
function splitHugeGrapheme(g: string, budget: number): string[] {
  const out: string[] = [];
  let cur = '';
  for (const cp of g) {
    if (bytes(cur + cp) > budget && cur) {
      out.push(cur);
      cur = '';
    }
    cur += cp;
  }
  if (cur) out.push(cur);
  return out;
}

/** Splits one source line (no newlines) into IRC lines. */
export function splitLine(line: string, budget: number): string[] {
  if (budget < 16) throw new Error(`line budget too small: ${budget}`);
  // Fast path (most chat lines): it fits, has no formatting codes (all are control characters)
  // and does not end in whitespace, so the walk below would return it unchanged. Skips the
  // grapheme segmentation, the costliest part of sending a message.
  if (!CONTROL.test(line) && NOT_SPACE_AT_END.test(line) && bytes(line) <= budget) return [line];
  const atoms = atomsOf(line);
  const out: string[] = [];
  let state: FormatState = { ...PLAIN };
  let cur: Atom[] = [];
  let curBytes = 0;
  let prefix = '';
  let lineStartState: FormatState = { ...PLAIN };

  const render = (as: Atom[]) => as.map((a) => a.text).join('');
  const hasText = (as: Atom[]) => as.some((a) => a.kind === 'char' && !a.space);
  const stateAfter = (from: FormatState, as: Atom[]) => as.reduce((s, a) => (a.kind === 'code' ? applyCode(s, a.text) : s), from);

  const emit = (as: Atom[]) => {
    // Trailing whitespace is dropped at a break; trailing codes move to the next line's state.
    let end = as.length;
    while (end > 0 && (as[end - 1].kind === 'code' || (as[end - 1] as { space?: boolean }).space)) end--;
    const body = render(as.slice(0, end));
    if (hasText(as)) out.push(prefix + body);
  };
  const startLine = (carry: Atom[]) => {
    // The state at the start of the carried atoms must be re-established with codes.
    const nextText = carry.find((a) => a.kind === 'char')?.text ?? '';
    // Leading whitespace of a continuation line is dropped.
    while (carry.length && carry[0].kind === 'char' && (carry[0] as { space: boolean }).space) carry.shift();
    prefix = stateToCodes(lineStartState, nextText);
    cur = carry;
    curBytes = bytes(prefix) + bytes(render(carry));
  };

  for (let i = 0; i < atoms.length; i++) {
    const a = atoms[i];
    const size = bytes(a.text);
    if (curBytes + size <= budget) {
      cur.push(a);
      curBytes += size;
      if (a.kind === 'code') state = applyCode(state, a.text);
      continue;
    }
    if (a.kind === 'code') {
      // A code that does not fit: break before it; it will be part of the next line's state.
      emit(cur);
      lineStartState = stateAfter(lineStartState, cur);
      startLine([]);
      i--;
      continue;
    }
    if (a.space && hasText(cur)) {
      // The overflowing character is itself whitespace: break here and drop it.
      emit(cur);
      lineStartState = stateAfter(lineStartState, cur);
      startLine([]);
      continue;
    }
    // Prefer the last whitespace in the current line (not at its very start).
    let breakAt = -1;
    for (let j = cur.length - 1; j > 0; j--) {
      const c = cur[j];
      if (c.kind === 'char' && c.space && hasText(cur.slice(0, j))) {
        breakAt = j;
        break;
      }
    }
    if (breakAt > 0) {
      const head = cur.slice(0, breakAt);
      const tail = cur.slice(breakAt + 1);
      emit(head);
      lineStartState = stateAfter(lineStartState, cur.slice(0, breakAt + 1));
      startLine(tail);
    } else if (hasText(cur)) {
      emit(cur);
      lineStartState = stateAfter(lineStartState, cur);
      startLine([]);
    } else {
      // Nothing but codes so far and the grapheme still does not fit: it is bigger than a line.
      const room = budget - curBytes;
      const pieces = splitHugeGrapheme(a.text, Math.max(4, room));
      atoms.splice(i, 1, ...pieces.map((p) => ({ kind: 'char' as const, text: p, space: false })));
      if (bytes(pieces[0]) > room) {
        emit(cur);
        lineStartState = stateAfter(lineStartState, cur);
        startLine([]);
      }
      i--;
      continue;
    }
    i--; // retry the same atom on the new line
  }
  emit(cur);
  return out;
}

/** Splits a whole message: every newline starts a new IRC line; CR/LF/NUL/\x01 never survive. */
export function splitMessage(text: string, opts: SplitOptions): SplitResult {
  const lines: string[] = [];
  for (const src of splitUserTextLines(text)) lines.push(...splitLine(src, opts.budget));
  return { lines };
}

/** How many IRC lines a message becomes, so the caller can upload it instead above lineLimit. */
export function countLines(text: string, budget: number): number {
  return splitMessage(text, { budget }).lines.length;
}
