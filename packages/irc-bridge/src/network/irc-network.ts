/**
 * One configured IRC network: the relay bot, the Matrix users' connections,
 * channel ↔ portal keys, and both directions of traffic for that network
 * (IrcToMatrix and MatrixToIrc; this class wires them to the connections).
 *
 * Portal keys use the case-folded channel (rfc1459, InspIRCd's casemapping),
 * so `#Chan` and `#chan` are one portal; ghost IDs are case-folded nicks.
 */
import {
  BridgeError,
  parseUserId,
  type BridgeContext,
  type GhostKey,
  type MatrixEdit,
  type MatrixMembership,
  type MatrixMessage,
  type PortalInfo,
  type MatrixRoomMeta,
  type Portal,
  type PortalKey,
  type RemoteEvent,
  type SendResult,
} from '@causeway/bridge-core';
import {
  ConnectScheduler,
  IrcConnectionPool,
  deafModeFor,
  ircLower,
  isValidChannelName,
  isValidNick,
  type IrcConnection,
  type PooledClient,
  type ConnectionObserver,
  type ConnectionProblem,
  type RegisteredEvent,
  type ServerOptions,
} from '../irc';
import type { IrcConfig, ServerConfig } from '../config-schema';
import type { SecretStore } from '@causeway/bridge-core';
import { ChatRelay } from './chat-relay';
import { BOT_KEY, ChannelTable } from './channel-state';
import { QuitDebounce } from './quit-debounce';
import { PrivacyFilter } from './privacy-filter';
import type { UserFeatures } from '../user-features';
import { RoomConfig } from './room-config';
import { utf8WithFallback } from '../irc/encoding-fallback';
import { IrcToMatrix, type Owner } from './irc-to-matrix';
import { UserConnections, clientCertificateOf, idleTimeoutS } from './user-connections';
import { MatrixToIrc } from './matrix-to-irc';
import { reconnectDelay } from './reconnect-delay';

export interface NetworkStats {
  connections: Record<'connecting' | 'connected' | 'waiting' | 'failed' | 'stopped', number>;
  reconnectQueue: number;
  connectsInFlight: number;
  queuedMessages: number;
  messages: { matrixToIrc: number; ircToMatrix: number; undelivered: number };
  floodQueueDelayMs: { last: number; max: number };
}

/** An attached connection, as the network's observer is told it (see attach). */
interface Attached {
  connKey: string;
  owner: Owner;
  conn: IrcConnection;
}

/** Soft errors worth telling a user: their own action failed on IRC. */
const TELL_USER = new Set([
  'cannot_send',
  'channel_full',
  'invite_only',
  'banned_from_channel',
  'bad_channel_key',
  'needs_account',
  'not_chanop',
  'no_such_nick',
  'no_such_channel',
  'too_many_channels',
  'secure_only',
  'not_on_channel',
  'user_not_in_channel',
  'unknown_command',
]);
/** Refusals of a JOIN (471/473/474/475/489; not 477, which InspIRCd also sends for a PRIVMSG): see joinRefused. */
const JOIN_REFUSED = new Set(['channel_full', 'invite_only', 'banned_from_channel', 'bad_channel_key', 'secure_only']);

/**
 * How long an IRC reply waits for the echo of a line from Matrix it may answer (see
 * IrcToMatrix.onMessage). Echoes take a round trip; a line the server refused with a numeric
 * stops being waited for when the refusal arrives (EchoMatcher.refused), but one it dropped
 * silently never echoes, and the reply then goes out after this, as a plain message if its
 * target stays unknown.
 */
const ECHO_WAIT_MS = 2000;

export class IrcNetwork {
  readonly scheduler: ConnectScheduler;
  readonly channels = new ChannelTable();
  private readonly relay: ChatRelay;
  /** The deaf user mode in use ('' = none): `clients.deaf_mode`, or what 'auto' learnt. */
  private deafLetter: string;
  private deafModeKnown = false;
  readonly users: UserConnections;
  private readonly botPool: IrcConnectionPool;
  private bot: PooledClient | null = null;
  private readonly i2m: IrcToMatrix;
  private readonly m2i: MatrixToIrc;
  /** Rooms' own settings (`per_room_config`). */
  private readonly roomConfig: RoomConfig;
  private readonly counters = { matrixToIrc: 0, ircToMatrix: 0, undelivered: 0 };
  private stopped = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Server lines dropped unhandled (see connectionProblem). */
  private readonly droppedLines;

