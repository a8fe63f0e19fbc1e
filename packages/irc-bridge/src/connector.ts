/**
 * The IRC connector: what the core calls. It owns nothing but routing to the
 * right IrcNetwork and the capability surface (portals by alias, ghosts, DMs,
 * third-party lookups, links, edits, membership and topic changes, bridge-info display data). Reactions
 * and redactions are not bridged to IRC on purpose: IRC has no such thing and
 * MAI did not invent a text form for them.
 */
import {
  BridgeError,
  ConfigError,
  type AliasResolver,
  type BridgeConnector,
  type BridgeContext,
  type DirectChatHandler,
  type EditHandler,
  type GhostKey,
  type GhostResolver,
  type LinkHandler,
  type MatrixEdit,
  type MatrixMembership,
  type MatrixMessage,
  type MatrixRoomMeta,
  type MembershipHandler,
  type PortalInfo,
  type PortalKey,
  type RoomMetaHandler,
  type SecretStore,
  type SendResult,
  type ThirdPartyLookup,
  type BridgeInfoDisplay,
  type BridgeInfoProvider,
  type PermissionsWatcher,
  type Portal,
  type RemoteEvent,
  type UndeliverableHandler,
} from '@causeway/bridge-core';
import { ircLower, isValidChannelName, isValidNick } from './irc';
import { isKnownEncoding } from './irc/encoding-fallback';
import { IrcConfigSchema, type IrcConfig } from './config-schema';
import { IrcNetwork, type NetworkStats } from './network/irc-network';
import { NetworkRegistry } from './network/registry';
import { openSecrets, PASSWORDS_NAMESPACE } from './passwords';
import { UserFeatures } from './user-features';
import { Identd } from './ident/identd';
import { registerCommands } from './commands';
import { IrcProvisioning } from './provisioning';
import { IRC_PROTOCOL } from './protocol';
import { ircNetworkNames } from './config-section';
import { ircBridgeInfo } from './bridge-info';

export interface IrcStats {
  networks: Record<string, NetworkStats>;
}

