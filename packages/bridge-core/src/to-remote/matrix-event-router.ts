/**
 * Turns Matrix events from transactions into connector calls. It is the one
 * place that decides what crosses to the remote side:
 *
 * - echoes of our own bot and ghosts are dropped (loop prevention);
 * - events in rooms that are not portals go to the admin-room handler or nowhere;
 * - relations are resolved through the message map (edits, replies, reactions, redactions);
 * - a connector's BridgeError is told to the sender, never swallowed.
 */
import type { BridgeConnector } from '../connector/connector';
import { supports } from '../connector/capabilities';
import { BridgeError } from '../connector/errors';
import type { UserNotifier } from '../connector/context';
import type { MatrixSender, RemoteMessageRef, Membership } from '../connector/matrix-events';
import type { Logger } from '../logging/logger';
import type { Portal } from '../connector/portal';
import type { PortalManager } from '../portals/portal-manager';
import { fromMatrixContent, readRelation } from '../messages/content-convert';
import { parseReactionRemoteId, reactionRemoteId } from '../messages/reaction-ids';
import type { MessageMap } from '../messages/message-map';
import type { MatrixEvent } from '../matrix/event';

export interface RouterDeps {
  connector: BridgeConnector;
  portals: PortalManager;
  messages: MessageMap;
  notify: UserNotifier;
  isBridgeUser(userId: string): boolean;
  /** `bridge.permissions.users`: others' events in portals never reach the connector. */
  mayUseBridge(userId: string): boolean;
  /** `bridge.drop_matrix_messages_after_s` in ms (0: never); `now` for tests. */
  dropMessagesAfterMs?: number;
  now?: () => number;
  /** Whether a user's power level lets them redact other people's events in a room (from the state cache). */
  mayRedactOthers(roomId: string, userId: string): Promise<boolean>;
  displayName(roomId: string, userId: string): Promise<string>;
  /** Non-portal events (admin rooms, invites to the bot or a ghost) go here. Returns true when handled. */
  /** `delivery.carriesSecret` may be set by it (an admin-room command with a secret argument). */
  handleNonPortal(event: MatrixEvent, delivery: { carriesSecret?: boolean }): Promise<boolean>;
  /**
   * Called for every state event before anything else, to keep caches current (even for echoes).
   * `redelivered`: replayed from the journal after a crash, so possibly older than what a cache
   * already holds.
   */
  observeState?(event: MatrixEvent, redelivered: boolean): void;
  log: Logger;
  /** Metrics hook: one call per event reaching a connector. */
  onRelayed?(kind: string, outcome: 'ok' | 'failed' | 'rejected', startedAt: number, event: MatrixEvent, portal: Portal): void;
}

const isStr = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
/** A topic or name as text; a malformed event's object value is not rendered as "[object Object]". */
const metaText = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : '');

export class MatrixEventRouter {
  /** Events replayed after a crash; read by base() so every handler sees the flag without threading it through. */
  private readonly redelivered = new WeakSet<object>();
  /** Senders already told that the bridge is not for them (see refuse). */
  private readonly refused = new Set<string>();
  constructor(private readonly deps: RouterDeps) {}