  constructor(
    readonly name: string,
    readonly cfg: ServerConfig,
    private readonly ctx: BridgeContext<IrcConfig>,
    passwords: SecretStore,
    private readonly features: UserFeatures,
  ) {
    this.roomConfig = new RoomConfig(ctx, cfg);
    this.droppedLines = ctx.metrics?.counter(
      'dropped_lines_total',
      'Lines from the IRC server dropped unhandled: malformed (too few parameters, or the IRC library failed on them) or too long (over 8 KiB of tags plus 512 bytes).',
      ['network', 'reason'],
    );
    this.scheduler = new ConnectScheduler({
      connectsPerSecond: cfg.clients.connect_rate_per_second,
      maxConcurrent: cfg.clients.concurrent_reconnect_limit,
    });
    const server: ServerOptions = {
      host: cfg.address,
      port: cfg.port,
      password: cfg.password,
      tls: cfg.tls.enabled,
      allowSelfSigned: cfg.tls.allow_self_signed,
      connectTimeoutMs: cfg.clients.connect_timeout_s * 1000,
      pingIntervalSec: cfg.clients.ping_interval_s,
      pingTimeoutSec: cfg.clients.ping_timeout_s,
      ...(cfg.additional_addresses.length
        ? { additionalHosts: cfg.additional_addresses, onlyAdditionalHosts: cfg.only_additional_addresses }
        : {}),
      flood: { ratePerSecond: cfg.clients.flood_lines_per_second },
      ...(cfg.encoding_fallback ? { encoding: utf8WithFallback(cfg.encoding_fallback) } : {}),
      onProblem: (problem, nick) => this.connectionProblem(problem, nick),
    };
    const reconnect = reconnectDelay();
    this.botPool = new IrcConnectionPool({ server, maxClients: 1, scheduler: this.scheduler, reconnectDelay: reconnect });
    this.users = new UserConnections({
      // Echoes carry the msgid of each line a Matrix user sends (see handleMessage); the bot needs none.
      network: name,
      cfg,
      ctx,
      passwords,
      scheduler: this.scheduler,
      reconnectDelay: reconnect,
      server: { ...server, echoMessage: cfg.clients.echo_message },
      attach: (userId, conn) => this.attach(userId, conn, { userId }),
      detach: (userId) => {
        this.channels.dropConnection(userId);
        this.updateDeafness();
      },
    });
    this.users.pool.on('failed', (userId, reason) => {
      if (cfg.clients.kick_on.connection_failure) this.kickFromRooms(userId, `Could not connect to ${name}: ${reason.message}`);
    });
    // 'auto' waits for a connection's 004 to tell the server family (learnDeafMode).
    this.deafLetter = cfg.clients.deaf_mode === 'auto' ? '' : cfg.clients.deaf_mode;
    this.relay = new ChatRelay(this.channels, () => this.deafLetter !== '');
    this.i2m = new IrcToMatrix({
      network: name,
      cfg,
      ctx,
      channels: this.channels,
      relays: (connKey, channel, msgid) => this.relay.relays(connKey, channel, msgid),
      ownerOf: (nick) => this.ownerOf(nick),
      portalKey: (channel) => this.portalKey(channel),
      ghostKey: (nick) => this.ghostKey(nick),
      displayName: (nick) => this.ghostDisplayName(nick),
      mentionTarget: (channel, word) => {
        const userId = this.users.userForNick(word);
        return userId && this.channels.get(channel)?.joinedBy.has(userId) && this.wantsMentions(userId) ? userId : undefined;
      },
      echoesSettled: (channel) => {
        const waits = [...(this.channels.get(channel)?.joinedBy ?? [])]
          .filter((k) => k !== BOT_KEY)
          .map((userId) => this.users.get(userId)?.connection.echoesSettled(channel, ECHO_WAIT_MS))
          .filter((w): w is Promise<void> => w !== undefined);
        return waits.length ? Promise.all(waits).then(() => undefined) : undefined;
      },
      onRelayed: () => {
        this.counters.ircToMatrix++;
      },
      ...(cfg.membership.irc_to_matrix.require_matrix_joined ? { privacy: this.privacyFilter() } : {}),
      quits: new QuitDebounce({
        enabled: cfg.membership.quit_debounce.enabled,
        quitsPerSecond: cfg.membership.quit_debounce.quits_per_second,
        delayMinMs: cfg.membership.quit_debounce.delay_min_ms,
        delayMaxMs: cfg.membership.quit_debounce.delay_max_ms,
      }),
    });
    this.m2i = new MatrixToIrc({
      network: name,
      cfg,
      ctx,
      users: this.users,
      roomConfig: this.roomConfig,
      nickOfGhost: (userId) => this.nickOfGhost(userId),
      botJoin: (channel, key) => this.botJoin(channel, key),
      tell: (userId, text) => this.tell(userId, text),
      onRelayed: () => {
        this.counters.matrixToIrc++;
      },
      onUndelivered: () => {
        this.counters.undelivered++;
      },
      ghostKey: (nick) => this.ghostKey(nick),
      displayName: (nick) => this.ghostDisplayName(nick),
    });
  }

