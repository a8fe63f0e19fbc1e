/**
 * The remote IDs this bridge keeps in the core's message map, and IRCv3 replies built on them.
 *
 * - An IRC line's ID is its server msgid (IRCv3 `msgid` tag) when it has one, else a synthetic
 *   `irc-…` ID that only serves idempotency: no IRC client can refer to it.
 * - A line from Matrix is first recorded as `mx:<event ID>` (so Matrix replies to it still find the
 *   sender and text for the "nick: text" rendering), then, with echo-message, also under the msgid
 *   the server gave each of its lines, so an IRC reply to it maps back.
 * - Replies travel as the client tag `+draft/reply=<msgid>` (IRCv3 draft/reply); `+reply` is
 *   accepted too, the name the spec may ratify.
 */
import type { RemoteMessageRef } from '@causeway/bridge-core';
import { formatTags } from '../irc';

const SYNTHETIC_PREFIX = 'irc-';
const MATRIX_PREFIX = 'mx:';

/** What we send: the draft name is the one clients implement today. */
const REPLY_TAG = '+draft/reply';
const INCOMING_REPLY_TAGS = ['+reply', '+draft/reply'] as const;

let seq = 0;
/** A unique remote ID for lines without an IRCv3 msgid: the core uses it for idempotency and the message map. */
export function syntheticId(nick: string, time: Date): string {
  seq = (seq + 1) % 1_000_000_000;
  return `${SYNTHETIC_PREFIX}${time.getTime()}-${process.pid}-${seq}-${nick}`;
}

/** The provisional remote ID of a message sent from Matrix. */
export function matrixRemoteId(eventId: string): string {
  return `${MATRIX_PREFIX}${eventId}`;
}

/** Whether a remote ID is a server msgid, i.e. something an IRC client can reply to. */
export function isIrcMsgid(id: string): boolean {
  return id.length > 0 && !id.startsWith(MATRIX_PREFIX) && !/^irc-\d+-\d+-\d+-/.test(id);
}

/** The msgid an incoming line replies to (`+reply` or `+draft/reply`), if any. */
export function replyToOf(tags: Readonly<Record<string, string | true>>): string | undefined {
  for (const key of INCOMING_REPLY_TAGS) {
    const v = tags[key];
    if (typeof v === 'string' && v.length > 0) return v;
  }
  return undefined;
}

/**
 * Tags that make a line a reply to `ref` on IRC: the first of its IDs that is a server msgid (a line
 * from IRC, or the first line of one from Matrix once echoed). None when there is no such ID, or
 * it would not fit the client tag limit (the line then goes out as plain text).
 */
export function replyTagsFor(ref: RemoteMessageRef | undefined): Record<string, string> | undefined {
  const msgid = ref && (ref.remoteIds ?? [ref.remoteId]).find(isIrcMsgid);
  if (!msgid) return undefined;
  const tags = { [REPLY_TAG]: msgid };
  try {
    formatTags(tags);
  } catch {
    return undefined;
  }
  return tags;
}
