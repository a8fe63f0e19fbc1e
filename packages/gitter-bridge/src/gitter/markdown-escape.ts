// Escaping text for Gitter so it shows as typed: a Matrix user who wrote `*nix` or `2. place`
// in plain text did not mean emphasis or a list. Backslash escapes work in Gitter's Markdown;
// URLs and `@username` mentions are left as they are so they still link and notify.

const INLINE_SPECIAL = /[\\`*~[\]<]/g;
const KEEP_RE = /(https?:\/\/[^\s<>]+|(?<![\w@/.-])@(?:\/all|[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?))/g;

/** Escapes one line (or a run of text within a line). `lineStart`: it begins a line. */
export function escapeMarkdownText(text: string, lineStart = false): string {
  let out = '';
  let last = 0;
  for (const m of text.matchAll(KEEP_RE)) {
    out += escapeRun(text.slice(last, m.index), lineStart && last === 0 && m.index > 0) + m[0];
    last = m.index + m[0].length;
  }
  out += escapeRun(text.slice(last), lineStart && last === 0);
  return out;
}

/** Escapes multi-line plain text (e.g. a Matrix `body` without HTML). */
export function escapeMarkdown(text: string): string {
  return text
    .split('\n')
    .map((line) => escapeMarkdownText(line, true))
    .join('\n');
}

function escapeRun(s: string, lineStart: boolean): string {
  let out = s.replace(INLINE_SPECIAL, '\\$&').replace(/_/g, (u, i: number, all: string) => {
    // An underscore between two word characters never emphasises (snake_case stays readable).
    return /\w/.test(all[i - 1] ?? '') && /\w/.test(all[i + 1] ?? '') ? u : '\\_';
  });
  if (lineStart) out = escapeLineStart(out);
  return out;
}

/** Markers that only mean something at the start of a line: headings, quotes, lists, rules. */
function escapeLineStart(s: string): string {
  return (
    s
      .replace(/^(\s*)(#{1,6})(?=\s|$)/, '$1\\$2')
      .replace(/^(\s*)>/, '$1\\>')
      .replace(/^(\s*)([-+])(?=\s|$)/, '$1\\$2')
      .replace(/^(\s*)(\d{1,9})([.)])(?=\s|$)/, '$1$2\\$3')
      .replace(/^(\s*)(={3,}|-{3,})\s*$/, '$1\\$2')
      // Four spaces of indent would make a code block: the first becomes a no-break space.
      .replace(/^(?: {4}|\t)/, '\u00a0   ')
  );
}
