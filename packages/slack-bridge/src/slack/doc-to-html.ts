// The rich-text model -> Matrix `formatted_body` HTML and plain `body`. Slack mentions become
// Matrix pills through caller-supplied lookups (the caller owns the user/channel mapping and its
// caches), Slack broadcasts become `@room`, emoji names become Unicode. Every piece of text is
// escaped here, and the result then passes an allow-list sanitiser as a second line of defence,
// so no Slack user can put markup of their own into a Matrix room.
import sanitizeHtml from 'sanitize-html';
import type { Block, Inline, RichDoc } from './rich-doc';
import { isSafeUrl } from './rich-doc';
import { escapeHtml } from './escape';
import { emojiToUnicode, unicodeFromHex } from './emoji';
import { formatSlackDate } from './slack-date';

/** How a Slack user or channel appears on Matrix. */
export interface MatrixMentionTarget {
  /** Matrix user ID, room alias or room ID to link as a pill; omitted: plain text. */
  matrixId?: string;
  /** Text shown (a display name, `#channel`). */
  text: string;
}

export interface SlackToMatrixResolvers {
  /** A Slack user (`label`: the name written in the message, if any); undefined shows `@label`/`@U…`. */
  user?(slackUserId: string, label: string | undefined): MatrixMentionTarget | undefined;
  /** A Slack channel; undefined shows `#label`/`#C…`. */
  channel?(slackChannelId: string, label: string | undefined): MatrixMentionTarget | undefined;
  /** A Slack user group's text (e.g. `@devs`); undefined shows the label or `@S…`. */
  usergroup?(usergroupId: string, label: string | undefined): string | undefined;
  /**
   * A name that is not a standard emoji (a workspace's custom emoji): an `mxc://` image to show
   * inline, Unicode, or undefined to leave `:name:` as text.
   */
  customEmoji?(name: string): { mxc: string } | { unicode: string } | undefined;
}

export interface MatrixText {
  body: string;
  /** `org.matrix.custom.html` body; only set when the message has formatting a plain body loses. */
  html?: string;
  /** For `m.mentions`: the Matrix users pilled, and whether the whole room was pinged. */
  mentions: { userIds: string[]; room: boolean };
}

