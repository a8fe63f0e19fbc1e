/**
 * Applies remote events to Matrix. Per portal, events are applied strictly in
 * the order the connector emitted them; portals run concurrently. When the
 * homeserver cannot be reached they wait, stored, in order, for up to
 * `maxWaitMs` (remote-event-lanes.ts): the remote network will not send them
 * again.
 *
 * Cost model: once a ghost is registered and joined (both cached and
 * persisted), relaying a message is exactly one homeserver request — the send,
 * with a transaction ID derived from the remote message ID so that a retry (or
 * a re-emit after a reconnect) can never create a second event.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { GhostKey, PortalKey } from '../connector/ids';
import { portalKeyString } from '../connector/ids';
import type { RemoteEventSink } from '../connector/context';
import type {
  RemoteEvent,
  RemoteMessage,
  RemoteEdit,
  RemoteDelete,
  RemoteReaction,
  RemoteReactionRemove,
  RemoteMembership,
  RemoteRoomMeta,
  RemoteRoomSettings,
  RemoteSender,
  RemoteTyping,
  RemoteProfileChange,
} from '../connector/remote-events';
import type { LateRemoteIds } from '../connector/matrix-events';
import type { MessageMap } from '../messages/message-map';
import type { MessageRecord } from '../store/store';
import type { Logger } from '../logging/logger';
import type { Portal } from '../connector/portal';
import type { PortalManager } from '../portals/portal-manager';
import type { GhostManager } from '../portals/ghost-manager';
import { toMatrixContent } from '../messages/content-convert';
import { reactionRemoteId } from '../messages/reaction-ids';
import { remoteEventProblem } from './remote-event-shape';
import { LruMap } from '../util/lru';
import type { Intent } from '../matrix/intent';
import type { DurableQueue } from '../connector/outbox';
import { isUnreachable, type HomeserverGate } from './homeserver-gate';
import { RemoteEventLanes, type StoredRemoteEvent } from './remote-event-lanes';

export interface RemoteApplierDeps {
  portals: PortalManager;
  ghosts: GhostManager;
  messages: MessageMap;
  bot: Intent;
  /** A user's membership in a room as last seen in a transaction, if seen (for DMs the Matrix user left). */
  membershipOf?(roomId: string, userId: string): Promise<string | undefined>;
  log: Logger;
  /** Where events wait while the homeserver is unreachable (kept across restarts). */
  waiting: DurableQueue<StoredRemoteEvent>;
  gate: HomeserverGate;
  /** How long an event waits for an unreachable homeserver before it is given up (`matrix_client.max_outage_wait_s`). */
  maxWaitMs: number;
  /** Metrics hook: one call per remote event with its outcome. */
  onApplied?(type: RemoteEvent['type'], outcome: 'ok' | 'dropped' | 'failed', startedAt: number, event: RemoteEvent): void;
  /** An event given up after waiting `maxWaitMs` (the connector tells its sender; a metric counts it). */
  onUndeliverable?(event: RemoteEvent, reason: string): void;
}

const hash = (s: string) => createHash('sha256').update(s).digest('base64url').slice(0, 22);

/** Memberships a leave or kick can end. */
const IN_ROOM = new Set(['join', 'invite']);

export class RemoteEventApplier implements RemoteEventSink {
  private readonly lanes: RemoteEventLanes;
  private readonly nonces = new WeakMap<RemoteEvent, string>();
  /** DM rooms whose partner's membership was asked of the homeserver already (see reopenDm). */
  private readonly dmChecked = new LruMap<string, true>(10_000);

  constructor(private readonly deps: RemoteApplierDeps) {
    this.lanes = new RemoteEventLanes({
      queue: deps.waiting,
      gate: deps.gate,
      maxWaitMs: deps.maxWaitMs,
      log: deps.log,
      apply: (event, queuedAt) => this.applyCounted(event, queuedAt),
      nonceOf: (event) =>
        event.timestamp === undefined && (event.type === 'edit' || event.type === 'reaction') ? this.occurrence(event) : undefined,
      restoreNonce: (event, nonce) => this.nonces.set(event, nonce),
      onExpired: (event, waitedMs) => {
        const secs = Math.round(waitedMs / 1000);
        const span = secs < 120 ? `${secs} seconds` : `${Math.round(secs / 60)} minutes`;
        const reason = `the Matrix homeserver could not be reached for ${span}`;
        this.deps.log.warn('remote event given up: the homeserver stayed unreachable', {
          type: event.type,
          network: event.portal.network,
          channel: event.portal.id,
          waitedSeconds: Math.round(waitedMs / 1000),
        });
        this.deps.onApplied?.(event.type, 'failed', Date.now() - waitedMs, event);
        this.deps.onUndeliverable?.(event, reason);
      },
    });
  }

