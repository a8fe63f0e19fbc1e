// Gitter's 4,096-character limit on message text (counted as the server counts it: UTF-16 code
// units, JavaScript's `length`). A Matrix message longer than that is either uploaded and sent
// as a link or split — the connector decides with `exceedsGitterLimit`; `splitGitterText`
// splits at paragraph, line or word boundaries, never inside a surrogate pair, and closes and
// reopens a fenced code block cut in two so each part renders on its own.
import { GitterError } from './errors';

export const GITTER_MAX_TEXT_LENGTH = 4096;

export class GitterTextError extends GitterError {
  constructor(
    readonly reason: 'empty' | 'too_long',
    readonly length: number,
  ) {
    super(
      reason === 'empty'
        ? 'Gitter refuses an empty message'
        : `Gitter refuses messages over ${GITTER_MAX_TEXT_LENGTH} characters (this one has ${length})`,
    );
  }
}

export function gitterTextLength(text: string): number {
  return text.length;
}

export function exceedsGitterLimit(text: string, max = GITTER_MAX_TEXT_LENGTH): boolean {
  return gitterTextLength(text) > max;
}

/** Throws GitterTextError for text the server would refuse with a 400. */
export function checkGitterText(text: string): void {
  if (typeof text !== 'string' || text.trim() === '') throw new GitterTextError('empty', 0);
  if (exceedsGitterLimit(text)) throw new GitterTextError('too_long', text.length);
}

const FENCE_RE = /^ {0,3}(`{3,}|~{3,})(.*)$/;
/** Room kept in each part for closing a code block the cut leaves open ("\n" + the fence). */
const CLOSE_RESERVE = 16;

/** Splits text into parts of at most `max` characters (default 4096), none of them blank. */
export function splitGitterText(text: string, max = GITTER_MAX_TEXT_LENGTH): string[] {
  if (max < 32) throw new RangeError('max must be at least 32');
  const parts: string[] = [];
  let rest = text;
  let fence: string | null = null; // the opening line of a code block left open by the last cut
  while (rest.length) {
    const prefix = fence !== null ? `${fence}\n` : '';
    if (prefix.length + rest.length <= max) {
      push(parts, prefix + rest);
      break;
    }
    const budget = max - prefix.length - CLOSE_RESERVE;
    const { cut, skip } = chooseCut(rest, budget);
    const chunk = rest.slice(0, cut);
    const open = fenceStateAfter(chunk, fence);
    push(parts, prefix + chunk + (open !== null ? `\n${closingFor(open)}` : ''));
    fence = open;
    rest = rest.slice(cut + skip);
  }
  return parts;
}

function push(parts: string[], part: string): void {
  if (part.trim() !== '') parts.push(part.trimEnd());
}

/** Where to cut within `budget`, and how many separator characters to drop after the cut. */
function chooseCut(s: string, budget: number): { cut: number; skip: number } {
  const window = s.slice(0, budget + 1);
  const floor = Math.floor(budget / 2);
  const para = window.lastIndexOf('\n\n');
  if (para >= floor && para <= budget) return { cut: para, skip: 2 };
  const line = window.lastIndexOf('\n');
  if (line >= floor && line <= budget) return { cut: line, skip: 1 };
  const space = Math.max(window.lastIndexOf(' '), window.lastIndexOf('\t'));
  if (space >= floor && space <= budget) return { cut: space, skip: 1 };
  let cut = budget;
  const code = s.charCodeAt(cut - 1);
  if (code >= 0xd800 && code <= 0xdbff) cut--;
  return { cut, skip: 0 };
}

/** The fence still open after `chunk`, given the one open before it. */
function fenceStateAfter(chunk: string, openBefore: string | null): string | null {
  let open = openBefore;
  for (const line of chunk.split('\n')) {
    const m = FENCE_RE.exec(line);
    if (!m) continue;
    if (open === null) open = line.trim();
    else if (m[1][0] === open[0] && m[1].length >= fenceMarker(open).length && m[2].trim() === '') open = null;
  }
  return open;
}

function fenceMarker(openLine: string): string {
  return /^(`+|~+)/.exec(openLine)?.[1] ?? '```';
}

function closingFor(openLine: string): string {
  return fenceMarker(openLine);
}
