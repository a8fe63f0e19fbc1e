// The neutral rich-text model both directions meet in: Slack mrkdwn and rich_text blocks parse
// into it and it renders to Matrix HTML; Matrix HTML parses into it and it renders to mrkdwn. A
// mention records which network its ID belongs to, so each renderer knows which side needs a
// lookup (a Slack user ID must be resolved to show a Matrix pill, and the reverse).

export type InlineStyle = 'bold' | 'italic' | 'strike' | 'underline' | 'spoiler';

export type Inline =
  | { t: 'text'; text: string }
  | { t: 'style'; style: InlineStyle; children: Inline[]; /** spoiler reason */ reason?: string }
  | { t: 'code'; text: string }
  | { t: 'link'; url: string; children: Inline[] }
  | { t: 'mention'; net: 'slack'; kind: 'user' | 'channel' | 'usergroup' | 'team'; id: string; label?: string }
  | { t: 'mention'; net: 'matrix'; kind: 'user' | 'room'; id: string; label?: string }
  /** A whole-room ping: Slack `<!here>`/`<!channel>`/`<!everyone>`, Matrix `@room`. */
  | { t: 'broadcast'; range: 'here' | 'channel' | 'everyone' }
  /** A Slack emoji by name (`+1`, `thumbsup::skin-tone-2`, a custom name); Unicode emoji are plain text. */
  | { t: 'emoji'; name: string; unicode?: string; skinTone?: string }
  | { t: 'date'; timestamp: number; format: string; fallback?: string; url?: string }
  /** An inline image that is not a link (a Matrix custom emoticon): rendered as its alt text. */
  | { t: 'image'; alt: string }
  | { t: 'br' };

export type Block =
  | { t: 'para'; children: Inline[] }
  | { t: 'pre'; text: string; lang?: string }
  | { t: 'quote'; children: Block[] }
  /** `start` numbers an ordered list's first item. */
  | { t: 'list'; ordered: boolean; start: number; items: Block[][] }
  | { t: 'hr' };

export type RichDoc = Block[];

export type MentionInline = Extract<Inline, { t: 'mention' }>;

/** Concatenated text of inline nodes without markup (labels for mentions, alt text for images). */
export function inlineText(nodes: readonly Inline[]): string {
  let out = '';
  for (const n of nodes) {
    switch (n.t) {
      case 'text':
      case 'code':
        out += n.text;
        break;
      case 'style':
      case 'link':
        out += inlineText(n.children) || (n.t === 'link' ? n.url : '');
        break;
      case 'mention':
        out += n.label ?? n.id;
        break;
      case 'broadcast':
        out += `@${n.range}`;
        break;
      case 'emoji':
        out += `:${n.name}:`;
        break;
      case 'date':
        out += n.fallback ?? '';
        break;
      case 'image':
        out += n.alt;
        break;
      case 'br':
        out += '\n';
        break;
    }
  }
  return out;
}

/**
 * Canonical form: adjacent text nodes joined, adjacent nodes of one style merged, empty styles,
 * links without content and empty paragraphs dropped, line breaks at paragraph edges trimmed.
 * Two documents that render the same compare equal after this.
 */
export function normalizeInlines(nodes: readonly Inline[]): Inline[] {
  const out: Inline[] = [];
  for (const n of nodes) {
    let node = n;
    if (node.t === 'style') {
      const children = normalizeInlines(node.children);
      if (children.length === 0) continue;
      node = { ...node, children };
    } else if (node.t === 'link') {
      node = { ...node, children: normalizeInlines(node.children) };
    } else if (node.t === 'text' && node.text === '') {
      continue;
    }
    const prev = out[out.length - 1];
    if (prev && prev.t === 'text' && node.t === 'text') {
      out[out.length - 1] = { t: 'text', text: prev.text + node.text };
    } else if (prev && prev.t === 'style' && node.t === 'style' && prev.style === node.style && prev.reason === node.reason) {
      out[out.length - 1] = { ...prev, children: normalizeInlines([...prev.children, ...node.children]) };
    } else if (prev && prev.t === 'code' && node.t === 'code') {
      out[out.length - 1] = { t: 'code', text: prev.text + node.text };
    } else {
      out.push(node);
    }
  }
  return out;
}

export function normalizeDoc(doc: readonly Block[]): RichDoc {
  const out: Block[] = [];
  for (const b of doc) {
    switch (b.t) {
      case 'para': {
        const children = trimBreaks(normalizeInlines(b.children));
        if (children.length) out.push({ t: 'para', children });
        break;
      }
      case 'quote': {
        const children = normalizeDoc(b.children);
        if (children.length) out.push({ t: 'quote', children });
        break;
      }
      case 'list': {
        const items = b.items.map((i) => normalizeDoc(i));
        if (items.length) out.push({ ...b, items });
        break;
      }
      default:
        out.push(b);
    }
  }
  return out;
}

function trimBreaks(nodes: Inline[]): Inline[] {
  let s = 0;
  let e = nodes.length;
  while (s < e && isBlank(nodes[s])) s++;
  while (e > s && isBlank(nodes[e - 1])) e--;
  return s === 0 && e === nodes.length ? nodes : nodes.slice(s, e);
}

function isBlank(n: Inline): boolean {
  return n.t === 'br' || (n.t === 'text' && n.text.trim() === '' && !n.text.includes('\u00a0'));
}

/** Calls `fn` for every inline node of the document, depth first. */
export function walkInlines(doc: readonly Block[], fn: (n: Inline) => void): void {
  const inl = (nodes: readonly Inline[]) => {
    for (const n of nodes) {
      fn(n);
      if (n.t === 'style' || n.t === 'link') inl(n.children);
    }
  };
  for (const b of doc) {
    if (b.t === 'para') inl(b.children);
    else if (b.t === 'quote') walkInlines(b.children, fn);
    else if (b.t === 'list') for (const item of b.items) walkInlines(item, fn);
  }
}

/** The Slack users, channels and user groups a document mentions, so a caller can look them up before rendering. */
export function slackReferences(doc: readonly Block[]): { users: string[]; channels: string[]; usergroups: string[] } {
  const users = new Set<string>();
  const channels = new Set<string>();
  const usergroups = new Set<string>();
  walkInlines(doc, (n) => {
    if (n.t !== 'mention' || n.net !== 'slack') return;
    if (n.kind === 'user') users.add(n.id);
    else if (n.kind === 'channel') channels.add(n.id);
    else if (n.kind === 'usergroup') usergroups.add(n.id);
  });
  return { users: [...users], channels: [...channels], usergroups: [...usergroups] };
}

/** URL schemes that may become a clickable link on either side; anything else is shown as text. */
export function isSafeUrl(url: string): boolean {
  return /^(?:https?:\/\/|mailto:|ftp:\/\/|tel:|matrix:)/i.test(url) && !/[\u0000-\u001f\u007f]/.test(url);
}