  emit(event: RemoteEvent): Promise<void> {
    const malformed = remoteEventProblem(event);
    if (malformed) {
      this.deps.log.error('malformed remote event from the connector dropped', {
        problem: malformed,
        type: String((event as { type?: unknown } | null)?.type),
      });
      return Promise.reject(new TypeError(`malformed remote event: ${malformed}`));
    }
    // The caller hears back once the event is on Matrix and its mapping is stored.
    return this.lanes.push(event).then(() => this.deps.messages.settled(event.portal));
  }

  /** Puts back the events a previous run stored while the homeserver was unreachable; call before the connector emits. */
  restore(): Promise<number> {
    return this.lanes.restore();
  }

  /** Events stored because the homeserver was unreachable, not yet applied. */
  get waiting(): number {
    return this.lanes.waiting;
  }

  private applyCounted(event: RemoteEvent, startedAt: number): Promise<void> {
    return this.apply(event).then(
      (outcome) => {
        this.deps.onApplied?.(event.type, outcome, startedAt, event);
      },
      (err: unknown) => {
        // Unreachable: the event waits and is tried again, so it has not failed (yet).
        if (!isUnreachable(err)) {
          this.deps.onApplied?.(event.type, 'failed', startedAt, event);
          this.deps.log.error('could not apply remote event to Matrix', {
            type: event.type,
            network: event.portal.network,
            channel: event.portal.id,
            err: String(err),
          });
        }
        throw err;
      },
    );
  }

  /** Record a mapping without blocking the portal's queue; lookups wait for it. */
  private recordMessage(record: MessageRecord): void {
    this.deps.messages.record([record]);
  }

  /** The portal's message map, once pending writes have landed. */
  private lookup(portal: PortalKey, remoteId: string): Promise<MessageRecord[]> {
    return this.deps.messages.byRemote(portal, remoteId);
  }

  updateProfile(change: RemoteProfileChange): Promise<void> {
    return this.deps.ghosts.updateProfile(change);
  }

  /** Recorded in the message map next to the applier's own mappings (see MessageMap.addRemoteIds). */
  addRemoteIds(late: LateRemoteIds): Promise<void> {
    return this.deps.messages.addRemoteIds(late);
  }

  async idle(): Promise<void> {
    await this.lanes.idle();
    await this.deps.messages.idle();
  }

  /** Stops applying; what is left stays stored for the next start (see RemoteEventLanes.stop). */
  async stop(): Promise<void> {
    await this.lanes.stop();
    await this.deps.messages.idle();
  }

  get pending(): number {
    return this.lanes.pending;
  }

  private async apply(ev: RemoteEvent): Promise<'ok' | 'dropped'> {
    let portals = await this.deps.portals.getByKey(ev.portal);
    if (ev.originRoomId !== undefined) {
      // A mirror of what a Matrix user did in one of the portal's rooms: the others get it.
      const others = portals.filter((p) => p.roomId !== ev.originRoomId);
      if (others.length === 0) {
        this.deps.log.debug('remote event mirrored from the only room of its portal: nothing to apply', { type: ev.type });
        return portals.length > 0 ? 'ok' : 'dropped';
      }
      portals = others;
    }
    const dmWith = ev.type === 'message' || ev.type === 'membership' ? ev.dmWith : undefined;
    if (dmWith) portals = portals.filter((p) => p.kind !== 'dm' || p.dmUser === dmWith);
    if (ev.type === 'message' && ev.dmWith && 'ghost' in ev.sender) portals = await this.reopenDm(portals, ev);
    if (portals.length === 0 && ev.type === 'message' && ev.dmWith && 'ghost' in ev.sender) {
      const ghost = await this.intentFor(ev.sender);
      portals = [await this.deps.portals.ensureDmRoom(ev.portal, ev.dmWith, ghost, ev.sender.displayName)];
    }
    if (portals.length === 0) {
      this.deps.log.debug('remote event for an unbridged place dropped', { type: ev.type, channel: ev.portal.id });
      return 'dropped';
    }
    for (const portal of portals) await this.applyTo(portal, ev);
    return 'ok';
  }

