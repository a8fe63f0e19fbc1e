/**
 * Matrix → IRC: what Matrix users do in bridged rooms, said on IRC from their own connections.
 *
 * Messages and edits are rendered (message-render.ts), cut to the room's line limit (beyond it,
 * the full text is uploaded and linked) and stored before they are queued (durable-lines.ts), so
 * a line is neither lost nor sent twice across a crash; their echoes' msgids go to the message
 * map, so IRC replies find them. Joins and leaves become JOIN and PART, kicks of IRC users a KICK
 * from the moderator's connection, topics a TOPIC; and with `membership.matrix_to_irc.initial`
 * the rooms' members join their channels without having to speak first.
 */
import {
  BridgeError,
  type BridgeContext,
  type GhostKey,
  type LateRemoteIds,
  type MatrixEdit,
  type MatrixMembership,
  type MatrixMessage,
  type MatrixRoomMeta,
  type Portal,
  type SendResult,
} from '@causeway/bridge-core';
import { isValidChannelName, type PooledClient } from '../irc';
import type { IrcConfig, ServerConfig } from '../config-schema';
import type { RoomConfig } from './room-config';
import type { UserConnections } from './user-connections';
import { renderEdit, renderMessage, type RenderDeps, type ReplyStyle } from './message-render';
import { matrixRemoteId, replyTagsFor } from './remote-ids';
import { DurableLines, type StoredLine, type StoredLineRecord } from './durable-lines';
import { LineMirror } from './line-mirror';

export interface MatrixToIrcDeps {
  network: string;
  cfg: ServerConfig;
  ctx: BridgeContext<IrcConfig>;
  users: UserConnections;
  /** Rooms' own settings (`per_room_config`). */
  roomConfig: RoomConfig;
  /** The nick behind a ghost user ID of this network (case-folded), if it is one. */
  nickOfGhost(userId: string): string | undefined;
  /** Makes sure the relay bot sits in a bridged channel (no-op without a bot). */
  botJoin(channel: string, key?: string): void;
  /** A notice to a Matrix user (their admin room). */
  tell(userId: string, text: string): void;
  /** A Matrix message or edit was queued for IRC. */
  onRelayed(): void;
  /** A line from Matrix could not be written to IRC. */
  onUndelivered(): void;
  /** The ghost of an IRC nick, and its display name (for a line shown in a channel's other rooms). */
  ghostKey(nick: string): GhostKey;
  displayName(nick: string): string;
}

export class MatrixToIrc {
  /** How Matrix replies read on IRC (`irc.replies`). */
  private readonly replyStyle: ReplyStyle;
  /** Matrix → IRC lines kept until written to the socket (see durable-lines.ts). */
  private readonly lines: DurableLines;
  /** Lines left by the last run are queued again (before any new one; handlers wait for it). */
  private restored: Promise<void> = Promise.resolve();
  /** Pending initial Matrix→IRC joins (`membership.matrix_to_irc.initial`), drip-fed one per `flood_delay_ms`. */
  private readonly initialJoins: Array<{ userId: string; channel: string; key?: string }> = [];
  private readonly initialQueued = new Set<string>();
  private initialDripping = false;
  private stopped = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Shows Matrix users' lines in the channel's other Matrix rooms (line-mirror.ts). */
  private readonly mirror: LineMirror;

  constructor(private readonly d: MatrixToIrcDeps) {
    this.lines = new DurableLines(d.ctx.outbox.queue<StoredLine>('lines'), d.network);
    this.mirror = new LineMirror(d);
    const r = d.ctx.config.replies;
    this.replyStyle = {
      shortTemplate: r.short_template,
      longTemplate: r.long_template,
      shortWindowMs: r.short_window_s * 1000,
      quoteChars: r.quote_max_chars,
    };
  }

  /** Queues again what the last run stored but had not written; messages handled meanwhile wait for it. */
  restore(): Promise<void> {
    this.restored = this.resumeStoredLines().catch((err) => {
      this.d.ctx.log.error('Matrix messages stored for IRC before the restart could not be read', {
        network: this.d.network,
        err: String(err),
      });
    });
    return this.restored;
  }

  /** Lines not written by now stay stored for the next start; nobody is told they failed. */
  stop(): void {
    this.stopped = true;
    this.lines.stop();
    for (const t of this.timers) clearTimeout(t);
  }

