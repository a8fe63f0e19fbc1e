// Conversation changes and the events Slack produces for them: joins and leaves
// (`member_joined_channel` / `member_left_channel` plus the `channel_join` / `channel_leave`
// messages), renames (`channel_rename` / `group_rename` plus `channel_name`), topic and purpose
// (`channel_topic` / `channel_purpose` messages), creation (`channel_created`), archiving, and
// opening DMs and group DMs.
import { isAdmin, type Actor } from './actor';
import type { Json } from './deliveries';
import type { EventDispatcher } from './dispatcher';
import { SlackApiError } from './errors';
import type { MessageActions } from './message-actions';
import type { Conversation } from './model';
import { channelNameError, type NewMessage, type SlackState } from './state';
import { conversationJson } from './wire';

const MAX_TOPIC = 250;

export class ConversationActions {
  constructor(
    private state: SlackState,
    private events: EventDispatcher,
    private messages: MessageActions,
  ) {}

  private systemMessage(conv: Conversation, fields: Omit<NewMessage, 'via'>): void {
    const msg = this.state.addMessage(conv, { ...fields, via: 'system' });
    this.events.emit(conv.teamId, this.messages.messageEvent(conv, msg), { conversation: conv });
  }

  private sameTeam(actor: Actor, conv: Conversation): void {
    if (conv.teamId !== actor.teamId) throw new SlackApiError('channel_not_found');
  }

  private requireMember(actor: Actor, conv: Conversation): void {
    if (!conv.members.has(actor.userId)) throw new SlackApiError(conv.kind === 'channel' ? 'not_in_channel' : 'channel_not_found');
  }

  private channelOnly(conv: Conversation): void {
    if (conv.kind === 'im' || conv.kind === 'mpim') throw new SlackApiError('method_not_supported_for_channel_type');
  }

  /** `userId` joins (invited by `inviter`, or on their own). Answers false when already a member. */
  join(userId: string, conv: Conversation, inviter?: string): boolean {
    if (conv.archived) throw new SlackApiError('is_archived');
    if (conv.members.has(userId)) return false;
    conv.members.add(userId);
    const event: Json = {
      type: 'member_joined_channel',
      user: userId,
      channel: conv.id,
      channel_type: conv.kind === 'channel' ? 'C' : 'G',
      team: conv.teamId,
      event_ts: this.state.clock.next('events'),
    };
    if (inviter) event.inviter = inviter;
    this.events.emit(conv.teamId, event, { conversation: conv });
    if (conv.kind === 'channel' || conv.kind === 'group') {
      this.systemMessage(conv, {
        subtype: 'channel_join',
        user: userId,
        text: `<@${userId}> has joined the channel`,
        extra: inviter ? { inviter } : {},
      });
    }
    return true;
  }

  /** Joining a public channel yourself (conversations.join, or a person clicking "Join"). */
  selfJoin(actor: Actor, conv: Conversation): boolean {
    this.sameTeam(actor, conv);
    this.channelOnly(conv);
    if (conv.kind === 'group' && !conv.members.has(actor.userId)) throw new SlackApiError('method_not_supported_for_channel_type');
    return this.join(actor.userId, conv);
  }

  /** Answers false when the actor was not a member. */
  leave(actor: Actor, conv: Conversation): boolean {
    this.sameTeam(actor, conv);
    this.channelOnly(conv);
    if (!conv.members.has(actor.userId)) return false;
    if (conv.general) throw new SlackApiError('cant_leave_general');
    return this.remove(actor.userId, conv);
  }

  /** `userId` leaves or is removed (by `remover`). */
  remove(userId: string, conv: Conversation, remover?: string): boolean {
    if (!conv.members.has(userId)) return false;
    const before = [...conv.members];
    conv.members.delete(userId);
    this.events.emit(
      conv.teamId,
      {
        type: 'member_left_channel',
        user: userId,
        channel: conv.id,
        channel_type: conv.kind === 'channel' ? 'C' : 'G',
        team: conv.teamId,
        event_ts: this.state.clock.next('events'),
      },
      { conversation: conv, alsoVisibleTo: before },
    );
    const text = remover ? `<@${userId}> was removed from the channel` : `<@${userId}> has left the channel`;
    const msg = this.state.addMessage(conv, { subtype: 'channel_leave', user: userId, text, extra: {}, via: 'system' });
    this.events.emit(conv.teamId, this.messages.messageEvent(conv, msg), { conversation: conv, alsoVisibleTo: before });
    return true;
  }

  invite(actor: Actor, conv: Conversation, userIds: string[]): void {
    this.sameTeam(actor, conv);
    this.channelOnly(conv);
    if (conv.archived) throw new SlackApiError('is_archived');
    this.requireMember(actor, conv);
    if (userIds.length === 0) throw new SlackApiError('no_user');
    const errors: Json[] = [];
    for (const u of userIds) {
      const user = this.state.users.get(u);
      const error =
        !user || user.teamId !== conv.teamId
          ? 'user_not_found'
          : u === actor.userId
            ? 'cant_invite_self'
            : conv.members.has(u)
              ? 'already_in_channel'
              : undefined;
      if (error) errors.push({ user: u, ok: false, error });
    }
    if (errors.length) throw new SlackApiError(String(errors[0].error), { errors });
    for (const u of userIds) this.join(u, conv, actor.userId);
  }