  /**
   * A private message for a DM room the Matrix user has left: the ghost invites them back (as MAI
   * did), or, when it cannot (it was kicked or left too), the old room is let go and a new one is
   * opened by the caller. Either way the message reaches someone who can read it.
   */
  private async reopenDm(portals: Portal[], ev: RemoteMessage): Promise<Portal[]> {
    if (!('ghost' in ev.sender)) return portals;
    const out: Portal[] = [];
    for (const p of portals) {
      if (p.kind !== 'dm' || !p.dmUser || !this.deps.membershipOf) {
        out.push(p);
        continue;
      }
      const ghost = await this.intentFor(ev.sender);
      const ghostIn = await ghost.cachedMembership(p.roomId);
      if (ghostIn === 'leave' || ghostIn === 'ban') {
        // The ghost was kicked or left: nobody can bring this room back from our side.
        await this.deps.portals.unlink(p.roomId, { reason: "the remote user's ghost is no longer in this DM", source: 'remote' });
        continue;
      }
      // Seen in a transaction, else asked as the ghost (a member) once per room and process.
      let m = await this.deps.membershipOf(p.roomId, p.dmUser).catch(() => undefined);
      if (m === undefined && !this.dmChecked.has(p.roomId)) {
        this.dmChecked.set(p.roomId, true);
        m = ((await ghost.getStateEvent(p.roomId, 'm.room.member', p.dmUser).catch(() => undefined)) as { membership?: string } | undefined)
          ?.membership;
      }
      if (m !== 'leave') {
        out.push(p);
        continue;
      }
      try {
        await ghost.invite(p.roomId, p.dmUser);
        out.push(p);
      } catch (err) {
        this.deps.log.info('could not invite a user back to a DM they left; opening a new one', { roomId: p.roomId, err: String(err) });
        await this.deps.portals.unlink(p.roomId, { reason: 'DM partner left and could not be invited back', source: 'remote' });
      }
    }
    return out;
  }

  private applyTo(portal: Portal, ev: RemoteEvent): Promise<void> {
    switch (ev.type) {
      case 'message':
        return this.message(portal, ev);
      case 'edit':
        return this.edit(portal, ev);
      case 'delete':
        return this.delete(portal, ev);
      case 'reaction':
        return this.reaction(portal, ev);
      case 'reaction.remove':
        return this.reactionRemove(portal, ev);
      case 'membership':
        return this.membership(portal, ev);
      case 'typing':
        return this.typing(portal, ev);
      case 'meta':
        return this.meta(portal, ev);
      case 'settings':
        return this.settings(portal, ev);
      default: {
        const unknown: { type?: string } = ev;
        this.deps.log.warn('unknown remote event type', { type: unknown.type });
        return Promise.resolve();
      }
    }
  }

  /** The intent that acts for a remote sender; the bot for bridge-originated events. */
  private async intentFor(sender: RemoteSender): Promise<Intent> {
    if ('ghost' in sender) return this.deps.ghosts.intent(sender.ghost, { displayName: sender.displayName, avatarUrl: sender.avatarUrl });
    // Matrix users are not puppeted: actions "by" them on the remote side are echoes the connector should drop,
    // or bridge-level actions, which the bot performs.
    return this.deps.bot;
  }

  private async joinedIntent(portal: Portal, sender: RemoteSender): Promise<Intent> {
    const intent = await this.intentFor(sender);
    await intent.ensureJoined(portal.roomId);
    return intent;
  }

  /** joinedIntent's answer when it has nothing to wait for (a known ghost, registered and joined). */
  private joinedIntentNow(portal: Portal, sender: RemoteSender): Intent | undefined {
    const intent =
      'ghost' in sender
        ? this.deps.ghosts.readyIntent(sender.ghost, { displayName: sender.displayName, avatarUrl: sender.avatarUrl })
        : this.deps.bot;
    return intent?.joinedNow(portal.roomId) ? intent : undefined;
  }