  /** What a connection dropped rather than fail on (ConnectionProblem): logged, and lines counted. */
  private connectionProblem(p: ConnectionProblem, nick: string): void {
    const where = { network: this.name, nick };
    switch (p.kind) {
      case 'observer-failed':
        this.ctx.log.error('IRC event not handled: its handler failed (event dropped)', {
          ...where,
          event: p.event,
          err: p.error instanceof Error ? (p.error.stack ?? p.error.message) : String(p.error),
        });
        return;
      case 'malformed-line':
        this.droppedLines?.inc({ network: this.name, reason: 'malformed' });
        this.ctx.log.warn('malformed line from the IRC server dropped', { ...where, reason: p.reason, line: p.line.slice(0, 200) });
        return;
      case 'line-too-long':
        this.droppedLines?.inc({ network: this.name, reason: 'too_long' });
        this.ctx.log.warn('over-long line from the IRC server dropped', { ...where, bytes: p.bytes });
        return;
    }
  }

  /** `mention_pills` with the user's `!feature mentions` choice: whether their nick in a line becomes a pill. */
  private wantsMentions(userId: string): boolean {
    const mode = this.ctx.config.mention_pills;
    if (mode === 'force-off') return false;
    return this.features.get(userId, 'mentions') ?? mode === 'on';
  }

  /** membership.irc_to_matrix.require_matrix_joined: see PrivacyFilter. */
  private privacyFilter(): PrivacyFilter {
    const withheld = this.ctx.metrics?.counter(
      'privacy_withheld_lines_total',
      'IRC channel lines not bridged because a Matrix member of the room was not on the channel (membership.irc_to_matrix.require_matrix_joined).',
      ['network'],
    );
    return new PrivacyFilter({
      roomsOf: async (channel) =>
        (await this.ctx.portals.getByKey(this.portalKey(channel))).filter((p) => p.kind !== 'dm').map((p) => p.roomId),
      joinedMatrixUsers: (roomId) => this.ctx.portals.joinedMatrixUsers(roomId),
      exempt: async (roomId) => (await this.roomConfig.settings(roomId)).allowUnconnectedMatrixUsers,
      roomNotice: (roomId, text) => this.ctx.notify.roomNotice(roomId, text),
      onWithheld: () => withheld?.inc({ network: this.name }),
    });
  }

  // ---- identities ---------------------------------------------------------------------------

  portalKey(channel: string): PortalKey {
    return { network: this.name, id: ircLower(channel) };
  }

  /** A portal room for `channel` as dynamic_channels configures it (with the channel key, if any). */
  portalInfo(channel: string, key?: string): PortalInfo {
    return {
      key: this.portalKey(channel),
      name: channel,
      published: this.cfg.dynamic_channels.published,
      inviteOnly: this.cfg.dynamic_channels.join_rule === 'invite',
      ...(key ? { data: { key } } : {}),
    };
  }

  ghostKey(nick: string): GhostKey {
    return { network: this.name, id: ircLower(nick) };
  }

  /** A nick's ghost's display name (`ghost_display_name`). */
  private ghostDisplayName(nick: string): string {
    return this.cfg.ghost_display_name.replace(/\$NICK/g, nick).replace(/\$NETWORK/g, this.cfg.name ?? this.name);
  }

  /** The nick behind a ghost user ID of this network (case-folded), if it is one. */
  nickOfGhost(userId: string): string | undefined {
    const parsed = parseUserId(userId);
    if (!parsed || parsed.domain !== this.ctx.domain) return undefined;
    // Every network's name: one may be a prefix of another (`a` and `a_b` under `irc_$NETWORK_$ID`).
    const m = this.ctx.ghosts.parseLocalpart(parsed.localpart, Object.keys(this.ctx.config.servers));
    return m && m.network === this.name && isValidNick(m.id) ? m.id : undefined;
  }

