/**
 * Matrix → IRC rendering: what a Matrix message looks like as IRC text.
 * Formatting goes through the IRC layer's allow-list HTML→mIRC converter,
 * pills become nicks, replies and edits follow MAI's conventions (which IRC
 * users are used to), media becomes "name (size) url".
 */
import type { MatrixEdit, MatrixMessage, RemoteMessageRef } from '@causeway/bridge-core';
import { sanitizeUserText, type MessageKind } from '../irc';
import { matrixToIrc } from './html-to-mirc';
import { renderEditText } from './edit-diff';

export interface RenderDeps {
  /** The IRC nick a Matrix user ID (a ghost or a bridged user) appears as, if known. */
  nickFor(userId: string): string | undefined;
  /** A public URL for an mxc:// URI. */
  publicUrl(mxc: string, name?: string): string | undefined;
  /** How replies read on IRC (`irc.replies`); MAI's defaults without it. */
  replies?: ReplyStyle;
  now?: () => number;
}

export interface ReplyStyle {
  /** `$NICK` (who was replied to), `$REPLY` (the reply's text). */
  shortTemplate: string;
  /** As short, plus `$ORIGINAL`: the quoted first line of the original. */
  longTemplate: string;
  /** Replies to messages older than this use the long template. */
  shortWindowMs: number;
  /** The quote is cut to this many characters, then "...". */
  quoteChars: number;
}

const MAI_REPLY_STYLE: ReplyStyle = {
  shortTemplate: '$NICK: $REPLY',
  longTemplate: '<$NICK> "$ORIGINAL" <- $REPLY',
  shortWindowMs: 300_000,
  quoteChars: 32,
};

export interface Rendered {
  kind: MessageKind;
  text: string;
}

function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** A quote of a replied-to message: first non-blank line, cut. */
function quoteOf(body: string, max: number): string {
  const first =
    body
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l.length > 0) ?? '';
  const stripped = sanitizeUserText(first.replace(/^>\s?/, ''));
  return [...stripped].length > max ? `${[...stripped].slice(0, max).join('')}...` : stripped;
}

/** Fills a template in one pass, so a nick or text containing `$REPLY` is never expanded again. */
function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\$(NICK|REPLY|ORIGINAL)/g, (all, k: string) => values[k] ?? all);
}

function replyPrefix(ref: RemoteMessageRef, deps: RenderDeps): (text: string) => string {
  const style = deps.replies ?? MAI_REPLY_STYLE;
  const nick = deps.nickFor(ref.sender) ?? ref.sender.replace(/^@([^:]+):.*$/, '$1');
  const now = (deps.now ?? Date.now)();
  // A reply to a recent line reads naturally as "nick: text"; an old one needs the quote for context.
  if (now - ref.timestamp <= style.shortWindowMs || !ref.body) return (t) => fill(style.shortTemplate, { NICK: nick, REPLY: t });
  const original = quoteOf(ref.body, style.quoteChars);
  return (t) => fill(style.longTemplate, { NICK: nick, REPLY: t, ORIGINAL: original });
}

export function renderMessage(msg: MatrixMessage, deps: RenderDeps): Rendered {
  const c = msg.content;
  if (c.media) {
    const url = (c.media.mxc && deps.publicUrl(c.media.mxc, c.media.name)) ?? c.media.url ?? c.media.mxc ?? '';
    const size = c.media.size !== undefined ? ` (${formatSize(c.media.size)})` : '';
    const caption = c.body && c.body !== c.media.name ? `${sanitizeUserText(c.body)}: ` : '';
    return { kind: 'privmsg', text: `${caption}${sanitizeUserText(c.media.name)}${size} ${url}`.trim() };
  }
  const converted = matrixToIrc(
    { body: c.body, format: c.html ? 'org.matrix.custom.html' : undefined, formatted_body: c.html },
    { resolveMention: (userId) => deps.nickFor(userId) },
  );
  let text = converted.text;
  if (msg.replyTo) text = replyPrefix(msg.replyTo, deps)(text);
  const kind: MessageKind = c.kind === 'emote' ? 'action' : c.kind === 'notice' ? 'notice' : 'privmsg';
  return { kind, text };
}

/** IRC has no edits: the edit as sed substitutions, or "* new text" (see edit-diff). */
export function renderEdit(edit: MatrixEdit): string {
  return renderEditText(edit.content.body, edit.previousBody);
}
