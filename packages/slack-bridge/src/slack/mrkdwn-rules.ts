// Where Slack recognises a `*bold*`, `_italic_`, `~strike~` or `` `code` `` marker: the one rule
// the mrkdwn parser and the mrkdwn writer must agree on, or text written for Slack would render
// differently from what the bridge reads back.
//
// Slack does not document it. What is known from observed behaviour: a marker pair must sit at
// word boundaries, the opening marker followed by a non-space, the closing one preceded by a
// non-space, all on one line. The characters that count as a boundary are narrower than "any
// punctuation": `*bold*` is recognised before `.`, `,`, `)`, `!`, `?`, `:`, `;`, `-`, quotes and
// a few others, but not before `(`, `@`, `&` (so not before an escaped `<` or `>`), `|`, `\`, `` ` ``
// or another marker. The sets below follow those observations; anything else (letters, digits,
// other scripts' punctuation, emoji) is treated as part of a word.

const SHARED = new Set([...'~!#$%^-+={}[];:\'",.?/']);

function isSpace(c: string): boolean {
  return /^\s$/u.test(c);
}

/** May `marker` open a span right after `prev` (undefined: start of text or of an enclosing span)? */
export function canOpenAfter(prev: string | undefined, marker: string): boolean {
  if (prev === undefined || isSpace(prev)) return true;
  if (prev === marker) return false;
  return prev === '(' || SHARED.has(prev);
}

/** May `marker` close a span right before `next` (undefined: end of text or of an enclosing span)? */
export function canCloseBefore(next: string | undefined, marker: string): boolean {
  if (next === undefined || isSpace(next)) return true;
  if (next === marker) return false;
  return next === ')' || SHARED.has(next);
}
