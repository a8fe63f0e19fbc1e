/**
 * Matrix `formatted_body` → the typed tree of `html-tree.ts`. The HTML first passes an allow-list
 * sanitiser (sanitize-html: a real HTML tokenizer that decodes entities, balances tags and drops
 * reply fallbacks, scripts, unknown tags and unsafe link schemes, keeping their text), so the
 * small tree builder below only ever sees balanced, known markup with double-quoted attributes.
 * The nesting limit keeps hostile input (thousands of nested tags) from costing more than a
 * bounded depth of recursion: deeper tags are dropped, their text kept. Never throws.
 */
import sanitizeHtml from 'sanitize-html';
import type { HtmlNode, HtmlParent, HtmlStyle } from './html-tree';
import { parseMatrixPermalink } from './permalink';

/** How deep tags may nest before the sanitiser drops the deeper ones (their text stays). */
export const HTML_NESTING_LIMIT = 50;

const INPUT_SANITIZE: sanitizeHtml.IOptions = {
  allowedTags: [
    ...['b', 'strong', 'i', 'em', 'u', 'ins', 'del', 's', 'strike', 'sup', 'sub', 'code', 'font', 'span', 'a', 'br', 'img'],
    ...['p', 'div', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'pre', 'blockquote', 'ul', 'ol', 'li', 'hr', 'details', 'summary'],
    ...['table', 'thead', 'tbody', 'tfoot', 'tr', 'th', 'td', 'caption'],
  ],
  allowedAttributes: {
    font: ['color', 'data-mx-color', 'data-mx-bg-color'],
    span: ['data-mx-color', 'data-mx-bg-color', 'data-mx-spoiler'],
    a: ['href'],
    img: ['alt', 'title', 'src', 'data-mx-emoticon'],
    ol: ['start'],
    code: ['class'],
  },
  // Every scheme some network can show; a renderer narrows this to what its network links.
  allowedSchemes: ['http', 'https', 'ftp', 'mailto', 'magnet', 'tel', 'matrix', 'mxc'],
  allowProtocolRelative: false,
  // Reply fallbacks are the bridge's business (it quotes or threads); their HTML is never relayed.
  nonTextTags: ['style', 'script', 'textarea', 'option', 'noscript', 'mx-reply', 'title', 'head'],
  disallowedTagsMode: 'discard',
  nestingLimit: HTML_NESTING_LIMIT,
};

const VOID = new Set(['br', 'hr', 'img']);
const STYLES: Record<string, HtmlStyle> = {
  b: 'bold',
  strong: 'bold',
  i: 'italic',
  em: 'italic',
  u: 'underline',
  ins: 'underline',
  del: 'strike',
  s: 'strike',
  strike: 'strike',
  sup: 'superscript',
  sub: 'subscript',
};
const SECTIONS = { thead: 'head', tbody: 'body', tfoot: 'foot' } as const;
/** Tags that become a node with no attributes of its own. */
const CONTAINERS: Partial<
  Record<
    string,
    'code' | 'paragraph' | 'division' | 'codeBlock' | 'quote' | 'listItem' | 'table' | 'tableRow' | 'tableCaption' | 'details' | 'summary'
  >
> = {
  code: 'code',
  p: 'paragraph',
  div: 'division',
  pre: 'codeBlock',
  blockquote: 'quote',
  li: 'listItem',
  table: 'table',
  tr: 'tableRow',
  caption: 'tableCaption',
  details: 'details',
  summary: 'summary',
};
const LANGUAGE = /(?:^|\s)language-([A-Za-z0-9_+#.-]{1,32})(?=\s|$)/;

/** Decodes what the sanitiser's output can hold: the basic named entities and numeric references. */
function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]{1,8}|#\d{1,10}|[a-zA-Z]{2,8});/g, (all, e: string) => {
    if (e[0] === '#') {
      const cp = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return cp > 0 && cp <= 0x10ffff && (cp < 0xd800 || cp > 0xdfff) ? String.fromCodePoint(cp) : '\uFFFD';
    }
    return NAMED[e] ?? all;
  });
}
const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };

function parseAttrs(src: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of src.matchAll(/([a-zA-Z][a-zA-Z0-9-]*)(?:="([^"]*)")?/g)) out[m[1].toLowerCase()] = decodeEntities(m[2] ?? '');
  return out;
}

