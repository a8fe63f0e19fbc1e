/**
 * The typed document a Matrix `formatted_body` parses into (`parseMatrixHtml`). Connectors render
 * their network's markup (mIRC codes, Slack mrkdwn, Gitter markdown) from this tree instead of
 * each tokenizing HTML: entities, reply fallbacks, unsafe markup and pills are dealt with once,
 * here. The tree keeps HTML's nesting (a block may sit inside inline markup, as `<b><p>x</p></b>`
 * can), so every renderer decides itself how a stray block or a table shows on its network.
 */

/** A Matrix permalink (matrix.to or `matrix:` URI) a link points at. */
export type MatrixPermalink =
  | { kind: 'user'; id: string }
  /** A room by ID (`!x:y`) or alias (`#x:y`). */
  | { kind: 'room'; id: string }
  /** A message: the room (ID or alias) and the event ID. */
  | { kind: 'event'; roomId: string; eventId: string };

/** Inline styles that only change how their children look. */
export type HtmlStyle = 'bold' | 'italic' | 'underline' | 'strike' | 'superscript' | 'subscript';

export type HtmlInline =
  /** Text with entities decoded and whitespace as written (renderers collapse it as they need). */
  | { kind: 'text'; text: string }
  | { kind: 'lineBreak' }
  | { kind: 'style'; style: HtmlStyle; children: HtmlNode[] }
  | { kind: 'code'; children: HtmlNode[] }
  /** `href` is absent when the link had none or its scheme is not allowed. */
  | { kind: 'link'; href?: string; permalink?: MatrixPermalink; children: HtmlNode[] }
  | { kind: 'spoiler'; reason?: string; children: HtmlNode[] }
  /** `<font>`/`<span>` colours as written (`#rrggbb` or a colour name); absent when not given. */
  | { kind: 'colour'; fg?: string; bg?: string; children: HtmlNode[] }
  /** A `<span>`/`<font>` without meaning of its own. */
  | { kind: 'span'; children: HtmlNode[] }
  /** An image: a custom emoticon when `emoticon`; `src` only for the schemes allowed. */
  | { kind: 'image'; alt?: string; title?: string; src?: string; emoticon: boolean };

export type HtmlBlock =
  | { kind: 'paragraph'; children: HtmlNode[] }
  /** `<div>`: a block with no meaning of its own. */
  | { kind: 'division'; children: HtmlNode[] }
  | { kind: 'heading'; level: 1 | 2 | 3 | 4 | 5 | 6; children: HtmlNode[] }
  /** `<pre>`; `lang` from its `<code class="language-x">`, whose node stays among the children. */
  | { kind: 'codeBlock'; lang?: string; children: HtmlNode[] }
  | { kind: 'quote'; children: HtmlNode[] }
  /** Children are mostly `listItem`s; stray content stays as written. `start` is 1 unless given. */
  | { kind: 'list'; ordered: boolean; start: number; children: HtmlNode[] }
  | { kind: 'listItem'; children: HtmlNode[] }
  | { kind: 'rule' }
  | { kind: 'table'; children: HtmlNode[] }
  /** `<thead>`, `<tbody>`, `<tfoot>`. */
  | { kind: 'tableSection'; section: 'head' | 'body' | 'foot'; children: HtmlNode[] }
  | { kind: 'tableRow'; children: HtmlNode[] }
  | { kind: 'tableCell'; header: boolean; children: HtmlNode[] }
  | { kind: 'tableCaption'; children: HtmlNode[] }
  | { kind: 'details'; children: HtmlNode[] }
  | { kind: 'summary'; children: HtmlNode[] };

export type HtmlNode = HtmlInline | HtmlBlock;

/** A node that has children. */
export type HtmlParent = Extract<HtmlNode, { children: HtmlNode[] }>;

const BLOCK_KINDS: ReadonlySet<HtmlNode['kind']> = new Set<HtmlBlock['kind']>([
  'paragraph',
  'division',
  'heading',
  'codeBlock',
  'quote',
  'list',
  'listItem',
  'rule',
  'table',
  'tableSection',
  'tableRow',
  'tableCell',
  'tableCaption',
  'details',
  'summary',
]);

export function isHtmlBlock(node: HtmlNode): node is HtmlBlock {
  return BLOCK_KINDS.has(node.kind);
}

/**
 * The text a reader sees, without markup: line breaks as `\n`, images as their alt (or title)
 * text. `images: false` leaves images out.
 */
export function htmlText(nodes: readonly HtmlNode[], opts: { images?: boolean } = {}): string {
  let out = '';
  for (const n of nodes) {
    if (n.kind === 'text') out += n.text;
    else if (n.kind === 'lineBreak') out += '\n';
    else if (n.kind === 'image') out += opts.images === false ? '' : n.alt || n.title || '';
    else if ('children' in n) out += htmlText(n.children, opts);
  }
  return out;
}