const MXC_RE = /^mxc:\/\/[A-Za-z0-9.:[\]-]+\/[A-Za-z0-9_-]+$/;
const MATRIX_ID_RE = /^[@#!][^\s"'<>\\/?]+$/;
const LANG_RE = /^[A-Za-z0-9_+#.-]{1,32}$/;

const OUTPUT_SANITIZE: sanitizeHtml.IOptions = {
  allowedTags: ['strong', 'em', 'del', 'u', 'code', 'pre', 'blockquote', 'ul', 'ol', 'li', 'a', 'br', 'span', 'img', 'hr'],
  allowedAttributes: {
    a: ['href'],
    span: ['data-mx-spoiler'],
    img: ['src', 'alt', 'title', 'height', 'data-mx-emoticon'],
    ol: ['start'],
    code: ['class'],
  },
  allowedClasses: { code: ['language-*'] },
  allowedSchemes: [],
  allowedSchemesByTag: { a: ['http', 'https', 'mailto', 'ftp', 'tel', 'matrix'], img: ['mxc'] },
  allowProtocolRelative: false,
  disallowedTagsMode: 'escape',
};

/** matrix.to link for a Matrix ID; the sigil stays readable, the rest is percent-encoded. */
export function matrixPermalink(id: string): string {
  return `https://matrix.to/#/${id[0]}${encodeURIComponent(id.slice(1)).replace(/%3A/gi, ':')}`;
}

function displayUrl(url: string): string {
  return url.replace(/^mailto:/i, '');
}

function sameAsUrl(label: string, url: string): boolean {
  const bare = (s: string) => s.replace(/^(?:https?:\/\/|mailto:)/i, '').replace(/\/$/, '');
  return label === url || bare(label) === bare(url);
}

interface Out {
  html: string;
  body: string;
}

class Renderer {
  rich = false;
  readonly userIds = new Set<string>();
  room = false;

  constructor(private readonly r: SlackToMatrixResolvers) {}

  private pill(target: MatrixMentionTarget | undefined, fallback: string): Out {
    if (!target) return { html: escapeHtml(fallback), body: fallback };
    if (target.matrixId && MATRIX_ID_RE.test(target.matrixId)) {
      this.rich = true;
      if (target.matrixId[0] === '@') this.userIds.add(target.matrixId);
      return { html: `<a href="${escapeHtml(matrixPermalink(target.matrixId))}">${escapeHtml(target.text)}</a>`, body: target.text };
    }
    return { html: escapeHtml(target.text), body: target.text };
  }

  private emoji(name: string, unicodeHex: string | undefined, skinTone: string | undefined): Out {
    const fromHex = unicodeHex ? unicodeFromHex(unicodeHex) : undefined;
    const unicode = fromHex ?? emojiToUnicode(name, skinTone);
    if (unicode !== undefined) return { html: escapeHtml(unicode), body: unicode };
    const shown = `:${name}:`;
    const custom = this.r.customEmoji?.(name);
    if (custom && 'unicode' in custom && custom.unicode) return { html: escapeHtml(custom.unicode), body: custom.unicode };
    if (custom && 'mxc' in custom && MXC_RE.test(custom.mxc)) {
      this.rich = true;
      const alt = escapeHtml(shown);
      return { html: `<img data-mx-emoticon src="${custom.mxc}" alt="${alt}" title="${alt}" height="32" />`, body: shown };
    }
    return { html: escapeHtml(shown), body: shown };
  }

  inline(nodes: readonly Inline[]): Out {
    let html = '';
    let body = '';
    for (const n of nodes) {
      const o = this.node(n);
      html += o.html;
      body += o.body;
    }
    return { html, body };
  }

  private node(n: Inline): Out {
    switch (n.t) {
      case 'text':
        return { html: escapeHtml(n.text), body: n.text };
      case 'br':
        return { html: '<br />', body: '\n' };
      case 'style': {
        const inner = this.inline(n.children);
        this.rich = true;
        switch (n.style) {
          case 'bold':
            return { html: `<strong>${inner.html}</strong>`, body: inner.body };
          case 'italic':
            return { html: `<em>${inner.html}</em>`, body: inner.body };
          case 'strike':
            return { html: `<del>${inner.html}</del>`, body: inner.body };
          case 'underline':
            return { html: `<u>${inner.html}</u>`, body: inner.body };
          case 'spoiler':
            return { html: `<span data-mx-spoiler="${escapeHtml(n.reason ?? '')}">${inner.html}</span>`, body: inner.body };
        }
        return inner;
      }
      case 'code':
        this.rich = true;
        return { html: `<code>${escapeHtml(n.text)}</code>`, body: n.text };
      case 'link': {
        const inner = n.children.length ? this.inline(n.children) : { html: escapeHtml(displayUrl(n.url)), body: displayUrl(n.url) };
        if (!isSafeUrl(n.url)) {
          const label = inner.body;
          return label === n.url || !n.children.length
            ? inner
            : { html: `${inner.html} (${escapeHtml(n.url)})`, body: `${label} (${n.url})` };
        }
        this.rich = true;
        const body = sameAsUrl(inner.body, n.url) ? inner.body : `${inner.body} (${n.url})`;
        return { html: `<a href="${escapeHtml(n.url)}">${inner.html}</a>`, body };
      }
      case 'mention':
        return this.mention(n);
      case 'broadcast':
        this.room = true;
        return { html: '@room', body: '@room' };
      case 'emoji':
        return this.emoji(n.name, n.unicode, n.skinTone);
      case 'date': {
        const text = formatSlackDate(n.timestamp, n.format, n.fallback);
        if (n.url && isSafeUrl(n.url)) {
          this.rich = true;
          return { html: `<a href="${escapeHtml(n.url)}">${escapeHtml(text)}</a>`, body: text };
        }
        return { html: escapeHtml(text), body: text };
      }
      case 'image':
        return { html: escapeHtml(n.alt), body: n.alt };
    }
  }

  private mention(n: Extract<Inline, { t: 'mention' }>): Out {
    const shown = n.label ?? n.id;
    if (n.net === 'matrix') {
      // Already a Matrix entity (only in documents parsed from Matrix HTML).
      return this.pill({ matrixId: n.id, text: n.label ?? n.id }, shown);
    }
    switch (n.kind) {
      case 'user':
        return this.pill(this.r.user?.(n.id, n.label), `@${shown}`);
      case 'channel':
        return this.pill(this.r.channel?.(n.id, n.label), `#${shown}`);
      case 'usergroup': {
        const text = this.r.usergroup?.(n.id, n.label) ?? (shown.startsWith('@') ? shown : `@${shown}`);
        return { html: escapeHtml(text), body: text };
      }
      case 'team':
        return { html: escapeHtml(`@${shown}`), body: `@${shown}` };
    }
  }

  blocks(blocks: readonly Block[]): Out {
    let html = '';
    const bodies: string[] = [];
    let prev: Block | undefined;
    for (const b of blocks) {
      const o = this.block(b);
      if (prev?.t === 'para' && b.t === 'para') html += '<br />';
      html += o.html;
      bodies.push(o.body);
      prev = b;
    }
    return { html, body: bodies.join('\n') };
  }

  private block(b: Block): Out {
    switch (b.t) {
      case 'para':
        return this.inline(b.children);
      case 'pre': {
        this.rich = true;
        const cls = b.lang && LANG_RE.test(b.lang) ? ` class="language-${escapeHtml(b.lang)}"` : '';
        return { html: `<pre><code${cls}>${escapeHtml(b.text)}</code></pre>`, body: b.text };
      }
      case 'quote': {
        this.rich = true;
        const inner = this.blocks(b.children);
        return {
          html: `<blockquote>${inner.html}</blockquote>`,
          body: inner.body
            .split('\n')
            .map((l) => (l ? `> ${l}` : '>'))
            .join('\n'),
        };
      }
      case 'list': {
        this.rich = true;
        const tag = b.ordered ? 'ol' : 'ul';
        const start = b.ordered && b.start !== 1 ? ` start="${b.start}"` : '';
        let html = `<${tag}${start}>`;
        const lines: string[] = [];
        b.items.forEach((item, i) => {
          const o = this.blocks(item);
          html += `<li>${o.html}</li>`;
          const marker = b.ordered ? `${b.start + i}. ` : '- ';
          const pad = ' '.repeat(marker.length);
          o.body.split('\n').forEach((l, k) => lines.push(k === 0 ? marker + l : pad + l));
        });
        return { html: `${html}</${tag}>`, body: lines.join('\n') };
      }
      case 'hr':
        this.rich = true;
        return { html: '<hr />', body: '---' };
    }
  }
}

/** Renders a document for a Matrix `m.room.message`. */
export function renderMatrix(doc: RichDoc, resolvers: SlackToMatrixResolvers = {}): MatrixText {
  const r = new Renderer(resolvers);
  const out = r.blocks(doc);
  const mentions = { userIds: [...r.userIds], room: r.room };
  if (!r.rich) return { body: out.body, mentions };
  return { body: out.body, html: sanitizeHtml(out.html, OUTPUT_SANITIZE), mentions };
}