  /** Handle one event. Never throws for bad input; throws only for transient failures worth a retry. */
  async route(event: MatrixEvent, delivery: { redelivered: boolean; carriesSecret?: boolean } = { redelivered: false }): Promise<void> {
    if (!isStr(event.type) || !isStr(event.room_id) || !isStr(event.sender) || !isStr(event.event_id)) {
      this.deps.log.debug('malformed event ignored', { eventId: String(event.event_id) });
      return;
    }
    if (typeof event.state_key === 'string') this.deps.observeState?.(event, delivery.redelivered);
    const portal = await this.deps.portals.getByRoom(event.room_id);
    if (!portal) {
      await this.deps.handleNonPortal(event, delivery);
      return;
    }
    // Loop prevention: our own bot and ghosts never cross back. Membership events *targeting* a ghost
    // but sent by a real user (a kick) still go through.
    if (this.deps.isBridgeUser(event.sender)) return;
    if (event.type === 'm.room.encryption' && event.state_key === '')
      return this.deps.portals.abandonEncrypted(portal.roomId, event.sender);
    // Someone the bridge is not for (by default: another homeserver's user) is not relayed, or an
    // IRC connection would be opened from the bridge's address for anyone on the federation.
    if (!this.deps.mayUseBridge(event.sender)) return this.refuse(portal, event, event.sender);
    // Commands typed in a DM portal or a plumbed room are not ours to parse; portals just relay.
    const started = Date.now();
    const kind = this.kindOf(event);
    if (this.tooLate(event, kind)) {
      this.deps.onRelayed?.(kind, 'rejected', started, event, portal);
      const at = new Date(event.origin_server_ts as number).toISOString().replace('T', ' ').slice(0, 16);
      await this.tellSender(
        portal,
        event.sender,
        new BridgeError(
          `Your message from ${at} UTC reached the bridge too late to be sent on (more than ${Math.round(this.deps.dropMessagesAfterMs! / 1000)} s), so it was not.`,
          { notify: 'admin-room' },
        ),
      );
      return;
    }
    try {
      if (delivery.redelivered) {
        // Handled before the crash (its mapping is stored only after the connector's handler
        // returned): the journal's DONE record was lost, not the work. Sending it again would duplicate it.
        if (
          (kind === 'message' || kind === 'edit' || kind === 'reaction') &&
          (await this.deps.messages.byEvent(portal.roomId, event.event_id)).length > 0
        ) {
          this.deps.log.debug('redelivered event already handled before the restart: skipped', { eventId: event.event_id });
          return;
        }
        this.redelivered.add(event);
      }
      const handled = await this.dispatch(portal, event, kind);
      if (handled) this.deps.onRelayed?.(kind, 'ok', started, event, portal);
    } catch (err) {
      if (err instanceof BridgeError) {
        this.deps.onRelayed?.(kind, 'rejected', started, event, portal);
        await this.tellSender(portal, event.sender, err);
        return;
      }
      this.deps.onRelayed?.(kind, 'failed', started, event, portal);
      throw err;
    }
  }

  /** A message or edit older than `dropMessagesAfterMs` (MAI's dropMatrixMessagesAfterSecs): after an outage, not worth sending. */
  private tooLate(event: MatrixEvent, kind: string): boolean {
    const max = this.deps.dropMessagesAfterMs;
    if (!max || (kind !== 'message' && kind !== 'edit') || typeof event.origin_server_ts !== 'number') return false;
    return (this.deps.now ?? Date.now)() - event.origin_server_ts > max;
  }

  private kindOf(event: MatrixEvent): string {
    if (event.type === 'm.room.message') return readRelation(event.content).type === 'm.replace' ? 'edit' : 'message';
    if (event.type === 'm.room.member') return 'membership';
    if (event.type === 'm.room.redaction') return 'redaction';
    if (event.type === 'm.reaction') return 'reaction';
    if (event.type === 'm.room.topic' || event.type === 'm.room.name') return 'meta';
    return String(event.type);
  }

  private async dispatch(portal: Portal, event: MatrixEvent, kind: string): Promise<boolean> {
    const c = this.deps.connector;
    switch (kind) {
      case 'message':
        return this.message(portal, event);
      case 'edit':
        return supports(c, 'edits') ? this.edit(portal, event) : false;
      case 'redaction':
        return this.redaction(portal, event);
      case 'reaction':
        return supports(c, 'reactions') ? this.reaction(portal, event) : false;
      case 'membership':
        return supports(c, 'membership') ? this.membership(portal, event) : false;
      case 'meta': {
        if (!supports(c, 'roomMeta') || typeof event.state_key !== 'string' || event.state_key !== '') return false;
        const content = event.content ?? {};
        await c.handleMatrixRoomMeta({
          ...(await this.base(portal, event)),
          ...(event.type === 'm.room.topic' ? { topic: metaText(content.topic) } : { name: metaText(content.name) }),
        });
        return true;
      }
      default:
        return false;
    }
  }

