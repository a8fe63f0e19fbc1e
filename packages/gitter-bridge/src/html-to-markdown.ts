// Matrix `formatted_body` (HTML) → Gitter Markdown, rendered from the core's document tree (which
// has already sanitised the HTML, dropped reply fallbacks and recognised pills). Keeps bold,
// italic, strikethrough, inline code, code blocks (with their language), quotes, lists, headings,
// links and tables; user pills become `@username` through a caller lookup (other pills show their
// name); `@room` becomes `@/all`. Text is escaped so that only the formatting the Matrix user
// applied turns into Markdown.
import { htmlText, isHtmlBlock, parseMatrixHtml, type HtmlNode } from '@causeway/bridge-core';
import { escapeMarkdown, escapeMarkdownText } from './gitter';

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

type Node = HtmlNode;
type Link = Extract<HtmlNode, { kind: 'link' }>;

/** Table parts are laid out by the table itself (a stray one runs inline). */
const INLINE_HERE = new Set<HtmlNode['kind']>(['tableSection', 'tableRow', 'tableCell']);
/** What Gitter Markdown shows as a block of its own. */
const isBlock = (n: Node): boolean => isHtmlBlock(n) && !INLINE_HERE.has(n.kind);
const childrenOf = (n: Node): Node[] => ('children' in n ? n.children : []);
/** Text without markup; images have no text here (inline code and code blocks hold none). */
const textOf = (nodes: readonly Node[]): string => htmlText(nodes, { images: false });

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
  return new Writer(opts)
    .blocks(parseMatrixHtml(html), '\n\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

function roomToAll(text: string, opts: HtmlToMarkdownOptions): string {
  return opts.roomMention === false ? text : text.replace(/(^|[^\w@/.-])@room\b/g, '$1@/all');
}

class Writer {
  constructor(private readonly opts: HtmlToMarkdownOptions) {}

  /** Renders mixed content as blocks; runs of inline content form paragraphs. */
  blocks(nodes: readonly Node[], sep: string): string {
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
      if (isBlock(n)) {
        flush();
        const b = this.block(n);
        if (b.trim()) out.push(b);
      } else run.push(n);
    }
    flush();
    return out.join(sep);
  }

  private block(n: Node): string {
    switch (n.kind) {
      case 'heading':
        return `${'#'.repeat(n.level)} ${this.inline(n.children).replace(/\n/g, ' ').trim()}`;
      case 'quote':
        return this.blocks(n.children, '\n\n')
          .split('\n')
          .map((l) => (l ? `> ${l}` : '>'))
          .join('\n');
      case 'list':
        return this.list(n);
      case 'codeBlock':
        return codeBlock(n);
      case 'rule':
        return '---';
      case 'table':
        return this.table(n);
      default:
        return this.blocks(childrenOf(n), '\n\n');
    }
  }

  private list(el: Extract<Node, { kind: 'list' }>): string {
    let n = el.start || 1;
    const items: string[] = [];
    for (const li of el.children) {
      if (li.kind === 'text') continue;
      const marker = el.ordered ? `${n++}. ` : '- ';
      const body = li.kind === 'listItem' ? this.blocks(li.children, '\n') : this.block(li);
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

  private table(el: Extract<Node, { kind: 'table' }>): string {
    const rows: Node[] = [];
    const collect = (nodes: readonly Node[]) => {
      for (const n of nodes) {
        if (n.kind === 'tableRow') rows.push(n);
        else if (n.kind === 'tableSection') collect(n.children);
      }
    };
    collect(el.children);
    if (!rows.length) return '';
    const cells = rows.map((r) =>
      childrenOf(r)
        .filter((c) => c.kind !== 'text')
        .map((c) => this.inline(childrenOf(c)).replace(/\n/g, ' ').replace(/\|/g, '\\|').trim()),
    );
    const width = Math.max(...cells.map((c) => c.length));
    const line = (c: string[]) => `| ${[...c, ...Array<string>(width - c.length).fill('')].join(' | ')} |`;
    return [line(cells[0]), `|${' --- |'.repeat(width)}`, ...cells.slice(1).map(line)].join('\n');
  }

  /** Inline content; block children met inside inline markup are flattened to lines. */
  inline(nodes: readonly Node[]): string {
    let out = '';
    for (const n of nodes) {
      const atLineStart = out === '' || out.endsWith('\n');
      if (n.kind === 'text') {
        let text = n.text.replace(/\s+/g, ' ');
        if (atLineStart) text = text.replace(/^ /, '');
        out += roomToAll(escapeMarkdownText(text, atLineStart), this.opts);
        continue;
      }
      out += this.inlineElement(n);
    }
    return out;
  }

  private inlineElement(n: Node): string {
    switch (n.kind) {
      case 'lineBreak':
        return '\n';
      case 'style':
        if (n.style === 'bold') return wrap('**', this.inline(n.children));
        if (n.style === 'italic') return wrap('*', this.inline(n.children));
        if (n.style === 'strike') return wrap('~~', this.inline(n.children));
        return this.inline(n.children);
      case 'code':
        return inlineCode(textOf(n.children));
      case 'link':
        return this.link(n);
      case 'image':
        return escapeMarkdownText(n.alt || n.title || 'image');
      default:
        if (isBlock(n)) return `\n${this.block(n)}\n`;
        return this.inline(childrenOf(n));
    }
  }

  private link(el: Link): string {
    const href = el.href ?? '';
    const text = this.inline(el.children).trim();
    if (el.permalink?.kind === 'user') {
      const username = this.opts.resolveMention?.(el.permalink.id, textOf(el.children).trim());
      return username ? `@${username}` : text;
    }
    if (!href || !/^(https?|ftp|mailto|magnet|matrix):/i.test(href)) return text;
    const plain = textOf(el.children).trim();
    if (!plain || plain === href || plain.replace(/\/$/, '') === href.replace(/\/$/, '') || `mailto:${plain}` === href)
      return href.replace(/^mailto:/, '');
    return `[${text}](${href.replace(/[()\s<>]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`)})`;
  }
}

/** A fenced block, the fence longer than any run of backticks in the code. */
function codeBlock(el: Extract<Node, { kind: 'codeBlock' }>): string {
  const code = el.children.find((c) => c.kind === 'code');
  const text = textOf(code ? childrenOf(code) : el.children).replace(/\n$/, '');
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  return `${fence}${el.lang ?? ''}\n${text}\n${fence}`;
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
