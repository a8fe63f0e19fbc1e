// The rich-text model -> Slack mrkdwn for a message's `text`. All user text is escaped (`&`, `<`,
// `>`), so a Matrix user can never produce a Slack control token: `<!channel>` or `<@U1>` typed as
// text arrive as text. Only this module writes tokens: mentions the caller's lookup resolved to a
// Slack ID, links with safe schemes, and a room ping the caller allowed.
//
// mrkdwn markers only work at word boundaries and within one line, so styles are serialised line by
// line, whitespace is moved outside markers, and a marker pair Slack would not recognise (inside a
// word, next to a token, or cut short by a literal marker character in the text) is left out
// rather than shown as stray asterisks; inline code touching a word gets a space instead.
// Underline and spoilers have no mrkdwn form.
//
// Known limit: Slack has no escape for `*`, `_`, `~`, `` ` `` and a leading `>`, so literal text
// that happens to form a span at word boundaries (`*like this*`) is formatted by Slack.
import type { Block, Inline, InlineStyle, RichDoc } from './rich-doc';
import { inlineText, isSafeUrl } from './rich-doc';
import { escapeMrkdwn } from './escape';
import { canCloseBefore, canOpenAfter } from './mrkdwn-rules';

export interface MatrixToSlackResolvers {
  /** A Matrix user pill: their Slack user ID (`<@U…>`), other text, or undefined to show the pill text. */
  user?(matrixUserId: string, label: string): { slackUserId: string } | { text: string } | undefined;
  /** A Matrix room pill: a bridged channel (`<#C…>`), other text, or undefined to show the pill text. */
  room?(roomIdOrAlias: string, label: string): { slackChannelId: string } | { text: string } | undefined;
}

const SLACK_ID_RE = /^[A-Z0-9][A-Z0-9_-]*$/i;
const MARKS: Partial<Record<InlineStyle, string>> = { bold: '*', italic: '_', strike: '~' };
const ORDER: InlineStyle[] = ['bold', 'italic', 'strike'];
const BULLETS = ['•', '◦', '▪'];

const SPACE: Cell = { k: 'ch', c: ' ' };

/** What the mrkdwn parser sees at a token's edge: a `<…>` token counts as part of a word. */
const TOKEN = '\u0000token';

type Cell =
  | { k: 'ch'; c: string }
  /** `code`: set on inline code, which needs word boundaries like a marker. */
  | { k: 'atom'; s: string; first: string; last: string; code?: boolean }
  | { k: 'open' | 'close'; m: string; id: number }
  | { k: 'nl' };

interface Item {
  cell: Cell;
  styles: readonly InlineStyle[];
}

const isSpace = (c: string) => /^\s$/u.test(c);

function tokenAtom(s: string): Cell {
  return { k: 'atom', s, first: TOKEN, last: TOKEN };
}

/** Percent-encodes what would end or split a `<url|label>` token. */
function slackUrl(url: string): string {
  return escapeMrkdwn(url.replace(/[|<>\s]/g, (c) => encodeURIComponent(c)));
}

class InlineRenderer {
  private readonly items: Item[] = [];

  constructor(private readonly r: MatrixToSlackResolvers) {}

  private chars(text: string, styles: readonly InlineStyle[]): void {
    for (const c of text) this.items.push({ cell: c === '\n' ? { k: 'nl' } : { k: 'ch', c }, styles });
  }

  private atom(cell: Cell, styles: readonly InlineStyle[]): void {
    this.items.push({ cell, styles });
  }

  add(nodes: readonly Inline[], styles: readonly InlineStyle[]): void {
    for (const n of nodes) this.node(n, styles);
  }