  rename(actor: Actor, conv: Conversation, name: string): void {
    this.sameTeam(actor, conv);
    this.channelOnly(conv);
    this.requireMember(actor, conv);
    if (conv.archived) throw new SlackApiError('is_archived');
    // Slack: only the channel's creator or a workspace admin may rename it (a bot rarely is either).
    if (conv.creator !== actor.userId && !isAdmin(this.state, actor)) throw new SlackApiError('not_authorized');
    const nameError = channelNameError(name);
    if (nameError) throw new SlackApiError(nameError);
    if (name === conv.name) return;
    for (const c of this.state.conversations.values()) {
      if (c !== conv && c.teamId === conv.teamId && c.name === name) throw new SlackApiError('name_taken');
    }
    const oldName = conv.name;
    conv.previousNames.unshift(oldName);
    conv.name = name;
    this.events.emit(
      conv.teamId,
      {
        type: conv.kind === 'channel' ? 'channel_rename' : 'group_rename',
        channel: { id: conv.id, name, name_normalized: name, created: conv.created, is_channel: conv.kind === 'channel', is_mpim: false },
        event_ts: this.state.clock.next('events'),
      },
      { conversation: conv },
    );
    this.systemMessage(conv, {
      subtype: 'channel_name',
      user: actor.userId,
      text: `<@${actor.userId}> renamed the channel from "${oldName}" to "${name}"`,
      extra: { old_name: oldName, name },
    });
  }

  setTopic(actor: Actor, conv: Conversation, topic: string): void {
    this.sameTeam(actor, conv);
    this.requireMember(actor, conv);
    if (conv.archived) throw new SlackApiError('is_archived');
    if (topic.length > MAX_TOPIC) throw new SlackApiError('too_long');
    conv.topic = { value: topic, creator: actor.userId, lastSet: this.state.now() };
    const text = topic ? `<@${actor.userId}> set the channel topic: ${topic}` : `<@${actor.userId}> cleared the channel topic`;
    this.systemMessage(conv, { subtype: 'channel_topic', user: actor.userId, text, extra: { topic } });
  }

  setPurpose(actor: Actor, conv: Conversation, purpose: string): void {
    this.sameTeam(actor, conv);
    this.requireMember(actor, conv);
    if (conv.archived) throw new SlackApiError('is_archived');
    if (purpose.length > MAX_TOPIC) throw new SlackApiError('too_long');
    conv.purpose = { value: purpose, creator: actor.userId, lastSet: this.state.now() };
    const text = purpose
      ? `<@${actor.userId}> set the channel description: ${purpose}`
      : `<@${actor.userId}> cleared the channel description`;
    this.systemMessage(conv, { subtype: 'channel_purpose', user: actor.userId, text, extra: { purpose } });
  }

  create(actor: Actor, name: string, isPrivate: boolean): Conversation {
    const conv = this.state.createConversation(actor.teamId, { name, private: isPrivate, creator: actor.userId, members: [actor.userId] });
    if (!isPrivate) {
      this.events.emit(
        conv.teamId,
        {
          type: 'channel_created',
          channel: { ...conversationJson(conv, undefined), is_frozen: false },
          event_ts: this.state.clock.next('events'),
        },
        { conversation: conv },
      );
    }
    return conv;
  }

  archive(actor: Actor, conv: Conversation): void {
    this.sameTeam(actor, conv);
    this.channelOnly(conv);
    this.requireMember(actor, conv);
    if (conv.general) throw new SlackApiError('cant_archive_general');
    if (conv.archived) throw new SlackApiError('already_archived');
    conv.archived = true;
    this.events.emit(
      conv.teamId,
      {
        type: conv.kind === 'channel' ? 'channel_archive' : 'group_archive',
        channel: conv.id,
        user: actor.userId,
        is_moved: 0,
        event_ts: this.state.clock.next('events'),
      },
      { conversation: conv },
    );
  }

  /** Unarchiving (Slack's "Unarchive channel"): `channel_unarchive` / `group_unarchive`. */
  unarchive(actor: Actor, conv: Conversation): void {
    this.sameTeam(actor, conv);
    this.channelOnly(conv);
    if (!conv.archived) throw new SlackApiError('not_archived');
    conv.archived = false;
    this.events.emit(
      conv.teamId,
      {
        type: conv.kind === 'channel' ? 'channel_unarchive' : 'group_unarchive',
        channel: conv.id,
        user: actor.userId,
        event_ts: this.state.clock.next('events'),
      },
      { conversation: conv },
    );
  }

  /** The DM with one user, or the group DM with several (the actor included). */
  open(actor: Actor, userIds: string[]): { conversation: Conversation; created: boolean } {
    const others = [...new Set(userIds)].filter((u) => u !== actor.userId || userIds.length === 1);
    if (others.length === 0) throw new SlackApiError('users_list_not_supplied');
    for (const u of others) {
      const user = this.state.users.get(u);
      if (!user || user.teamId !== actor.teamId) throw new SlackApiError('user_not_found');
    }
    if (others.length === 1) return this.state.ensureIm(actor.teamId, actor.userId, others[0]);
    if (others.length > 8) throw new SlackApiError('too_many_users');
    return this.state.ensureMpim(actor.teamId, [actor.userId, ...others]);
  }
}
