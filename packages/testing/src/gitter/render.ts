// The server-side rendering of a message's Markdown `text` into the `html`, `mentions`, `urls`
// and `issues` Gitter sends with every create and update. A deliberate subset of Gitter's
// GFM-like processor — fenced and inline code, bold, italic, strikethrough, line breaks — plus the
// parts bridges observe: raw HTML is always escaped, URLs become links, `@username` / `@/all`
// and `#N` become marked spans. Nothing is rendered inside code.

export interface Mention {
  screenName: string;
  /** Set when the name belongs to a known user. */
  userId?: string;
  /** `@/all`. */
  announcement?: true;
}

export interface Rendered {
  html: string;
  mentions: Mention[];
  urls: { url: string }[];
  issues: { number: string }[];
}

/** Looks a screen name up (case-insensitive, as Gitter does); undefined for unknown names. */
export type UserLookup = (username: string) => { id: string; username: string } | undefined;

const URL_RE = /\bhttps?:\/\/[^\s<>"'`]+/g;
const MENTION_RE = /(^|[^\w@/.-])@(\/all|[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?)/g;
const ISSUE_RE = /(^|[^\w&#/])#(\d+)\b/g;

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

export function renderMessage(text: string, lookup: UserLookup): Rendered {
  const out: Rendered = { html: '', mentions: [], urls: [], issues: [] };
  const seenMention = new Set<string>();
  const seenUrl = new Set<string>();
  const seenIssue = new Set<string>();
  const parts: string[] = [];
  // Fenced code blocks first: their content is shown verbatim.
  const fence = /^```[^\n]*\n([\s\S]*?)(?:\n```[ \t]*(?:\n|$)|$)/gm;
  let last = 0;
  let m: RegExpExecArray | null;
  while ((m = fence.exec(text))) {
    parts.push(renderInline(text.slice(last, m.index).replace(/\n$/, ''), lookup, out, seenMention, seenUrl, seenIssue));
    parts.push(`<pre><code>${escapeHtml(m[1])}</code></pre>`);
    last = fence.lastIndex;
  }
  parts.push(renderInline(text.slice(last), lookup, out, seenMention, seenUrl, seenIssue));
  out.html = parts.filter((p) => p !== '').join('');
  return out;
}

function renderInline(
  text: string,
  lookup: UserLookup,
  out: Rendered,
  seenMention: Set<string>,
  seenUrl: Set<string>,
  seenIssue: Set<string>,
): string {
  if (!text) return '';
  const html: string[] = [];
  // Inline code spans are verbatim too.
  const segments = text.split(/(`[^`\n]+`)/);
  for (const raw of segments) {
    // NUL marks placeholders below; user text cannot be allowed to forge one.
    const seg = raw.replace(/\u0000/g, '\ufffd');
    if (seg.length > 2 && seg.startsWith('`') && seg.endsWith('`')) {
      html.push(`<code>${escapeHtml(seg.slice(1, -1))}</code>`);
      continue;
    }
    // Links, mentions and issues go into placeholders so emphasis never reaches inside them.
    const held: string[] = [];
    const hold = (markup: string) => `\u0000${held.push(markup) - 1}\u0000`;
    let s = seg.replace(URL_RE, (raw) => {
      const { url, rest } = trimUrl(raw);
      if (!seenUrl.has(url)) {
        seenUrl.add(url);
        out.urls.push({ url });
      }
      const e = escapeHtml(url);
      return hold(`<a href="${e}" rel="nofollow noopener noreferrer" target="_blank" class="link">${e}</a>`) + rest;
    });
    s = s.replace(MENTION_RE, (_all, pre: string, name: string) => {
      const key = name.toLowerCase();
      if (!seenMention.has(key)) {
        seenMention.add(key);
        if (name === '/all') out.mentions.push({ screenName: '/all', announcement: true });
        else {
          const user = lookup(name);
          out.mentions.push(user ? { screenName: user.username, userId: user.id } : { screenName: name });
        }
      }
      const e = escapeHtml(name);
      return pre + hold(`<span data-link-type="mention" data-screen-name="${e}" class="mention">@${e}</span>`);
    });
    s = s.replace(ISSUE_RE, (_all, pre: string, num: string) => {
      if (!seenIssue.has(num)) {
        seenIssue.add(num);
        out.issues.push({ number: num });
      }
      return pre + hold(`<span data-link-type="issue" data-issue="${num}" class="issue">#${num}</span>`);
    });
    s = escapeHtml(s)
      .replace(/\*\*(?=\S)([\s\S]*?\S)\*\*/g, '<strong>$1</strong>')
      .replace(/~~(?=\S)([\s\S]*?\S)~~/g, '<del>$1</del>')
      .replace(/(^|[^\w*])\*(?=\S)([^*]*?\S)\*(?!\w)/g, '$1<em>$2</em>')
      .replace(/(^|[^\w])_(?=\S)([^_]*?\S)_(?!\w)/g, '$1<em>$2</em>')
      .replace(/\n/g, '<br>');
    html.push(s.replace(/\u0000(\d+)\u0000/g, (_a, i: string) => held[Number(i)]));
  }
  return html.join('');
}

/** Trailing punctuation ends a sentence, not the URL; a `)` stays only if the URL opened one. */
function trimUrl(raw: string): { url: string; rest: string } {
  let url = raw;
  for (;;) {
    const ch = url[url.length - 1];
    if (/[.,;:!?]/.test(ch)) url = url.slice(0, -1);
    else if (ch === ')' && (url.match(/\(/g)?.length ?? 0) < (url.match(/\)/g)?.length ?? 0)) url = url.slice(0, -1);
    else break;
  }
  return { url, rest: raw.slice(url.length) };
}
