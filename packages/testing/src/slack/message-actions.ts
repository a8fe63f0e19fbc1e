// Posting, editing, deleting and reacting, with the events Slack produces for each: `message`
// (`bot_message` with a username override, `thread_broadcast`, `me_message`, `file_share`),
// `message_changed` (a deleted thread root becomes a `tombstone`), `message_deleted`,
// `reaction_added` / `reaction_removed`. Used by the Web API methods and by test users alike.
import { randomUUID } from 'node:crypto';
import type { Actor } from './actor';
import { isAdmin } from './actor';
import type { Json } from './deliveries';
import type { EventDispatcher } from './dispatcher';
import { SlackApiError } from './errors';
import type { Conversation, Message } from './model';
import { clientText, richTextBlocks } from './rich-text';
import type { NewMessage, SlackState } from './state';
import { channelTypeOf, messageJson } from './wire';

export interface PostParams {
  text?: string;
  blocks?: unknown[];
  attachments?: unknown[];
  threadTs?: string;
  broadcast?: boolean;
  username?: string;
  iconUrl?: string;
  iconEmoji?: string;
  subtype?: 'me_message' | 'file_share';
  files?: string[];
  extra?: Json;
}

export interface EditParams {
  text?: string;
  blocks?: unknown[];
  attachments?: unknown[];
}

