/**
 * What the core hands a connector when something happens on Matrix in a
 * bridged room. The core has already: authenticated and de-duplicated the
 * transaction, dropped echoes of its own ghosts and bot, resolved the portal,
 * converted the event content and looked up related messages in the message map.
 */
import type { MessageContent } from './content';
import type { Portal } from './portal';

/** A message on the remote side that the core knows from its message map. */
export interface RemoteMessageRef {
  remoteId: string;
  /**
   * Every remote ID the message map holds for the event, in part order (`remoteId` is the first):
   * the parts of a split message, and IDs the network gave it after it was sent
   * (`RemoteEventSink.addRemoteIds`), e.g. the IRC msgid of a line that came from Matrix.
   */
  remoteIds?: string[];
  /** The Matrix event it corresponds to. */
  eventId: string;
  /** Who sent it: a Matrix user ID (ours or a ghost's). */
  sender: string;
  /** Plain-text body as Matrix users see it now (an edit replaces it), for reply quotes. */
  body?: string;
  timestamp: number;
}

export interface MatrixSender {
  userId: string;
  /** Display name in this room (falls back to the localpart). */
  displayName: string;
}

interface MatrixEventBase {
  portal: Portal;
  sender: MatrixSender;
  eventId: string;
  timestamp: number;
  /** The raw Matrix event, for connectors that need a field the core does not model. */
  raw: Record<string, unknown>;
  /**
   * True when this event may have been handed to the connector before (replayed
   * after a crash). A connector whose network takes an idempotency key should
   * derive it from `eventId` so the duplicate collapses.
   */
  redelivered: boolean;
}

export interface MatrixMessage extends MatrixEventBase {
  content: MessageContent;
  /** Set when the event is a reply to a message the core has bridged. */
  replyTo?: RemoteMessageRef;
  /** Set when the event is in a thread whose root the core has bridged. */
  threadRoot?: RemoteMessageRef;
}

export interface MatrixEdit extends MatrixEventBase {
  target: RemoteMessageRef;
  content: MessageContent;
  /** The text before this edit (after any earlier edits), so protocols without edits can render a diff. */
  previousBody?: string;
}

export interface MatrixRedaction extends MatrixEventBase {
  target: RemoteMessageRef;
  reason?: string;
}

export interface MatrixReaction extends MatrixEventBase {
  target: RemoteMessageRef;
  key: string;
}

export interface MatrixReactionRemoval extends MatrixEventBase {
  target: RemoteMessageRef;
  key: string;
}

export type Membership = 'join' | 'leave' | 'invite' | 'ban' | 'knock';

export interface MatrixMembership extends MatrixEventBase {
  /** The user whose membership changed (state_key). */
  target: string;
  /** True when the target is one of our ghosts (e.g. a Matrix user kicked an IRC user). */
  targetIsGhost: boolean;
  membership: Membership;
  previous?: Membership;
  reason?: string;
}

export interface MatrixRoomMeta extends MatrixEventBase {
  topic?: string;
  name?: string;
}

export interface MatrixTyping {
  portal: Portal;
  userId: string;
  typing: boolean;
}

/**
 * Remote IDs a Matrix message (or an edit of one) got only after its handler returned (see
 * `RemoteEventSink.addRemoteIds`).
 */
export type LateRemoteIds = LateMessageRemoteIds | LateEditRemoteIds;

/**
 * What recording late IDs needs to know of a Matrix message: the MatrixMessage the connector
 * received will do, or what a connector stored of it to send after a restart (see `ctx.outbox`).
 */
export interface LateMessageRef {
  eventId: string;
  timestamp: number;
  portal: Pick<Portal, 'roomId' | 'key'>;
  sender: Pick<MatrixSender, 'userId'>;
  content: { body: string };
}

/** What recording late IDs needs to know of a Matrix edit (a MatrixEdit will do; see LateMessageRef). */
export interface LateEditRef {
  timestamp: number;
  portal: Pick<Portal, 'roomId' | 'key'>;
  target: Pick<RemoteMessageRef, 'eventId' | 'sender'>;
  content: { body: string };
}

/** IDs of what a Matrix message became, recorded for that message's event. */
export interface LateMessageRemoteIds {
  /** The message as the connector received it (or what it stored of it). */
  message: LateMessageRef;
  remoteIds: string[];
  /**
   * Message-map part of the first ID (the next get the following parts). Parts below it hold what
   * the handler returned and are kept: start at `SendResult.remoteIds.length` or above.
   */
  firstPart: number;
}

/**
 * IDs of what a Matrix edit became on a network without edits (IRC sends the new text as a new
 * line), recorded for the *edited* event (`edit.target.eventId`), not the edit event: Matrix
 * clients fold the edit into the original, so that is the message a remote reply to the new line
 * must point at. The core gives the IDs the parts after the highest one the event has when they
 * are written (one edit's IDs after another's), so no part of the message or of an earlier edit is
 * replaced; the message's own late IDs must therefore be added before its edits' (IRC: the server
 * echoes one connection's lines in the order they were sent). Nothing is recorded when the edited
 * event is no longer in the message map (redacted, pruned).
 */
export interface LateEditRemoteIds {
  /** The edit as the connector received it (or what it stored of it). */
  edit: LateEditRef;
  remoteIds: string[];
}