  private node(n: Inline, styles: readonly InlineStyle[]): void {
    switch (n.t) {
      case 'text':
        this.chars(n.text, styles);
        return;
      case 'br':
        this.items.push({ cell: { k: 'nl' }, styles });
        return;
      case 'style':
        if (n.style === 'spoiler') {
          this.chars(n.reason ? `[spoiler: ${n.reason}] ` : '[spoiler] ', styles);
          this.add(n.children, styles);
        } else {
          this.add(n.children, styles.includes(n.style) ? styles : [...styles, n.style]);
        }
        return;
      case 'code':
        if (n.text && !n.text.includes('`') && !n.text.includes('\n') && n.text.trim()) {
          this.atom({ k: 'atom', s: `\`${escapeMrkdwn(n.text)}\``, first: '`', last: '`', code: true }, styles);
        } else {
          this.chars(n.text, styles);
        }
        return;
      case 'link':
        this.link(n, styles);
        return;
      case 'mention':
        this.mention(n, styles);
        return;
      case 'broadcast':
        this.atom(tokenAtom(`<!${n.range}>`), styles);
        return;
      case 'emoji': {
        const tone = n.skinTone ? `::skin-tone-${n.skinTone}` : '';
        this.atom({ k: 'atom', s: `:${escapeMrkdwn(n.name)}${tone}:`, first: ':', last: ':' }, styles);
        return;
      }
      case 'date': {
        const fallback = escapeMrkdwn((n.fallback ?? '').replace(/[|<>]/g, ''));
        const format = escapeMrkdwn(n.format.replace(/[|^<>]/g, ''));
        const url = n.url && isSafeUrl(n.url) ? `^${slackUrl(n.url)}` : '';
        this.atom(tokenAtom(`<!date^${Math.trunc(n.timestamp)}^${format}${url}|${fallback || format}>`), styles);
        return;
      }
      case 'image':
        this.chars(n.alt, styles);
        return;
    }
  }

  private link(n: Extract<Inline, { t: 'link' }>, styles: readonly InlineStyle[]): void {
    const label = inlineText(n.children).replace(/\s+/g, ' ').trim();
    if (!isSafeUrl(n.url)) {
      this.chars(label && label !== n.url ? `${label} (${n.url})` : n.url, styles);
      return;
    }
    // Styles that cover the whole label move outside the link: `*<url|label>*`.
    const inner = new InlineRenderer(this.r);
    inner.add(n.children, []);
    const covering = ORDER.filter((s) => inner.items.length > 0 && inner.items.every((i) => i.cell.k === 'nl' || i.styles.includes(s)));
    const outer = [...styles, ...covering.filter((s) => !styles.includes(s))];
    const bare = (s: string) => s.replace(/^(?:https?:\/\/|mailto:)/i, '').replace(/\/$/, '');
    const url = slackUrl(n.url);
    const token = !label || label === n.url || bare(label) === bare(n.url) ? `<${url}>` : `<${url}|${escapeMrkdwn(label)}>`;
    this.atom(tokenAtom(token), outer);
  }

  private mention(n: Extract<Inline, { t: 'mention' }>, styles: readonly InlineStyle[]): void {
    const label = n.label ?? n.id;
    if (n.net === 'slack') {
      switch (n.kind) {
        case 'user':
          this.atom(tokenAtom(`<@${n.id}>`), styles);
          return;
        case 'channel':
          this.atom(tokenAtom(`<#${n.id}>`), styles);
          return;
        case 'usergroup':
          this.atom(tokenAtom(`<!subteam^${n.id}>`), styles);
          return;
        case 'team':
          this.chars(label, styles);
          return;
      }
    }
    const resolved = n.kind === 'user' ? this.r.user?.(n.id, label) : this.r.room?.(n.id, label);
    if (resolved && 'slackUserId' in resolved && SLACK_ID_RE.test(resolved.slackUserId)) {
      this.atom(tokenAtom(`<@${resolved.slackUserId}>`), styles);
    } else if (resolved && 'slackChannelId' in resolved && SLACK_ID_RE.test(resolved.slackChannelId)) {
      this.atom(tokenAtom(`<#${resolved.slackChannelId}>`), styles);
    } else if (resolved && 'text' in resolved && typeof resolved.text === 'string') {
      this.chars(resolved.text, styles);
    } else {
      this.chars(label, styles);
    }
  }