const MAX_TEXT = 40_000;
const MAX_BLOCKS = 50;
const REACTION_NAME = /^[a-z0-9_+'-]+(::skin-tone-[2-6])?$/;
/** System messages nobody may edit or delete through the API. */
const SYSTEM_SUBTYPES = new Set([
  'channel_join',
  'channel_leave',
  'channel_topic',
  'channel_purpose',
  'channel_name',
  'channel_archive',
  'tombstone',
]);

export class MessageActions {
  constructor(
    private state: SlackState,
    private events: EventDispatcher,
  ) {}

  /** The event Slack sends for a stored message. */
  messageEvent(conv: Conversation, msg: Message): Json {
    return { ...messageJson(this.state, msg), channel: conv.id, event_ts: msg.ts, channel_type: channelTypeOf(conv) };
  }

  /** Can the actor write in the conversation at all (membership, archive)? */
  checkCanPost(actor: Actor, conv: Conversation): void {
    if (conv.teamId !== actor.teamId) throw new SlackApiError('channel_not_found');
    if (conv.archived) throw new SlackApiError('is_archived');
    if (conv.members.has(actor.userId)) return;
    if (actor.via === 'bot' && conv.kind === 'channel' && actor.scopes.has('chat:write.public')) return;
    if (conv.kind !== 'channel') throw new SlackApiError('channel_not_found');
    throw new SlackApiError('not_in_channel');
  }

  post(actor: Actor, conv: Conversation, p: PostParams): Message {
    this.checkCanPost(actor, conv);
    if (!p.text && !p.blocks?.length && !p.attachments?.length && !p.files?.length) throw new SlackApiError('no_text');
    if ((p.text?.length ?? 0) > MAX_TEXT) throw new SlackApiError('msg_too_long');
    if (p.blocks) checkBlocks(p.blocks);
    const fromClient = actor.via === 'client';
    const text = p.text === undefined ? '' : fromClient ? clientText(p.text) : p.text;
    const fields: NewMessage = {
      text,
      user: actor.userId,
      extra: { ...(p.extra ?? {}) },
      via: actor.via === 'client' ? 'client' : actor.via === 'bot' ? 'bot' : 'user-token',
      postedByApp: actor.appId,
    };
    if (p.subtype) fields.subtype = p.subtype;
    if (fromClient) {
      fields.clientMsgId = randomUUID();
      fields.blocks = p.blocks ?? (p.text ? richTextBlocks(p.text) : undefined);
    } else if (p.blocks) {
      fields.blocks = p.blocks;
    }
    if (p.attachments) fields.attachments = p.attachments;
    if (p.files) fields.files = p.files;
    if (actor.via === 'bot') {
      fields.botId = actor.botId;
      fields.appId = actor.appId;
      // Overrides take effect only with chat:write.customize; the post then is a `bot_message`.
      // A reply also broadcast to the channel shows the bot's own identity (bolt-js#2445).
      const broadcast = Boolean(p.threadTs && p.broadcast);
      if ((p.username || p.iconUrl || p.iconEmoji) && actor.scopes.has('chat:write.customize') && !broadcast) {
        fields.subtype = 'bot_message';
        delete fields.user;
        fields.username = p.username ?? this.state.bots.get(actor.botId ?? '')?.name;
        if (p.iconEmoji) fields.icons = { emoji: p.iconEmoji };
        else if (p.iconUrl) fields.icons = { image_48: p.iconUrl, image_72: p.iconUrl };
      }
    }
    let root: Message | undefined;
    if (p.threadTs) {
      fields.threadTs = p.threadTs;
      root = conv.byTs.get(p.threadTs);
      if (root && root.threadTs && root.threadTs !== root.ts) throw new SlackApiError('cannot_reply_to_message');
      if (root) fields.parentUserId = root.user ?? this.botUserOf(root);
      if (p.broadcast && fields.subtype === undefined) fields.subtype = 'thread_broadcast';
    }
    const msg = this.state.addMessage(conv, fields);
    const event = this.messageEvent(conv, msg);
    if (msg.subtype === 'thread_broadcast' && root) event.root = messageJson(this.state, root);
    this.events.emit(conv.teamId, event, { conversation: conv });
    return msg;
  }

  private botUserOf(msg: Message): string | undefined {
    return msg.botId ? this.state.bots.get(msg.botId)?.userId : undefined;
  }

  private checkOwn(actor: Actor, msg: Message, error: string): void {
    if (msg.subtype && SYSTEM_SUBTYPES.has(msg.subtype)) throw new SlackApiError(error);
    if (actor.via === 'bot') {
      if (msg.botId !== actor.botId) throw new SlackApiError(error);
      return;
    }
    if (msg.botId || msg.user !== actor.userId) {
      if (error === 'cant_delete_message' && isAdmin(this.state, actor)) return;
      throw new SlackApiError(error);
    }
  }

  edit(actor: Actor, conv: Conversation, ts: string, p: EditParams): Message {
    if (conv.teamId !== actor.teamId) throw new SlackApiError('channel_not_found');
    const msg = this.state.message(conv, ts);
    this.checkOwn(actor, msg, 'cant_update_message');
    if (conv.archived) throw new SlackApiError('is_archived');
    if ((p.text?.length ?? 0) > MAX_TEXT) throw new SlackApiError('msg_too_long');
    if (p.blocks) checkBlocks(p.blocks);
    const previous = messageJson(this.state, msg);
    if (actor.via === 'client') {
      if (p.text !== undefined) {
        msg.text = clientText(p.text);
        msg.blocks = p.blocks ?? richTextBlocks(p.text);
      }
    } else {
      if (p.text !== undefined) msg.text = p.text;
      // Omitted blocks/attachments are kept; an empty array removes them.
      if (p.blocks !== undefined) msg.blocks = p.blocks.length ? p.blocks : undefined;
      if (p.attachments !== undefined) msg.attachments = p.attachments.length ? p.attachments : undefined;
    }
    if (!msg.text && !msg.blocks?.length && !msg.attachments?.length && !msg.files?.length) throw new SlackApiError('no_text');
    const eventTs = this.state.clock.next(conv.id);
    msg.edited = { user: actor.userId, ts: eventTs };
    this.events.emit(
      conv.teamId,
      {
        type: 'message',
        subtype: 'message_changed',
        hidden: true,
        message: messageJson(this.state, msg),
        channel: conv.id,
        previous_message: previous,
        event_ts: eventTs,
        ts: eventTs,
        channel_type: channelTypeOf(conv),
      },
      { conversation: conv },
    );
    return msg;
  }

  delete(actor: Actor, conv: Conversation, ts: string): void {
    if (conv.teamId !== actor.teamId) throw new SlackApiError('channel_not_found');
    const msg = this.state.message(conv, ts);
    this.checkOwn(actor, msg, 'cant_delete_message');
    const previous = messageJson(this.state, msg);
    const eventTs = this.state.clock.next(conv.id);
    const liveReplies = msg.replies.some((r) => !conv.byTs.get(r)?.deleted);
    if (liveReplies) {
      // A thread root with replies stays as a tombstone holding the thread together.
      Object.assign(msg, {
        subtype: 'tombstone',
        text: 'This message was deleted.',
        user: 'USLACKBOT',
        blocks: undefined,
        attachments: undefined,
        files: undefined,
        botId: undefined,
        appId: undefined,
        username: undefined,
        icons: undefined,
        edited: undefined,
        clientMsgId: undefined,
      });
      msg.extra = { hidden: true };
      this.events.emit(
        conv.teamId,
        {
          type: 'message',
          subtype: 'message_changed',
          hidden: true,
          message: messageJson(this.state, msg),
          channel: conv.id,
          previous_message: previous,
          event_ts: eventTs,
          ts: eventTs,
          channel_type: channelTypeOf(conv),
        },
        { conversation: conv },
      );
      return;
    }
    msg.deleted = true;
    this.events.emit(
      conv.teamId,
      {
        type: 'message',
        subtype: 'message_deleted',
        hidden: true,
        channel: conv.id,
        ts: eventTs,
        deleted_ts: msg.ts,
        event_ts: eventTs,
        previous_message: previous,
        channel_type: channelTypeOf(conv),
      },
      { conversation: conv },
    );
  }

  private reactionTarget(actor: Actor, conv: Conversation, ts: string, name: string): Message {
    if (conv.teamId !== actor.teamId) throw new SlackApiError('channel_not_found');
    if (!REACTION_NAME.test(name)) throw new SlackApiError('invalid_name');
    const msg = this.state.message(conv, ts);
    if (!conv.members.has(actor.userId)) throw new SlackApiError(conv.kind === 'channel' ? 'not_in_channel' : 'channel_not_found');
    return msg;
  }

  private reactionEvent(type: string, actor: Actor, conv: Conversation, msg: Message, name: string): void {
    const event: Json = {
      type,
      user: actor.userId,
      reaction: name,
      item: { type: 'message', channel: conv.id, ts: msg.ts },
      event_ts: this.state.clock.next('events'),
    };
    const itemUser = msg.user ?? this.botUserOf(msg);
    if (itemUser) event.item_user = itemUser;
    this.events.emit(conv.teamId, event, { conversation: conv });
  }

  react(actor: Actor, conv: Conversation, ts: string, name: string): void {
    const msg = this.reactionTarget(actor, conv, ts, name);
    let reaction = msg.reactions.find((r) => r.name === name);
    if (reaction?.users.includes(actor.userId)) throw new SlackApiError('already_reacted');
    if (!reaction) msg.reactions.push((reaction = { name, users: [] }));
    reaction.users.push(actor.userId);
    this.reactionEvent('reaction_added', actor, conv, msg, name);
  }

  unreact(actor: Actor, conv: Conversation, ts: string, name: string): void {
    const msg = this.reactionTarget(actor, conv, ts, name);
    const reaction = msg.reactions.find((r) => r.name === name);
    if (!reaction?.users.includes(actor.userId)) throw new SlackApiError('no_reaction');
    reaction.users = reaction.users.filter((u) => u !== actor.userId);
    if (reaction.users.length === 0) msg.reactions = msg.reactions.filter((r) => r !== reaction);
    this.reactionEvent('reaction_removed', actor, conv, msg, name);
  }
}

function checkBlocks(blocks: unknown[]): void {
  if (!Array.isArray(blocks)) throw new SlackApiError('invalid_blocks_format');
  if (blocks.length > MAX_BLOCKS) throw new SlackApiError('invalid_blocks');
  for (const b of blocks) {
    if (typeof b !== 'object' || b === null || typeof (b as { type?: unknown }).type !== 'string')
      throw new SlackApiError('invalid_blocks');
  }
}
