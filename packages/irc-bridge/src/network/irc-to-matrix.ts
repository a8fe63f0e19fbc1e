/**
 * IRC → Matrix: turns what one of our connections sees into RemoteEvents.
 *
 * Channel events are relayed only from the channel's listener connection
 * (ChannelTable.listener), so a line seen by the bot and by ten bridged users
 * reaches Matrix once. Lines from our own connections (a Matrix user's nick,
 * the bot) are echoes and never come back. IRC text becomes Matrix HTML only
 * through `ircToMatrix` (allow-list sanitiser).
 *
 * Per portal, events reach the core in the order their lines arrived (see emit): an event whose
 * crossing depends on a lookup (a topic, a reply waiting for echoes) holds its place, and the
 * events after it wait behind it rather than overtake it.
 */
import {
  portalKeyString,
  type BridgeContext,
  type GhostKey,
  type PortalKey,
  type RemoteEvent,
  type RemoteSender,
} from '@causeway/bridge-core';
import {
  ircToMatrix,
  escapeHtml,
  IrcCaseMap,
  ircLower,
  stripCodes,
  type IncomingMessage,
  type IrcConnection,
  type ModeChange,
  type Sender,
} from '../irc';
import type { IrcConfig, ServerConfig } from '../config-schema';
import type { ChannelState, ChannelTable } from './channel-state';
import type { QuitDebounce } from './quit-debounce';
import type { PrivacyFilter } from './privacy-filter';
import { PowerLevelBatch, type LevelChange } from './power-level-batch';
import { replyToOf, syntheticId } from './remote-ids';

export type Owner = { userId: string } | 'bot';

export interface IrcToMatrixDeps {
  network: string;
  cfg: ServerConfig;
  ctx: BridgeContext<IrcConfig>;
  channels: ChannelTable;
  /** Whether this connection's copy of a channel line is the one relayed (ChatRelay). */
  relays(connKey: string, channel: string, msgid: string | undefined): boolean;
  /** Which of our connections uses this nick right now (a Matrix user or the bot), if any. */
  ownerOf(nick: string): Owner | undefined;
  portalKey(channel: string): PortalKey;
  ghostKey(nick: string): GhostKey;
  displayName(nick: string): string;
  /**
   * The Matrix user to mention when `word` (a nick-shaped word of a channel line) is their nick:
   * on the channel through their own connection, and wanting pills (`!feature mentions`).
   */
  mentionTarget(channel: string, word: string): string | undefined;
  /**
   * Settles once the lines our Matrix users' connections sent to `channel` have echoed (their
   * msgids are then in the message map) or will not, within a bound; undefined when none is
   * waiting for its echo.
   */
  echoesSettled(channel: string): Promise<void> | undefined;
  onRelayed(): void;
  /** Netsplit debouncing of QUITs (membership.quit_debounce). */
  quits: QuitDebounce;
  /** The privacy filter, when `membership.irc_to_matrix.require_matrix_joined` is on. */
  privacy?: PrivacyFilter;
}

