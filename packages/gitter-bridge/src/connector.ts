/**
 * The Gitter connector: what the core calls. It owns the relay account, the puppeted users'
 * accounts (puppets.ts), one stream per linked Gitter room (room-streams.ts) and the translation
 * both ways (inbound.ts, outbound.ts). Portals are keyed by the Gitter room id (a room's URI can
 * change); one Gitter room may be linked to several Matrix rooms, which all get its messages.
 *
 * Matrix → Gitter sends go through each account's durable send queue and the handler waits for
 * Gitter's answer, so the message map gets the Gitter id and a crash before the answer leaves the
 * operation stored for the next start (see account.ts, outbox-send-store.ts).
 */
import {
  BridgeError,
  ConfigError,
  LruMap,
  type AliasResolver,
  type BridgeConnector,
  type BridgeContext,
  type BridgeInfoDisplay,
  type BridgeInfoProvider,
  type DurableQueue,
  type EditHandler,
  type LinkHandler,
  type MatrixEdit,
  type MatrixMembership,
  type MatrixMessage,
  type MatrixRedaction,
  type MembershipHandler,
  type MessageContent,
  type Portal,
  type PortalInfo,
  type PortalKey,
  type RedactionHandler,
  RoomMirror,
  type SendResult,
} from '@causeway/bridge-core';
import { GitterConfigSchema, type GitterConfig } from './config-schema';
import { GITTER_NETWORK, GITTER_PROTOCOL } from './protocol';
import { GitterAccount, kindOf, type Delivery } from './account';
import { Outcomes } from './outcomes';
import { Puppets } from './puppets';
import { RoomStreams } from './room-streams';
import { MemberSync } from './member-sync';
import { gitterEvent, ghostKey } from './inbound';
import { mirroredEvent } from './mirror';
import { gitterText } from './outbound';
import { gitterMetrics, type GitterMetrics } from './metrics';
import { registerCommands } from './commands';
import type { AdminDeps } from './admin-deps';
import { registerProvisioning } from './provisioning';
import type { StoredOp } from './outbox-send-store';
import {
  exceedsGitterLimit,
  GitterEditWindowError,
  GitterHttpError,
  GITTER_MAX_TEXT_LENGTH,
  messageVersion,
  splitGitterText,
  type GitterMessage,
  type GitterRoom,
  type MessageSource,
  type SendOutcome,
} from './gitter';

/** Room for the relay's name prefix when a long message is split. */
const SPLIT_AT = GITTER_MAX_TEXT_LENGTH - 300;
/** How much of a long message's text the link message shows. */
const PREVIEW_CHARS = 300;
const ROOM_ID = /^[0-9a-f]{24}$/;
const ROOM_URI = /^[A-Za-z0-9_.-]+(?:\/[A-Za-z0-9_.-]+)*$/;

