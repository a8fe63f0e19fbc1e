// Gitter message text (GFM-like Markdown) → HTML for a Matrix `formatted_body`. The bridge
// renders the text itself rather than trusting the server's `html`: raw HTML in the text is
// shown as text (`html: false`), bare URLs become links, line breaks are kept (chat Markdown),
// images become links (Matrix clients only load mxc: images) and the result passes the core's
// Matrix HTML allow-list (the one every formatted_body passes on its way to Matrix anyway; a list
// of our own would only be a second copy of that policy to keep in step). `@username` and `@/all`
// are handed to the caller, who turns them into pills (or leaves them as text); nothing inside
// code is a mention.
import { escapeHtml, sanitizeMatrixHtml } from '@causeway/bridge-core';
import MarkdownIt from 'markdown-it';

interface MentionLink {
  /** e.g. https://matrix.to/#/@gitter_bob:example.org */
  href: string;
  /** What the link shows, e.g. the ghost's display name. */
  text: string;
}

export interface MarkdownToHtmlOptions {
  /** A `@username` in the text: a pill to show, or undefined to keep the text as it is. */
  mention?: (username: string) => MentionLink | undefined;
  /** `@/all`: the text to show instead (e.g. "@room"), or undefined to keep "@/all". */
  allMention?: () => string | undefined;
}

export interface RenderedMarkdown {
  html: string;
  /** Usernames mentioned (outside code), in order, each once, as written. */
  mentions: string[];
  /** The text mentions `@/all`. */
  mentionsAll: boolean;
  /**
   * Whether the HTML says more than the text: false when the message is plain text, so the
   * connector can send a `body` alone.
   */
  formatted: boolean;
}

interface RenderEnv {
  opts: MarkdownToHtmlOptions;
  mentions: string[];
  mentionsAll: boolean;
  pills: number;
}

const MENTION_RE = /^@(\/all|[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?)/;

function createRenderer(): MarkdownIt {
  const md = new MarkdownIt('default', { html: false, linkify: true, breaks: true, typographer: false });

  md.inline.ruler.before('linkify', 'gitter_mention', (state, silent) => {
    if (state.src.charCodeAt(state.pos) !== 0x40 /* @ */) return false;
    if ((state as unknown as { linkLevel: number }).linkLevel > 0) return false;
    const prev = state.pos > 0 ? state.src[state.pos - 1] : '';
    if (prev && /[\w@/.-]/.test(prev)) return false; // e-mail addresses, paths
    const m = MENTION_RE.exec(state.src.slice(state.pos, state.posMax));
    if (!m) return false;
    if (!silent) {
      const token = state.push('gitter_mention', '', 0);
      token.meta = { username: m[1] };
      token.content = m[0];
    }
    state.pos += m[0].length;
    return true;
  });

  md.renderer.rules.gitter_mention = (tokens, idx, _options, env: RenderEnv) => {
    const username = (tokens[idx].meta as { username: string }).username;
    if (username === '/all') {
      env.mentionsAll = true;
      const text = env.opts.allMention?.();
      return md.utils.escapeHtml(text ?? '@/all');
    }
    if (!env.mentions.some((u) => u.toLowerCase() === username.toLowerCase())) env.mentions.push(username);
    const pill = env.opts.mention?.(username);
    if (!pill) return md.utils.escapeHtml(`@${username}`);
    env.pills++;
    return `<a href="${md.utils.escapeHtml(pill.href)}">${md.utils.escapeHtml(pill.text)}</a>`;
  };

  // Matrix lists <del> for strikethrough, not markdown-it's <s>.
  md.renderer.rules.s_open = () => '<del>';
  md.renderer.rules.s_close = () => '</del>';
  // An image becomes a link to it, showing its alt text.
  md.renderer.rules.image = (tokens, idx, options, env, self) => {
    const token = tokens[idx];
    const src = token.attrGet('src') ?? '';
    const alt = self.renderInlineAsText(token.children ?? [], options, env) || src;
    return `<a href="${md.utils.escapeHtml(src)}">${md.utils.escapeHtml(alt)}</a>`;
  };
  return md;
}

let renderer: MarkdownIt | undefined;

/**
 * Text that Markdown, linkify and the mention rule leave as it is: letters, digits, spaces and
 * sentence punctuation, not starting like a block (indent, list, quote, heading), no `.` before a
 * letter (a bare domain would become a link), no `&` (an entity). Most chat lines are such text,
 * and rendering and sanitising one costs more than relaying it; the answer is the same
 * (`formatted` false, the text as one paragraph), which the spec checks against the full path.
 */
const PLAIN_CHARS = /^[\p{L}\p{N}\p{M} .,;:?!'"()%$+-]*$/u;
function isPlainText(text: string): boolean {
  return PLAIN_CHARS.test(text) && !/^[\s+-]|^\d+[.)]|\.[\p{L}]/u.test(text) && text.trim() !== '';
}

export function gitterMarkdownToHtml(text: string, opts: MarkdownToHtmlOptions = {}): RenderedMarkdown {
  if (isPlainText(text)) return { html: `<p>${escapeHtml(text.trim())}</p>`, mentions: [], mentionsAll: false, formatted: false };
  return renderMarkdown(text, opts);
}

/** The full path: Markdown rendered, then the core's allow-list. */
export function renderMarkdown(text: string, opts: MarkdownToHtmlOptions = {}): RenderedMarkdown {
  renderer ??= createRenderer();
  const env: RenderEnv = { opts, mentions: [], mentionsAll: false, pills: 0 };
  const raw = renderer.render(text, env);
  const html = sanitizeMatrixHtml(raw).trim();
  return { html, mentions: env.mentions, mentionsAll: env.mentionsAll, formatted: isFormatted(html, text) };
}

/** Plain when the HTML is one paragraph of the text itself, with line breaks at most. */
function isFormatted(html: string, text: string): boolean {
  const m = /^<p>([\s\S]*)<\/p>$/.exec(html);
  if (!m || m[1].includes('<p>') || m[1].includes('</p>')) return html !== '';
  const inner = m[1].replace(/<br \/>\n?/g, '\n');
  if (/<[a-z/]/i.test(inner)) return true;
  return decodeEntities(inner) !== text.trim();
}

function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos|#39);/gi, (all, e: string) => {
    const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
    if (e[0] !== '#') return named[e.toLowerCase()] ?? all;
    const cp = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
    return Number.isFinite(cp) && cp > 0 && cp <= 0x10ffff ? String.fromCodePoint(cp) : all;
  });
}