  /** Serialises the collected items: markers opened and closed per line, then checked. */
  toString(): string {
    const cells: Cell[] = [];
    const stack: Array<{ style: InlineStyle; id: number }> = [];
    let nextId = 0;
    const closeFrom = (i: number) => {
      while (stack.length > i) {
        const top = stack.pop()!;
        cells.push({ k: 'close', m: MARKS[top.style]!, id: top.id });
      }
    };
    for (const item of this.items) {
      if (item.cell.k === 'nl') {
        closeFrom(0);
        cells.push(item.cell);
        continue;
      }
      // In the document's nesting order, so `<i><b>x</b> y</i>` stays `_*x* y_`.
      const target = item.styles.filter((s) => MARKS[s] !== undefined);
      const keep = stack.findIndex((f) => !target.includes(f.style));
      if (keep >= 0) closeFrom(keep);
      for (const s of target) {
        if (!stack.some((f) => f.style === s)) {
          const id = nextId++;
          stack.push({ style: s, id });
          cells.push({ k: 'open', m: MARKS[s]!, id });
        }
      }
      cells.push(item.cell);
    }
    closeFrom(0);
    return serialise(fixMarkers(cells));
  }
}

/**
 * The character the mrkdwn parser sees at cell i, looking from `side`. When it decides whether a
 * marker opens or closes, it reads a span's content on its own, so an enclosing span's marker is
 * the edge of the text (undefined); with `raw`, as when it scans content for a closing marker,
 * every marker is just its character.
 */
function viewAt(cells: Cell[], i: number, side: 'before' | 'after', raw = false): string | undefined {
  const c = cells[i];
  if (!c) return undefined;
  switch (c.k) {
    case 'ch':
      return c.c;
    case 'nl':
      return undefined;
    case 'atom':
      return side === 'before' ? c.last : c.first;
    case 'open':
      return side === 'before' && !raw ? undefined : c.m;
    case 'close':
      return side === 'after' && !raw ? undefined : c.m;
  }
}

function openOk(prev: string | undefined, m: string): boolean {
  return prev !== TOKEN && canOpenAfter(prev, m);
}

function closeOk(next: string | undefined, m: string): boolean {
  return next !== TOKEN && canCloseBefore(next, m);
}

/** Moves whitespace outside marker pairs and drops pairs Slack would not recognise. */
function fixMarkers(input: Cell[]): Cell[] {
  let cells = input;
  for (let pass = 0; pass < 8; pass++) {
    for (let i = cells.length - 1; i >= 0; i--) {
      if (cells[i].k !== 'open') continue;
      let j = i;
      while (j + 1 < cells.length && cells[j + 1].k === 'ch' && isSpace((cells[j + 1] as { c: string }).c)) {
        [cells[j], cells[j + 1]] = [cells[j + 1], cells[j]];
        j++;
      }
    }
    for (let i = 0; i < cells.length; i++) {
      if (cells[i].k !== 'close') continue;
      let j = i;
      while (j - 1 >= 0 && cells[j - 1].k === 'ch' && isSpace((cells[j - 1] as { c: string }).c)) {
        [cells[j], cells[j - 1]] = [cells[j - 1], cells[j]];
        j--;
      }
    }
    // Backticks, like markers, need word boundaries. Code is not dropped for that (its text could
    // hold markers that would then format): a space separates it from the word it touches.
    let spaced = false;
    cells = cells.flatMap((c, i): Cell[] => {
      if (c.k !== 'atom' || c.code === undefined) return [c];
      const before = openOk(viewAt(cells, i - 1, 'before'), '`') ? [] : [SPACE];
      const after = closeOk(viewAt(cells, i + 1, 'after'), '`') ? [] : [SPACE];
      if (before.length || after.length) spaced = true;
      return [...before, c, ...after];
    });
    const opens = new Map<number, number>();
    const bad = new Set<number>();
    cells.forEach((c, i) => {
      if (c.k === 'open') opens.set(c.id, i);
      if (c.k !== 'close') return;
      const o = opens.get(c.id)!;
      const m = c.m;
      const hasContent = cells.slice(o + 1, i).some((x) => x.k === 'ch' || x.k === 'atom');
      const first = viewAt(cells, o + 1, 'after');
      const last = viewAt(cells, i - 1, 'before');
      let ok =
        hasContent &&
        openOk(viewAt(cells, o - 1, 'before'), m) &&
        closeOk(viewAt(cells, i + 1, 'after'), m) &&
        first !== undefined &&
        !isSpace(first) &&
        first !== m &&
        last !== undefined &&
        !isSpace(last);
      // A literal marker character inside that the parser would take as the closing one.
      for (let k = o + 2; ok && k < i; k++) {
        const x = cells[k];
        if (x.k === 'ch' && x.c === m) {
          const prev = viewAt(cells, k - 1, 'before', true);
          if (prev !== undefined && !isSpace(prev) && closeOk(viewAt(cells, k + 1, 'after', true), m)) ok = false;
        }
      }
      if (!ok) bad.add(c.id);
    });
    if (bad.size === 0 && !spaced) return cells;
    cells = cells.filter((c) => !((c.k === 'open' || c.k === 'close') && bad.has(c.id)));
  }
  return cells.filter((c) => c.k !== 'open' && c.k !== 'close');
}