  private async message(portal: Portal, ev: RemoteMessage): Promise<void> {
    const intent = this.joinedIntentNow(portal, ev.sender) ?? (await this.joinedIntent(portal, ev.sender));
    const content = toMatrixContent(ev.content);
    if (ev.threadRoot) {
      const root = await this.firstEvent(portal, ev.threadRoot);
      if (root) {
        const last = ev.replyTo ? await this.firstEvent(portal, ev.replyTo) : undefined;
        content['m.relates_to'] = {
          rel_type: 'm.thread',
          event_id: root,
          is_falling_back: !last,
          'm.in_reply_to': { event_id: last ?? root },
        };
      }
    } else if (ev.replyTo) {
      // An unknown target (never bridged, pruned) leaves a plain message. No reply fallback in the body:
      // fallbacks are deprecated (Matrix 1.13) and clients render the relation.
      const target = await this.firstRecord(portal, ev.replyTo);
      if (target) {
        content['m.relates_to'] = { 'm.in_reply_to': { event_id: target.eventId } };
        // Without a fallback quote the reply must mention the replied-to sender for them to be notified.
        const mentioned = (content['m.mentions'] as { user_ids: string[] }).user_ids;
        if (target.sender !== intent.userId && !mentioned.includes(target.sender)) {
          content['m.mentions'] = { user_ids: [...mentioned, target.sender] };
        }
      }
    }
    const eventId = await intent.sendEvent(portal.roomId, 'm.room.message', content, {
      txnKey: `m\u0000${portal.roomId}\u0000${portalKeyString(ev.portal)}\u0000${ev.id}`,
      ts: ev.timestamp,
    });
    this.recordMessage({
      roomId: portal.roomId,
      eventId,
      portal: ev.portal,
      remoteId: ev.id,
      part: 0,
      sender: intent.userId,
      timestamp: ev.timestamp ?? Date.now(),
      body: ev.content.body,
    });
  }

  private async edit(portal: Portal, ev: RemoteEdit): Promise<void> {
    const target = await this.firstEvent(portal, ev.targetId);
    if (!target) return this.skip('edit of an unknown message', ev.targetId);
    const intent = await this.joinedIntent(portal, ev.sender);
    const newContent = toMatrixContent(ev.content);
    const content = {
      ...newContent,
      body: `* ${ev.content.body}`,
      ...(typeof newContent.formatted_body === 'string' ? { formatted_body: `* ${newContent.formatted_body}` } : {}),
      'm.new_content': newContent,
      'm.relates_to': { rel_type: 'm.replace', event_id: target },
    };
    // Without a remote edit ID the content identifies a retry, and the occurrence tells an edit back
    // to an earlier text (A → B → A) from a retry of the first: same txnId, and the homeserver would
    // answer with the first edit's event instead of sending the third.
    const editId = ev.id ?? `${ev.targetId}\u0000${hash(JSON.stringify(ev.content))}\u0000${this.occurrence(ev)}`;
    await intent.sendEvent(portal.roomId, 'm.room.message', content, {
      txnKey: `e\u0000${portal.roomId}\u0000${portalKeyString(ev.portal)}\u0000${editId}`,
      ts: ev.timestamp,
    });
  }

  private async delete(portal: Portal, ev: RemoteDelete): Promise<void> {
    const records = await this.lookup(ev.portal, ev.targetId);
    const inRoom = records.filter((r) => r.roomId === portal.roomId);
    if (inRoom.length === 0) return this.skip('delete of an unknown message', ev.targetId);
    const intent = await this.joinedIntent(portal, ev.sender);
    for (const r of inRoom) {
      try {
        await intent.redact(portal.roomId, r.eventId, ev.reason, { txnKey: `d\u0000${portal.roomId}\u0000${r.eventId}` });
      } catch (err) {
        // A ghost may lack the power to redact someone else's message; the bot usually has it.
        if (intent === this.deps.bot) throw err;
        await this.deps.bot.redact(portal.roomId, r.eventId, ev.reason, { txnKey: `d\u0000${portal.roomId}\u0000${r.eventId}` });
      }
      await this.deps.messages.forget(portal.roomId, r.eventId);
    }
  }