  ownerOf(nick: string): Owner | undefined {
    if (this.bot && ircLower(this.bot.connection.nick) === ircLower(nick)) return 'bot';
    const userId = this.users.userForNick(nick);
    return userId ? { userId } : undefined;
  }

  isExcludedChannel(channel: string): boolean {
    return this.cfg.dynamic_channels.exclude.some((c) => ircLower(c) === ircLower(channel));
  }

  validChannel(channel: string): boolean {
    return isValidChannelName(channel);
  }

  // ---- lifecycle ----------------------------------------------------------------------------

  async start(): Promise<void> {
    await this.m2i.restore();
    const channels = new Map<string, string | undefined>();
    for (const [channel, m] of Object.entries(this.cfg.mappings)) channels.set(ircLower(channel), m.key);
    const portals = await this.ctx.portals.list({ network: this.name });
    for (const p of portals) {
      if (p.kind !== 'dm' && !channels.has(p.key.id)) channels.set(p.key.id, p.data?.key as string | undefined);
    }
    if (this.cfg.bot.enabled) {
      const b = this.cfg.bot;
      const sasl =
        this.cfg.sasl?.mechanism === 'plain' && b.password
          ? { mechanism: 'PLAIN' as const, account: b.nick, password: b.password }
          : this.cfg.sasl?.mechanism === 'external'
            ? { mechanism: 'EXTERNAL' as const }
            : undefined;
      this.bot = this.botPool.acquire(BOT_KEY, {
        nick: b.nick,
        username: b.username,
        realname: 'Matrix bridge relay bot',
        ...(sasl ? { sasl } : b.password ? { password: b.password } : {}),
        ...(this.cfg.tls.client_certificate ? { clientCertificate: clientCertificateOf(this.cfg) } : {}),
      });
      this.attach(BOT_KEY, this.bot.connection, 'bot');
      for (const [channel, key] of channels) void this.bot.join(channel, key);
      await this.waitForBot(15_000);
    }
    void this.linkMappings();
    void this.joinMatrixMembers(portals);
  }

