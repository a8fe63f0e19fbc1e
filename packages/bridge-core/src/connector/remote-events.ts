/**
 * What a connector emits when something happens on its network. The core turns
 * each into Matrix requests: it finds or creates the portal room, registers and
 * joins the ghost on demand, sends with a transaction ID derived from the remote
 * ID (so a retry never duplicates), and records the message map.
 *
 * Events for one portal are applied in the order they were queued.
 */
import type { GhostKey, PortalKey } from './ids';
import type { MessageContent } from './content';

/** Who did it on the remote side. */
export type RemoteSender =
  | { ghost: GhostKey; displayName?: string; avatarUrl?: string }
  /** A remote action taken on behalf of a Matrix user (e.g. their own IRC connection). */
  | { matrixUserId: string }
  /** The bridge itself (e.g. "topic changed by the network"). */
  | { bot: true };

interface RemoteEventBase {
  portal: PortalKey;
  sender: RemoteSender;
  /** Remote timestamp in ms, shown on Matrix via timestamp massaging. */
  timestamp?: number;
  /**
   * The Matrix room this event mirrors: something a Matrix user did there through the bridge, as
   * the remote network now shows it (e.g. their message as the relay posted it). The core applies
   * it to every other Matrix room of the portal and skips this one, which shows the original; with
   * no other room it is a no-op. For a remote place linked to several Matrix rooms, whose
   * connector drops the network's echo of the bridge's own posts. Connectors set it through
   * `RoomMirror` (connector/room-mirror), which also decides whether there is another room.
   */
  originRoomId?: string;
}

export interface RemoteMessage extends RemoteEventBase {
  type: 'message';
  /** Stable remote message ID (a msgid tag, a Slack ts, a Gitter id); used for idempotency. */
  id: string;
  content: MessageContent;
  replyTo?: string;
  threadRoot?: string;
  /** For DMs: the Matrix user the conversation is with (the core creates the DM room). */
  dmWith?: string;
}

export interface RemoteEdit extends RemoteEventBase {
  type: 'edit';
  targetId: string;
  /** Unique ID of this edit, for idempotency; defaults to targetId + content hash. */
  id?: string;
  content: MessageContent;
}

export interface RemoteDelete extends RemoteEventBase {
  type: 'delete';
  targetId: string;
  reason?: string;
}

export interface RemoteReaction extends RemoteEventBase {
  type: 'reaction';
  targetId: string;
  key: string;
}

export interface RemoteReactionRemove extends RemoteEventBase {
  type: 'reaction.remove';
  targetId: string;
  key: string;
}

export interface RemoteMembership extends RemoteEventBase {
  type: 'membership';
  /** The remote user whose membership changed; defaults to the sender's ghost. */
  target?: GhostKey;
  /** A Matrix user as the target (e.g. an IRC op kicked a Matrix user's connection). */
  targetMatrixUser?: string;
  membership: 'join' | 'leave' | 'kick' | 'ban' | 'unban' | 'invite';
  reason?: string;
  /** For DMs: only the DM room of this Matrix user (a group DM has one room per Matrix member). */
  dmWith?: string;
}

export interface RemoteTyping extends RemoteEventBase {
  type: 'typing';
  typing: boolean;
}

export interface RemoteRoomMeta extends RemoteEventBase {
  type: 'meta';
  topic?: string;
  name?: string;
}

/**
 * Remote settings mapped onto room state (IRC modes, Slack channel flags).
 *
 * `inviteOnly`, `moderated` and `published` change only rooms the bridge created (kind
 * 'portal'): a plumbed room's join rule, send level and directory listing belong to its owners.
 * Power levels apply in every room of the portal, with two limits the core enforces: a Matrix
 * user (not a ghost) is raised but never lowered by a grant, and lowered only from the level the
 * remote side itself gave (`previous`), so an IRC voice or devoice never demotes a Matrix
 * moderator; and users at or above the bot's own level are left alone, as the homeserver would
 * refuse the whole write for one of them.
 */
export interface RemoteRoomSettings extends RemoteEventBase {
  type: 'settings';
  inviteOnly?: boolean;
  /** Only users with a power level above the default may talk (IRC +m). */
  moderated?: boolean;
  /** Whether the room is listed in the directory (IRC +s hides it). */
  published?: boolean;
  /**
   * Power levels to set, by ghost or Matrix user. `null` resets to the room default. `previous`:
   * the level the remote side gave before this change (`null`: none), when known; see above.
   */
  powerLevels?: Array<{ ghost?: GhostKey; matrixUserId?: string; level: number | null; previous?: number | null }>;
}

export type RemoteEvent =
  | RemoteMessage
  | RemoteEdit
  | RemoteDelete
  | RemoteReaction
  | RemoteReactionRemove
  | RemoteMembership
  | RemoteTyping
  | RemoteRoomMeta
  | RemoteRoomSettings;

/** A ghost's profile on its network changed (nick change, new avatar). Not tied to a portal. */
export interface RemoteProfileChange {
  ghost: GhostKey;
  displayName?: string;
  avatarUrl?: string;
}
