// What a Slack client makes of what a person typed: the mrkdwn `text` (with &, <, > escaped,
// mention and link tokens kept) and the `rich_text` block clients attach to every message.
// Input is the composer's text, where mentions already stand as `<@U…>`, `<#C…|name>`,
// `<!here>` and links as `<https://…|label>` (the client resolves "@alice" before sending).
import { randomBytes } from 'node:crypto';

type Element = Record<string, unknown>;

const TOKEN =
  /<(@[UW][A-Z0-9]+(?:\|[^>]*)?|#C[A-Z0-9]+(?:\|[^>]*)?|#[GD][A-Z0-9]+(?:\|[^>]*)?|![a-z]+(?:\^[A-Z0-9]+)?(?:\|[^>]*)?|(?:https?|mailto):[^>|\s]+(?:\|[^>]*)?)>/g;

function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The message `text` a client sends for what was typed: escaped, except recognised tokens. */
export function clientText(typed: string): string {
  let out = '';
  let last = 0;
  for (const m of typed.matchAll(TOKEN)) {
    out += escapeMrkdwn(typed.slice(last, m.index)) + m[0];
    last = m.index + m[0].length;
  }
  return out + escapeMrkdwn(typed.slice(last));
}

function tokenElement(inner: string): Element {
  const [head, label] = splitLabel(inner);
  if (head.startsWith('@')) return { type: 'user', user_id: head.slice(1) };
  if (head.startsWith('#')) return { type: 'channel', channel_id: head.slice(1) };
  if (head.startsWith('!')) {
    const name = head.slice(1);
    if (name.startsWith('subteam^')) return { type: 'usergroup', usergroup_id: name.slice('subteam^'.length) };
    return { type: 'broadcast', range: name };
  }
  return label !== undefined ? { type: 'link', url: head, text: label } : { type: 'link', url: head };
}

function splitLabel(inner: string): [string, string | undefined] {
  const bar = inner.indexOf('|');
  return bar < 0 ? [inner, undefined] : [inner.slice(0, bar), inner.slice(bar + 1)];
}

const STYLE = /(^|[\s(])(\*[^*\n]+\*|_[^_\n]+_|~[^~\n]+~|`[^`\n]+`)(?=$|[\s.,;:!?)])/g;
const STYLE_NAME: Record<string, string> = { '*': 'bold', _: 'italic', '~': 'strike', '`': 'code' };
const EMOJI = /:([a-z0-9_+'-]+(?:::skin-tone-[2-6])?):/g;

/** Text with inline styles and :emoji: as rich_text elements. */
function inlineElements(text: string): Element[] {
  const out: Element[] = [];
  const pushText = (t: string, style?: string) => {
    if (!t) return;
    let last = 0;
    for (const m of t.matchAll(EMOJI)) {
      if (m.index > last) out.push(textEl(t.slice(last, m.index), style));
      out.push({ type: 'emoji', name: m[1] });
      last = m.index + m[0].length;
    }
    if (last < t.length) out.push(textEl(t.slice(last), style));
  };
  let last = 0;
  for (const m of text.matchAll(STYLE)) {
    const start = m.index + m[1].length;
    pushText(text.slice(last, start));
    const span = m[2];
    pushText(span.slice(1, -1), STYLE_NAME[span[0]]);
    last = start + span.length;
  }
  pushText(text.slice(last));
  return out;
}

function textEl(text: string, style?: string): Element {
  return style ? { type: 'text', text, style: { [style]: true } } : { type: 'text', text };
}

/** Elements of one run of typed text: tokens, styles, emoji. */
function sectionElements(typed: string): Element[] {
  const out: Element[] = [];
  let last = 0;
  for (const m of typed.matchAll(TOKEN)) {
    out.push(...inlineElements(typed.slice(last, m.index)));
    out.push(tokenElement(m[1]));
    last = m.index + m[0].length;
  }
  out.push(...inlineElements(typed.slice(last)));
  return out;
}

/** The rich_text block a client attaches: sections, ``` preformatted runs and > quotes. */
export function richTextBlocks(typed: string): unknown[] {
  const elements: Element[] = [];
  const lines = typed.split('\n');
  let plain: string[] = [];
  const flushPlain = () => {
    if (plain.length) elements.push({ type: 'rich_text_section', elements: sectionElements(plain.join('\n')) });
    plain = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.startsWith('```')) {
      const body: string[] = [];
      let rest = line.slice(3);
      let closed = false;
      for (;;) {
        const end = rest.indexOf('```');
        if (end >= 0) {
          body.push(rest.slice(0, end));
          closed = true;
          break;
        }
        body.push(rest);
        if (++i >= lines.length) break;
        rest = lines[i];
      }
      flushPlain();
      // Fences on lines of their own do not add blank lines to the code.
      if (body.length > 1 && body[0] === '') body.shift();
      if (body.length > 1 && body[body.length - 1] === '') body.pop();
      elements.push({ type: 'rich_text_preformatted', elements: [{ type: 'text', text: body.join('\n') }], border: 0 });
      if (!closed) break;
      continue;
    }
    if (line.startsWith('>')) {
      flushPlain();
      elements.push({ type: 'rich_text_quote', elements: sectionElements(line.replace(/^>\s?/, '')) });
      continue;
    }
    plain.push(line);
  }
  flushPlain();
  return [{ type: 'rich_text', block_id: randomBytes(3).toString('base64url').slice(0, 4), elements }];
}