  // ---- membership at start ----------------------------------------------------------------------

  /**
   * `membership.matrix_to_irc.initial`: every joined Matrix member of the given bridged rooms is
   * connected and JOINs the channel, without having to say anything first (at start, and when a
   * room is first linked). Excluded users are skipped, and with `initial_skip_idle_days` idle ones.
   * One join per `membership.flood_delay_ms`;
   * the connections themselves still go through the network's connect scheduler.
   */
  async joinMatrixMembers(portals: readonly Portal[]): Promise<void> {
    if (!this.d.cfg.membership.matrix_to_irc.initial) return;
    for (const p of portals) {
      if (p.kind === 'dm' || this.stopped) continue;
      let members: string[];
      try {
        members = await this.d.ctx.portals.joinedMatrixUsers(p.roomId);
      } catch (err) {
        this.d.ctx.log.warn('initial Matrix→IRC membership: members unreadable', { roomId: p.roomId, err: String(err) });
        continue;
      }
      for (const userId of members) {
        const id = `${userId}\u0000${p.key.id}`;
        if (this.d.users.isExcluded(userId) || this.initialQueued.has(id) || this.d.users.get(userId)?.channels.has(p.key.id)) continue;
        if (this.isIdle(userId)) continue;
        this.initialQueued.add(id);
        this.initialJoins.push({ userId, channel: p.key.id, key: p.data?.key as string | undefined });
      }
    }
    this.dripInitialJoins();
  }

  /** Left out of the initial sync by `membership.initial_skip_idle_days`. */
  private isIdle(userId: string): boolean {
    const days = this.d.cfg.membership.initial_skip_idle_days;
    if (!days) return false;
    const last = this.d.ctx.lastActive(userId);
    return last === undefined || Date.now() - last > days * 86_400_000;
  }

  private dripInitialJoins(): void {
    if (this.initialDripping || this.stopped) return;
    const job = this.initialJoins.shift();
    if (!job) return;
    this.initialDripping = true;
    this.initialQueued.delete(`${job.userId}\u0000${job.channel}`);
    // Wait for registration before the JOIN: a JOIN queued on a connecting client would go out with
    // every other one the moment they all register, which is exactly the flood the drip avoids.
    void this.d.users
      .clientFor(job.userId)
      .then(async (client) => {
        await this.whenConnected(job.userId, client.status === 'connected', 60_000);
        return client.join(job.channel, job.key);
      })
      .catch((err) => this.d.ctx.log.warn('initial Matrix→IRC join failed', { userId: job.userId, channel: job.channel, err: String(err) }))
      .finally(() =>
        this.later(this.d.cfg.membership.flood_delay_ms, () => {
          this.initialDripping = false;
          this.dripInitialJoins();
        }),
      );
  }

  /** Resolves when the user's connection is registered (or failed, or the wait is over). */
  private whenConnected(userId: string, already: boolean, ms: number): Promise<void> {
    if (already) return Promise.resolve();
    const pool = this.d.users.pool;
    return new Promise((resolve) => {
      const done = (key?: string) => {
        if (key !== undefined && key !== userId) return;
        clearTimeout(t);
        pool.off('connected', done);
        pool.off('failed', done);
        resolve();
      };
      const t = setTimeout(() => done(), ms);
      pool.on('connected', done);
      pool.on('failed', done);
    });
  }

