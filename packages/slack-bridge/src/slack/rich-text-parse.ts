// Slack `rich_text` blocks (what Slack clients attach to every message they send) -> the
// rich-text model. Blocks are the lossless source of a message, so they are preferred to the
// mrkdwn `text`; but they are untrusted JSON, and anything this parser does not fully understand
// (another block type, an unknown element) makes it return undefined so the caller falls back to
// `text` rather than relay half a message.
//
// Shapes (per Slack's Block Kit reference and @slack/types):
//   {type:'rich_text', elements:[rich_text_section | rich_text_list | rich_text_preformatted | rich_text_quote]}
//   rich_text_section/quote/preformatted: {elements:[leaf…]}
//   rich_text_list: {style:'bullet'|'ordered', indent?:0-8, offset?:n, elements:[rich_text_section…]}
//     Nesting is flat: a list with a larger `indent` right after another is nested in its last item.
//   leaves: text{text,style?} link{url,text?} user{user_id} channel{channel_id} usergroup{usergroup_id}
//     team{team_id} broadcast{range} emoji{name,unicode?,skin_tone?} date{timestamp,format,fallback?,url?}
//     color{value}; style: {bold?,italic?,strike?,code?,underline?}
import type { Block, Inline, RichDoc } from './rich-doc';
import { normalizeDoc } from './rich-doc';
import { splitShortcode } from './emoji';

class Unsupported extends Error {}

type Json = Record<string, unknown>;

const ID_RE = /^[A-Z0-9][A-Z0-9_-]*$/i;
const MAX_INDENT = 8;

function obj(v: unknown): Json {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Unsupported('not an object');
  return v as Json;
}

function arr(v: unknown): unknown[] {
  if (!Array.isArray(v)) throw new Unsupported('not an array');
  return v;
}

function str(v: unknown): string {
  if (typeof v !== 'string') throw new Unsupported('not a string');
  return v;
}

function optStr(v: unknown): string | undefined {
  return v === undefined || v === null ? undefined : str(v);
}

function id(v: unknown): string {
  const s = str(v);
  if (!ID_RE.test(s)) throw new Unsupported('bad id');
  return s;
}

function int(v: unknown, min: number, max: number, dflt: number): number {
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Unsupported('not a number');
  return Math.min(max, Math.max(min, Math.trunc(v)));
}

interface Style {
  bold?: boolean;
  italic?: boolean;
  strike?: boolean;
  underline?: boolean;
  code?: boolean;
}

function readStyle(v: unknown): Style {
  if (v === undefined || v === null) return {};
  const s = obj(v);
  const out: Style = {};
  for (const k of ['bold', 'italic', 'strike', 'underline', 'code'] as const) {
    if (s[k] === true) out[k] = true;
    else if (s[k] !== undefined && s[k] !== false) throw new Unsupported('bad style');
  }
  return out;
}

function textNodes(text: string): Inline[] {
  const out: Inline[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (i > 0) out.push({ t: 'br' });
    if (line) out.push({ t: 'text', text: line });
  });
  return out;
}

function styled(nodes: Inline[], style: Style): Inline[] {
  let out = nodes;
  if (style.underline) out = [{ t: 'style', style: 'underline', children: out }];
  if (style.strike) out = [{ t: 'style', style: 'strike', children: out }];
  if (style.italic) out = [{ t: 'style', style: 'italic', children: out }];
  if (style.bold) out = [{ t: 'style', style: 'bold', children: out }];
  return out;
}

