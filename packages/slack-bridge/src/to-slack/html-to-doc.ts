// Matrix `formatted_body` HTML -> the rich-text model, from the core's document tree (which has
// already sanitised the HTML, dropped reply fallbacks and recognised pills). Matrix pills of users
// and rooms become Matrix mentions; headings become bold paragraphs; whitespace is collapsed as a
// browser would, except inside <pre>.
//
// The core tree is not the rich-text model itself: the model is the meeting point of both
// directions (Slack mrkdwn and blocks parse into it too) and holds Slack's own nodes (Slack
// mentions, dates, emoji by name), while the core tree is Matrix HTML's shape with nothing of Slack.
import { htmlText, isHtmlBlock, parseMatrixHtml, type HtmlNode } from '@causeway/bridge-core';
import { normalizeDoc, type Block, type Inline, type InlineStyle, type RichDoc } from '../slack';

type Node = HtmlNode;

/** What this model lays out as a block: all but table cells, whose text runs inline in their row. */
const isBlock = (n: Node): boolean => isHtmlBlock(n) && n.kind !== 'tableCell';
const childrenOf = (n: Node): readonly Node[] => ('children' in n ? n.children : []);

const STYLES: Partial<Record<string, InlineStyle>> = { bold: 'bold', italic: 'italic', underline: 'underline', strike: 'strike' };

/** Link schemes Slack may show as links; others keep only their text. */
const NOT_LINKED = /^(?:magnet|mxc):/i;

class Converter {
  inlines(nodes: readonly Node[]): Inline[] {
    const out: Inline[] = [];
    for (const n of nodes) out.push(...this.inline(n));
    return out;
  }

  private inline(n: Node): Inline[] {
    switch (n.kind) {
      case 'text': {
        const text = n.text.replace(/[ \t\r\n\f]+/g, ' ');
        return text ? [{ t: 'text', text }] : [];
      }
      case 'style': {
        const style = STYLES[n.style];
        return style ? [{ t: 'style', style, children: this.inlines(n.children) }] : this.inlines(n.children);
      }
      case 'lineBreak':
        return [{ t: 'br' }];
      case 'code':
        return [{ t: 'code', text: htmlText(n.children) }];
      case 'image': {
        const alt = n.alt || n.title;
        return alt ? [{ t: 'image', alt }] : [];
      }
      case 'spoiler':
        return [{ t: 'style', style: 'spoiler', children: this.inlines(n.children), ...(n.reason ? { reason: n.reason } : {}) }];
      case 'link': {
        const href = n.href !== undefined && !NOT_LINKED.test(n.href) ? n.href : undefined;
        const children = this.inlines(n.children);
        if (!href) return children;
        const target = n.permalink;
        if (target && target.kind !== 'event') {
          const label = htmlText(n.children).trim();
          return [{ t: 'mention', net: 'matrix', kind: target.kind, id: target.id, ...(label ? { label } : {}) }];
        }
        return [{ t: 'link', url: href, children }];
      }
      default:
        if (isBlock(n)) {
          // A block inside inline markup (`<b><p>x</p></b>`): keep its text on its own line.
          return [{ t: 'br' }, ...this.inlines(childrenOf(n)), { t: 'br' }];
        }
        return this.inlines(childrenOf(n));
    }
  }

  blocks(nodes: readonly Node[]): Block[] {
    const out: Block[] = [];
    let para: Node[] = [];
    const flush = () => {
      if (para.length) out.push({ t: 'para', children: trimLines(this.inlines(para)) });
      para = [];
    };
    for (const n of nodes) {
      if (isBlock(n)) {
        flush();
        out.push(...this.block(n));
      } else {
        para.push(n);
      }
    }
    flush();
    return out;
  }