  private waitForBot(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        this.botPool.off('connected', done);
        this.botPool.off('failed', done);
        resolve();
      };
      const t = setTimeout(done, ms);
      this.botPool.on('connected', done);
      this.botPool.on('failed', done);
    });
  }

  /** Static `mappings` from the config become plumbed portals (the bot must be invited to each room). */
  private async linkMappings(): Promise<void> {
    for (const [channel, m] of Object.entries(this.cfg.mappings)) {
      for (const roomId of m.room_ids) {
        const existing = await this.ctx.portals.getByRoom(roomId);
        if (existing) continue;
        await this.ctx.portals
          .link(roomId, this.portalKey(channel), { actor: '', data: m.key ? { key: m.key } : undefined })
          .catch((err) => this.ctx.log.warn('configured mapping not linked', { roomId, channel, err: String(err) }));
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.m2i.stop();
    for (const t of this.timers) clearTimeout(t);
    this.i2m.stop();
    await Promise.all([this.users.shutdown(), this.botPool.shutdown('Bridge shutting down')]);
  }

  /** Makes sure the relay bot sits in a bridged channel (no-op without a bot). */
  botJoin(channel: string, key?: string): void {
    if (this.bot && !this.bot.channels.has(channel)) void this.bot.join(channel, key);
  }

  /**
   * A portal room was just created for `channel`. Members, topic and modes the listener learnt
   * before it existed went nowhere, so they are asked for again and applied as on a first join.
   * Without a listener there is nothing to redo: the first join will bring them.
   */
  refillPortal(channel: string): void {
    const listener = this.channels.listener(channel);
    const conn =
      listener === undefined ? undefined : listener === BOT_KEY ? this.bot?.connection : this.users.pool.get(listener)?.connection;
    if (!conn) return;
    const ch = this.channels.ensure(channel);
    ch.synced = false;
    ch.modes.clear();
    conn.requestChannelState(channel, { names: true, topic: true, modes: true });
  }

  /**
   * After a room was unlinked: when no room bridges the channel any more, the bot and every Matrix
   * user's connection PART it (as MAI did), and it leaves their wanted lists, so nobody is kept in
   * (and re-joined to after each reconnect) a channel nothing relays.
   */
  async leaveIfUnbridged(channel: string): Promise<void> {
    const rooms = await this.ctx.portals.getByKey(this.portalKey(channel));
    if (rooms.length > 0 || this.cfg.mappings[channel]) return;
    await this.bot?.part(channel, 'Unbridged');
    for (const key of this.users.pool.keys()) {
      const client = this.users.pool.get(key);
      if (client?.channels.has(channel)) await client.part(channel, 'This channel is no longer bridged');
    }
  }

  /**
   * The server refused a user's JOIN: the channel leaves their wanted list (no JOIN after every
   * reconnect), and with `kick_on.channel_join_failure` they are kicked from its rooms (MAI).
   */
  private joinRefused(userId: string, channel: string, why: string): void {
    if (!this.validChannel(channel)) return;
    this.users.pool.get(userId)?.joinRefused(channel);
    if (!this.cfg.clients.kick_on.channel_join_failure) return;
    void this.ctx.remote
      .emit({
        type: 'membership',
        portal: this.portalKey(channel),
        sender: { bot: true },
        membership: 'kick',
        targetMatrixUser: userId,
        reason: why,
        timestamp: Date.now(),
      })
      .catch((err) => this.ctx.log.warn('could not remove user from room', { userId, channel, err: String(err) }));
  }

  /** Kicks a Matrix user from the rooms of the channels their connection is in or wants to be in (MAI `kickOn`). */
  kickFromRooms(userId: string, reason: string): void {
    const client = this.users.pool.get(userId);
    for (const [channel] of client?.channels ?? []) {
      void this.ctx.remote
        .emit({
          type: 'membership',
          portal: this.portalKey(channel),
          sender: { bot: true },
          membership: 'kick',
          targetMatrixUser: userId,
          reason,
          timestamp: Date.now(),
        })
        .catch((err) => this.ctx.log.warn('could not remove user from room', { userId, channel, err: String(err) }));
    }
  }

  // ---- IRC events -----------------------------------------------------------------------------

  /**
   * With `clients.deaf_mode`, a Matrix user's connection is deaf (the server's deaf user mode)
   * unless it is one of the two that hear a channel (ChannelTable.hearers: the bot or the
   * earliest-joined user, and one more standing by): the server then sends each channel line
   * to the bridge twice instead of once per bridged user there. The one standing by was
   * hearing all along, so when the relaying connection leaves no line falls into the time a
   * MODE takes (ChatRelay). Called whenever who is in which channel changes.
   */
  private updateDeafness(): void {
    const letter = this.deafLetter;
    if (!letter) return;
    const hearing = new Set<string>();
    for (const c of this.channels.all()) for (const k of this.channels.hearers(c.name)) hearing.add(k);
    for (const userId of this.users.pool.keys()) this.users.pool.get(userId)?.connection.setDeaf(letter, !hearing.has(userId));
  }

  /** With `deaf_mode: auto`, the first registration names the server family and so the letter (irc/deaf-mode.ts). */
  private learnDeafMode(ev: RegisteredEvent): void {
    if (this.cfg.clients.deaf_mode !== 'auto' || this.deafModeKnown) return;
    this.deafModeKnown = true;
    this.deafLetter = deafModeFor(ev.server?.version, ev.server?.userModes) ?? '';
    if (this.deafLetter) {
      this.ctx.log.info("deaf mode on: users' connections that need not hear a channel set a user mode", {
        network: this.name,
        mode: `+${this.deafLetter}`,
        server: ev.server?.version,
      });
      this.updateDeafness();
    } else {
      this.ctx.log.info('deaf mode off: no deaf user mode known for this server', {
        network: this.name,
        server: ev.server?.version ?? 'unknown',
        userModes: ev.server?.userModes ?? '',
      });
    }
  }

  private attach(connKey: string, conn: IrcConnection, owner: Owner): void {
    // One copy of each channel line is relayed (ChatRelay, IrcToMatrix.onMessage); the others are dropped unparsed.
    conn.setChannelChatFilter((channel, msgid) => !this.relay.relays(connKey, channel, msgid));
    conn.observe(this.connectionEvents, { connKey, owner, conn });
  }

  /** What the network does with each attached connection's events (one observer for all of them). */
  private readonly connectionEvents: ConnectionObserver<Attached> = {
    registered: (_, ev) => this.learnDeafMode(ev),
    message: ({ connKey, owner }, ev) => {
      if (owner === 'bot' && !ev.isChannel && !ev.isEcho && ev.kind === 'privmsg') {
        for (const fn of this.botPmListeners) fn(ev.from.nick, ev.text);
      }
      this.i2m.onMessage(connKey, owner, ev);
    },
    join: ({ connKey, conn }, ev) => {
      // A channel the bridge cannot address (a server may accept `#a:b`) is never bridged: its
      // JOIN would only reach code that refuses the name.
      if (!conn.validChannel(ev.channel)) return;
      if (ev.self) {
        this.channels.ensure(ev.channel).joinedBy.add(connKey);
        this.updateDeafness();
        // The server sends members and topic on join, not modes: the listener asks (+i/+k/+s/+m → room settings).
        if (this.channels.listener(ev.channel) === connKey) conn.requestChannelState(ev.channel, { modes: true });
      }
      this.i2m.onJoin(connKey, ev);
    },
    part: ({ connKey }, ev) => {
      this.i2m.onPart(connKey, ev);
      if (ev.self) {
        this.channels.get(ev.channel)?.joinedBy.delete(connKey);
        this.updateDeafness();
      }
    },
    kick: ({ connKey, owner }, ev) => {
      this.i2m.onKick(connKey, ev);
      if (!ev.self) return;
      this.channels.get(ev.channel)?.joinedBy.delete(connKey);
      this.updateDeafness();
      if (owner === 'bot') this.later(5_000, () => this.botJoinIfBridged(ev.channel));
      else
        this.tell(owner.userId, `You were kicked from ${ev.channel} on ${this.name} by ${ev.by.nick}${ev.reason ? `: ${ev.reason}` : ''}.`);
    },
    quit: ({ connKey }, ev) => this.i2m.onQuit(connKey, ev),
    nick: ({ connKey }, ev) => this.i2m.onNick(connKey, ev),
    names: ({ connKey, conn }, ev) => this.i2m.onNames(connKey, conn, ev),
    topic: ({ connKey }, ev) => this.i2m.onTopic(connKey, ev),
    mode: ({ connKey, conn }, ev) => this.i2m.onMode(connKey, conn, ev),
    'channel-modes': ({ connKey }, ev) => this.i2m.onChannelModes(connKey, ev),
    disconnected: ({ connKey }) => {
      this.channels.dropConnection(connKey);
      this.updateDeafness();
    },
    invite: ({ owner }, ev) => {
      if (owner !== 'bot')
        void this.onInvited(owner.userId, ev).catch((err) => this.ctx.log.warn('IRC invite not bridged', { err: String(err) }));
    },
    'soft-error': ({ owner }, err) => {
      if (owner === 'bot') {
        this.ctx.log.warn('relay bot IRC error', { network: this.name, numeric: err.numeric, detail: err.detail });
        return;
      }
      if (TELL_USER.has(err.kind))
        this.tell(owner.userId, `${this.name}: ${err.message}${err.detail && !err.message.includes(err.detail) ? ` (${err.detail})` : ''}`);
      if (JOIN_REFUSED.has(err.kind) && err.subject) this.joinRefused(owner.userId, err.subject, err.message);
    },
  };

  private async botJoinIfBridged(channel: string): Promise<void> {
    if (this.stopped || !this.bot) return;
    const rooms = await this.ctx.portals.getByKey(this.portalKey(channel));
    const mapping = Object.entries(this.cfg.mappings).find(([c]) => ircLower(c) === ircLower(channel));
    if (rooms.length || mapping) void this.bot.join(channel, (rooms[0]?.data?.key as string | undefined) ?? mapping?.[1].key);
  }

  private later(ms: number, fn: () => unknown): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      void fn();
    }, ms);
    t.unref();
    this.timers.add(t);
  }

  /**
   * An IRC user invited a Matrix user's nick to a channel (MAI bridged this): where the channel has
   * a room, the bot invites the Matrix user there; where it has none, the user is told how to join,
   * rather than a room being created on anyone's say-so.
   */
  private async onInvited(userId: string, ev: { channel: string; by: { nick: string } }): Promise<void> {
    if (!this.validChannel(ev.channel) || this.isExcludedChannel(ev.channel)) return;
    const rooms = await this.ctx.portals.getByKey(this.portalKey(ev.channel));
    if (rooms.length === 0) {
      const server = Object.keys(this.ctx.config.servers).length > 1 ? `${this.name} ` : '';
      const how = this.cfg.dynamic_channels.enabled ? ` Join with: !join ${server}${ev.channel}` : '';
      this.tell(userId, `${ev.by.nick} invited you to ${ev.channel} on ${this.name}.${how}`);
      return;
    }
    // Sent by the bot: the inviter's ghost would have to join the room first just to invite.
    await this.ctx.remote.emit({
      type: 'membership',
      portal: this.portalKey(ev.channel),
      membership: 'invite',
      targetMatrixUser: userId,
      sender: { bot: true },
      reason: `${ev.by.nick} invited you on IRC`,
      timestamp: Date.now(),
    });
  }

  private tell(userId: string, text: string): void {
    this.ctx.notify.notice(userId, text).catch(() => undefined);
  }

  /**
   * The core gave up on an IRC line (the homeserver stayed unreachable, see the core's
   * `matrix_client.max_outage_wait_s`): its sender is told with a NOTICE, from the relay bot, or
   * else from the connection that received it (the Matrix user of a private message, the channel's
   * listener). Only lines people wrote are reported, not joins or mode changes.
   */
  async reportUndeliverable(event: RemoteEvent, reason: string): Promise<void> {
    if ((event.type !== 'message' && event.type !== 'edit') || !('ghost' in event.sender)) return;
    const nick = event.sender.ghost.id;
    const isChannel = event.type === 'message' ? !event.dmWith : this.validChannel(event.portal.id);
    const where = isChannel ? event.portal.id : 'your private message';
    const body = event.content.body.replace(/[\x00-\x1f]/g, ' ');
    const preview = body.length > 60 ? `${body.slice(0, 60)}…` : body;
    const text = `Your message to ${isChannel ? where : 'a Matrix user'} did not reach Matrix (${reason}): "${preview}"`;
    const via =
      this.bot?.status === 'connected'
        ? this.bot
        : event.type === 'message' && event.dmWith
          ? this.users.get(event.dmWith)
          : this.users.get(this.channels.listener(event.portal.id) ?? '');
    if (!via || via.status !== 'connected') {
      this.ctx.log.warn('could not tell an IRC user their line did not reach Matrix: no connection to send from', {
        network: this.name,
        nick,
      });
      return;
    }
    await via.notice(nick, text);
  }

  // ---- Matrix → IRC (matrix-to-irc.ts) ------------------------------------------------------------

  handleMessage(msg: MatrixMessage): Promise<SendResult> {
    return this.m2i.handleMessage(msg);
  }

  handleEdit(edit: MatrixEdit): Promise<void> {
    return this.m2i.handleEdit(edit);
  }

  handleMembership(change: MatrixMembership): Promise<void> {
    return this.m2i.handleMembership(change);
  }

  handleRoomMeta(change: MatrixRoomMeta): Promise<void> {
    return this.m2i.handleRoomMeta(change);
  }

  /** `membership.matrix_to_irc.initial` for these rooms (at start, and when a room is first linked). */
  joinMatrixMembers(portals: readonly Portal[]): Promise<void> {
    return this.m2i.joinMatrixMembers(portals);
  }

  // ---- queries ----------------------------------------------------------------------------------

  /** Operator queries in progress, by case-folded channel (see operators). */
  private readonly querying = new Map<string, number>();

  /**
   * Channel operators (nicks with +o or higher) as the bot sees them; the bot itself excluded.
   * The bot joins to look; when no room bridges the channel it leaves again once the last query
   * of it is done, so queries cannot park it (often with op) in channels nothing relays.
   */
  async operators(channel: string, key?: string, timeoutMs = 10_000): Promise<string[]> {
    if (!this.bot) throw new BridgeError(`${this.name} has no relay bot, so channel operators cannot be checked.`);
    const id = ircLower(channel);
    this.querying.set(id, (this.querying.get(id) ?? 0) + 1);
    try {
      this.botJoin(channel, key);
      const deadline = Date.now() + timeoutMs;
      while (!(this.channels.get(channel)?.synced && this.channels.listener(channel) === BOT_KEY)) {
        if (Date.now() > deadline) throw new BridgeError(`The bridge could not join ${channel} on ${this.name}.`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const ops: string[] = [];
      for (const [nick, modes] of this.channels.get(channel)!.members) {
        if (/[qaoy~]/.test(modes) && this.ownerOf(nick) !== 'bot') ops.push(nick);
      }
      return ops;
    } finally {
      const left = (this.querying.get(id) ?? 1) - 1;
      if (left > 0) this.querying.set(id, left);
      else {
        this.querying.delete(id);
        await this.botLeaveIfUnbridged(channel).catch((err) =>
          this.ctx.log.warn('relay bot did not leave a queried channel', { network: this.name, channel, err: String(err) }),
        );
      }
    }
  }

  /** The bot PARTs `channel` unless a room or mapping bridges it or a query still needs it. */
  private async botLeaveIfUnbridged(channel: string): Promise<void> {
    if (!this.bot?.channels.has(channel) || this.querying.has(ircLower(channel))) return;
    if (Object.keys(this.cfg.mappings).some((c) => ircLower(c) === ircLower(channel))) return;
    if ((await this.ctx.portals.getByKey(this.portalKey(channel))).length > 0) return;
    // Checked again after the lookup: a query may have started meanwhile.
    if (this.querying.has(ircLower(channel))) return;
    await this.bot.part(channel, 'Only looked');
    // A room linked in the moment before the PART found the bot still there and did not join it.
    await this.botJoinIfBridged(channel);
  }

  stats(): NetworkStats {
    const connections = { connecting: 0, connected: 0, waiting: 0, failed: 0, stopped: 0 };
    let queued = 0;
    let last = 0;
    let max = 0;
    const clients = [...this.users.users().map((u) => this.users.pool.get(u)), this.bot].filter((c): c is PooledClient => !!c);
    for (const c of clients) {
      connections[c.status]++;
      queued += c.queuedMessages;
      const f = c.connection.floodStats;
      last = Math.max(last, f.lastDelayMs);
      max = Math.max(max, f.maxDelayMs);
    }
    const s = this.scheduler.getStats();
    return {
      connections,
      reconnectQueue: s.queued,
      connectsInFlight: s.inFlight,
      queuedMessages: queued,
      messages: { ...this.counters },
      floodQueueDelayMs: { last, max },
    };
  }

  /** Private messages to the relay bot (PRIVMSG, not NOTICE: a NOTICE is never answered). */
  private readonly botPmListeners = new Set<(nick: string, text: string) => void>();

  onBotPrivateMessage(fn: (nick: string, text: string) => void): () => void {
    this.botPmListeners.add(fn);
    return () => this.botPmListeners.delete(fn);
  }

  /** The relay bot says something to a nick (e.g. a link request to a channel operator). */
  async botSay(nick: string, text: string): Promise<boolean> {
    if (!this.bot) return false;
    const r = await this.bot.say(nick, text);
    return r.delivered;
  }

  /** Closes a user's connection on this network and tells them (bridge admins' `!disconnect`, `!reapidle`). */
  async disconnectUser(userId: string, reason: string): Promise<boolean> {
    if (!this.users.get(userId)) return false;
    await this.users.release(userId, 'Disconnected from IRC by a bridge admin.', 'Disconnected by the bridge admin');
    this.tell(userId, `A bridge admin disconnected you from ${this.name}${reason ? `: ${reason}` : ''}. Your next message reconnects you.`);
    return true;
  }

  /**
   * Connected users with no bridged activity (a message, a join…) since `before` (epoch ms), as
   * the core keeps it across restarts (`ctx.lastActive`): a user connected at start-up by the
   * initial sync but silent for weeks counts as idle, however recent their connection.
   */
  idleUsers(before: number): string[] {
    return this.users.users().filter((userId) => this.users.get(userId) && (this.ctx.lastActive(userId) ?? 0) < before);
  }

  /**
   * Users who may no longer use the bridge (a followed ban list gained a rule, see the core's
   * `bridge.ban_lists`): their connections are closed and they are told. The IRC side sees a QUIT
   * without the list's reason.
   */
  async dropForbiddenUsers(): Promise<void> {
    for (const userId of this.users.users()) {
      if (this.ctx.mayUseBridge(userId)) continue;
      this.ctx.log.info('user no longer allowed to use the bridge: disconnecting', { network: this.name, userId });
      await this.users.release(userId, 'You may no longer use this bridge.', 'Access to the bridge revoked');
      this.tell(userId, `You were disconnected from ${this.name}: you may no longer use this bridge.`);
    }
  }

  /** The idle timeout users of this network have (0: none). */
  get idleTimeoutS(): number {
    return idleTimeoutS(this.cfg);
  }

  get botClient(): PooledClient | null {
    return this.bot;
  }
}