function leaf(v: unknown): Inline[] {
  const el = obj(v);
  const style = readStyle(el.style);
  let nodes: Inline[];
  switch (el.type) {
    case 'text': {
      const text = str(el.text);
      nodes = style.code ? [{ t: 'code', text }] : textNodes(text);
      break;
    }
    case 'link': {
      const url = str(el.url);
      const text = optStr(el.text);
      const children: Inline[] = text ? (style.code ? [{ t: 'code', text }] : textNodes(text)) : [];
      nodes = [{ t: 'link', url, children }];
      break;
    }
    case 'user':
      nodes = [{ t: 'mention', net: 'slack', kind: 'user', id: id(el.user_id) }];
      break;
    case 'channel':
      nodes = [{ t: 'mention', net: 'slack', kind: 'channel', id: id(el.channel_id) }];
      break;
    case 'usergroup':
      nodes = [{ t: 'mention', net: 'slack', kind: 'usergroup', id: id(el.usergroup_id) }];
      break;
    case 'team':
      nodes = [{ t: 'mention', net: 'slack', kind: 'team', id: id(el.team_id) }];
      break;
    case 'broadcast': {
      const range = el.range;
      if (range !== 'here' && range !== 'channel' && range !== 'everyone') throw new Unsupported('bad range');
      nodes = [{ t: 'broadcast', range }];
      break;
    }
    case 'emoji': {
      const { name, tone } = splitShortcode(str(el.name));
      const unicode = optStr(el.unicode);
      const skin = el.skin_tone === undefined ? undefined : String(int(el.skin_tone, 2, 6, 2));
      const skinTone = tone ?? skin;
      nodes = [{ t: 'emoji', name, ...(unicode ? { unicode } : {}), ...(skinTone ? { skinTone } : {}) }];
      break;
    }
    case 'date': {
      if (typeof el.timestamp !== 'number' || !Number.isFinite(el.timestamp)) throw new Unsupported('bad timestamp');
      const fallback = optStr(el.fallback);
      const url = optStr(el.url);
      nodes = [{ t: 'date', timestamp: el.timestamp, format: str(el.format), ...(fallback ? { fallback } : {}), ...(url ? { url } : {}) }];
      break;
    }
    case 'color':
      nodes = [{ t: 'text', text: str(el.value) }];
      break;
    default:
      throw new Unsupported(`unknown element ${String(el.type)}`);
  }
  return styled(nodes, style);
}

function leaves(v: unknown): Inline[] {
  return arr(v).flatMap(leaf);
}

function preText(v: unknown): string {
  let out = '';
  for (const e of arr(v)) {
    const el = obj(e);
    readStyle(el.style);
    if (el.type === 'text') out += str(el.text);
    else if (el.type === 'link') out += optStr(el.text) || str(el.url);
    else throw new Unsupported('unknown preformatted element');
  }
  return out;
}

interface OpenList {
  indent: number;
  list: Extract<Block, { t: 'list' }>;
}

function richText(v: unknown): Block[] {
  const block = obj(v);
  if (block.type !== 'rich_text') throw new Unsupported('not rich_text');
  const out: Block[] = [];
  let lists: OpenList[] = [];
  for (const e of arr(block.elements)) {
    const el = obj(e);
    if (el.type !== 'rich_text_list') lists = [];
    switch (el.type) {
      case 'rich_text_section':
        out.push({ t: 'para', children: leaves(el.elements) });
        break;
      case 'rich_text_quote':
        out.push({ t: 'quote', children: [{ t: 'para', children: leaves(el.elements) }] });
        break;
      case 'rich_text_preformatted': {
        const lang = typeof el.language === 'string' ? el.language : undefined;
        out.push({ t: 'pre', text: preText(el.elements), ...(lang ? { lang } : {}) });
        break;
      }
      case 'rich_text_list': {
        if (el.style !== 'bullet' && el.style !== 'ordered') throw new Unsupported('bad list style');
        const ordered = el.style === 'ordered';
        const indent = int(el.indent, 0, MAX_INDENT, 0);
        const items: Block[][] = arr(el.elements).map((item) => {
          const section = obj(item);
          if (section.type !== 'rich_text_section') throw new Unsupported('list item is not a section');
          return [{ t: 'para', children: leaves(section.elements) }];
        });
        while (lists.length && lists[lists.length - 1].indent > indent) lists.pop();
        const top = lists[lists.length - 1];
        if (top && top.indent === indent && top.list.ordered === ordered) {
          top.list.items.push(...items);
          break;
        }
        if (top && top.indent === indent) lists.pop();
        const list: Extract<Block, { t: 'list' }> = { t: 'list', ordered, start: ordered ? int(el.offset, 0, 1e6, 0) + 1 : 1, items };
        const parent = lists[lists.length - 1];
        const parentItem = parent?.list.items[parent.list.items.length - 1];
        if (parentItem) parentItem.push(list);
        else out.push(list);
        lists.push({ indent, list });
        break;
      }
      default:
        throw new Unsupported(`unknown rich_text element ${String(el.type)}`);
    }
  }
  return out;
}

/**
 * Parses a message's `blocks` when they are all `rich_text`; undefined when there are none, or
 * any block or element is of a kind this parser does not know (the caller then uses `text`).
 */
export function parseRichTextBlocks(blocks: unknown): RichDoc | undefined {
  if (!Array.isArray(blocks) || blocks.length === 0) return undefined;
  try {
    return normalizeDoc(blocks.flatMap(richText));
  } catch {
    // Unsupported input (or anything else odd about it): the mrkdwn text is the safe rendering.
    return undefined;
  }
}
