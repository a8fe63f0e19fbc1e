// What the bridge asks of Slack for one Matrix event, in a form that can be stored (ctx.outbox)
// and sent after a restart: a Web API call with JSON arguments, or a file to upload, plus what is
// needed to record the result in the core's message map when the handler is no longer waiting.
import type { LateMessageRef } from '@causeway/bridge-core';

/** Slack `metadata.event_type` on every post: how a post whose answer was lost is found again. */
export const MATRIX_EVENT_METADATA = 'causeway_matrix_event';

export type SlackCall =
  | { method: 'chat.postMessage'; args: Record<string, unknown> }
  | { method: 'chat.update'; args: { channel: string; ts: string; text: string } }
  | { method: 'chat.delete'; args: { channel: string; ts: string } }
  | { method: 'reactions.add' | 'reactions.remove'; args: { channel: string; timestamp: string; name: string } }
  | { method: 'conversations.setTopic'; args: { channel: string; topic: string } }
  | { method: 'conversations.rename'; args: { channel: string; name: string } }
  | {
      method: 'files.upload-external';
      args: { channel: string; thread_ts?: string; mxc: string; name: string; mimetype?: string; comment?: string };
    };

export interface StoredCall {
  call: SlackCall;
  /** The Matrix event it comes from. */
  eventId: string;
  /** For posts: the message, so IDs found after a restart go to the message map (addRemoteIds). */
  late?: LateMessageRef;
  /** The core replays this Matrix event (it may have been sent before a crash): look for it first. */
  mayExist?: boolean;
  /** A puppeted Matrix user's call: made with their Slack token (puppets/puppet-send). */
  puppet?: string;
  /** Only their token can make it (their DMs): no relay fallback. */
  puppetOnly?: boolean;
  /**
   * The Matrix room a message, edit, deletion or reaction was made in: once Slack accepted it, it is
   * shown in the channel's other linked Matrix rooms (to-matrix/mirror).
   */
  roomId?: string;
  /** For changes that are not messages (a topic, a rename): who to tell, and what, if it fails after a restart. */
  tell?: { userId: string; what: string };
}

/** What a call gave back: the `ts` of a post or upload. */
export interface CallResult {
  ts?: string;
  /** The message as Slack shows it after a post or an edit (Slack's answer, or the post found again). */
  message?: Record<string, unknown>;
  /** Made with the puppeted user's own token (not as the bot). */
  asUser?: boolean;
}
