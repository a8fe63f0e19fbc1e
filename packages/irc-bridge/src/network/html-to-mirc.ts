// Matrix `formatted_body` (HTML) -> IRC text with mIRC codes, rendered from the core's document
// tree (which has already sanitised the HTML, dropped reply fallbacks and recognised pills).
// Keeps bold, italic, underline, strikethrough, code and colours; links become "text (url)";
// user pills become the IRC nick via a caller-provided lookup. Each output line carries its own
// formatting because IRC resets it per line.
import { isHtmlBlock, parseMatrixHtml, type HtmlNode } from '@causeway/bridge-core';
import { PLAIN, runsToMirc, type FormatState, type Run } from '../irc/mirc-codes';
import { nearestMircIndex, normaliseHex } from '../irc/colours';

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

/** Table parts other than rows run inline: cells end in a space, not a line break. */
const INLINE_HERE = new Set<HtmlNode['kind']>(['tableSection', 'tableCell', 'tableCaption']);
/** The nodes that start and end on a line of their own. */
const isBlock = (n: HtmlNode): boolean => isHtmlBlock(n) && !INLINE_HERE.has(n.kind);

/** Link schemes IRC users are shown as a URL; others (tel:, mxc:) count as no target. */
const NOT_SHOWN = /^(?:tel|mxc):/i;

interface List {
  ordered: boolean;
  next: number;
}

/** Walks the tree, collecting runs of (text, format); newlines are runs of their own. */
class Renderer {
  readonly runs: Run[] = [];
  private quoteDepth = 0;
  private atLineStart = true;
  private readonly lists: List[] = [];

  constructor(private readonly opts: HtmlToIrcOptions) {}

  private pushText(text: string, state: FormatState): void {
    if (!text) return;
    if (this.atLineStart && this.quoteDepth > 0) this.runs.push({ text: '> '.repeat(this.quoteDepth), state: { ...PLAIN } });
    this.atLineStart = false;
    this.runs.push({ text, state });
  }

  private newline(): void {
    const last = this.runs[this.runs.length - 1];
    if (last && (!this.atLineStart || last.text !== '\n')) this.runs.push({ text: '\n', state: { ...PLAIN } });
    this.atLineStart = true;
  }

  private blockBreak(): void {
    if (!this.atLineStart) this.newline();
  }

  nodes(nodes: readonly HtmlNode[], state: FormatState, pre: boolean): void {
    for (const n of nodes) this.node(n, state, pre);
  }

  private node(n: HtmlNode, parent: FormatState, pre: boolean): void {
    switch (n.kind) {
      case 'text':
        return this.text(n.text, parent, pre);
      case 'lineBreak':
        return this.newline();
      case 'rule':
        this.blockBreak();
        this.pushText('---', { ...parent });
        return this.newline();
      case 'image':
        return this.pushText(n.alt || n.title || '[image]', { ...parent });
    }
    if (isBlock(n)) this.blockBreak();
    const state: FormatState = { ...parent };
    let inPre = pre;
    switch (n.kind) {
      case 'style':
        if (n.style === 'bold') state.bold = true;
        else if (n.style === 'italic') state.italic = true;
        else if (n.style === 'underline') state.underline = true;
        else if (n.style === 'strike') state.strike = true;
        break;
      case 'heading':
        state.bold = true;
        break;
      case 'code':
        state.mono = true;
        break;
      case 'codeBlock':
        state.mono = true;
        inPre = true;
        break;
      case 'quote':
        this.quoteDepth++;
        break;
      case 'list':
        this.lists.push({ ordered: n.ordered, next: n.start || 1 });
        break;
      case 'listItem': {
        const list = this.lists[this.lists.length - 1];
        this.pushText(list?.ordered ? `${list.next++}. ` : '• ', { ...PLAIN });
        break;
      }
      case 'spoiler':
        // No spoiler in IRC: black on black is the traditional equivalent.
        state.fg = 1;
        state.bg = 1;
        break;
      case 'colour': {
        if (this.opts.colours === false) break;
        const fg = normaliseHex(n.fg ?? '');
        const bg = normaliseHex(n.bg ?? '');
        if (fg) state.fg = nearestMircIndex(fg);
        if (bg) state.bg = nearestMircIndex(bg);
        break;
      }
    }
    const linkStart = this.runs.length;
    this.nodes(n.children, state, inPre);
    if (n.kind === 'link') this.closeLink(n, linkStart, state, parent);
    if (n.kind === 'quote') this.quoteDepth = Math.max(0, this.quoteDepth - 1);
    if (n.kind === 'list') this.lists.pop();
    if (isBlock(n)) this.blockBreak();
    else if (n.kind === 'tableCell') this.pushText(' ', parent);
  }

  private text(raw: string, state: FormatState, pre: boolean): void {
    if (pre) {
      raw.split('\n').forEach((line, i) => {
        if (i > 0) this.newline();
        this.pushText(line, state);
      });
      return;
    }
    let text = raw.replace(/\s+/g, ' ');
    if (this.atLineStart) text = text.replace(/^ /, '');
    this.pushText(text, state);
  }

  /** A pill becomes the nick; another link shows its URL after its text unless the text is the URL. */
  private closeLink(n: Extract<HtmlNode, { kind: 'link' }>, start: number, state: FormatState, parent: FormatState): void {
    const href = n.href === undefined || NOT_SHOWN.test(n.href) ? '' : n.href;
    const inner = this.runs
      .slice(start)
      .map((r) => r.text)
      .join('');
    if (n.permalink?.kind === 'user') {
      const nick = this.opts.resolveMention?.(n.permalink.id, inner);
      if (nick !== undefined) {
        const first = this.runs[start]?.state ?? state;
        this.runs.length = start;
        this.pushText(nick, first);
      }
      return;
    }
    // Room and message permalinks read as their text: the URL means nothing on IRC.
    if (href.startsWith('https://matrix.to/#/')) return;
    const target = href.replace(/^mailto:/, '');
    if (inner.trim() === target || inner.trim().replace(/\/$/, '') === target.replace(/\/$/, '')) return;
    this.pushText(inner.trim() ? ` (${target})` : target, parent);
  }
}

/** Converts Matrix HTML to IRC text. */
export function htmlToIrc(html: string, opts: HtmlToIrcOptions = {}): IrcText {
  const renderer = new Renderer(opts);
  renderer.nodes(parseMatrixHtml(html), { ...PLAIN }, false);
  // Serialise line by line: formatting does not carry across IRC lines.
  const lines: Run[][] = [[]];
  for (const r of renderer.runs) {
    r.text.split('\n').forEach((p, i) => {
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