  /**
   * Which occurrence of a remote action this is, for txnIds: its timestamp when the network gives
   * one, else a nonce fixed for this event object (so a retry of the same emit reuses it). A
   * reaction removed and added again, or an edit back to an earlier text, is a new occurrence and
   * must not reuse the first one's txnId.
   */
  private occurrence(ev: RemoteEvent): string {
    if (ev.timestamp !== undefined) return `t${ev.timestamp}`;
    let nonce = this.nonces.get(ev);
    if (!nonce) this.nonces.set(ev, (nonce = `n${randomBytes(6).toString('base64url')}`));
    return nonce;
  }

  private reactionRemoteId(ev: { targetId: string; key: string; sender: RemoteSender }): string {
    const who = 'ghost' in ev.sender ? this.deps.ghosts.userIdFor(ev.sender.ghost) : 'bot';
    return reactionRemoteId(ev.targetId, who, ev.key);
  }

  private async reaction(portal: Portal, ev: RemoteReaction): Promise<void> {
    const target = await this.firstEvent(portal, ev.targetId);
    if (!target) return this.skip('reaction to an unknown message', ev.targetId);
    const intent = await this.joinedIntent(portal, ev.sender);
    const remoteId = this.reactionRemoteId(ev);
    const eventId = await intent.sendEvent(
      portal.roomId,
      'm.reaction',
      {
        'm.relates_to': { rel_type: 'm.annotation', event_id: target, key: ev.key },
      },
      { txnKey: `r\u0000${portal.roomId}\u0000${remoteId}\u0000${this.occurrence(ev)}`, ts: ev.timestamp },
    );
    this.recordMessage({
      roomId: portal.roomId,
      eventId,
      portal: ev.portal,
      remoteId,
      part: 0,
      sender: intent.userId,
      timestamp: ev.timestamp ?? Date.now(),
    });
  }

  private async reactionRemove(portal: Portal, ev: RemoteReactionRemove): Promise<void> {
    const remoteId = this.reactionRemoteId(ev);
    const records = (await this.lookup(ev.portal, remoteId)).filter((r) => r.roomId === portal.roomId);
    if (records.length === 0) return this.skip('removal of an unknown reaction', ev.targetId);
    const intent = await this.joinedIntent(portal, ev.sender);
    for (const r of records) {
      await intent.redact(portal.roomId, r.eventId, undefined, { txnKey: `rr\u0000${portal.roomId}\u0000${r.eventId}` });
      await this.deps.messages.forget(portal.roomId, r.eventId);
    }
  }

  private async membership(portal: Portal, ev: RemoteMembership): Promise<void> {
    const targetKey: GhostKey | undefined = ev.target ?? ('ghost' in ev.sender ? ev.sender.ghost : undefined);
    const targetUser = ev.targetMatrixUser ?? (targetKey ? this.deps.ghosts.userIdFor(targetKey) : undefined);
    if (!targetUser) return this.skip('membership change without a target', ev.type);
    switch (ev.membership) {
      case 'join': {
        if (!targetKey) return;
        const displayName = 'ghost' in ev.sender && !ev.target ? ev.sender.displayName : undefined;
        const intent = await this.deps.ghosts.intent(targetKey, { displayName });
        await intent.ensureJoined(portal.roomId);
        return;
      }
      case 'leave': {
        if (!targetKey) return;
        // A connector reports every remote member leaving; only ghosts the room has are made to leave.
        if (!(await this.ghostInRoom(targetKey, portal.roomId))) return this.skip('leave of a ghost that is not in the room', targetUser);
        const intent = await this.deps.ghosts.intent(targetKey);
        await intent.leave(portal.roomId, ev.reason);
        return;
      }
      case 'kick':
      case 'ban':
      case 'unban':
      case 'invite': {
        if (ev.membership === 'kick' && targetKey && !ev.targetMatrixUser && !(await this.ghostInRoom(targetKey, portal.roomId))) {
          return this.skip('kick of a ghost that is not in the room', targetUser);
        }
        const actor = await this.intentFor(ev.sender).catch(() => this.deps.bot);
        const act = (i: Intent) =>
          ev.membership === 'kick'
            ? i.kick(portal.roomId, targetUser, ev.reason)
            : ev.membership === 'ban'
              ? i.ban(portal.roomId, targetUser, ev.reason)
              : ev.membership === 'unban'
                ? i.unban(portal.roomId, targetUser)
                : i.invite(portal.roomId, targetUser, ev.reason);
        try {
          await actor.ensureJoined(portal.roomId);
          await act(actor);
        } catch (err) {
          // The remote actor's ghost may lack power on Matrix; the bot acts for the network then.
          if (actor === this.deps.bot) throw err;
          await act(this.deps.bot);
        }
        return;
      }
    }
  }

