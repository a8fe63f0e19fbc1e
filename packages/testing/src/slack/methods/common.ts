// Argument resolution shared by the method handlers: the conversation a call names (as the
// caller may see it), and the message list of a conversation the caller may read.
import { SlackApiError } from '../errors';
import type { Conversation } from '../model';
import type { MethodContext } from '../web-api';

export interface ConversationArgOptions {
  /** Argument name (default `channel`). */
  name?: string;
  /** A user ID stands for the DM between the caller and that user (chat.postMessage does this). */
  userMeansDm?: boolean;
}

/** The named conversation, if the caller's workspace has it and the caller may see it. */
export function conversationArg(ctx: MethodContext, opts: ConversationArgOptions = {}): Conversation {
  return resolveConversation(ctx, ctx.args.str(opts.name ?? 'channel'), opts);
}

export function resolveConversation(ctx: MethodContext, id: string | undefined, opts: ConversationArgOptions = {}): Conversation {
  if (!id) throw new SlackApiError('channel_not_found');
  const { state } = ctx.services;
  const actor = ctx.actor();
  let conv = state.conversations.get(id);
  if (!conv && opts.userMeansDm && /^[UW]/.test(id)) {
    const user = state.users.get(id);
    if (user && user.teamId === actor.teamId) conv = state.ensureIm(actor.teamId, actor.userId, id).conversation;
  }
  if (!conv || conv.teamId !== actor.teamId) throw new SlackApiError('channel_not_found');
  ctx.checkScope(conv);
  if (conv.kind !== 'channel' && !conv.members.has(actor.userId)) throw new SlackApiError('channel_not_found');
  return conv;
}

/** Reading messages: bots must be members even of public channels; people may read public ones. */
export function checkCanRead(ctx: MethodContext, conv: Conversation): void {
  const actor = ctx.actor();
  if (conv.members.has(actor.userId)) return;
  if (actor.via === 'bot' || conv.kind !== 'channel') throw new SlackApiError('not_in_channel');
}

export function userArg(ctx: MethodContext, name = 'user') {
  const id = ctx.args.str(name);
  const user = id ? ctx.services.state.users.get(id) : undefined;
  if (!user || user.teamId !== ctx.token.teamId) throw new SlackApiError('user_not_found');
  return user;
}
