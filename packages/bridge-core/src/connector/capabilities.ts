/**
 * Optional connector capabilities. A connector implements the interfaces for
 * what its network can do; the core only routes events to handlers that exist,
 * and otherwise tells nobody (reactions on IRC simply do not cross).
 */
import type { GhostKey, PortalKey } from './ids';
import type {
  MatrixEdit,
  MatrixMembership,
  MatrixReaction,
  MatrixReactionRemoval,
  MatrixRedaction,
  MatrixRoomMeta,
  MatrixTyping,
} from './matrix-events';
import type { SendResult } from './connector';
import type { RemoteEvent } from './remote-events';
import type { Portal, PortalInfo } from './portal';

export interface EditHandler {
  handleMatrixEdit(edit: MatrixEdit): Promise<SendResult | void>;
}

export interface RedactionHandler {
  handleMatrixRedaction(redaction: MatrixRedaction): Promise<void>;
}

export interface ReactionHandler {
  handleMatrixReaction(reaction: MatrixReaction): Promise<SendResult | void>;
  handleMatrixReactionRemoval?(removal: MatrixReactionRemoval): Promise<void>;
}

export interface MembershipHandler {
  handleMatrixMembership(change: MatrixMembership): Promise<void>;
}

export interface RoomMetaHandler {
  handleMatrixRoomMeta(change: MatrixRoomMeta): Promise<void>;
}

export interface TypingHandler {
  handleMatrixTyping(typing: MatrixTyping): Promise<void>;
}

/** Rooms created on demand when someone joins an alias in the bridge's namespace. */
export interface AliasResolver {
  /** `localpart` is the alias without `#` and domain; return null when it names nothing. */
  resolveAlias(localpart: string): Promise<PortalInfo | null>;
}

/** Ghosts created on demand when the homeserver asks whether a user in our namespace exists. */
export interface GhostResolver {
  /** `localpart` is the user ID's localpart; return the ghost's key or null if it names nobody. */
  resolveGhost(localpart: string): Promise<{ key: GhostKey; displayName?: string } | null>;
}

/** Direct chats started from Matrix by inviting a ghost. */
export interface DirectChatHandler {
  /** Accept (return portal info) or refuse (throw BridgeError) a DM between a Matrix user and a ghost. */
  openDirectChat(matrixUserId: string, ghost: GhostKey): Promise<PortalInfo>;
}

/** Third-party lookups (`/_matrix/app/v1/thirdparty/...`). */
export interface ThirdPartyLookup {
  protocolMetadata(): Promise<Record<string, unknown>>;
  lookupLocation(fields: Record<string, string>): Promise<Array<{ alias: string; fields: Record<string, string> }>>;
  lookupUser(fields: Record<string, string>): Promise<Array<{ userid: string; fields: Record<string, string> }>>;
}

/** Called when a room starts or stops being bridged (created, linked through config, provisioning or a command), so the network side can follow. */
export interface LinkHandler {
  /** Validate and prepare a link (e.g. check the IRC channel exists and the user is an op). Throw BridgeError to refuse. */
  beforeLink?(request: { key: PortalKey; roomId: string; userId: string }): Promise<void>;
  onLinked?(portal: { key: PortalKey; roomId: string }): Promise<void>;
  onUnlinked?(portal: { key: PortalKey; roomId: string }): Promise<void>;
  /**
   * A portal room was created (alias query or command). What the network said about the
   * conversation before the room existed (members, topic, settings) had nowhere to go, so this is
   * where the connector sends it again. A failure is logged; the room stays.
   */
  onPortalCreated?(portal: { key: PortalKey; roomId: string }): Promise<void>;
}

/**
 * Display data for the bridge-info state (MSC2346, `m.bridge` / `uk.half-shot.bridge`) the core
 * puts in every portal room it creates or links. The core fills in the bot, the protocol and the
 * IDs from the portal key; this only adds what a client shows a person. Without it the core still
 * sends the state, with the network ID standing in for the network's name.
 */
export interface BridgeInfoProvider {
  /** Called before the room exists for created portals, so only the key, kind and data are given. */
  bridgeInfo(portal: Pick<Portal, 'key' | 'kind' | 'data'>): BridgeInfoDisplay | Promise<BridgeInfoDisplay>;
}

export interface BridgeInfoDisplay {
  network?: { displayname: string; external_url?: string };
  channel?: { displayname?: string; external_url?: string };
}

/**
 * Who may use the bridge changed at run time (a followed ban list gained or lost a rule): the
 * connector checks `ctx.mayUseBridge` again for the users it holds connections for.
 */
export interface PermissionsWatcher {
  onPermissionsChanged(): void | Promise<void>;
}

/**
 * A remote event the core gave up on: the homeserver could not be reached for
 * `matrix_client.max_outage_wait_s` after the connector emitted it (the event waited, stored,
 * until then). The network will not send it again, so the connector tells its sender there (the
 * IRC bridge sends a NOTICE); `causeway_remote_events_undeliverable_total` counts it either way.
 * Without this capability the sender is not told.
 */
export interface UndeliverableHandler {
  /** `reason` is a sentence for people, e.g. "the Matrix homeserver could not be reached for 60 minutes". */
  onRemoteEventUndeliverable(event: RemoteEvent, reason: string): void | Promise<void>;
}

export interface Capabilities {
  edits: EditHandler;
  redactions: RedactionHandler;
  reactions: ReactionHandler;
  membership: MembershipHandler;
  roomMeta: RoomMetaHandler;
  typing: TypingHandler;
  aliases: AliasResolver;
  ghosts: GhostResolver;
  directChats: DirectChatHandler;
  thirdParty: ThirdPartyLookup;
  links: LinkHandler;
  bridgeInfo: BridgeInfoProvider;
  permissions: PermissionsWatcher;
  undeliverable: UndeliverableHandler;
}

const MARKERS: { [K in keyof Capabilities]: string } = {
  edits: 'handleMatrixEdit',
  redactions: 'handleMatrixRedaction',
  reactions: 'handleMatrixReaction',
  membership: 'handleMatrixMembership',
  roomMeta: 'handleMatrixRoomMeta',
  typing: 'handleMatrixTyping',
  aliases: 'resolveAlias',
  ghosts: 'resolveGhost',
  directChats: 'openDirectChat',
  thirdParty: 'protocolMetadata',
  links: '__links__',
  bridgeInfo: 'bridgeInfo',
  permissions: 'onPermissionsChanged',
  undeliverable: 'onRemoteEventUndeliverable',
};

/** Whether a connector implements a capability; narrows its type. */
export function supports<K extends keyof Capabilities>(connector: object, cap: K): connector is Capabilities[K] {
  if (cap === 'links') {
    const c = connector as Partial<LinkHandler>;
    return (
      typeof c.beforeLink === 'function' ||
      typeof c.onLinked === 'function' ||
      typeof c.onUnlinked === 'function' ||
      typeof c.onPortalCreated === 'function'
    );
  }
  return typeof (connector as Record<string, unknown>)[MARKERS[cap]] === 'function';
}
