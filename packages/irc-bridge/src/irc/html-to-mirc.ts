// Matrix `formatted_body` (HTML) -> IRC text with mIRC codes. Keeps bold, italic, underline,
// strikethrough, code and colours; links become "text (url)"; user pills become the IRC nick via
// a caller-provided lookup. The HTML is first normalised by an allow-list sanitiser (dropping
// reply fallbacks, scripts and unknown tags) so the small tokenizer below only sees well-formed,
// known markup. Each output line carries its own formatting because IRC resets it per line.
import sanitizeHtml from 'sanitize-html';
import { PLAIN, runsToMirc, type FormatState, type Run } from './mirc-codes';
import { nearestMircIndex, normaliseHex } from './colours';

export interface MatrixContent {
  body: string;
  format?: string;
  formatted_body?: string;
}

export interface HtmlToIrcOptions {
  /** Maps a pill's user ID (and its display text) to the IRC nick to show; undefined keeps the text. */
  resolveMention?: (userId: string, displayText: string) => string | undefined;
  /** Keep colours (default true); IRC networks with +c channels strip them anyway. */
  colours?: boolean;
}

export interface IrcText {
  /** IRC text with formatting codes; lines separated by '\n'. */
  text: string;
  /** The same without any formatting codes (fallback for +c channels / logs). */
  plain: string;
}

const INPUT_SANITIZE: sanitizeHtml.IOptions = {
  allowedTags: [
    'b',
    'strong',
    'i',
    'em',
    'u',
    'ins',
    'del',
    's',
    'strike',
    'code',
    'pre',
    'font',
    'span',
    'a',
    'br',
    'p',
    'div',
    'h1',
    'h2',
    'h3',
    'h4',
    'h5',
    'h6',
    'blockquote',
    'ul',
    'ol',
    'li',
    'hr',
    'img',
    'table',
    'thead',
    'tbody',
    'tr',
    'th',
    'td',
    'sup',
    'sub',
    'details',
    'summary',
  ],
  allowedAttributes: {
    font: ['color', 'data-mx-color', 'data-mx-bg-color'],
    span: ['data-mx-color', 'data-mx-bg-color', 'data-mx-spoiler'],
    a: ['href'],
    img: ['alt', 'title'],
    ol: ['start'],
  },
  allowedSchemes: ['http', 'https', 'ftp', 'mailto', 'magnet', 'matrix'],
  // Reply fallbacks are quoted separately by the bridge; their HTML must not be relayed.
  nonTextTags: ['style', 'script', 'textarea', 'option', 'noscript', 'mx-reply'],
  disallowedTagsMode: 'discard',
};

const BLOCK = new Set([
  'p',
  'div',
  'h1',
  'h2',
  'h3',
  'h4',
  'h5',
  'h6',
  'blockquote',
  'ul',
  'ol',
  'li',
  'pre',
  'hr',
  'table',
  'tr',
  'details',
  'summary',
]);

export function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|[a-zA-Z]+);/g, (all, e: string) => {
    if (e[0] === '#') {
      const cp = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return Number.isFinite(cp) && cp > 0 && cp <= 0x10ffff ? String.fromCodePoint(cp) : '';
    }
    const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };
    return named[e] ?? all;
  });
}

function parseAttrs(src: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /([a-zA-Z-]+)(?:="([^"]*)")?/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(src))) out[m[1].toLowerCase()] = decodeEntities(m[2] ?? '');
  return out;
}

const PILL_RE = /^https:\/\/matrix\.to\/#\/(@[^/?#]+:[^/?#]+)/;

function linkTarget(href: string): string {
  return href.replace(/^mailto:/, '');
}

interface Frame {
  tag: string;
  state: FormatState;
  pre: boolean;
  /** For <a>: where its text started, and its href. */
  linkStart?: number;
  href?: string;
  listIndex?: number;
  ordered?: boolean;
}

