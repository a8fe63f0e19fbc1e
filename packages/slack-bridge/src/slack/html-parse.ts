// Matrix `formatted_body` HTML -> the rich-text model. The HTML is first run through an allow-list
// sanitiser (dropping reply fallbacks, scripts, unknown tags and attributes, unsafe link schemes)
// so the small tokenizer below only ever sees balanced, known markup with quoted attributes.
// Matrix pills (matrix.to and matrix: URIs for users and rooms) become Matrix mentions; headings
// become bold paragraphs; whitespace is collapsed as a browser would, except inside <pre>.
import sanitizeHtml from 'sanitize-html';
import type { Block, Inline, InlineStyle, RichDoc } from './rich-doc';
import { normalizeDoc } from './rich-doc';
import { decodeHtmlEntities } from './escape';

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
    'tfoot',
    'tr',
    'th',
    'td',
    'caption',
    'sup',
    'sub',
    'details',
    'summary',
  ],
  allowedAttributes: {
    a: ['href'],
    img: ['alt', 'title'],
    ol: ['start'],
    code: ['class'],
    span: ['data-mx-spoiler'],
  },
  allowedSchemes: ['http', 'https', 'ftp', 'mailto', 'tel', 'matrix'],
  allowProtocolRelative: false,
  // Reply fallbacks are the bridge's business (it quotes or threads); their HTML is never relayed.
  nonTextTags: ['style', 'script', 'textarea', 'option', 'noscript', 'mx-reply'],
  disallowedTagsMode: 'discard',
  // Deeper tags are dropped (their text kept), so hostile nesting cannot exhaust the stack below.
  nestingLimit: 50,
};

interface El {
  tag: string;
  attrs: Record<string, string>;
  children: Node[];
}
type Node = El | string;

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
  'thead',
  'tbody',
  'tfoot',
  'tr',
  'caption',
  'details',
  'summary',
]);

function parseAttrs(src: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /([a-zA-Z][a-zA-Z0-9-]*)(?:="([^"]*)")?/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(src))) out[m[1].toLowerCase()] = decodeHtmlEntities(m[2] ?? '');
  return out;
}

/** Builds a tree from sanitised HTML (balanced, attributes double-quoted). */
function tree(html: string): El {
  const root: El = { tag: '#root', attrs: {}, children: [] };
  const stack: El[] = [root];
  const tokenRe = /<(\/)?([a-zA-Z0-9-]+)([^>]*?)(\/)?>|([^<]+)/g;
  let m: RegExpExecArray | null;
  while ((m = tokenRe.exec(html))) {
    const [, closing, rawTag, attrSrc, selfClosing, text] = m;
    const top = stack[stack.length - 1];
    if (text !== undefined) {
      top.children.push(decodeHtmlEntities(text));
      continue;
    }
    const tag = rawTag.toLowerCase();
    if (closing) {
      let i = stack.length - 1;
      while (i > 0 && stack[i].tag !== tag) i--;
      if (i > 0) stack.length = i;
      continue;
    }
    const el: El = { tag, attrs: parseAttrs(attrSrc), children: [] };
    top.children.push(el);
    if (!selfClosing && !VOID.has(tag)) stack.push(el);
  }
  return root;
}

function textContent(n: Node): string {
  if (typeof n === 'string') return n;
  if (n.tag === 'br') return '\n';
  if (n.tag === 'img') return n.attrs.alt || n.attrs.title || '';
  return n.children.map(textContent).join('');
}