  /** Whether a ghost is joined or invited, as the bridge last saw (store-backed, no request). */
  private async ghostInRoom(key: GhostKey, roomId: string): Promise<boolean> {
    return IN_ROOM.has((await this.deps.ghosts.cachedMembership(key, roomId)) ?? '');
  }

  private async typing(portal: Portal, ev: RemoteTyping): Promise<void> {
    if (!('ghost' in ev.sender)) return;
    const intent = await this.joinedIntent(portal, ev.sender);
    await intent.setTyping(portal.roomId, ev.typing, 30_000);
  }

  private async meta(portal: Portal, ev: RemoteRoomMeta): Promise<void> {
    // A ghost not in the room (it left, or never joined) is not brought in to set state: the bot sets it.
    const asBot = 'ghost' in ev.sender && !(await this.ghostInRoom(ev.sender.ghost, portal.roomId));
    const writeState = async (type: string, content: Record<string, unknown>) => {
      const intent = asBot ? this.deps.bot : await this.joinedIntent(portal, ev.sender).catch(() => this.deps.bot);
      try {
        await intent.sendState(portal.roomId, type, '', content);
      } catch (err) {
        if (intent === this.deps.bot) throw err;
        await this.deps.bot.sendState(portal.roomId, type, '', content);
      }
    };
    if (ev.topic !== undefined) await writeState('m.room.topic', { topic: ev.topic });
    if (ev.name !== undefined) await writeState('m.room.name', { name: ev.name });
  }

  private async settings(portal: Portal, ev: RemoteRoomSettings): Promise<void> {
    const bot = this.deps.bot;
    const owned = portal.kind === 'portal'; // see RemoteRoomSettings: plumbed rooms keep their owners' settings
    if (owned && ev.inviteOnly !== undefined) {
      await bot.sendState(portal.roomId, 'm.room.join_rules', '', { join_rule: ev.inviteOnly ? 'invite' : 'public' });
    }
    if (owned && ev.published !== undefined) await bot.setDirectoryVisibility(portal.roomId, ev.published ? 'public' : 'private');
    const moderated = owned ? ev.moderated : undefined;
    if (moderated === undefined && !ev.powerLevels?.length) return;
    const current = ((await bot.getStateEvent(portal.roomId, 'm.room.power_levels', '').catch(() => undefined)) ?? {}) as {
      users?: Record<string, number>;
      events_default?: number;
      users_default?: number;
    };
    const next = { ...current, users: { ...(current.users ?? {}) } };
    let changed = false;
    if (moderated !== undefined && (current.events_default ?? 0) !== (moderated ? 1 : 0)) {
      next.events_default = moderated ? 1 : 0;
      changed = true;
    }
    const usersDefault = current.users_default ?? 0;
    const botLevel = next.users[bot.userId] ?? usersDefault;
    for (const change of ev.powerLevels ?? []) {
      const user = change.matrixUserId ?? (change.ghost ? this.deps.ghosts.userIdFor(change.ghost) : undefined);
      if (!user || user === bot.userId) continue; // never demote the bot that manages the room
      const have = next.users[user] ?? usersDefault;
      if (have >= botLevel) continue; // the homeserver refuses changing a peer's or a superior's level
      const want = change.level === null ? usersDefault : Math.min(change.level, botLevel);
      if (want === have) continue;
      if (change.matrixUserId && want < have && have !== change.previous) continue; // a level Matrix gave stays
      if (change.level === null) delete next.users[user];
      else next.users[user] = want;
      changed = true;
    }
    if (changed) await bot.sendState(portal.roomId, 'm.room.power_levels', '', next);
  }

  private async firstEvent(portal: Portal, remoteId: string): Promise<string | undefined> {
    return (await this.firstRecord(portal, remoteId))?.eventId;
  }

  private async firstRecord(portal: Portal, remoteId: string) {
    const records = await this.lookup(portal.key, remoteId);
    return records.filter((r) => r.roomId === portal.roomId).sort((a, b) => a.part - b.part)[0];
  }

  private skip(what: string, id: string): void {
    this.deps.log.debug(`${what}: skipped`, { remoteId: id });
  }
}
