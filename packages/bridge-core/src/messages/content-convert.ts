/**
 * Conversion between Matrix event content and the protocol-neutral
 * MessageContent. Malformed content never throws: whatever cannot be read
 * becomes an empty body and the caller decides to skip it.
 */
import type { MessageContent, MessageKind } from '../connector/content';
import { sanitizeMatrixHtml } from './matrix-html';

const MSGTYPE_TO_KIND: Record<string, MessageKind> = {
  'm.text': 'text',
  'm.notice': 'notice',
  'm.emote': 'emote',
  'm.image': 'image',
  'm.file': 'file',
  'm.video': 'video',
  'm.audio': 'audio',
};
const KIND_TO_MSGTYPE: Record<MessageKind, string> = {
  text: 'm.text',
  notice: 'm.notice',
  emote: 'm.emote',
  image: 'm.image',
  file: 'm.file',
  video: 'm.video',
  audio: 'm.audio',
};

type Json = Record<string, unknown>;
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** Remove the reply fallback (quoted lines and `<mx-reply>`) that older clients put in replies. */
export function stripReplyFallback(body: string, html?: string): { body: string; html?: string } {
  let plain = body;
  if (plain.startsWith('> ')) {
    const lines = plain.split('\n');
    let i = 0;
    while (i < lines.length && lines[i].startsWith('> ')) i++;
    if (i < lines.length && lines[i] === '') i++;
    plain = lines.slice(i).join('\n');
  }
  const cleanHtml = html?.replace(/^<mx-reply>[\s\S]*?<\/mx-reply>/, '');
  return { body: plain, html: cleanHtml };
}

/** Matrix `m.room.message` content (or `m.new_content`) → MessageContent; null if it is not a message we understand. */
export function fromMatrixContent(content: unknown, opts: { isReply?: boolean } = {}): MessageContent | null {
  if (!content || typeof content !== 'object') return null;
  const c = content as Json;
  const kind = MSGTYPE_TO_KIND[str(c.msgtype) ?? ''];
  const body = str(c.body);
  if (!kind || body === undefined) return null;
  let html = c.format === 'org.matrix.custom.html' ? str(c.formatted_body) : undefined;
  let plain = body;
  if (opts.isReply) ({ body: plain, html } = stripReplyFallback(body, html));
  const out: MessageContent = { kind, body: plain };
  if (html !== undefined && html !== plain) out.html = html;
  const mentions = (c['m.mentions'] as Json | undefined)?.user_ids;
  if (Array.isArray(mentions)) out.mentions = mentions.filter((m): m is string => typeof m === 'string');
  if ((c['m.mentions'] as Json | undefined)?.room === true) out.mentionsRoom = true;
  if (kind !== 'text' && kind !== 'notice' && kind !== 'emote') {
    const url = str(c.url);
    const info = (c.info && typeof c.info === 'object' ? c.info : {}) as Json;
    if (!url) return null; // encrypted (`file`) or broken media: nothing to relay
    out.media = {
      mxc: url,
      name: str(c.filename) ?? body,
      mimetype: str(info.mimetype),
      size: num(info.size),
      width: num(info.w),
      height: num(info.h),
    };
  }
  return out;
}

/** MessageContent → Matrix `m.room.message` content. */
export function toMatrixContent(msg: MessageContent): Json {
  const content: Json = { msgtype: KIND_TO_MSGTYPE[msg.kind] ?? 'm.text', body: msg.body };
  if (msg.html !== undefined) {
    content.format = 'org.matrix.custom.html';
    content.formatted_body = sanitizeMatrixHtml(msg.html);
  }
  if (msg.media) {
    if (msg.media.mxc) content.url = msg.media.mxc;
    const info: Json = {};
    if (msg.media.mimetype) info.mimetype = msg.media.mimetype;
    if (msg.media.size !== undefined) info.size = msg.media.size;
    if (msg.media.width !== undefined) info.w = msg.media.width;
    if (msg.media.height !== undefined) info.h = msg.media.height;
    content.info = info;
    if (msg.media.name && msg.media.name !== msg.body) content.filename = msg.media.name;
  }
  content['m.mentions'] = msg.mentionsRoom ? { user_ids: msg.mentions ?? [], room: true } : { user_ids: msg.mentions ?? [] };
  if (msg.externalUrl) content.external_url = msg.externalUrl;
  return content;
}

/** The relation of a Matrix event, read defensively. */
export interface Relation {
  /** 'm.replace', 'm.annotation', 'm.thread', or another relation type passed through as is. */
  type?: string;
  eventId?: string;
  key?: string;
  inReplyTo?: string;
}

export function readRelation(content: unknown): Relation {
  const rel = (content as Json | undefined)?.['m.relates_to'];
  if (!rel || typeof rel !== 'object') return {};
  const r = rel as Json;
  const inReply = (r['m.in_reply_to'] as Json | undefined)?.event_id;
  return {
    type: str(r.rel_type),
    eventId: str(r.event_id),
    key: str(r.key),
    // A thread fallback reply (is_falling_back) is not a real reply.
    inReplyTo: r.is_falling_back === true ? undefined : str(inReply),
  };
}