/** A Matrix ID a pill points at (`@user:server`, `#alias:server`, `!room:server`), or undefined. */
export function pillTarget(href: string): string | undefined {
  let id: string | undefined;
  const m = /^https:\/\/matrix\.to\/#\/([^?]*)/i.exec(href);
  if (m) {
    const parts = m[1].split('/');
    // A second path segment is an event: a permalink to a message, not a room pill.
    if (parts.length !== 1 && !(parts.length === 2 && parts[1] === '')) return undefined;
    try {
      id = decodeURIComponent(parts[0]);
    } catch {
      return undefined;
    }
  } else {
    const u = /^matrix:(u|r|roomid)\/([^/?#]+)(?:[?#].*)?$/i.exec(href);
    if (!u) return undefined;
    let rest: string;
    try {
      rest = decodeURIComponent(u[2]);
    } catch {
      return undefined;
    }
    id = (u[1].toLowerCase() === 'u' ? '@' : u[1].toLowerCase() === 'r' ? '#' : '!') + rest;
  }
  return /^[@#!][^\s]+$/.test(id) && (id[0] === '!' || /^.[^:]+:.+$/.test(id)) ? id : undefined;
}

const STYLE_TAGS: Record<string, InlineStyle> = {
  b: 'bold',
  strong: 'bold',
  i: 'italic',
  em: 'italic',
  u: 'underline',
  ins: 'underline',
  del: 'strike',
  s: 'strike',
  strike: 'strike',
};

class Converter {
  inlines(nodes: readonly Node[]): Inline[] {
    const out: Inline[] = [];
    for (const n of nodes) out.push(...this.inline(n));
    return out;
  }

  private inline(n: Node): Inline[] {
    if (typeof n === 'string') {
      const text = n.replace(/[ \t\r\n\f]+/g, ' ');
      return text ? [{ t: 'text', text }] : [];
    }
    const style = STYLE_TAGS[n.tag];
    if (style) return [{ t: 'style', style, children: this.inlines(n.children) }];
    switch (n.tag) {
      case 'br':
        return [{ t: 'br' }];
      case 'code':
        return [{ t: 'code', text: textContent(n) }];
      case 'img': {
        const alt = n.attrs.alt || n.attrs.title;
        return alt ? [{ t: 'image', alt }] : [];
      }
      case 'span':
        if ('data-mx-spoiler' in n.attrs) {
          const reason = n.attrs['data-mx-spoiler'];
          return [{ t: 'style', style: 'spoiler', children: this.inlines(n.children), ...(reason ? { reason } : {}) }];
        }
        return this.inlines(n.children);
      case 'a': {
        const href = n.attrs.href;
        const children = this.inlines(n.children);
        if (!href) return children;
        const target = pillTarget(href);
        if (target) {
          const label = textContent(n).trim();
          return [{ t: 'mention', net: 'matrix', kind: target[0] === '@' ? 'user' : 'room', id: target, ...(label ? { label } : {}) }];
        }
        return [{ t: 'link', url: href, children }];
      }
      default:
        if (BLOCK.has(n.tag)) {
          // A block inside inline markup (`<b><p>x</p></b>`): keep its text on its own line.
          return [{ t: 'br' }, ...this.inlines(n.children), { t: 'br' }];
        }
        return this.inlines(n.children);
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
      if (typeof n !== 'string' && BLOCK.has(n.tag)) {
        flush();
        out.push(...this.block(n));
      } else {
        para.push(n);
      }
    }
    flush();
    return out;
  }

  private block(n: El): Block[] {
    switch (n.tag) {
      case 'pre': {
        const code =
          n.children.length === 1 && typeof n.children[0] !== 'string' && n.children[0].tag === 'code' ? n.children[0] : undefined;
        const lang = /(?:^|\s)language-([A-Za-z0-9_+#.-]{1,32})(?:\s|$)/.exec(code?.attrs.class ?? '')?.[1];
        const text = textContent(n).replace(/\n$/, '');
        return [{ t: 'pre', text, ...(lang ? { lang } : {}) }];
      }
      case 'blockquote':
        return [{ t: 'quote', children: this.blocks(n.children) }];
      case 'ul':
      case 'ol': {
        const items: Block[][] = [];
        for (const c of n.children) {
          if (typeof c === 'string') {
            if (c.trim()) items.push([{ t: 'para', children: [{ t: 'text', text: c.trim() }] }]);
          } else if (c.tag === 'li') {
            items.push(this.blocks(c.children));
          } else {
            items.push(this.blocks([c]));
          }
        }
        const start = n.tag === 'ol' ? parseInt(n.attrs.start ?? '1', 10) : 1;
        return [{ t: 'list', ordered: n.tag === 'ol', start: Number.isFinite(start) && start >= 0 && start < 1e6 ? start : 1, items }];
      }
      case 'h1':
      case 'h2':
      case 'h3':
      case 'h4':
      case 'h5':
      case 'h6':
        return [{ t: 'para', children: [{ t: 'style', style: 'bold', children: trimLines(this.inlines(n.children)) }] }];
      case 'hr':
        return [{ t: 'hr' }];
      case 'table': {
        // Rows become lines of one paragraph, cells separated by ` | `; header cells bold.
        const children: Inline[] = [];
        for (const row of rowsOf(n)) {
          if (children.length) children.push({ t: 'br' });
          row.forEach((c, i) => {
            if (i > 0) children.push({ t: 'text', text: ' | ' });
            const inner = trimLines(this.inlines(c.children));
            children.push(...(c.tag === 'th' ? [{ t: 'style' as const, style: 'bold' as const, children: inner }] : inner));
          });
        }
        return [{ t: 'para', children }];
      }
      case 'li':
        return this.blocks(n.children);
      default:
        // p, div, details, summary, caption
        return this.blocks(n.children);
    }
  }
}

/** The rows of a table (inside thead/tbody/tfoot or not), each as its cells. */
function rowsOf(table: El): El[][] {
  const rows: El[][] = [];
  const visit = (n: El) => {
    for (const c of n.children) {
      if (typeof c === 'string') continue;
      if (c.tag === 'tr') rows.push(c.children.filter((x): x is El => typeof x !== 'string' && (x.tag === 'td' || x.tag === 'th')));
      else if (c.tag === 'thead' || c.tag === 'tbody' || c.tag === 'tfoot') visit(c);
    }
  };
  visit(table);
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

/** Parses Matrix HTML into the rich-text model. Never throws. */
export function parseMatrixHtml(html: string): RichDoc {
  const clean = sanitizeHtml(html, INPUT_SANITIZE);
  return normalizeDoc(new Converter().blocks(tree(clean).children));
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
