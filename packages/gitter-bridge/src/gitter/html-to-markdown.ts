// Matrix `formatted_body` (HTML) → Gitter Markdown. Keeps bold, italic, strikethrough, inline
// code, code blocks (with their language), quotes, lists, headings, links and tables; user pills
// become `@username` through a caller lookup (other pills show their name); `@room` becomes
// `@/all`. Text is escaped so that only the formatting the Matrix user applied turns into
// Markdown. The HTML first goes through an allow-list sanitiser (dropping reply fallbacks,
// scripts and unknown tags), so the small tree builder below only sees well-formed, known markup.
import sanitizeHtml from 'sanitize-html';
import { escapeMarkdown, escapeMarkdownText } from './markdown-escape';

export interface HtmlToMarkdownOptions {
  /** A pill's Matrix user id (and the text it shows) → the Gitter username to mention, if any. */
  resolveMention?: (userId: string, displayText: string) => string | undefined;
  /** Turn `@room` into `@/all` (default true; a connector may allow it only to room moderators). */
  roomMention?: boolean;
}

export interface MatrixTextContent {
  body?: unknown;
  format?: unknown;
  formatted_body?: unknown;
}

interface Element {
  tag: string;
  attrs: Record<string, string>;
  children: Node[];
}
type Node = Element | string;

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
    'caption',
    'sup',
    'sub',
    'details',
    'summary',
  ],
  allowedAttributes: { a: ['href'], img: ['alt', 'title', 'src'], ol: ['start'], code: ['class'] },
  allowedSchemes: ['http', 'https', 'ftp', 'mailto', 'magnet', 'matrix', 'mxc'],
  nonTextTags: ['style', 'script', 'textarea', 'option', 'noscript', 'mx-reply'],
  disallowedTagsMode: 'discard',
};