  private async base(portal: Portal, event: MatrixEvent) {
    const sender: MatrixSender = {
      userId: event.sender as string,
      displayName: await this.deps.displayName(portal.roomId, event.sender as string),
    };
    return {
      portal,
      sender,
      eventId: event.event_id as string,
      timestamp: typeof event.origin_server_ts === 'number' ? event.origin_server_ts : Date.now(),
      raw: event,
      redelivered: this.redelivered.has(event),
    };
  }

  private ref(portal: Portal, eventId: string | undefined): Promise<RemoteMessageRef | undefined> {
    return this.deps.messages.ref(portal.roomId, eventId);
  }

  /** Store the mapping off the room's serial path; lookups in this room wait for it (see MessageMap). */
  private record(portal: Portal, event: MatrixEvent, remoteIds: string[] | undefined, body?: string): void {
    const timestamp = typeof event.origin_server_ts === 'number' ? event.origin_server_ts : Date.now();
    this.deps.messages.record(
      (remoteIds ?? []).map((remoteId, part) => ({
        roomId: portal.roomId,
        eventId: event.event_id as string,
        portal: portal.key,
        remoteId,
        part,
        sender: event.sender as string,
        timestamp,
        body,
      })),
    );
  }

  /** Resolves once every mapping write issued so far has landed (tests, shutdown). */
  idle(): Promise<void> {
    return this.deps.messages.idle();
  }

  private async message(portal: Portal, event: MatrixEvent): Promise<boolean> {
    const rel = readRelation(event.content);
    const content = fromMatrixContent(event.content, { isReply: !!rel.inReplyTo });
    if (!content) return false;
    const replyTo = await this.ref(portal, rel.inReplyTo);
    const threadRoot = rel.type === 'm.thread' ? await this.ref(portal, rel.eventId) : undefined;
    const result = await this.deps.connector.handleMatrixMessage({ ...(await this.base(portal, event)), content, replyTo, threadRoot });
    this.record(portal, event, result?.remoteIds, content.body);
    return true;
  }

  private async edit(portal: Portal, event: MatrixEvent): Promise<boolean> {
    const c = this.deps.connector;
    if (!supports(c, 'edits')) return false;
    const rel = readRelation(event.content);
    const target = await this.ref(portal, rel.eventId);
    const newContent = fromMatrixContent((event.content as Record<string, unknown>)['m.new_content']);
    // Only the author may edit; an edit of a message we never bridged has nothing to edit remotely.
    if (!target || !newContent || target.sender !== event.sender) return false;
    const result = await c.handleMatrixEdit({
      ...(await this.base(portal, event)),
      target,
      content: newContent,
      previousBody: target.body,
    });
    if (result && result.remoteIds.length) this.record(portal, event, result.remoteIds, newContent.body);
    this.recordEditedText(portal, target, newContent.body);
    return true;
  }

  /**
   * The edited message now reads as its new text: store it on the message's first part, so the
   * next edit's `previousBody` is this text (a second edit must be diffed against the first, not
   * against the original) and replies quote what Matrix users see.
   */
  private recordEditedText(portal: Portal, target: RemoteMessageRef, body: string): void {
    this.deps.messages.record(
      [
        {
          roomId: portal.roomId,
          eventId: target.eventId,
          portal: portal.key,
          remoteId: target.remoteId,
          part: 0,
          sender: target.sender,
          timestamp: target.timestamp,
          body,
        },
      ],
      'a later edit will be diffed against the older text',
    );
  }

