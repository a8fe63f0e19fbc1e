/**
 * Everything the core offers a connector. A connector gets one of these in
 * `init()` and needs nothing else from the Matrix side.
 */
import type { Logger } from '../logging/logger';
import type { KeyValueRepository } from './key-value';
import type { Portal, PortalInfo } from './portal';
import type { OutboxService } from './outbox';
import type { GhostKey, PortalKey } from './ids';
import type { BridgingStatusUpdate } from './bridging-status';
import type { RemoteEvent, RemoteProfileChange } from './remote-events';
import type { LateRemoteIds } from './matrix-events';
import type { CommandRegistry } from './commands';
import type { ConnectorMetrics } from './metrics';
import type { SecretStore, SecretStoreOptions } from './secrets';
import type { RouteDefinition, LinkHooks, RouteHandler, RouteOptions } from './routes';
import type { RemoteFetchOptions, RemoteResponse } from './remote-fetch';

export interface RemoteEventSink {
  /**
   * Queue a remote event for Matrix. Resolves once it has been applied (or has
   * failed for good, which is logged and counted). Per-portal order is kept.
   */
  emit(event: RemoteEvent): Promise<void>;
  /** A ghost's profile changed; applied once, cached. */
  updateProfile(change: RemoteProfileChange): Promise<void>;
  /**
   * Record remote IDs a Matrix message got after its handler returned, next to the ones the handler
   * returned, so remote replies (and edits, reactions) to them find the Matrix event. The IRC
   * server stamps a msgid on the echo of each line we send (echo-message); waiting for that echo
   * inside `handleMatrixMessage` would hold the room's serial path for the flood queue plus a round
   * trip, so the IDs arrive here instead. Remote events for the portal emitted after this call see
   * the mapping; resolves once it is stored. IDs of a Matrix edit's remote form go to the edited
   * message (`LateEditRemoteIds`).
   */
  addRemoteIds(late: LateRemoteIds): Promise<void>;
}

export interface PortalService {
  getByRoom(roomId: string): Promise<Portal | undefined>;
  getByKey(key: PortalKey): Promise<Portal[]>;
  list(filter?: { network?: string; kind?: Portal['kind'] }): Promise<Portal[]>;
  /**
   * Create (or return) the bridge-owned room for a remote place. `aliasLocalpart`
   * overrides the alias the core would derive from the alias template.
   */
  ensurePortalRoom(info: PortalInfo, opts?: { aliasLocalpart?: string }): Promise<Portal>;
  /** Link an existing room (plumbing). `actor` is the Matrix user asking, for the audit log. */
  link(roomId: string, key: PortalKey, opts?: { actor?: string; data?: Record<string, unknown> }): Promise<Portal>;
  unlink(roomId: string, opts?: { actor?: string; reason?: string }): Promise<boolean>;
  /** Matrix users joined to the room (from the core's cached state). */
  joinedMatrixUsers(roomId: string): Promise<string[]>;
  /**
   * Content of a state event of the room, from the core's cached state; undefined when the room
   * has none. `type` must be a core type or one in the connector's `protocol.stateEventTypes`.
   */
  roomState(roomId: string, type: string, stateKey?: string): Promise<Record<string, unknown> | undefined>;
  /**
   * Whether a user may link or unlink this room: joined, with at least the power level the room
   * requires to change `m.room.power_levels` (the rule provisioning applies). From cached state.
   */
  canManage(roomId: string, userId: string): Promise<{ ok: boolean; level: number; required: number }>;
  /** The alias localpart the configured alias template gives a remote place; undefined without a template. */
  aliasLocalpartFor(key: PortalKey): string | undefined;
  /**
   * Which remote place an alias localpart names under the configured template (the inverse of
   * aliasLocalpartFor). Pass the known network names so names containing separators still parse.
   */
  parseAliasLocalpart(localpart: string, networks?: readonly string[]): { network?: string; id: string } | null;
  /**
   * Write `m.room.bridging` (`{user_id, status}`) as the bot: the provisioning status MAI showed
   * while a link waited for consent. The only room state a connector can write, on purpose (see
   * bridge/bridging-status.ts). Best effort: resolves false, logged, when the homeserver refuses.
   */
  setBridgingStatus(update: BridgingStatusUpdate): Promise<boolean>;
}