const VOID = new Set(['br', 'hr', 'img']);
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
  'details',
  'summary',
  'caption',
]);
/** matrix.to and matrix: URIs of users; the id may be percent-encoded. */
const USER_PILL = [/^https:\/\/matrix\.to\/#\/((?:@|%40)[^/?#]+)/i, /^matrix:u\/([^/?#]+)/];

/** Picks the HTML when the content has it, else escapes the plain body. */
export function matrixToGitterMarkdown(content: MatrixTextContent, opts: HtmlToMarkdownOptions = {}): string {
  if (content.format === 'org.matrix.custom.html' && typeof content.formatted_body === 'string') {
    const md = htmlToGitterMarkdown(content.formatted_body, opts);
    if (md.trim()) return md;
  }
  const body = typeof content.body === 'string' ? content.body : '';
  return roomToAll(escapeMarkdown(body), opts);
}

export function htmlToGitterMarkdown(html: string, opts: HtmlToMarkdownOptions = {}): string {
  const tree = parse(sanitizeHtml(html, INPUT_SANITIZE));
  return new Writer(opts)
    .blocks(tree.children, '\n\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

function roomToAll(text: string, opts: HtmlToMarkdownOptions): string {
  return opts.roomMention === false ? text : text.replace(/(^|[^\w@/.-])@room\b/g, '$1@/all');
}

class Writer {
  constructor(private readonly opts: HtmlToMarkdownOptions) {}

  /** Renders mixed content as blocks; runs of inline content form paragraphs. */
  blocks(nodes: Node[], sep: string): string {
    const out: string[] = [];
    let run: Node[] = [];
    const flush = () => {
      const text = this.inline(run)
        .replace(/[ \t]+\n/g, '\n')
        .replace(/\n[ \t]+/g, '\n')
        .trim();
      if (text) out.push(text);
      run = [];
    };
    for (const n of nodes) {
      if (typeof n !== 'string' && BLOCK.has(n.tag)) {
        flush();
        const b = this.block(n);
        if (b.trim()) out.push(b);
      } else run.push(n);
    }
    flush();
    return out.join(sep);
  }

  private block(el: Element): string {
    switch (el.tag) {
      case 'h1':
      case 'h2':
      case 'h3':
      case 'h4':
      case 'h5':
      case 'h6':
        return `${'#'.repeat(Number(el.tag[1]))} ${this.inline(el.children).replace(/\n/g, ' ').trim()}`;
      case 'blockquote':
        return this.blocks(el.children, '\n\n')
          .split('\n')
          .map((l) => (l ? `> ${l}` : '>'))
          .join('\n');
      case 'ul':
      case 'ol':
        return this.list(el);
      case 'pre':
        return this.codeBlock(el);
      case 'hr':
        return '---';
      case 'table':
        return this.table(el);
      default:
        return this.blocks(el.children, '\n\n');
    }
  }

  private list(el: Element): string {
    const ordered = el.tag === 'ol';
    let n = ordered ? Math.max(0, parseInt(el.attrs.start ?? '1', 10) || 1) : 0;
    const items: string[] = [];
    for (const li of el.children) {
      if (typeof li === 'string') continue;
      const marker = ordered ? `${n++}. ` : '- ';
      const body = li.tag === 'li' ? this.blocks(li.children, '\n') : this.block(li);
      const pad = ' '.repeat(marker.length);
      items.push(
        body
          .split('\n')
          .map((l, i) => (i === 0 ? marker + l : l ? pad + l : l))
          .join('\n'),
      );
    }
    return items.join('\n');
  }

  private codeBlock(el: Element): string {
    const code = el.children.find((c): c is Element => typeof c !== 'string' && c.tag === 'code');
    const lang = /(?:^|\s)language-([\w+#.-]+)/.exec(code?.attrs.class ?? '')?.[1] ?? '';
    const text = textOf(code ? code.children : el.children).replace(/\n$/, '');
    const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
    const fence = '`'.repeat(longest + 1);
    return `${fence}${lang}\n${text}\n${fence}`;
  }

  private table(el: Element): string {
    const rows: Element[] = [];
    const collect = (nodes: Node[]) => {
      for (const n of nodes) {
        if (typeof n === 'string') continue;
        if (n.tag === 'tr') rows.push(n);
        else if (n.tag === 'thead' || n.tag === 'tbody') collect(n.children);
      }
    };
    collect(el.children);
    if (!rows.length) return '';
    const cells = rows.map((r) =>
      r.children
        .filter((c): c is Element => typeof c !== 'string')
        .map((c) => this.inline(c.children).replace(/\n/g, ' ').replace(/\|/g, '\\|').trim()),
    );
    const width = Math.max(...cells.map((c) => c.length));
    const line = (c: string[]) => `| ${[...c, ...Array<string>(width - c.length).fill('')].join(' | ')} |`;
    return [line(cells[0]), `|${' --- |'.repeat(width)}`, ...cells.slice(1).map(line)].join('\n');
  }

  /** Inline content; block children met inside inline markup are flattened to lines. */
  inline(nodes: Node[]): string {
    let out = '';
    for (const n of nodes) {
      const atLineStart = out === '' || out.endsWith('\n');
      if (typeof n === 'string') {
        let text = n.replace(/\s+/g, ' ');
        if (atLineStart) text = text.replace(/^ /, '');
        out += roomToAll(escapeMarkdownText(text, atLineStart), this.opts);
        continue;
      }
      out += this.inlineElement(n);
    }
    return out;
  }

  private inlineElement(el: Element): string {
    switch (el.tag) {
      case 'br':
        return '\n';
      case 'b':
      case 'strong':
        return wrap('**', this.inline(el.children));
      case 'i':
      case 'em':
        return wrap('*', this.inline(el.children));
      case 'del':
      case 's':
      case 'strike':
        return wrap('~~', this.inline(el.children));
      case 'code':
        return inlineCode(textOf(el.children));
      case 'a':
        return this.link(el);
      case 'img':
        return escapeMarkdownText(el.attrs.alt || el.attrs.title || 'image');
      default:
        if (BLOCK.has(el.tag)) return `\n${this.block(el)}\n`;
        return this.inline(el.children);
    }
  }

  private link(el: Element): string {
    const href = el.attrs.href ?? '';
    const text = this.inline(el.children).trim();
    for (const re of USER_PILL) {
      const m = re.exec(href);
      if (!m) continue;
      const decoded = safeDecode(m[1]);
      const userId = decoded.startsWith('@') ? decoded : `@${decoded}`;
      if (!userId.includes(':')) break;
      const username = this.opts.resolveMention?.(userId, textOf(el.children).trim());
      return username ? `@${username}` : text;
    }
    if (!href || !/^(https?|ftp|mailto|magnet|matrix):/i.test(href)) return text;
    const plain = textOf(el.children).trim();
    if (!plain || plain === href || plain.replace(/\/$/, '') === href.replace(/\/$/, '') || `mailto:${plain}` === href)
      return href.replace(/^mailto:/, '');
    return `[${text}](${href.replace(/[()\s<>]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`)})`;
  }
}

/** Emphasis markers must hug the text: leading and trailing spaces move outside them. */
function wrap(marker: string, inner: string): string {
  const m = /^(\s*)([\s\S]*?)(\s*)$/.exec(inner)!;
  return m[2] ? `${m[1]}${marker}${m[2]}${marker}${m[3]}` : inner;
}

function inlineCode(text: string): string {
  const t = text.replace(/\n/g, ' ');
  if (!t) return '';
  const longest = Math.max(0, ...[...t.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  const pad = t.startsWith('`') || t.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${t}${pad}${fence}`;
}

function textOf(nodes: Node[]): string {
  return nodes.map((n) => (typeof n === 'string' ? n : n.tag === 'br' ? '\n' : textOf(n.children))).join('');
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Builds a tree from sanitised (so well-formed) HTML; text is entity-decoded. */
function parse(html: string): Element {
  const root: Element = { tag: '#root', attrs: {}, children: [] };
  const stack: Element[] = [root];
  const tokenRe = /<(\/)?([a-zA-Z0-9]+)([^>]*?)(\/)?>|([^<]+)/g;
  let m: RegExpExecArray | null;
  while ((m = tokenRe.exec(html))) {
    const [, closing, rawTag, attrSrc, selfClosing, text] = m;
    const top = stack[stack.length - 1];
    if (text !== undefined) {
      top.children.push(decodeEntities(text));
      continue;
    }
    const tag = rawTag.toLowerCase();
    if (closing) {
      let i = stack.length - 1;
      while (i > 0 && stack[i].tag !== tag) i--;
      if (i > 0) stack.length = i;
      continue;
    }
    const el: Element = { tag, attrs: parseAttrs(attrSrc), children: [] };
    top.children.push(el);
    if (!selfClosing && !VOID.has(tag)) stack.push(el);
  }
  return root;
}

function parseAttrs(src: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of src.matchAll(/([a-zA-Z-]+)(?:="([^"]*)")?/g)) out[m[1].toLowerCase()] = decodeEntities(m[2] ?? '');
  return out;
}

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|[a-zA-Z]+);/g, (all, e: string) => {
    if (e[0] === '#') {
      const cp = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return Number.isFinite(cp) && cp > 0 && cp <= 0x10ffff ? String.fromCodePoint(cp) : '';
    }
    const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };
    return named[e] ?? all;
  });
}