  private later(ms: number, fn: () => unknown): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      void fn();
    }, ms);
    t.unref();
    this.timers.add(t);
  }

  // ---- messages and edits -----------------------------------------------------------------------

  private renderDeps(): RenderDeps {
    return {
      nickFor: (userId) => this.d.nickOfGhost(userId) ?? this.d.users.nickOf(userId),
      publicUrl: (mxc, name) => this.d.ctx.media.publicUrl(mxc, name),
      replies: this.replyStyle,
    };
  }

  private checkUser(userId: string): void {
    if (this.d.users.isExcluded(userId)) {
      throw new BridgeError(`You are not allowed to use ${this.d.network} through this bridge.`, { notify: 'admin-room' });
    }
  }

  /** Where a portal's traffic goes on IRC, joining the channel first if needed. */
  private async targetFor(portal: Portal, client: PooledClient, userId: string): Promise<string> {
    if (portal.kind === 'dm') {
      if (!this.d.cfg.private_messages.enabled) throw new BridgeError(`Private messages are disabled on ${this.d.network}.`);
      if (portal.dmUser && portal.dmUser !== userId) throw new BridgeError('Only the owner of this private chat can talk in it.');
      return portal.key.id;
    }
    const channel = portal.key.id;
    if (!client.channels.has(channel)) await client.join(channel, portal.data?.key as string | undefined);
    this.d.botJoin(channel, portal.data?.key as string | undefined);
    return channel;
  }

  /** `clients.line_limit`, or what the room chose within `per_room_config.line_limit_max`. */
  private async lineLimitFor(portal: Portal): Promise<number> {
    if (portal.kind === 'dm' || !this.d.ctx.config.per_room_config.enabled) return this.d.cfg.clients.line_limit;
    return (await this.d.roomConfig.settings(portal.roomId)).lineLimit;
  }

  async handleMessage(msg: MatrixMessage): Promise<SendResult> {
    await this.restored;
    const userId = msg.sender.userId;
    const remoteIds = [matrixRemoteId(msg.eventId)];
    // Stored before the crash: its lines go out from the store, not a second time.
    if (msg.redelivered && this.lines.holds(msg.eventId)) return { remoteIds };
    this.checkUser(userId);
    const client = await this.d.users.clientFor(userId, msg.sender.displayName);
    const target = await this.targetFor(msg.portal, client, userId);
    const rendered = renderMessage(msg, this.renderDeps());
    let text = rendered.text;
    const lines = client.connection.planMessage(target, text, rendered.kind);
    const lineLimit = await this.lineLimitFor(msg.portal);
    if (lines.length > lineLimit) text = await this.longMessage(msg.content.body, client, lines, lineLimit);
    // A reply keeps its "nick: text" rendering *and* gets the reply tag: the tag carries no text, most
    // IRC clients do not show it, and addressing someone by nick is how IRC replies read anyway.
    const tags = replyTagsFor(msg.replyTo);
    const message = {
      eventId: msg.eventId,
      timestamp: msg.timestamp,
      portal: { roomId: msg.portal.roomId, key: msg.portal.key },
      sender: { userId },
      content: { body: msg.content.body },
    };
    await this.sendDurably(client, msg, rendered.kind, target, text, tags, (i) => ({ message, part: i + 1 }));
    this.mirror.message(msg.portal, msg.eventId, client.connection.nick, rendered.kind, text, msg.timestamp);
    // Known now: the event ID (Matrix replies and edits find the sender and text through it). The
    // msgids the server gives the lines follow with their echoes.
    return { remoteIds };
  }

  /**
   * Stores the lines of a Matrix message or edit (durable-lines.ts), then queues them on the user's
   * connection: the event is handled once they are stored, and they go out even across a crash.
   * Connected, the text is split now, one stored entry per line; otherwise it is stored whole and
   * split once the connection knows the server's line budget.
   */
  private async sendDurably(
    client: PooledClient,
    event: MatrixMessage | MatrixEdit,
    kind: StoredLine['kind'],
    target: string,
    text: string,
    tags: Record<string, string> | undefined,
    echo: (line: number) => StoredLine['echo'],
  ): Promise<void> {
    const pieces =
      client.status === 'connected' && client.connection.state === 'registered'
        ? client.connection.planMessage(target, text, kind)
        : [text];
    const channelKey = event.portal.kind === 'dm' ? undefined : (event.portal.data?.key as string | undefined);
    const records = await this.lines.store(
      event.sender.userId,
      pieces.map((piece, i): StoredLine => ({
        kind,
        target,
        text: piece,
        eventId: event.eventId,
        displayName: event.sender.displayName,
        ...(i === 0 && tags ? { tags } : {}),
        ...(channelKey ? { channelKey } : {}),
        ...(this.d.cfg.clients.echo_message ? { echo: echo(i) } : {}),
      })),
    );
    this.d.onRelayed();
    for (const r of records) this.sendStored(client, r);
  }

  /** Queues a stored line: marked before it is written, removed once written or given up (failures reach the user via onUndelivered). */
  private sendStored(client: PooledClient, record: StoredLineRecord): void {
    const v = record.value;
    const hooks = this.lines.hooks(record);
    void client
      .sendMessage(v.kind, v.target, v.text, {
        ...(v.tags ? { firstLineTags: v.tags } : {}),
        ...(v.echo ? { onEcho: this.echoRecorder(v.echo) } : {}),
        beforeWrite: hooks.beforeWrite,
        queuedAt: record.createdAt,
      })
      .then((r) => {
        hooks.settled(r);
        if (!r.delivered) this.d.onUndelivered();
        else this.d.ctx.metrics?.observeRemoteSendQueueDelay(r.queueDelayMs);
      });
  }

  /**
   * Lines from Matrix the last run stored but had not written (see durable-lines.ts), sent first,
   * in order, on each user's connection once it is up (channels joined again first). A line
   * marked as being written when the bridge died may have gone out: like a redelivered event, it
   * is sent again.
   */
  private async resumeStoredLines(): Promise<void> {
    const byUser = await this.lines.restore();
    let count = 0;
    let maybeSent = 0;
    for (const [userId, records] of byUser) {
      if (this.d.users.isExcluded(userId)) {
        for (const r of records) this.lines.hooks(r).settled({ delivered: false, lines: 0, sent: 0, queueDelayMs: 0 });
        continue;
      }
      const client = await this.d.users.clientFor(userId, records[0].value.displayName);
      for (const r of records) {
        const { target, channelKey } = r.value;
        if (isValidChannelName(target) && !client.channels.has(target)) {
          void client.join(target, channelKey).catch(() => undefined);
          this.d.botJoin(target, channelKey);
        }
        this.sendStored(client, r);
        count++;
        if (r.attempted) maybeSent++;
      }
    }
    if (count) {
      this.d.ctx.log.info('Matrix messages stored for IRC before the restart are sent now', {
        network: this.d.network,
        lines: count,
        users: byUser.size,
        mayHaveGoneOutBefore: maybeSent,
      });
    }
  }

  /**
   * Records the msgid of each echoed line of a Matrix message in the message map (parts 1, 2, … after
   * the event ID's part 0), so an IRC user's `+draft/reply` to any of its lines becomes a Matrix
   * reply; or, for an edit, for the *edited* message, not the edit event: Matrix clients show the
   * edit folded into the original (an edit event is not something one replies to), so an IRC user
   * replying to the "s/old/new/" or "* new text" line is replying to that message as Matrix users
   * see it. The core appends those after the message's own parts and any earlier edit's (see
   * LateEditRemoteIds), so the original lines' msgids still map too.
   */
  private echoRecorder(echo: NonNullable<StoredLine['echo']>): (msgid: string) => void {
    let n = 0;
    const late = (msgid: string): LateRemoteIds =>
      'edit' in echo ? { edit: echo.edit, remoteIds: [msgid] } : { message: echo.message, remoteIds: [msgid], firstPart: echo.part + n++ };
    return (msgid) => {
      this.d.ctx.remote.addRemoteIds(late(msgid)).catch((err) =>
        this.d.ctx.log.warn('msgid of a line from Matrix not recorded', {
          eventId: 'edit' in echo ? echo.edit.target.eventId : echo.message.eventId,
          err: String(err),
        }),
      );
    };
  }

  /**
   * Beyond line_limit lines, the full text is uploaded and IRC gets the first line and a link
   * (MAI's behaviour). If the upload fails: the first lines and "(truncated)", never nothing.
   */
  private async longMessage(body: string, client: PooledClient, lines: string[], lineLimit: number): Promise<string> {
    const nick = client.connection.nick;
    const name = `${nick}_${new Date().toISOString().replace(/[:.]/g, '-')}.txt`;
    try {
      const mxc = await this.d.ctx.media.upload(Buffer.from(body, 'utf8'), { name, mimetype: 'text/plain; charset=utf-8' });
      const url = this.d.ctx.media.publicUrl(mxc, name);
      if (!url) throw new Error('no public media URL configured');
      const first = lines[0].length > 120 ? `${lines[0].slice(0, 120)}` : lines[0];
      return `${first}... (full message at <${url}>)`;
    } catch (err) {
      this.d.ctx.log.warn('long message upload failed; sending it truncated', { err: String(err) });
      return [...lines.slice(0, Math.max(1, lineLimit - 1)), '...(truncated)'].join('\n');
    }
  }

  async handleEdit(edit: MatrixEdit): Promise<void> {
    await this.restored;
    if (edit.redelivered && this.lines.holds(edit.eventId)) return;
    const userId = edit.sender.userId;
    this.checkUser(userId);
    const client = await this.d.users.clientFor(userId, edit.sender.displayName);
    const target = await this.targetFor(edit.portal, client, userId);
    const kind = edit.content.kind === 'emote' ? 'action' : edit.content.kind === 'notice' ? 'notice' : 'privmsg';
    // "* new text" of a long edit is as many lines as the message: line_limit holds for it too, and
    // the line keeps the "* " that marks a correction.
    let text = renderEdit(edit);
    const lineLimit = await this.lineLimitFor(edit.portal);
    if (client.connection.planMessage(target, text, kind).length > lineLimit) {
      const body = edit.content.body;
      text = `* ${await this.longMessage(body, client, client.connection.planMessage(target, body, kind), lineLimit)}`;
    }
    const ref = {
      timestamp: edit.timestamp,
      portal: { roomId: edit.portal.roomId, key: edit.portal.key },
      target: { eventId: edit.target.eventId, sender: edit.target.sender },
      content: { body: edit.content.body },
    };
    await this.sendDurably(client, edit, kind, target, text, undefined, () => ({ edit: ref }));
    // The copies in the channel's other rooms show the new text as it would read sent anew.
    const anew = renderMessage(edit, this.renderDeps());
    this.mirror.edit(
      edit.portal,
      { eventId: edit.eventId, targetEventId: edit.target.eventId, timestamp: edit.timestamp },
      client.connection.nick,
      anew.kind,
      anew.text,
    );
  }

  // ---- membership and topics ----------------------------------------------------------------------

  async handleMembership(change: MatrixMembership): Promise<void> {
    const portal = change.portal;
    if (portal.kind === 'dm') return;
    const channel = portal.key.id;
    const actor = change.sender.userId;
    const users = this.d.users;
    if (change.targetIsGhost) {
      // A Matrix moderator kicking an IRC user: KICK from the moderator's own connection.
      const nick = this.d.nickOfGhost(change.target);
      if (!nick || actor === change.target || (change.membership !== 'leave' && change.membership !== 'ban')) return;
      if (users.isExcluded(actor)) return;
      const client = await users.clientFor(actor, change.sender.displayName);
      if (!client.channels.has(channel)) await client.join(channel, portal.data?.key as string | undefined);
      if (client.status !== 'connected') {
        this.d.tell(actor, `Could not kick ${nick} from ${channel}: you are not connected to ${this.d.network} yet.`);
        return;
      }
      await client.connection.kick(channel, nick, change.reason ?? `Kicked by ${actor}`);
      return;
    }
    const target = change.target;
    if (users.isExcluded(target)) return;
    if (change.membership === 'join') {
      if (!this.d.cfg.membership.matrix_to_irc.incremental) return;
      const client = await users.clientFor(target, change.sender.userId === target ? change.sender.displayName : undefined);
      await client.join(channel, portal.data?.key as string | undefined);
      this.d.botJoin(channel, portal.data?.key as string | undefined);
      return;
    }
    if (change.membership === 'leave' || change.membership === 'ban') {
      const client = users.get(target);
      if (!client || !client.channels.has(channel)) return;
      const reason = actor !== target ? `Kicked by ${actor}${change.reason ? `: ${change.reason}` : ''}` : change.reason;
      await client.part(channel, reason);
    }
  }

  async handleRoomMeta(change: MatrixRoomMeta): Promise<void> {
    if (change.topic === undefined || change.portal.kind === 'dm') return;
    const userId = change.sender.userId;
    if (this.d.users.isExcluded(userId)) return;
    const client = await this.d.users.clientFor(userId, change.sender.displayName);
    const channel = await this.targetFor(change.portal, client, userId);
    if (client.status !== 'connected') {
      this.d.tell(
        userId,
        `The topic of ${channel} was not changed on ${this.d.network}: you are not connected yet. Try again in a moment.`,
      );
      return;
    }
    await this.d.ctx.data.put('topics', `${this.d.network}\u0000${channel}`, change.topic);
    const r = await client.connection.topic(channel, change.topic);
    if (!r.ok) this.d.tell(userId, `The topic of ${channel} was not changed on ${this.d.network}: ${r.reason}`);
  }
}