/** The typed node for a tag, with no children yet; undefined for a tag the sanitiser would not pass. */
function nodeFor(tag: string, attrs: Record<string, string>): HtmlNode | undefined {
  const style = STYLES[tag];
  if (style) return { kind: 'style', style, children: [] };
  switch (tag) {
    case 'br':
      return { kind: 'lineBreak' };
    case 'hr':
      return { kind: 'rule' };
    case 'img':
      return {
        kind: 'image',
        emoticon: 'data-mx-emoticon' in attrs,
        ...(attrs.alt ? { alt: attrs.alt } : {}),
        ...(attrs.title ? { title: attrs.title } : {}),
        ...(attrs.src ? { src: attrs.src } : {}),
      };
    case 'a': {
      const permalink = attrs.href ? parseMatrixPermalink(attrs.href) : undefined;
      return { kind: 'link', ...(attrs.href ? { href: attrs.href } : {}), ...(permalink ? { permalink } : {}), children: [] };
    }
    case 'span':
    case 'font': {
      if ('data-mx-spoiler' in attrs) {
        const reason = attrs['data-mx-spoiler'];
        return { kind: 'spoiler', ...(reason ? { reason } : {}), children: [] };
      }
      const fg = attrs['data-mx-color'] || attrs.color;
      const bg = attrs['data-mx-bg-color'];
      if (fg || bg) return { kind: 'colour', ...(fg ? { fg } : {}), ...(bg ? { bg } : {}), children: [] };
      return { kind: 'span', children: [] };
    }
    case 'ul':
    case 'ol': {
      const start = tag === 'ol' && attrs.start !== undefined ? parseInt(attrs.start, 10) : 1;
      return { kind: 'list', ordered: tag === 'ol', start: Number.isFinite(start) && start >= 0 && start < 1e6 ? start : 1, children: [] };
    }
    case 'thead':
    case 'tbody':
    case 'tfoot':
      return { kind: 'tableSection', section: SECTIONS[tag], children: [] };
    case 'td':
    case 'th':
      return { kind: 'tableCell', header: tag === 'th', children: [] };
    default: {
      const kind = CONTAINERS[tag];
      if (kind) return { kind, children: [] };
      if (/^h[1-6]$/.test(tag)) return { kind: 'heading', level: Number(tag[1]) as 1 | 2 | 3 | 4 | 5 | 6, children: [] };
      return undefined;
    }
  }
}

/** A code block's language: the class of a `<code>` directly inside it. */
function codeLanguage(classes: string | undefined): string | undefined {
  return classes === undefined ? undefined : LANGUAGE.exec(classes)?.[1];
}

/** Parses Matrix HTML into the document tree: the top-level nodes, in order. Never throws. */
export function parseMatrixHtml(html: string): HtmlNode[] {
  const clean = sanitizeHtml(html, INPUT_SANITIZE);
  const root: HtmlParent = { kind: 'division', children: [] };
  const stack: Array<{ tag: string; node: HtmlParent }> = [{ tag: '#root', node: root }];
  for (const m of clean.matchAll(/<(\/)?([a-zA-Z0-9]+)([^>]*?)(\/)?>|([^<]+)/g)) {
    const [, closing, rawTag, attrSrc, selfClosing, text] = m;
    const top = stack[stack.length - 1];
    if (text !== undefined) {
      top.node.children.push({ kind: 'text', text: decodeEntities(text) });
      continue;
    }
    const tag = rawTag.toLowerCase();
    if (closing) {
      // The sanitiser balances tags; a stray close tag is ignored rather than trusted.
      let i = stack.length - 1;
      while (i > 0 && stack[i].tag !== tag) i--;
      if (i > 0) stack.length = i;
      continue;
    }
    const attrs = parseAttrs(attrSrc);
    const node = nodeFor(tag, attrs);
    if (!node) continue;
    if (node.kind === 'code' && top.node.kind === 'codeBlock' && top.node.lang === undefined) {
      const lang = codeLanguage(attrs.class);
      if (lang) top.node.lang = lang;
    }
    top.node.children.push(node);
    if ('children' in node && !selfClosing && !VOID.has(tag)) stack.push({ tag, node });
  }
  return root.children;
}