export class GitterConnector
  implements BridgeConnector<GitterConfig>, EditHandler, RedactionHandler, AliasResolver, LinkHandler, MembershipHandler, BridgeInfoProvider
{
  readonly protocol = GITTER_PROTOCOL;
  readonly configSchema = GitterConfigSchema;
  private ctxRef?: BridgeContext<GitterConfig>;
  private mirrors?: RoomMirror;
  relay!: GitterAccount;
  puppets!: Puppets;
  streams!: RoomStreams;
  private members!: MemberSync;
  metrics!: GitterMetrics;
  private queue!: DurableQueue<StoredOp>;
  /** Every settled Matrix → Gitter operation is also shown in the Gitter room's other Matrix rooms (mirror.ts). */
  private readonly outcomes = new Outcomes((outcome) => this.mirror(outcome));
  /** Message versions a puppet account created (`id:v`), so their stream copies are not bridged back. */
  private readonly ownVersions = new Set<string>();
  /** Authors of recent Gitter messages, for the ghost that redacts one when it is deleted. */
  private readonly authors = new LruMap<string, string>(20_000);
  /** Gitter messages deleted because a Matrix user redacted them (set before the DELETE: the stream can be first). */
  private readonly deletedFromMatrix = new LruMap<string, true>(5_000);
  private metricsTimer?: NodeJS.Timeout;
  private readonly requestsSeen = new Map<GitterAccount, number>();

  get ctx(): BridgeContext<GitterConfig> {
    if (!this.ctxRef) throw new Error('GitterConnector used before init()');
    return this.ctxRef;
  }

  /** Gitter is one network: templates leave out `$NETWORK`. */
  networkNames(): readonly string[] {
    return [GITTER_NETWORK];
  }

  init(ctx: BridgeContext<GitterConfig>): void {
    this.ctxRef = ctx;
    this.mirrors = new RoomMirror(ctx, { thing: "a Matrix user's message", place: 'its Gitter room' });
    this.metrics = gitterMetrics(ctx.metrics);
    this.queue = ctx.outbox.queue<StoredOp>('sends');
    this.relay = new GitterAccount('relay', ctx.config.relay.token, ctx, this.queue, this.outcomes, this.metrics);
    this.puppets = new Puppets(ctx, this.queue, this.outcomes, this.metrics, (from) => this.moveToRelay(from));
    this.streams = new RoomStreams(
      ctx.config,
      this.relay.client,
      ctx.data,
      {
        onMessage: (roomId, m, source) => this.onGitterMessage(roomId, m, source),
        onRemove: (roomId, id, author) => this.onGitterRemove(roomId, id, author),
        onFatal: (roomId, err) => void this.onStreamRefused(roomId, err),
      },
      this.metrics,
      ctx.log.child({ module: 'gitter-streams' }),
    );
    this.members = new MemberSync(ctx.config.membership, {
      rest: this.relay.client,
      data: ctx.data,
      log: ctx.log.child({ module: 'gitter-members' }),
      excluded: (id) => id === this.relay.user?.id || this.puppets.isPuppetGitterId(id) !== undefined,
      emit: (roomId, user, membership) =>
        this.ctx.remote.emit({
          type: 'membership',
          portal: this.portalKey(roomId),
          sender: {
            ghost: ghostKey(user.username),
            displayName: user.displayName || user.username,
            ...(user.avatarUrl ? { avatarUrl: user.avatarUrl } : {}),
          },
          membership,
        }),
    });
    const deps: AdminDeps = { ctx, links: { link: (roomId, uriOrId, actor) => this.link(roomId, uriOrId, actor) }, puppets: this.puppets };
    registerCommands(deps);
    registerProvisioning(deps);
  }

  async start(): Promise<void> {
    const me = await this.relay.identify().catch((err: unknown) => {
      if (err instanceof GitterHttpError && err.kind === 'unauthorized') {
        throw new ConfigError('The Gitter relay account cannot log in', [
          'gitter.relay.token: Gitter refused it (401): revoked, expired or mistyped',
        ]);
      }
      throw err;
    });
    this.ctx.log.info('Gitter relay account', { username: me.username });
    await this.relay.resume();
    await this.puppets.start();
    const rooms = new Set((await this.ctx.portals.list({ network: GITTER_NETWORK })).map((p) => p.key.id));
    for (const roomId of rooms) await this.follow(roomId);
    this.members.start();
    this.startMetrics();
  }

  async stop(): Promise<void> {
    if (this.metricsTimer) clearInterval(this.metricsTimer);
    await Promise.all([this.streams.stop(), this.members.stop()]);
    await Promise.all([this.relay.stop(), this.puppets.stop()]);
  }

  private startMetrics(): void {
    const sample = () => {
      this.ctx.metrics.setRemoteConnections(this.streams.states());
      for (const account of [this.relay, ...this.puppets.all()]) {
        const seen = this.requestsSeen.get(account) ?? 0;
        const now = account.client.requests;
        if (now > seen) this.metrics.apiCalls.inc({ account: kindOf(account.name) }, now - seen);
        this.requestsSeen.set(account, now);
      }
    };
    sample();
    this.metricsTimer = setInterval(sample, 5_000);
    this.metricsTimer.unref();
  }

  // ---- Gitter → Matrix ----------------------------------------------------------------------

  private portalKey(roomId: string): PortalKey {
    return { network: GITTER_NETWORK, id: roomId };
  }

  /** Queues a Gitter message for Matrix; resolves once queued, with the promise of its being applied. */
  private async onGitterMessage(roomId: string, m: GitterMessage, source: MessageSource): Promise<{ applied: Promise<void> } | void> {
    if (m.fromUser?.id === this.relay.user?.id) return; // the relay's own posts
    const puppetOwner = this.puppets.isPuppetGitterId(m.fromUser.id);
    if (puppetOwner) {
      // The stream copy can come before the POST's answer: let the account's sends settle first.
      await this.puppets.accountOf(puppetOwner)?.queue.idle();
      if (this.ownVersions.has(`${m.id}:${messageVersion(m)}`)) return;
    }
    // Catch-up fetches messages never passed on (in their current version); a recheck finds newer
    // versions of ones that were (edits made while the stream was down).
    const isNew = source === 'catch-up' || (source === 'stream' && messageVersion(m) === 1);
    const event = gitterEvent(m, this.portalKey(roomId), isNew, {
      ghosts: this.ctx.ghosts,
      puppetOf: (username) => this.puppets.matrixUserOf(username),
    });
    this.authors.set(m.id, m.fromUser.username);
    this.metrics.messages.inc({ direction: 'gitter_to_matrix' });
    return { applied: this.ctx.remote.emit(event) };
  }

  /**
   * Shows a delivered Matrix → Gitter operation in the other Matrix rooms linked to its Gitter
   * room (the core's RoomMirror; how Gitter shows it: mirror.ts).
   */
  private mirror(outcome: SendOutcome): void {
    const roomId = outcome.ok ? (outcome.op as StoredOp).matrix?.roomId : undefined;
    if (!roomId || !this.mirrors) return;
    void this.mirrors.show({
      roomId,
      portal: this.portalKey(outcome.op.roomId),
      build: () => {
        const event = mirroredEvent(outcome, this.portalKey(outcome.op.roomId), {
          ghosts: this.ctx.ghosts,
          puppetOf: (username) => this.puppets.matrixUserOf(username),
          authorOf: (id) => this.authors.peek(id),
        });
        if (event?.type === 'message' && 'ghost' in event.sender) this.authors.set(event.id, event.sender.ghost.id);
        return event;
      },
      logFields: { roomId: outcome.op.roomId },
    });
  }

  private async onGitterRemove(roomId: string, messageId: string, knownAuthor?: string): Promise<void> {
    if (this.deletedFromMatrix.has(messageId)) return; // our own deletion coming back
    // A removal names only the message: its author's ghost redacts it when we saw who that was
    // (a ghost may redact its own events in any room), else the bot (which needs the power to).
    const author = this.authors.peek(messageId) ?? knownAuthor;
    const sender = author ? { ghost: ghostKey(author) } : { bot: true as const };
    await this.ctx.remote.emit({ type: 'delete', portal: this.portalKey(roomId), sender, targetId: messageId });
  }

  private async onStreamRefused(roomId: string, err: Error): Promise<void> {
    this.ctx.log.warn("Gitter refused a room's stream; its links are broken", { roomId, err: err.message });
    for (const p of await this.ctx.portals.getByKey(this.portalKey(roomId))) {
      await this.ctx.notify
        .roomNotice(
          p.roomId,
          'Gitter no longer lets the bridge read this room (the relay account lost access), so messages from Gitter have stopped. ' +
            'An admin can link it again with !link once access is restored.',
        )
        .catch(() => undefined);
    }
  }

  // ---- Matrix → Gitter ----------------------------------------------------------------------

  /** The account a Matrix user's messages go out with. */
  private accountFor(userId: string): GitterAccount {
    return this.puppets.accountOf(userId) ?? this.relay;
  }

  /** A Matrix user ID → the Gitter username it stands for (a Gitter ghost, or a puppeted user). */
  usernameOf(userId: string): string | undefined {
    const local = /^@([^:]+):(.+)$/.exec(userId);
    if (local && local[2] === this.ctx.domain) {
      const parsed = this.ctx.ghosts.parseLocalpart(local[1], [GITTER_NETWORK]);
      if (parsed) return parsed.id;
    }
    return this.puppets.usernameOf(userId);
  }

  private render(content: MessageContent, sender: { userId: string; displayName: string }, account: GitterAccount, relay: boolean) {
    return gitterText(content, {
      ...(relay && this.ctx.config.relay.sender_prefix ? { relayName: sender.displayName } : {}),
      ...(account.user ? { ownUsername: account.user.username } : {}),
      usernameOf: (u) => this.usernameOf(u),
      mediaUrl: (mxc, name) => this.ctx.media.publicUrl(mxc, name),
    });
  }

  /** Text that fits Gitter's limit: a long one is uploaded and linked (split when that is impossible). */
  private async fit(text: string, fullBody: string): Promise<string[]> {
    if (!exceedsGitterLimit(text)) return [text];
    try {
      const mxc = await this.ctx.media.upload(Buffer.from(fullBody, 'utf8'), {
        name: 'message.txt',
        mimetype: 'text/plain; charset=utf-8',
      });
      const url = this.ctx.media.publicUrl(mxc, 'message.txt');
      if (url) {
        const cut = text.slice(0, PREVIEW_CHARS);
        const preview = cut.replace(/\s+\S*$/, '') || cut;
        return [`${preview}… ([full message, ${fullBody.length} characters](${url}))`];
      }
    } catch (err) {
      this.ctx.log.warn('could not upload a long message; splitting it', { err: String(err) });
    }
    return splitGitterText(text, SPLIT_AT);
  }

  async handleMatrixMessage(msg: MatrixMessage): Promise<SendResult> {
    const roomId = msg.portal.key.id;
    const account = this.accountFor(msg.sender.userId);
    const relayed = account === this.relay;
    if (!relayed) await this.joinAsPuppet(account, roomId);
    const t = this.render(msg.content, msg.sender, account, relayed);
    const parts = await this.fit(t.text, msg.content.body);
    const relayParts = relayed ? undefined : await this.fit(this.render(msg.content, msg.sender, this.relay, true).text, msg.content.body);
    const parentId = msg.threadRoot?.remoteId ?? msg.replyTo?.remoteId;
    const ids: string[] = [];
    for (const [i, text] of parts.entries()) {
      const op: StoredOp & { ref: string } = {
        kind: 'send',
        roomId,
        ref: `${msg.eventId}#${i}`,
        body: { text, ...(t.status ? { status: true } : {}), ...(parentId ? { parentId } : {}) },
        matrix: {
          eventId: msg.eventId,
          roomId: msg.portal.roomId,
          sender: msg.sender.userId,
          ...(relayParts ? { relayText: relayParts.length === parts.length ? relayParts[i] : relayParts.join('\n') } : {}),
        },
      };
      const d = await account.submit(op, msg.redelivered);
      if (!d.ok) throw this.refusal(d, 'message');
      if (d.messageId) {
        ids.push(d.messageId);
        if (!relayed) this.ownVersions.add(`${d.messageId}:${d.version ?? 1}`);
      }
    }
    this.metrics.messages.inc({ direction: 'matrix_to_gitter' });
    return { remoteIds: ids };
  }

  async handleMatrixEdit(edit: MatrixEdit): Promise<SendResult | void> {
    const roomId = edit.portal.key.id;
    const account = this.accountFor(edit.sender.userId);
    const relayed = account === this.relay;
    const t = this.render(edit.content, edit.sender, account, relayed);
    const [text] = await this.fit(t.text, edit.content.body);
    const op: StoredOp & { ref: string } = {
      kind: 'edit',
      roomId,
      ref: `edit:${edit.eventId}`,
      target: { messageId: edit.target.remoteId },
      text,
      matrix: { eventId: edit.eventId, roomId: edit.portal.roomId, sender: edit.sender.userId },
    };
    const d = await account.submit(op, edit.redelivered);
    if (d.ok) {
      if (!relayed && d.messageId) this.ownVersions.add(`${d.messageId}:${d.version ?? 1}`);
      return;
    }
    if (!(d.error instanceof GitterEditWindowError)) throw this.refusal(d, 'edit');
    // Past Gitter's edit window: the correction goes out as a new message, and the sender is told.
    const correction: StoredOp & { ref: string } = {
      kind: 'send',
      roomId,
      ref: `edit:${edit.eventId}#new`,
      body: { text: `${text} _(edited)_`, ...(t.status ? { status: true } : {}) },
      matrix: { eventId: edit.eventId, roomId: edit.portal.roomId, sender: edit.sender.userId },
    };
    const sent = await account.submit(correction, edit.redelivered);
    await this.ctx.notify.notice(
      edit.sender.userId,
      sent.ok
        ? 'Your edit could not be made on Gitter: its edit window for that message has passed. The new text was sent as a new message.'
        : 'Your edit could not be made on Gitter: its edit window for that message has passed.',
    );
    if (!sent.ok) throw this.refusal(sent, 'edit');
    if (sent.messageId && !relayed) this.ownVersions.add(`${sent.messageId}:1`);
    return sent.messageId ? { remoteIds: [sent.messageId] } : undefined;
  }

  async handleMatrixRedaction(r: MatrixRedaction): Promise<void> {
    const account = this.accountFor(r.sender.userId);
    for (const id of r.target.remoteIds ?? [r.target.remoteId]) this.deletedFromMatrix.set(id, true);
    const d = await account.submit(
      {
        kind: 'delete',
        roomId: r.portal.key.id,
        ref: `delete:${r.eventId}`,
        target: { messageId: r.target.remoteId },
        matrix: { eventId: r.eventId, roomId: r.portal.roomId, sender: r.sender.userId },
      },
      r.redelivered,
    );
    if (d.ok) return;
    if (d.error instanceof GitterHttpError && d.error.kind === 'not_found') {
      throw new BridgeError(
        'The message could not be deleted on Gitter: this Gitter server does not support deleting messages (or it is already gone).',
        { notify: 'admin-room' },
      );
    }
    throw this.refusal(d, 'deletion');
  }

  /** A puppet joins the Gitter room before posting; a refused token is reported like a refused send. */
  private async joinAsPuppet(account: GitterAccount, roomId: string): Promise<void> {
    try {
      await account.ensureJoined(roomId);
    } catch (err) {
      if (err instanceof GitterHttpError && err.kind === 'unauthorized') return; // the send's 401 tells the user
      if (err instanceof GitterHttpError)
        throw new BridgeError('Your Gitter account could not join this Gitter room, so your message was not delivered.', { cause: err });
      throw err;
    }
  }

  /** A Gitter refusal as a BridgeError the core shows the sender. */
  private refusal(d: Extract<Delivery, { ok: false }>, what: string): BridgeError {
    const e = d.error;
    let why = 'Gitter refused it';
    if (e instanceof GitterHttpError) {
      if (e.kind === 'forbidden') why = 'Gitter refused it (no permission in that room)';
      else if (e.kind === 'not_found') why = 'Gitter does not know the room or message';
      else if (e.kind === 'bad_request') why = `Gitter refused it as invalid${e.serverMessage ? ` (${e.serverMessage})` : ''}`;
    }
    return new BridgeError(`Your ${what} was not delivered to Gitter: ${why}.`, { cause: e });
  }

  /** Sends what a puppet's queue still held through the relay (its token failed or was removed). */
  private async moveToRelay(from: GitterAccount): Promise<void> {
    const left = await from.store.all();
    await from.forget(left);
    for (const q of left) {
      const op = q.op as StoredOp;
      if (!op.ref) continue;
      if (op.kind === 'send' && op.matrix?.relayText) op.body = { ...op.body, text: op.matrix.relayText };
      void this.relay.submit({ ...op, ref: op.ref }, false);
    }
  }

  // ---- membership of puppeted users ---------------------------------------------------------

  async handleMatrixMembership(change: MatrixMembership): Promise<void> {
    if (change.targetIsGhost || change.target !== change.sender.userId) return;
    const account = this.puppets.accountOf(change.target);
    if (!account?.user) return;
    const roomId = change.portal.key.id;
    if (change.membership === 'join' && change.previous !== 'join') await account.ensureJoined(roomId);
    else if (change.membership === 'leave' && change.previous === 'join') {
      account.left(roomId);
      await account.client.removeUser(roomId, account.user.id);
    }
  }

  // ---- links and portals --------------------------------------------------------------------

  /** The relay joins a Gitter room by URI or id (it must be able to read it); errors name it. */
  async gitterRoom(uriOrId: string): Promise<GitterRoom> {
    const me = this.relay.user ?? (await this.relay.identify());
    try {
      if (ROOM_ID.test(uriOrId)) return await this.relay.client.joinRoomById(me.id, uriOrId);
      if (!ROOM_URI.test(uriOrId)) throw new BridgeError(`${uriOrId} is not a Gitter room URI (like acme/chat) or room id.`);
      return await this.relay.client.joinRoomByUri(uriOrId);
    } catch (err) {
      if (err instanceof GitterHttpError && (err.kind === 'not_found' || err.kind === 'forbidden')) {
        throw new BridgeError(
          `The bridge's Gitter account cannot join ${uriOrId}: ${err.kind === 'not_found' ? 'there is no such room' : 'it is not allowed in'}.`,
        );
      }
      throw err;
    }
  }

  /** Links a Matrix room to a Gitter room (commands and provisioning). */
  async link(roomId: string, uriOrId: string, actor: string): Promise<Portal> {
    const room = await this.gitterRoom(uriOrId);
    return this.ctx.portals.link(roomId, this.portalKey(room.id), { actor, data: { uri: room.uri ?? room.name } });
  }

  /** Portals by alias `#gitter_<uri>`: the relay joins the room; null when it cannot. */
  async resolveAlias(localpart: string): Promise<PortalInfo | null> {
    if (!this.ctx.config.portals.aliases) return null;
    const parsed = this.ctx.portals.parseAliasLocalpart(localpart, [GITTER_NETWORK]);
    if (!parsed || !ROOM_URI.test(parsed.id)) return null;
    let room: GitterRoom;
    try {
      room = await this.gitterRoom(parsed.id);
    } catch (err) {
      if (err instanceof BridgeError) return null;
      throw err;
    }
    return {
      key: this.portalKey(room.id),
      name: room.name,
      ...(room.topic ? { topic: room.topic } : {}),
      published: this.ctx.config.portals.published,
      data: { uri: room.uri ?? parsed.id },
    };
  }

  /** Starts listening to a Gitter room: its stream and its member list. */
  private async follow(roomId: string): Promise<void> {
    await this.streams.ensure(roomId);
    this.members.track(roomId);
  }

  async onLinked(portal: { key: PortalKey }): Promise<void> {
    await this.follow(portal.key.id);
  }

  async onPortalCreated(portal: { key: PortalKey }): Promise<void> {
    await this.follow(portal.key.id);
  }

  async onUnlinked(portal: { key: PortalKey }): Promise<void> {
    if ((await this.ctx.portals.getByKey(portal.key)).length > 0) return;
    await this.streams.release(portal.key.id);
    await this.members.untrack(portal.key.id);
  }

  bridgeInfo(portal: Pick<Portal, 'key' | 'data'>): BridgeInfoDisplay {
    const uri = typeof portal.data?.uri === 'string' ? portal.data.uri : undefined;
    return {
      network: { displayname: 'Gitter' },
      channel: { displayname: uri ?? portal.key.id, ...(uri ? { external_url: `https://gitter.im/${uri}` } : {}) },
    };
  }
}
