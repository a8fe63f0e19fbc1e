// IRC (mIRC codes) -> Matrix `formatted_body` + plain `body`. All text is HTML-escaped and the
// result is passed through an allow-list sanitiser, so no IRC user can inject markup: the output
// contains only tags and attribute values this module itself could have produced.
import sanitizeHtml from 'sanitize-html';
import { HAS_CODES, parseRuns, stripCodes, isPlain, type Colour, type FormatState } from './mirc-codes';
import { mircIndexToHex } from './colours';

export interface MatrixText {
  /** Plain text with formatting codes removed. */
  body: string;
  /** `org.matrix.custom.html` body, present only when the IRC text carried formatting. */
  formattedBody?: string;
}

const HEX_ATTR = /^#[0-9a-f]{6}$/;

/** The allow-list: exactly what ircToMatrix emits. */
const SANITIZE_OPTIONS: sanitizeHtml.IOptions = {
  allowedTags: ['b', 'i', 'u', 'del', 'code', 'font'],
  allowedAttributes: { font: ['color', 'data-mx-color', 'data-mx-bg-color'] },
  allowedSchemes: [],
  disallowedTagsMode: 'escape',
  transformTags: {
    font: (tagName, attribs) => {
      const clean: Record<string, string> = {};
      for (const [k, v] of Object.entries(attribs)) if (HEX_ATTR.test(v)) clean[k] = v;
      return { tagName, attribs: clean };
    },
  },
};

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

const DEFAULT_FG = '#000000';
const DEFAULT_BG = '#ffffff';

function hex(c: Colour | undefined): string | undefined {
  if (c === undefined) return undefined;
  return typeof c === 'string' ? c : mircIndexToHex(c);
}

function wrap(text: string, s: FormatState): string {
  let html = escapeHtml(text);
  let fg = hex(s.fg);
  let bg = hex(s.bg);
  if (s.reverse) {
    // Reverse swaps foreground and background; unset sides take the usual defaults.
    [fg, bg] = [bg ?? DEFAULT_BG, fg ?? DEFAULT_FG];
  }
  if (fg || bg) {
    const attrs = [fg ? `color="${fg}" data-mx-color="${fg}"` : '', bg ? `data-mx-bg-color="${bg}"` : ''].filter(Boolean).join(' ');
    html = `<font ${attrs}>${html}</font>`;
  }
  if (s.mono) html = `<code>${html}</code>`;
  if (s.strike) html = `<del>${html}</del>`;
  if (s.underline) html = `<u>${html}</u>`;
  if (s.italic) html = `<i>${html}</i>`;
  if (s.bold) html = `<b>${html}</b>`;
  return html;
}

/** Converts one IRC message text into Matrix body/formatted_body. */
export function ircToMatrix(text: string): MatrixText {
  if (!HAS_CODES.test(text)) return { body: text };
  const body = stripCodes(text);
  const runs = parseRuns(text);
  if (runs.every((r) => isPlain(r.state))) return { body };
  const html = runs.map((r) => wrap(r.text, r.state)).join('');
  return { body, formattedBody: sanitizeHtml(html, SANITIZE_OPTIONS) };
}