  private block(n: Node): Block[] {
    switch (n.kind) {
      case 'codeBlock': {
        // The language counts only for a block that is one `<code>` element.
        const lang = n.children.length === 1 && n.children[0].kind === 'code' ? n.lang : undefined;
        const text = htmlText(n.children).replace(/\n$/, '');
        return [{ t: 'pre', text, ...(lang ? { lang } : {}) }];
      }
      case 'quote':
        return [{ t: 'quote', children: this.blocks(n.children) }];
      case 'list': {
        const items: Block[][] = [];
        for (const c of n.children) {
          if (c.kind === 'text') {
            if (c.text.trim()) items.push([{ t: 'para', children: [{ t: 'text', text: c.text.trim() }] }]);
          } else if (c.kind === 'listItem') {
            items.push(this.blocks(c.children));
          } else {
            items.push(this.blocks([c]));
          }
        }
        return [{ t: 'list', ordered: n.ordered, start: n.start, items }];
      }
      case 'heading':
        return [{ t: 'para', children: [{ t: 'style', style: 'bold', children: trimLines(this.inlines(n.children)) }] }];
      case 'rule':
        return [{ t: 'hr' }];
      case 'table': {
        // Rows become lines of one paragraph, cells separated by ` | `; header cells bold.
        const children: Inline[] = [];
        for (const row of rowsOf(n.children)) {
          if (children.length) children.push({ t: 'br' });
          row.forEach((c, i) => {
            if (i > 0) children.push({ t: 'text', text: ' | ' });
            const inner = trimLines(this.inlines(c.children));
            children.push(...(c.header ? [{ t: 'style' as const, style: 'bold' as const, children: inner }] : inner));
          });
        }
        return [{ t: 'para', children }];
      }
      default:
        // paragraph, division, list item, details, summary, caption, table parts outside a table
        return this.blocks(childrenOf(n));
    }
  }
}

type Cell = Extract<Node, { kind: 'tableCell' }>;

/** The rows of a table (inside thead/tbody/tfoot or not), each as its cells. */
function rowsOf(nodes: readonly Node[], rows: Cell[][] = []): Cell[][] {
  for (const c of nodes) {
    if (c.kind === 'tableRow') rows.push(c.children.filter((x): x is Cell => x.kind === 'tableCell'));
    else if (c.kind === 'tableSection') rowsOf(c.children, rows);
  }
  return rows;
}

/** Drops the spaces a browser would not show: at the start and end of a line. */
function trimLines(nodes: Inline[]): Inline[] {
  const texts: Array<{ node: Extract<Inline, { t: 'text' }>; lineStart: boolean; lineEnd: boolean }> = [];
  let atStart = true;
  let last: (typeof texts)[number] | undefined;
  const walk = (list: Inline[]) => {
    for (const n of list) {
      if (n.t === 'text') {
        last = { node: n, lineStart: atStart, lineEnd: false };
        texts.push(last);
        if (n.text.trim()) atStart = false;
      } else if (n.t === 'br') {
        if (last) last.lineEnd = true;
        last = undefined;
        atStart = true;
      } else if (n.t === 'style' || n.t === 'link') {
        walk(n.children);
      } else {
        last = undefined;
        atStart = false;
      }
    }
  };
  walk(nodes);
  if (last) last.lineEnd = true;
  for (const t of texts) {
    if (t.lineStart) t.node.text = t.node.text.replace(/^ +/, '');
    if (t.lineEnd) t.node.text = t.node.text.replace(/ +$/, '');
  }
  return nodes;
}

/** Matrix HTML as the rich-text model. Never throws. */
export function matrixHtmlToDoc(html: string): RichDoc {
  return normalizeDoc(new Converter().blocks(parseMatrixHtml(html)));
}

/** Plain Matrix `body` text as a document: lines become line breaks; nothing is markup. */
export function plainTextDoc(body: string): RichDoc {
  const children: Inline[] = [];
  body.split(/\r?\n/).forEach((line, i) => {
    if (i > 0) children.push({ t: 'br' });
    if (line) children.push({ t: 'text', text: line });
  });
  return normalizeDoc([{ t: 'para', children }]);
}