  private async redaction(portal: Portal, event: MatrixEvent): Promise<boolean> {
    const c = this.deps.connector;
    const redacts = isStr(event.redacts) ? event.redacts : event.content?.redacts;
    if (!isStr(redacts)) return false;
    const target = await this.ref(portal, redacts);
    if (!target) return false;
    // A homeserver accepts a redaction from another server before checking it (room v3+ defers
    // that to the redacted event's clients): only the author, or a moderator with the room's
    // redact level, deletes a message on the remote side.
    if (target.sender !== event.sender && !(await this.deps.mayRedactOthers(portal.roomId, event.sender as string).catch(() => false))) {
      this.deps.log.info('redaction by someone other than the author, without the redact level: not bridged', {
        roomId: portal.roomId,
        redacts,
      });
      return false;
    }
    const reason = event.content?.reason;
    const base = await this.base(portal, event);
    const reaction = parseReactionRemoteId(target.remoteId);
    if (reaction) {
      if (!supports(c, 'reactions') || !c.handleMatrixReactionRemoval) return false;
      await c.handleMatrixReactionRemoval({ ...base, target: { ...target, remoteId: reaction.targetRemoteId }, key: reaction.key });
      await this.deps.messages.forget(portal.roomId, redacts);
      return true;
    }
    if (!supports(c, 'redactions')) return false;
    await c.handleMatrixRedaction({ ...base, target, reason: typeof reason === 'string' ? reason : undefined });
    await this.deps.messages.forget(portal.roomId, redacts);
    return true;
  }

  private async reaction(portal: Portal, event: MatrixEvent): Promise<boolean> {
    const c = this.deps.connector;
    if (!supports(c, 'reactions')) return false;
    const rel = readRelation(event.content);
    if (rel.type !== 'm.annotation' || !rel.key) return false;
    const target = await this.ref(portal, rel.eventId);
    if (!target) return false;
    await c.handleMatrixReaction({ ...(await this.base(portal, event)), target, key: rel.key });
    // Remember the reaction so its redaction can be bridged as a removal.
    this.record(portal, event, [reactionRemoteId(target.remoteId, event.sender as string, rel.key)]);
    return true;
  }

  private async membership(portal: Portal, event: MatrixEvent): Promise<boolean> {
    const c = this.deps.connector;
    if (!supports(c, 'membership') || !isStr(event.state_key)) return false;
    const content = event.content ?? {};
    const membership = content.membership as Membership;
    if (!['join', 'leave', 'invite', 'ban', 'knock'].includes(String(membership))) return false;
    const prev = (event.unsigned?.prev_content as Record<string, unknown> | undefined)?.membership;
    // A profile change is a join→join; the connector only cares about real transitions.
    if (membership === 'join' && prev === 'join') return false;
    await c.handleMatrixMembership({
      ...(await this.base(portal, event)),
      target: event.state_key,
      targetIsGhost: this.deps.isBridgeUser(event.state_key),
      membership,
      previous: typeof prev === 'string' ? (prev as Membership) : undefined,
      reason: typeof content.reason === 'string' ? content.reason : undefined,
    });
    return true;
  }

  /** A message from a user the bridge is not for: told once (per process) in the room, nothing relayed. */
  private async refuse(portal: Portal, event: MatrixEvent, sender: string): Promise<void> {
    if (event.type !== 'm.room.message' && event.type !== 'm.sticker') return;
    if (this.refused.has(sender)) return;
    if (this.refused.size >= 10_000) this.refused.clear(); // bounded: a flood of new senders cannot grow it
    this.refused.add(sender);
    await this.tellSender(portal, sender, new BridgeError('Your messages are not bridged: this bridge is not open to your account.'));
  }

  private async tellSender(portal: Portal, userId: string, err: BridgeError): Promise<void> {
    const where = err.opts.notify ?? 'room';
    try {
      if (where === 'room') await this.deps.notify.roomNotice(portal.roomId, `${userId}: ${err.userMessage}`);
      else if (where === 'admin-room') await this.deps.notify.notice(userId, err.userMessage);
    } catch (notifyErr) {
      this.deps.log.warn('could not tell the user about a failed delivery', { userId, err: String(notifyErr) });
    }
  }
}