export class IrcConnector
  implements
    BridgeConnector<IrcConfig>,
    AliasResolver,
    GhostResolver,
    DirectChatHandler,
    ThirdPartyLookup,
    LinkHandler,
    EditHandler,
    MembershipHandler,
    RoomMetaHandler,
    BridgeInfoProvider,
    PermissionsWatcher,
    UndeliverableHandler
{
  readonly protocol = IRC_PROTOCOL;
  readonly configSchema = IrcConfigSchema;
  readonly networks = new Map<string, IrcNetwork>();
  /** The networks as commands and provisioning see them (they are not handed the connector). */
  private readonly registry = new NetworkRegistry(this.networks);
  private ctxRef?: BridgeContext<IrcConfig>;
  passwords!: SecretStore;
  features!: UserFeatures;
  private identd?: Identd;
  private metricsTimer?: NodeJS.Timeout;
  private provisioning?: IrcProvisioning;

  get ctx(): BridgeContext<IrcConfig> {
    if (!this.ctxRef) throw new Error('IrcConnector used before init()');
    return this.ctxRef;
  }

  /** Each `irc.servers` key is a network: with one, templates may leave out `$NETWORK` (MAI's `@irc_$NICK`). */
  networkNames(config: IrcConfig): readonly string[] {
    return ircNetworkNames(config);
  }

  init(ctx: BridgeContext<IrcConfig>): void {
    this.ctxRef = ctx;
    checkServerCombinations(ctx.config);
    for (const warning of questionableCombinations(ctx.config)) ctx.log.warn(warning);
    this.passwords = openSecrets(ctx, PASSWORDS_NAMESPACE);
    this.features = new UserFeatures(ctx.data);
    for (const [name, cfg] of Object.entries(ctx.config.servers))
      this.networks.set(name, new IrcNetwork(name, cfg, ctx, this.passwords, this.features));
    registerCommands({ ctx, networks: this.registry, passwords: this.passwords, features: this.features });
    this.provisioning = new IrcProvisioning({ ctx, networks: this.registry });
    this.provisioning.register();
  }

  async start(): Promise<void> {
    await this.features.load();
    const ident = this.ctx.config.ident;
    if (ident.enabled) {
      this.identd = new Identd({
        port: ident.port,
        address: ident.address,
        lookup: (local, remote) => this.identFor(local, remote),
        log: this.ctx.log,
      });
      await this.identd.start();
    }
    await Promise.all([...this.networks.values()].map((n) => n.start()));
    this.startMetrics();
  }

  /** Connections by state, reconnect queue depth and message counts, sampled for Prometheus. */
  private startMetrics(): void {
    const m = this.ctx.metrics;
    if (!m) return;
    const reconnectQueue = m.gauge('reconnect_queue', 'IRC connection attempts waiting for the per-network connect scheduler.', [
      'network',
    ]);
    const queued = m.gauge('queued_messages', "Matrix messages waiting for a user's IRC connection to come back.", ['network']);
    const relayed = m.gauge('messages_total_sampled', 'Messages relayed since start, by direction (sampled counter).', [
      'network',
      'direction',
    ]);
    const sample = () => {
      const byState: Record<string, number> = {};
      for (const [name, s] of Object.entries(this.stats().networks)) {
        for (const [state, n] of Object.entries(s.connections)) byState[state] = (byState[state] ?? 0) + n;
        reconnectQueue.set({ network: name }, s.reconnectQueue);
        queued.set({ network: name }, s.queuedMessages);
        relayed.set({ network: name, direction: 'matrix_to_irc' }, s.messages.matrixToIrc);
        relayed.set({ network: name, direction: 'irc_to_matrix' }, s.messages.ircToMatrix);
        relayed.set({ network: name, direction: 'undelivered' }, s.messages.undelivered);
      }
      m.setRemoteConnections(byState);
    };
    sample();
    this.metricsTimer = setInterval(sample, 5_000);
    this.metricsTimer.unref();
  }

  /** A followed ban list changed: users it now bans lose their connections (PermissionsWatcher). */
  async onPermissionsChanged(): Promise<void> {
    for (const n of this.networks.values()) await n.dropForbiddenUsers();
  }

  async stop(): Promise<void> {
    if (this.metricsTimer) clearInterval(this.metricsTimer);
    this.provisioning?.stop();
    await Promise.all([...this.networks.values()].map((n) => n.stop()));
    await this.identd?.stop();
  }

  /** identd: the username of whichever of our connections uses that local/remote port pair. */
  private identFor(localPort: number, remotePort: number): string | undefined {
    for (const n of this.networks.values()) {
      if (n.cfg.port !== remotePort) continue;
      for (const userId of n.users.users()) {
        const c = n.users.pool.get(userId);
        if (c?.connection.localPort === localPort) return c.connection.options.username;
      }
      const bot = n.botClient;
      if (bot?.connection.localPort === localPort) return bot.connection.options.username;
    }
    return undefined;
  }

  network(name: string): IrcNetwork {
    return this.registry.require(name);
  }

  /** Counters for the metrics module (connections by state, reconnect queue, messages, flood-queue delay). */
  stats(): IrcStats {
    const networks: Record<string, NetworkStats> = {};
    for (const [name, n] of this.networks) networks[name] = n.stats();
    return { networks };
  }

  // ---- messages -------------------------------------------------------------------------------

  handleMatrixMessage(msg: MatrixMessage): Promise<SendResult> {
    return this.network(msg.portal.key.network).handleMessage(msg);
  }

  async handleMatrixEdit(edit: MatrixEdit): Promise<void> {
    await this.network(edit.portal.key.network).handleEdit(edit);
  }

  async handleMatrixMembership(change: MatrixMembership): Promise<void> {
    const n = this.networks.get(change.portal.key.network);
    if (n) await n.handleMembership(change);
  }

  async handleMatrixRoomMeta(change: MatrixRoomMeta): Promise<void> {
    const n = this.networks.get(change.portal.key.network);
    if (n) await n.handleRoomMeta(change);
  }

  /** A line the core gave up on (the homeserver stayed unreachable): its IRC sender gets a NOTICE. */
  async onRemoteEventUndeliverable(event: RemoteEvent, reason: string): Promise<void> {
    await this.networks.get(event.portal.network)?.reportUndeliverable(event, reason);
  }

  // ---- portals, ghosts, DMs -----------------------------------------------------------------------

  /**
   * Which network and channel an alias localpart names, under the core's alias template
   * (`bridge.alias_localpart_template`, default `irc_$NETWORK_$ID` → `irc_libera_#matrix`).
   * Known network names are tried longest first, since names may contain `_`.
   */
  parseAlias(localpart: string): { network: IrcNetwork; channel: string } | null {
    const m = this.ctx.portals.parseAliasLocalpart(localpart, [...this.networks.keys()]);
    const network = m?.network !== undefined ? this.networks.get(m.network) : undefined;
    if (!m || !network || !isValidChannelName(m.id)) return null;
    return { network, channel: m.id };
  }

  async resolveAlias(localpart: string): Promise<PortalInfo | null> {
    const parsed = this.parseAlias(localpart);
    if (!parsed) return null;
    const { network: n, channel } = parsed;
    if (!n.cfg.dynamic_channels.enabled || n.isExcludedChannel(channel)) return null;
    n.botJoin(ircLower(channel));
    return n.portalInfo(channel);
  }

  async resolveGhost(localpart: string): Promise<{ key: GhostKey; displayName?: string } | null> {
    const m = this.ctx.ghosts.parseLocalpart(localpart, [...this.networks.keys()]);
    if (!m?.network || !this.networks.has(m.network) || !isValidNick(m.id)) return null;
    const n = this.networks.get(m.network)!;
    return {
      key: n.ghostKey(m.id),
      displayName: n.cfg.ghost_display_name.replace(/\$NICK/g, m.id).replace(/\$NETWORK/g, n.cfg.name ?? n.name),
    };
  }

  async openDirectChat(matrixUserId: string, ghost: GhostKey): Promise<PortalInfo> {
    const n = this.network(ghost.network);
    if (!n.cfg.private_messages.enabled) throw new BridgeError(`Private messages are disabled on ${n.name}.`);
    if (n.users.isExcluded(matrixUserId)) throw new BridgeError(`You are not allowed to use ${n.name} through this bridge.`);
    // Connect now, so the first message does not wait for registration.
    void n.users.clientFor(matrixUserId).catch(() => undefined);
    return { key: { network: n.name, id: ghost.id }, name: ghost.id };
  }

  // ---- links ------------------------------------------------------------------------------------

  /**
   * Plumbing needs consent from the channel (MAI asked an operator): bridge admins and config
   * mappings may link anything; anyone else must currently be a channel operator on IRC.
   */
  async beforeLink(request: { key: PortalKey; roomId: string; userId: string }): Promise<void> {
    const n = this.network(request.key.network);
    const channel = request.key.id;
    if (!isValidChannelName(channel)) throw new BridgeError(`${channel} is not a valid IRC channel name.`);
    if (n.isExcludedChannel(channel)) throw new BridgeError(`${channel} may not be bridged.`);
    if (!request.userId || this.ctx.isAdmin(request.userId)) return;
    // A link a channel operator approved through provisioning (the bot asked them on IRC).
    if (this.provisioning?.isApproved(request.roomId, n.name, channel)) return;
    const nick = n.users.nickOf(request.userId);
    if (!nick)
      throw new BridgeError(`Connect to ${n.name} first (e.g. !join ${channel}): only a channel operator of ${channel} may link it.`);
    const ops = await n.operators(channel);
    if (!ops.some((o) => ircLower(o) === ircLower(nick)))
      throw new BridgeError(`Only a channel operator of ${channel} may link it, and ${nick} is not one.`);
  }

  async onLinked(portal: { key: PortalKey; roomId: string }): Promise<void> {
    const n = this.networks.get(portal.key.network);
    const p = await this.ctx.portals.getByRoom(portal.roomId);
    n?.botJoin(portal.key.id, p?.data?.key as string | undefined);
    if (n && p) await n.joinMatrixMembers([p]);
  }

  /** The channel's members, topic and modes are asked for again: what came before the room existed went nowhere. */
  async onPortalCreated(portal: { key: PortalKey; roomId: string }): Promise<void> {
    this.networks.get(portal.key.network)?.refillPortal(portal.key.id);
  }

  async onUnlinked(portal: { key: PortalKey; roomId: string }): Promise<void> {
    await this.networks.get(portal.key.network)?.leaveIfUnbridged(portal.key.id);
  }

  /** Network name and irc:// links for the core's bridge-info state; the portal key's ID is the channel. */
  bridgeInfo(portal: Pick<Portal, 'key'>): BridgeInfoDisplay {
    const n = this.networks.get(portal.key.network);
    return n ? ircBridgeInfo(n.name, n.cfg, portal.key.id) : {};
  }

  // ---- third party ------------------------------------------------------------------------------

  async protocolMetadata(): Promise<Record<string, unknown>> {
    return {
      user_fields: ['network', 'nickname'],
      location_fields: ['network', 'channel'],
      icon: '',
      field_types: {
        network: { regexp: '[a-z0-9.-]+', placeholder: 'libera' },
        nickname: { regexp: '[^\\s#]+', placeholder: 'nick' },
        channel: { regexp: '[#&+!][^\\s,:]+', placeholder: '#channel' },
      },
      instances: [...this.networks.values()].map((n) => ({
        network_id: n.cfg.network_id ?? n.name,
        desc: n.cfg.name ?? n.name,
        icon: '',
        fields: { network: n.name },
      })),
    };
  }

  async lookupLocation(fields: Record<string, string>): Promise<Array<{ alias: string; fields: Record<string, string> }>> {
    const n = this.networks.get(fields.network ?? '');
    const channel = fields.channel ?? '';
    if (!n || !isValidChannelName(channel) || !n.cfg.dynamic_channels.enabled || n.isExcludedChannel(channel)) return [];
    const alias = this.ctx.portals.aliasLocalpartFor({ network: n.name, id: channel });
    return alias ? [{ alias: `#${alias}:${this.ctx.domain}`, fields: { network: n.name, channel } }] : [];
  }

  async lookupUser(fields: Record<string, string>): Promise<Array<{ userid: string; fields: Record<string, string> }>> {
    const n = this.networks.get(fields.network ?? '');
    const nick = fields.nickname ?? '';
    if (!n || !isValidNick(nick)) return [];
    return [{ userid: this.ctx.ghosts.userIdFor(n.ghostKey(nick)), fields: { network: n.name, nickname: nick } }];
  }
}

