/**
 * The Slack connector: what the core calls. It owns only the routing to the right workspace
 * (the portal key's network) and the capability surface; the flows live in `to-slack/` and
 * `to-matrix/`, a workspace's connection in `workspace/`.
 */
import {
  BridgeError,
  type BridgeConnector,
  type BridgeContext,
  type BridgeInfoDisplay,
  type BridgeInfoProvider,
  type DirectChatHandler,
  type GhostResolver,
  type PermissionsWatcher,
  type GhostKey,
  type PortalInfo,
  type EditHandler,
  type LinkHandler,
  type MatrixEdit,
  type MatrixMessage,
  type MatrixReaction,
  type MatrixReactionRemoval,
  type MatrixRedaction,
  type MatrixRoomMeta,
  type PortalKey,
  type ReactionHandler,
  type RedactionHandler,
  type RoomMetaHandler,
  type SendResult,
  type RemoteEvent,
  type UndeliverableHandler,
} from '@causeway/bridge-core';
import { SlackConfigSchema, checkWorkspaces, type SlackConfig } from './config-schema';
import { SLACK_PROTOCOL } from './protocol';
import { SlackWorkspace } from './workspace/slack-workspace';
import { registerCommands } from './commands';
import { registerProvisioning } from './provisioning/link-routes';
import { checkLink } from './links';
import { tellUndeliverable } from './to-matrix/undeliverable';
import type { SlackWorkspaces } from './workspace/registry';
import { registerPuppeting } from './puppets';
import { resolveSlackGhost } from './directory/ghost-resolver';

export class SlackConnector
  implements
    SlackWorkspaces,
    BridgeConnector<SlackConfig>,
    EditHandler,
    RedactionHandler,
    ReactionHandler,
    RoomMetaHandler,
    LinkHandler,
    BridgeInfoProvider,
    UndeliverableHandler,
    DirectChatHandler,
    GhostResolver,
    PermissionsWatcher
{
  readonly protocol = SLACK_PROTOCOL;
  readonly configSchema = SlackConfigSchema;
  readonly workspaces = new Map<string, SlackWorkspace>();
  private ctxRef?: BridgeContext<SlackConfig>;

  get ctx(): BridgeContext<SlackConfig> {
    if (!this.ctxRef) throw new Error('SlackConnector used before init()');
    return this.ctxRef;
  }

  /**
   * The workspace names. The core calls this on every valid config, `validate-config` included,
   * before `init`: the transport rule the schema cannot say (exactly one of app_token and
   * signing_secret) is checked here too, so `validate-config` reports it.
   */
  networkNames(config: SlackConfig): readonly string[] {
    checkWorkspaces(config);
    return Object.keys(config?.workspaces ?? {});
  }

  init(ctx: BridgeContext<SlackConfig>): void {
    this.ctxRef = ctx;
    checkWorkspaces(ctx.config);
    const names = () => [...this.workspaces.keys()];
    for (const [name, cfg] of Object.entries(ctx.config.workspaces)) {
      const ws = new SlackWorkspace(name, cfg, ctx, names);
      this.workspaces.set(name, ws);
      const path = ws.eventsPath;
      // Public on purpose: Slack cannot send the hs_token; every request is checked by its signature.
      if (path) ctx.http.addRoute('POST', path, (rc) => ws.receiver.handleHttp(rc), { public: true });
    }
    registerCommands(this);
    registerProvisioning(this);
    registerPuppeting(this);
  }

  async start(): Promise<void> {
    await Promise.all([...this.workspaces.values()].map((w) => w.start()));
  }

  async stop(): Promise<void> {
    await Promise.all([...this.workspaces.values()].map((w) => w.stop()));
  }

  /** Resolves once every workspace has nothing left to apply or send. */
  async idle(): Promise<void> {
    await Promise.all([...this.workspaces.values()].map((w) => w.idle()));
  }

  has(name: string): boolean {
    return this.workspaces.has(name);
  }

  workspace(name: string): SlackWorkspace {
    const w = this.workspaces.get(name);
    if (!w) throw new BridgeError(`There is no Slack workspace called ${name}. Known: ${[...this.workspaces.keys()].join(', ')}.`);
    return w;
  }

  handleMatrixMessage(msg: MatrixMessage): Promise<SendResult> {
    return this.workspace(msg.portal.key.network).toSlack.message(msg);
  }

  async handleMatrixEdit(edit: MatrixEdit): Promise<void> {
    await this.workspace(edit.portal.key.network).toSlack.edit(edit);
  }

  async handleMatrixRedaction(r: MatrixRedaction): Promise<void> {
    await this.workspace(r.portal.key.network).toSlack.redaction(r);
  }

  async handleMatrixReaction(r: MatrixReaction): Promise<void> {
    await this.workspace(r.portal.key.network).toSlack.reaction(r);
  }

  async handleMatrixReactionRemoval(r: MatrixReactionRemoval): Promise<void> {
    await this.workspace(r.portal.key.network).toSlack.reaction(r, true);
  }

  /** A Matrix topic or room name change: to the Slack channel (to-slack/room-meta). */
  async handleMatrixRoomMeta(change: MatrixRoomMeta): Promise<void> {
    await this.workspace(change.portal.key.network).toSlack.roomMeta(change);
  }

  /** A Slack message the core gave up on: its author is told in the channel (only they see it). */
  async onRemoteEventUndeliverable(event: RemoteEvent, reason: string): Promise<void> {
    const ws = this.workspaces.get(event.portal.network);
    if (ws) await tellUndeliverable(ws, event, reason);
  }

  /** A Matrix user invited a Slack user's ghost to a DM: opened with their own token (puppets/direct-messages). */
  openDirectChat(matrixUserId: string, ghost: GhostKey): Promise<PortalInfo> {
    return this.workspace(ghost.network).dms.open(matrixUserId, ghost);
  }

  /** A ban list changed: puppet logins of users who may no longer use the bridge end (puppets/puppets). */
  async onPermissionsChanged(): Promise<void> {
    for (const ws of this.workspaces.values()) await ws.puppets.dropBarred();
  }

  /** The homeserver asks about a user in our namespace: a Slack user who exists (directory/ghost-resolver). */
  resolveGhost(localpart: string): Promise<{ key: GhostKey; displayName?: string } | null> {
    return resolveSlackGhost(this, localpart);
  }

  beforeLink(request: { key: PortalKey; roomId: string; userId: string }): Promise<void> {
    return checkLink(this, request);
  }

  bridgeInfo(portal: { key: PortalKey }): BridgeInfoDisplay {
    const ws = this.workspaces.get(portal.key.network);
    if (!ws) return {};
    const teamName = ws.cfg.name ?? (ws.botUserId() ? ws.identity.teamName : ws.name);
    return { network: { displayname: teamName }, channel: { displayname: portal.key.id } };
  }
}