export interface GhostService {
  /** The Matrix user ID a remote user appears as. */
  userIdFor(key: GhostKey): string;
  /** Whether a Matrix user ID is one of our ghosts (or the bot). */
  isBridgeUser(userId: string): boolean;
  /** The remote user behind a ghost user ID, if we know them. */
  keyFor(userId: string): Promise<GhostKey | undefined>;
  /**
   * Which remote user a ghost localpart names under the configured template (the inverse of
   * userIdFor, without the store). Pass the known network names so names containing separators
   * still parse. With a single-network template the network is that network.
   */
  parseLocalpart(localpart: string, networks?: readonly string[]): { network?: string; id: string } | null;
}

export interface UserNotifier {
  /** Tell a Matrix user something privately (in their admin room with the bot, created on demand). */
  notice(userId: string, text: string, html?: string): Promise<void>;
  /** Post a notice in a bridged room as the bot. */
  roomNotice(roomId: string, text: string, html?: string): Promise<void>;
}

export interface MediaService {
  /** Upload bytes to the homeserver; returns the mxc:// URI. */
  upload(data: Buffer, opts: { name: string; mimetype: string }): Promise<string>;
  /** Download Matrix media (authenticated, with fallback). */
  download(mxc: string): Promise<{ data: Buffer; mimetype?: string }>;
  /** A public http(s) URL for Matrix media the remote side can follow, if configured. */
  publicUrl(mxc: string, name?: string): string | undefined;
  /**
   * Fetch a URL the remote network or one of its users chose (an avatar, a custom emoji, an
   * attachment, an upload URL): never from a private, loopback or otherwise special-purpose
   * address unless the operator allow-listed it (connector/remote-fetch.ts). Rejects with a
   * RemoteFetchError; any final status is returned, for the caller to judge.
   */
  fetchRemote(url: string, opts: RemoteFetchOptions): Promise<RemoteResponse>;
}

/**
 * Provisioning routes a connector adds. The core authenticates every one of
 * them (shared secret or OpenID session), rate-limits, validates bodies and
 * audits; there is no way to add an unauthenticated route from a connector.
 * When provisioning is disabled in the config, routes are accepted and never served.
 */
export interface ProvisioningRoutes {
  readonly enabled: boolean;
  addRoute(def: RouteDefinition): void;
  /** The standard link/unlink/list routes with the core's power-level check and audit built in. */
  addLinkRoutes(hooks: LinkHooks): void;
}

/**
 * Extra HTTP routes on the appservice port (e.g. a webhook or a media proxy).
 * Secure by default: every route requires the hs_token unless the connector
 * declares it `public: true` by name, which should be rare and deliberate.
 */
export interface AppserviceRoutes {
  addRoute(method: string, pathPattern: string, handler: RouteHandler, opts?: RouteOptions): void;
}

export type { ConnectorMetrics, OutboxService };

export interface BridgeContext<Config = unknown> {
  /** The connector's own section of the config file, validated. */
  readonly config: Config;
  readonly log: Logger;
  /** The Matrix server name ghosts and portals live on. */
  readonly domain: string;
  readonly remote: RemoteEventSink;
  readonly portals: PortalService;
  readonly ghosts: GhostService;
  readonly notify: UserNotifier;
  readonly media: MediaService;
  readonly commands: CommandRegistry;
  /** Connector-private persistent data, namespaced by the connector's protocol ID. */
  readonly data: KeyValueRepository;
  /**
   * Per-user secrets sealed at rest in the namespace `namespace` of the connector's data (see
   * connector/secrets.ts). Stores opened with the same key file share one key.
   */
  secrets(namespace: string, opts?: SecretStoreOptions): SecretStore;
  /** Connector-private durable queues for what must go out after a restart (see OutboxService). */
  readonly outbox: OutboxService;
  readonly provisioning: ProvisioningRoutes;
  readonly http: AppserviceRoutes;
  readonly metrics: ConnectorMetrics;
  /** Whether a Matrix user is a bridge admin per config. */
  isAdmin(userId: string): boolean;
  /** Whether a Matrix user may use the bridge at all (config `bridge.permissions.users`). */
  mayUseBridge(userId: string): boolean;
  /**
   * When a Matrix user last did something the bridge relayed (a message, a join…; epoch ms), kept
   * across restarts for 30 days; undefined when not within that (e.g. to leave idle users out of
   * a start-up sync).
   */
  lastActive(userId: string): number | undefined;
}