const SIMPLE_MODES = new Set(['i', 'k', 'm', 's']);
/** A run of the characters a nick may hold (RFC 2812 plus `-`): a nick mentioned as a word is one whole run. */
const NICK_WORD = /[A-Za-z0-9[\]\\`_^{|}-]+/g;

export class IrcToMatrix {
  /** Join fan-out for the initial NAMES snapshot, drip-fed (membership.flood_delay_ms). */
  private drip: Array<() => Promise<void>> = [];
  private dripTimer: NodeJS.Timeout | null = null;
  /** Per portal: the last event held back behind a reply waiting for echoes (see onMessage); later ones queue behind it. */
  private readonly held = new Map<string, Promise<void>>();

  private readonly levelBatch: PowerLevelBatch;

  constructor(private readonly d: IrcToMatrixDeps) {
    this.levelBatch = new PowerLevelBatch(d.cfg.power_level_grace_ms, ircLower, (channel, powerLevels) => {
      this.emit({ type: 'settings', portal: this.d.portalKey(channel), sender: { bot: true }, powerLevels, timestamp: Date.now() });
    });
  }

  stop(): void {
    this.d.quits.stop();
    this.d.privacy?.stop();
    this.levelBatch.stop();
    if (this.dripTimer) clearTimeout(this.dripTimer);
    this.dripTimer = null;
    this.drip = [];
  }

  private sender(nick: string): RemoteSender {
    return { ghost: this.d.ghostKey(nick), displayName: this.d.displayName(nick) };
  }

  /**
   * Hands an event to the core, after `waitFor` and after any event of its portal still held back:
   * in order. With a `gate`, asked in that order too, the event crosses only if it says yes.
   */
  private emit(ev: RemoteEvent, waitFor?: Promise<void>, gate?: () => Promise<boolean>): void {
    this.d.onRelayed();
    const key = portalKeyString(ev.portal);
    const before = this.held.get(key);
    if (!before && !waitFor && !gate) {
      this.send(ev);
      return;
    }
    const tail = Promise.all([before, waitFor])
      .then(async () => {
        if (!gate || (await gate())) this.send(ev);
      })
      .catch((err) => {
        this.d.ctx.log.warn('IRC event not applied to Matrix', { type: ev.type, network: this.d.network, err: String(err) });
      });
    this.held.set(key, tail);
    void tail.then(() => {
      if (this.held.get(key) === tail) this.held.delete(key);
    });
  }

  private send(ev: RemoteEvent): void {
    this.d.ctx.remote.emit(ev).catch((err) =>
      this.d.ctx.log.warn('IRC event not applied to Matrix', {
        type: ev.type,
        network: this.d.network,
        err: String(err),
      }),
    );
  }

  private isListener(connKey: string, channel: string): boolean {
    return this.d.channels.listener(channel) === connKey;
  }

  // ---- messages -----------------------------------------------------------------------------

  onMessage(connKey: string, owner: Owner, ev: IncomingMessage): void {
    // Every one of our connections in a channel sees each of its lines (most copies were dropped
    // unparsed already); one copy is relayed, so the others stop here, before any per-line work.
    if (ev.isChannel && !this.d.relays(connKey, ev.target, ev.msgid)) return;
    if (ev.isEcho || this.d.ownerOf(ev.from.nick)) return;
    // Server notices are not chat. Their prefix is a server name, which irc-framework reads as a host
    // with no nick (e.g. InspIRCd's TLS notice to every TLS client); bridged, they came from a nameless ghost.
    if (!ev.from.nick || (!ev.from.user && !ev.from.host)) return;
    const m = ircToMatrix(ev.text);
    let body = m.body;
    let html = m.formattedBody;
    const mentions: string[] = [];
    if (ev.isChannel) {
      // Nick mentions of bridged Matrix users become pills, so they are notified. A nick counts
      // where it stands as a whole word, which is exactly a maximal run of nick characters: each
      // such run is looked up once (per line, not per member of the channel).
      for (const [word] of body.matchAll(NICK_WORD)) {
        const userId = this.d.mentionTarget(ev.target, word);
        if (!userId || mentions.includes(userId)) continue;
        mentions.push(userId);
        const base = html ?? escapeHtml(body);
        const escNick = escapeRegex(escapeHtml(word));
        html = base.replace(
          new RegExp(`(^|[\\s,.:;!?(>])(${escNick})(?=$|[\\s,.:;!?)<])`, 'i'),
          (_all, pre: string, n: string) => `${pre}<a href="https://matrix.to/#/${encodeURIComponent(userId)}">${n}</a>`,
        );
        if (html === base) html = m.formattedBody;
      }
    } else if (owner === 'bot' || !this.d.cfg.private_messages.enabled) {
      return;
    }
    body ||= ' ';
    const portal = ev.isChannel ? this.d.portalKey(ev.target) : { network: this.d.network, id: this.d.ghostKey(ev.from.nick).id };
    // A `+draft/reply` the core cannot resolve (a line from before the bridge, a pruned entry) leaves a plain message.
    const replyTo = replyToOf(ev.tags);
    // A reply can overtake the echo that maps its target: a Matrix user's line reaches this listener
    // and the IRC user, who may be a bot answering at once, before the server's echo reaches the
    // sender's own connection (another socket; InspIRCd echoes after the channel's copies, and the
    // small echo can sit in TCP for tens of ms). So a reply to a channel where one of our lines
    // awaits its echo waits for it (bounded), and the portal's later events wait behind it.
    const echoes = replyTo && ev.isChannel ? this.d.echoesSettled(ev.target) : undefined;
    // Who of ours is on the channel now, as the line arrives: a member joining IRC a moment later
    // does not make this line theirs to read.
    const privacy = this.d.privacy;
    const onChannel = privacy && ev.isChannel ? new Set(this.d.channels.get(ev.target)?.joinedBy) : undefined;
    const gate =
      privacy && onChannel ? () => privacy.allows(ev.target, `${ev.target} on ${this.d.cfg.name ?? this.d.network}`, onChannel) : undefined;
    this.emit(
      {
        type: 'message',
        portal,
        sender: this.sender(ev.from.nick),
        id: ev.msgid ?? syntheticId(ev.from.nick, ev.time),
        timestamp: ev.time.getTime(),
        content: {
          kind: ev.kind === 'action' ? 'emote' : ev.kind === 'notice' ? 'notice' : 'text',
          body,
          ...(html ? { html } : {}),
          ...(mentions.length ? { mentions } : {}),
        },
        ...(replyTo ? { replyTo } : {}),
        ...(ev.isChannel || owner === 'bot' ? {} : { dmWith: owner.userId }),
      },
      echoes,
      gate,
    );
  }

  // ---- membership ---------------------------------------------------------------------------

  onJoin(connKey: string, ev: { channel: string; who: Sender; self: boolean; time: Date }): void {
    const ch = this.d.channels.ensure(ev.channel);
    if (ev.self) return; // our own join is recorded by the network before this runs
    if (!this.isListener(connKey, ev.channel)) return;
    ch.members.set(ev.who.nick, '');
    this.d.quits.rejoined(ircLower(ev.who.nick), ircLower(ev.channel)); // back from a netsplit: its held leave of this channel is dropped
    if (this.d.ownerOf(ev.who.nick) || !this.d.cfg.membership.irc_to_matrix.incremental) return;
    this.emit({
      type: 'membership',
      portal: this.d.portalKey(ev.channel),
      sender: this.sender(ev.who.nick),
      membership: 'join',
      timestamp: ev.time.getTime(),
    });
  }

  onPart(connKey: string, ev: { channel: string; who: Sender; reason: string; self: boolean; time: Date }): void {
    if (!this.isListener(connKey, ev.channel)) return;
    this.d.channels.get(ev.channel)?.members.delete(ev.who.nick);
    // Leaves are reported for every member; the core skips ghosts the room does not have (it keeps
    // their memberships in the store, so this holds across restarts, unlike a list kept here).
    if (ev.self || this.d.ownerOf(ev.who.nick) || !this.d.cfg.membership.irc_to_matrix.incremental) return;
    this.emit({
      type: 'membership',
      portal: this.d.portalKey(ev.channel),
      sender: this.sender(ev.who.nick),
      membership: 'leave',
      reason: ev.reason ? `Left: ${ev.reason}` : undefined,
      timestamp: ev.time.getTime(),
    });
  }

  onQuit(connKey: string, ev: { who: Sender; reason: string; self: boolean; time: Date }): void {
    if (ev.self) return;
    const leaves = new Map<string, () => void>();
    for (const ch of this.d.channels.all()) {
      if (!ch.members.has(ev.who.nick) || !this.isListener(connKey, ch.name)) continue;
      ch.members.delete(ev.who.nick);
      if (this.d.ownerOf(ev.who.nick) || !this.d.cfg.membership.irc_to_matrix.incremental) continue;
      const leave: RemoteEvent = {
        type: 'membership',
        portal: this.d.portalKey(ch.name),
        sender: this.sender(ev.who.nick),
        membership: 'leave',
        reason: ev.reason ? `Quit: ${ev.reason.replace(/^Quit: /, '')}` : 'Quit',
        timestamp: ev.time.getTime(),
      };
      leaves.set(ircLower(ch.name), () => this.emit(leave));
    }
    if (leaves.size) this.d.quits.quit(ircLower(ev.who.nick), leaves);
  }

  onKick(connKey: string, ev: { channel: string; nick: string; by: Sender; reason: string; time: Date }): void {
    if (!this.isListener(connKey, ev.channel)) return;
    const ch = this.d.channels.get(ev.channel);
    ch?.members.delete(ev.nick);
    const owner = this.d.ownerOf(ev.nick);
    if (owner === 'bot') return; // the network re-joins the bot
    const reason = ev.reason && ev.reason !== ev.by.nick ? `Kicked by ${ev.by.nick}: ${ev.reason}` : `Kicked by ${ev.by.nick}`;
    const actorOwner = this.d.ownerOf(ev.by.nick);
    // A kick done from a Matrix user's own connection mirrors a Matrix kick that already happened.
    if (actorOwner && actorOwner !== 'bot') return;
    // A server (no user@host), or a prefix with no nick: the bridge bot kicks for the network.
    const sender: RemoteSender = ev.by.nick && (ev.by.user || ev.by.host) ? this.sender(ev.by.nick) : { bot: true };
    this.emit({
      type: 'membership',
      portal: this.d.portalKey(ev.channel),
      sender,
      membership: 'kick',
      reason,
      ...(owner ? { targetMatrixUser: owner.userId } : { target: this.d.ghostKey(ev.nick) }),
      timestamp: ev.time.getTime(),
    });
  }

  /** A nick change is the old ghost leaving and the new one joining (ghost IDs follow nicks), as in MAI. */
  onNick(connKey: string, ev: { oldNick: string; newNick: string; self: boolean; time: Date }): void {
    const ours = this.d.ownerOf(ev.newNick) ?? this.d.ownerOf(ev.oldNick);
    for (const ch of this.d.channels.all()) {
      if (!ch.members.has(ev.oldNick) || !this.isListener(connKey, ch.name)) continue;
      const prefixes = ch.members.get(ev.oldNick) ?? '';
      ch.members.delete(ev.oldNick);
      ch.members.set(ev.newNick, prefixes);
      if (ours || ev.self || !this.d.cfg.membership.irc_to_matrix.incremental) continue;
      const portal = this.d.portalKey(ch.name);
      this.emit({
        type: 'membership',
        portal,
        sender: this.sender(ev.oldNick),
        membership: 'leave',
        reason: `Changed nick to ${ev.newNick}`,
        timestamp: ev.time.getTime(),
      });
      this.emit({ type: 'membership', portal, sender: this.sender(ev.newNick), membership: 'join', timestamp: ev.time.getTime() });
      const level = this.levelOf(prefixes);
      if (level !== null)
        this.emit({ type: 'settings', portal, sender: { bot: true }, powerLevels: [{ ghost: this.d.ghostKey(ev.newNick), level }] });
    }
    if (!ours && !ev.self) {
      void this.d.ctx.remote
        .updateProfile({ ghost: this.d.ghostKey(ev.newNick), displayName: this.d.displayName(ev.newNick) })
        .catch(() => undefined);
    }
  }

  /** The NAMES snapshot after one of our connections joined: members, power levels, optional initial sync. */
  onNames(connKey: string, conn: IrcConnection, ev: { channel: string; users: { nick: string; prefixes: string }[] }): void {
    const ch = this.d.channels.ensure(ev.channel);
    if (!this.isListener(connKey, ev.channel)) return;
    const symbolToMode = new Map(conn.isupport.prefixes.map((p) => [p.symbol, p.mode]));
    const first = !ch.synced;
    ch.synced = true;
    ch.members = new IrcCaseMap<string>();
    const levels: LevelChange[] = [];
    const joins: string[] = [];
    for (const u of ev.users) {
      const modes = [...u.prefixes].map((s) => symbolToMode.get(s) ?? '').join('');
      ch.members.set(u.nick, modes);
      const owner = this.d.ownerOf(u.nick);
      if (owner === 'bot') continue;
      const level = this.levelOf(modes);
      if (level !== null) levels.push(owner ? { matrixUserId: owner.userId, level } : { ghost: this.d.ghostKey(u.nick), level });
      if (!owner) joins.push(u.nick);
    }
    const portal = this.d.portalKey(ev.channel);
    if (first && this.d.cfg.membership.irc_to_matrix.initial) {
      for (const nick of joins)
        this.queueDrip(() => this.d.ctx.remote.emit({ type: 'membership', portal, sender: this.sender(nick), membership: 'join' }));
    }
    if (levels.length) {
      // After the joins (drip) so the ghosts exist in the room when their levels are set.
      const settings = { type: 'settings', portal, sender: { bot: true }, powerLevels: levels } as const;
      if (this.drip.length) this.queueDrip(() => this.d.ctx.remote.emit(settings));
      else this.emit(settings);
    }
  }

  private queueDrip(job: () => Promise<void>): void {
    this.drip.push(job);
    if (this.dripTimer) return;
    const next = () => {
      const j = this.drip.shift();
      if (!j) {
        this.dripTimer = null;
        return;
      }
      this.d.onRelayed();
      j().catch((err) => this.d.ctx.log.warn('initial membership sync step failed', { err: String(err) }));
      this.dripTimer = setTimeout(next, this.d.cfg.membership.flood_delay_ms);
      this.dripTimer.unref();
    };
    this.dripTimer = setTimeout(next, 0);
  }

  // ---- topic and modes ------------------------------------------------------------------------

  /**
   * Whether the topic crosses takes lookups; it is decided in the portal's order (a gate), so a
   * NICK right after the TOPIC is not applied first (which left the old ghost in the room, rejoined
   * to set a topic it had set before its nick changed). Formatting codes are not topic text:
   * `m.room.topic` is plain.
   */
  onTopic(connKey: string, ev: { channel: string; topic: string; setBy?: string; time: Date }): void {
    if (!this.isListener(connKey, ev.channel)) return;
    if (ev.setBy && this.d.ownerOf(ev.setBy)) return; // set from Matrix: already there
    const portal = this.d.portalKey(ev.channel);
    const topic = stripCodes(ev.topic);
    const stored = `${portal.network}\u0000${portal.id}`;
    const sender: RemoteSender = ev.setBy ? this.sender(ev.setBy) : { bot: true };
    this.emit({ type: 'meta', portal, sender, topic, timestamp: ev.time.getTime() }, undefined, async () => {
      // MAI: IRC topics update only bridge-owned portal rooms; a plumbed room's topic belongs to its owners.
      const rooms = await this.d.ctx.portals.getByKey(portal);
      if (rooms.length === 0 || rooms.some((p) => p.kind !== 'portal')) return false;
      if ((await this.d.ctx.data.get<string>('topics', stored)) === topic) return false; // replayed on every join: nothing changed
      await this.d.ctx.data.put('topics', stored, topic);
      return true;
    });
  }

  onMode(connKey: string, conn: IrcConnection, ev: { target: string; by: Sender; changes: ModeChange[]; time: Date }): void {
    if (!conn.isChannel(ev.target) || !this.isListener(connKey, ev.target)) return;
    const ch = this.d.channels.ensure(ev.target);
    const prefixModes = new Set(conn.isupport.prefixes.map((p) => p.mode));
    const levels: LevelChange[] = [];
    let settingsChanged = false;
    for (const c of ev.changes) {
      if (prefixModes.has(c.mode) && c.param) {
        const before = ch.members.get(c.param) ?? '';
        const after = c.adding ? (before.includes(c.mode) ? before : before + c.mode) : before.replace(c.mode, '');
        ch.members.set(c.param, after);
        const owner = this.d.ownerOf(c.param);
        if (owner === 'bot') continue;
        const level = this.levelOf(after);
        levels.push(
          owner ? { matrixUserId: owner.userId, level, previous: this.levelOf(before) } : { ghost: this.d.ghostKey(c.param), level },
        );
      } else if (SIMPLE_MODES.has(c.mode)) {
        if (c.adding) ch.modes.add(c.mode);
        else ch.modes.delete(c.mode);
        settingsChanged = true;
      }
    }
    if (levels.length) this.levelBatch.add(ev.target, levels);
    if (settingsChanged) this.emit({ ...this.roomSettings(ch, new Set(ev.changes.map((c) => c.mode))), timestamp: ev.time.getTime() });
  }

  /** The channel's modes as a snapshot (324): the simple ones that changed since we last knew become settings. */
  onChannelModes(connKey: string, ev: { channel: string; changes: ModeChange[]; time: Date }): void {
    if (!this.isListener(connKey, ev.channel)) return;
    const ch = this.d.channels.ensure(ev.channel);
    const now = new Set(ev.changes.filter((c) => c.adding && SIMPLE_MODES.has(c.mode)).map((c) => c.mode));
    const touched = new Set([...SIMPLE_MODES].filter((m) => now.has(m) !== ch.modes.has(m)));
    if (!touched.size) return;
    ch.modes.clear();
    for (const m of now) ch.modes.add(m);
    this.emit({ ...this.roomSettings(ch, touched), timestamp: ev.time.getTime() });
  }

  /**
   * The channel modes in `touched` as portal-room settings (the core applies them to portal rooms
   * only). Removing +i/+k or +s goes back to the portal's configured join rule and listing, not
   * to public: an operator who configured invite-only rooms keeps them (as in MAI).
   */
  private roomSettings(ch: ChannelState, touched: ReadonlySet<string>): RemoteEvent & { type: 'settings' } {
    const dyn = this.d.cfg.dynamic_channels;
    return {
      type: 'settings',
      portal: this.d.portalKey(ch.name),
      sender: { bot: true },
      ...(touched.has('i') || touched.has('k') ? { inviteOnly: ch.modes.has('i') || ch.modes.has('k') || dyn.join_rule === 'invite' } : {}),
      ...(touched.has('m') ? { moderated: ch.modes.has('m') } : {}),
      ...(touched.has('s') ? { published: !ch.modes.has('s') && dyn.published } : {}),
    };
  }

  /** Highest level among held prefix modes per mode_power_map; null = room default. */
  levelOf(modes: string): number | null {
    let best: number | null = null;
    for (const m of modes) {
      const l = this.d.cfg.mode_power_map[m];
      if (l !== undefined && (best === null || l > best)) best = l;
    }
    return best;
  }
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