/** Combinations the schema cannot express; each would otherwise fail only at the first connection. */
/** Valid settings that together probably do not do what the operator wants: said at start, not refused. */
export function questionableCombinations(config: IrcConfig): string[] {
  const out: string[] = [];
  for (const [name, s] of Object.entries(config.servers)) {
    if (s.membership.irc_to_matrix.require_matrix_joined && !s.membership.matrix_to_irc.incremental) {
      out.push(
        `irc.servers.${name}.membership.irc_to_matrix.require_matrix_joined is on but matrix_to_irc.incremental is off: ` +
          "room members are connected only when they first speak, so until then the privacy filter withholds their rooms' IRC lines",
      );
    }
  }
  return out;
}

function checkServerCombinations(config: IrcConfig): void {
  const problems: string[] = [];
  for (const [name, s] of Object.entries(config.servers)) {
    if (s.sasl?.mechanism === 'external' && !s.tls.client_certificate) {
      problems.push(
        `irc.servers.${name}.sasl.mechanism: \`external\` needs tls.client_certificate (the certificate SASL EXTERNAL logs in with)`,
      );
    }
    if (s.tls.client_certificate && !s.tls.enabled) {
      problems.push(`irc.servers.${name}.tls.client_certificate: a client certificate is only presented over TLS; set tls.enabled`);
    }
    if (s.only_additional_addresses && !s.additional_addresses.length) {
      problems.push(`irc.servers.${name}.only_additional_addresses: needs at least one entry in additional_addresses`);
    }
    if (s.encoding_fallback && !isKnownEncoding(s.encoding_fallback)) {
      problems.push(
        `irc.servers.${name}.encoding_fallback: unknown encoding ${JSON.stringify(s.encoding_fallback)} (e.g. windows-1252, latin1, iso-8859-15)`,
      );
    }
  }
  if (problems.length) throw new ConfigError('The IRC configuration is not valid', problems);
}
