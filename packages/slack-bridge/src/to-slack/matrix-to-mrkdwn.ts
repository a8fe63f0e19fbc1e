// A Matrix message's text -> Slack mrkdwn: the HTML `formatted_body` when there is one and it
// has visible content, the plain `body` otherwise.
//
// `@room` becomes `<!channel>` (Matrix's `@room` notifies every member, as `<!channel>` does;
// `<!here>` would reach only those online) — but only when the caller says the sender may ping
// the room (Matrix checks the `notifications.room` power level; Slack would not), and only as a
// word of its own, outside code. Otherwise it stays the text "@room", which pings no one.
import { renderMrkdwn, type Block, type Inline, type MatrixToSlackResolvers, type RichDoc } from '../slack';
import { matrixHtmlToDoc, plainTextDoc } from './html-to-doc';

export interface MatrixToSlackOptions extends MatrixToSlackResolvers {
  /** What `@room` becomes when the sender may ping the room; false (default) keeps it as text. */
  roomMention?: 'channel' | 'here' | false;
}

export interface MatrixMessageText {
  /** Plain `body`. */
  body: string;
  /** `formatted_body` when `format` is `org.matrix.custom.html`. */
  html?: string;
}

const ROOM_RE = /(^|[^\p{L}\p{N}_@])@room(?![\p{L}\p{N}_])/gu;

function roomMentions(nodes: readonly Inline[], range: 'channel' | 'here'): Inline[] {
  const out: Inline[] = [];
  for (const n of nodes) {
    if (n.t === 'text') {
      let last = 0;
      for (const m of n.text.matchAll(ROOM_RE)) {
        const at = m.index + m[1].length;
        if (at > last) out.push({ t: 'text', text: n.text.slice(last, at) });
        out.push({ t: 'broadcast', range });
        last = at + '@room'.length;
      }
      if (last < n.text.length) out.push({ t: 'text', text: n.text.slice(last) });
    } else if (n.t === 'style') {
      out.push({ ...n, children: roomMentions(n.children, range) });
    } else {
      // Link labels and code keep the text as written.
      out.push(n);
    }
  }
  return out;
}

function withRoomMentions(doc: readonly Block[], range: 'channel' | 'here'): RichDoc {
  return doc.map((b): Block => {
    switch (b.t) {
      case 'para':
        return { t: 'para', children: roomMentions(b.children, range) };
      case 'quote':
        return { t: 'quote', children: withRoomMentions(b.children, range) };
      case 'list':
        return { ...b, items: b.items.map((i) => withRoomMentions(i, range)) };
      default:
        return b;
    }
  });
}

/** The document a Matrix message's text describes. */
function parseMatrixMessage(msg: MatrixMessageText): RichDoc {
  if (msg.html !== undefined) {
    const doc = matrixHtmlToDoc(msg.html);
    if (doc.length) return doc;
  }
  return plainTextDoc(msg.body);
}

/** Converts a Matrix message's text to Slack mrkdwn. */
export function matrixToSlack(msg: MatrixMessageText, opts: MatrixToSlackOptions = {}): string {
  let doc = parseMatrixMessage(msg);
  if (opts.roomMention) doc = withRoomMentions(doc, opts.roomMention);
  return renderMrkdwn(doc, opts);
}