function serialise(cells: Cell[]): string {
  let out = '';
  for (const c of cells) {
    if (c.k === 'ch') out += escapeMrkdwn(c.c);
    else if (c.k === 'nl') out += '\n';
    else if (c.k === 'atom') out += c.s;
    else out += c.m;
  }
  return out;
}

function renderPre(text: string): string {
  if (!text.trim()) return '';
  // A fence inside would end the block early; a zero-width space keeps it literal.
  let body = escapeMrkdwn(text).replace(/```/g, '``\u200b`');
  // The parser drops one newline after the opening fence and one before the closing fence.
  if (body.startsWith('\n')) body = `\n${body}`;
  if (body.endsWith('\n')) body = `${body}\n`;
  return `\`\`\`${body}\`\`\``;
}

function renderBlocks(blocks: readonly Block[], r: MatrixToSlackResolvers, depth: number): string {
  let out = '';
  let prev: Block | undefined;
  for (const b of blocks) {
    const s = renderBlock(b, r, depth);
    if (!s) continue;
    if (prev) out += prev.t === 'para' && b.t === 'para' ? '\n\n' : '\n';
    out += s;
    prev = b;
  }
  return out;
}

function renderBlock(b: Block, r: MatrixToSlackResolvers, depth: number): string {
  switch (b.t) {
    case 'para': {
      const inl = new InlineRenderer(r);
      inl.add(b.children, []);
      return inl.toString();
    }
    case 'pre':
      return renderPre(b.text);
    case 'quote':
      return renderBlocks(b.children, r, depth)
        .split('\n')
        .map((l) => (l ? `> ${l}` : '>'))
        .join('\n');
    case 'list':
      return b.items
        .map((item, i) => {
          const marker = b.ordered ? `${b.start + i}. ` : `${BULLETS[depth % BULLETS.length]} `;
          const indent = '    '.repeat(depth);
          const body = renderBlocks(item, r, depth + 1);
          return body
            .split('\n')
            .map((l, k) => (k === 0 ? `${indent}${marker}${l}` : !l || l.startsWith(' ') ? l : `${indent}${' '.repeat(marker.length)}${l}`))
            .join('\n');
        })
        .join('\n');
    case 'hr':
      return '---';
  }
}

/** Renders a document as Slack mrkdwn. */
export function renderMrkdwn(doc: RichDoc, resolvers: MatrixToSlackResolvers = {}): string {
  return renderBlocks(doc, resolvers, 0);
}