/** Converts Matrix HTML to IRC text. */
export function htmlToIrc(html: string, opts: HtmlToIrcOptions = {}): IrcText {
  const clean = sanitizeHtml(html, INPUT_SANITIZE);
  const keepColours = opts.colours !== false;
  const runs: Run[] = [];
  const stack: Frame[] = [{ tag: '#root', state: { ...PLAIN }, pre: false }];
  let quoteDepth = 0;
  let atLineStart = true;
  const top = () => stack[stack.length - 1];

  const pushText = (text: string, state: FormatState) => {
    if (!text) return;
    if (atLineStart && quoteDepth > 0) runs.push({ text: '> '.repeat(quoteDepth), state: { ...PLAIN } });
    atLineStart = false;
    runs.push({ text, state });
  };
  const newline = () => {
    const last = runs[runs.length - 1];
    if (last && !atLineStart) runs.push({ text: '\n', state: { ...PLAIN } });
    else if (last && last.text !== '\n' && atLineStart) runs.push({ text: '\n', state: { ...PLAIN } });
    atLineStart = true;
  };
  const blockBreak = () => {
    if (!atLineStart) newline();
  };

  const tokenRe = /<(\/)?([a-zA-Z0-9]+)([^>]*?)(\/)?>|([^<]+)/g;
  let m: RegExpExecArray | null;
  while ((m = tokenRe.exec(clean))) {
    const [, closing, rawTag, attrSrc, selfClosing, textPart] = m;
    if (textPart !== undefined) {
      let text = decodeEntities(textPart);
      const f = top();
      if (f.pre) {
        const lines = text.split('\n');
        lines.forEach((line, i) => {
          if (i > 0) newline();
          pushText(line, f.state);
        });
      } else {
        text = text.replace(/\s+/g, ' ');
        if (atLineStart) text = text.replace(/^ /, '');
        pushText(text, f.state);
      }
      continue;
    }
    const tag = rawTag.toLowerCase();
    if (closing) {
      // Pop to the matching frame (sanitize-html output is balanced; be lenient anyway).
      let idx = stack.length - 1;
      while (idx > 0 && stack[idx].tag !== tag) idx--;
      if (idx === 0) continue;
      const frame = stack[idx];
      stack.length = idx;
      if (tag === 'a' && frame.href !== undefined && frame.linkStart !== undefined) {
        const inner = runs
          .slice(frame.linkStart)
          .map((r) => r.text)
          .join('');
        const pill = PILL_RE.exec(frame.href);
        if (pill) {
          const userId = decodeURIComponent(pill[1]);
          const nick = opts.resolveMention?.(userId, inner);
          if (nick !== undefined) {
            const state = runs[frame.linkStart]?.state ?? frame.state;
            runs.length = frame.linkStart;
            pushText(nick, state);
          }
        } else if (!frame.href.startsWith('https://matrix.to/#/')) {
          const target = linkTarget(frame.href);
          if (inner.trim() !== target && inner.trim().replace(/\/$/, '') !== target.replace(/\/$/, '')) {
            if (inner.trim()) pushText(` (${target})`, top().state);
            else pushText(target, top().state);
          }
        }
      }
      if (tag === 'blockquote') quoteDepth = Math.max(0, quoteDepth - 1);
      if (BLOCK.has(tag)) blockBreak();
      else if (tag === 'td' || tag === 'th') pushText(' ', top().state);
      continue;
    }
    const attrs = parseAttrs(attrSrc);
    const parent = top();
    const state: FormatState = { ...parent.state };
    if (tag === 'br') {
      newline();
      continue;
    }
    if (tag === 'hr') {
      blockBreak();
      pushText('---', state);
      newline();
      continue;
    }
    if (tag === 'img') {
      pushText(attrs.alt || attrs.title || '[image]', state);
      continue;
    }
    if (BLOCK.has(tag)) blockBreak();
    const frame: Frame = { tag, state, pre: parent.pre };
    switch (tag) {
      case 'b':
      case 'strong':
      case 'h1':
      case 'h2':
      case 'h3':
      case 'h4':
      case 'h5':
      case 'h6':
        state.bold = true;
        break;
      case 'i':
      case 'em':
        state.italic = true;
        break;
      case 'u':
      case 'ins':
        state.underline = true;
        break;
      case 'del':
      case 's':
      case 'strike':
        state.strike = true;
        break;
      case 'code':
        state.mono = true;
        break;
      case 'pre':
        state.mono = true;
        frame.pre = true;
        break;
      case 'blockquote':
        quoteDepth++;
        break;
      case 'ul':
      case 'ol':
        frame.ordered = tag === 'ol';
        frame.listIndex = tag === 'ol' ? Math.max(0, parseInt(attrs.start ?? '1', 10) || 1) : 0;
        break;
      case 'li': {
        const list = [...stack].reverse().find((f) => f.tag === 'ul' || f.tag === 'ol');
        if (list?.ordered) pushText(`${list.listIndex!++}. `, { ...PLAIN });
        else pushText('• ', { ...PLAIN });
        break;
      }
      case 'a':
        frame.href = attrs.href ?? '';
        frame.linkStart = runs.length;
        break;
      case 'font':
      case 'span': {
        if ('data-mx-spoiler' in attrs) {
          // No spoiler in IRC: black on black is the traditional equivalent.
          state.fg = 1;
          state.bg = 1;
          break;
        }
        if (!keepColours) break;
        const fg = normaliseHex(attrs['data-mx-color'] ?? attrs.color ?? '');
        const bg = normaliseHex(attrs['data-mx-bg-color'] ?? '');
        if (fg) state.fg = nearestMircIndex(fg);
        if (bg) state.bg = nearestMircIndex(bg);
        break;
      }
    }
    if (!selfClosing) stack.push(frame);
  }

  // Serialise line by line: formatting does not carry across IRC lines.
  const lines: Run[][] = [[]];
  for (const r of runs) {
    const parts = r.text.split('\n');
    parts.forEach((p, i) => {
      if (i > 0) lines.push([]);
      if (p) lines[lines.length - 1].push({ text: p, state: r.state });
    });
  }
  const trimmed = lines.map((l) => trimRuns(l));
  while (trimmed.length && trimmed[trimmed.length - 1].length === 0) trimmed.pop();
  while (trimmed.length && trimmed[0].length === 0) trimmed.shift();
  return {
    text: trimmed.map((l) => runsToMirc(l, true)).join('\n'),
    plain: trimmed.map((l) => l.map((r) => r.text).join('')).join('\n'),
  };
}

function trimRuns(line: Run[]): Run[] {
  const out = line.map((r) => ({ ...r }));
  while (out.length && !out[out.length - 1].text.replace(/\s+$/, '')) out.pop();
  if (out.length) out[out.length - 1].text = out[out.length - 1].text.replace(/\s+$/, '');
  return out;
}

/**
 * Picks the best IRC rendering of Matrix message content: the HTML when present and in the
 * Matrix HTML format, else the plain body.
 */
export function matrixToIrc(content: MatrixContent, opts: HtmlToIrcOptions = {}): IrcText {
  if (content.format === 'org.matrix.custom.html' && typeof content.formatted_body === 'string') {
    const out = htmlToIrc(content.formatted_body, opts);
    if (out.plain.trim()) return out;
  }
  const body = content.body ?? '';
  return { text: body, plain: body };
}
