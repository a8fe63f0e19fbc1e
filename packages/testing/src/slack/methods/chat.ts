// chat.postMessage, chat.update, chat.delete, chat.postEphemeral, chat.getPermalink.
// Posting as another identity goes through username/icon overrides (chat:write.customize);
// `as_user` belongs to classic apps and is refused.
import { SlackApiError } from '../errors';
import type { MethodContext, MethodHandler } from '../web-api';
import { messageJson } from '../wire';
import { conversationArg } from './common';

function refuseAsUser(ctx: MethodContext): void {
  if (ctx.args.bool('as_user')) throw new SlackApiError('as_user_not_supported');
}

function blocksArg(ctx: MethodContext): unknown[] | undefined {
  const blocks = ctx.args.json<unknown>('blocks', 'invalid_blocks_format');
  if (blocks !== undefined && !Array.isArray(blocks)) throw new SlackApiError('invalid_blocks_format');
  return blocks as unknown[] | undefined;
}

/** `metadata` ({event_type, event_payload}): kept with the message, shown by history with `include_all_metadata`. */
function metadataArg(ctx: MethodContext): Record<string, unknown> | undefined {
  const v = ctx.args.json<unknown>('metadata', 'invalid_metadata_format');
  if (v === undefined) return undefined;
  const m = v as { event_type?: unknown; event_payload?: unknown };
  if (!m || typeof m !== 'object' || typeof m.event_type !== 'string' || !m.event_payload || typeof m.event_payload !== 'object') {
    throw new SlackApiError('invalid_metadata_format');
  }
  return { event_type: m.event_type, event_payload: m.event_payload };
}

function attachmentsArg(ctx: MethodContext): unknown[] | undefined {
  const v = ctx.args.json<unknown>('attachments', 'invalid_attachments');
  if (v !== undefined && !Array.isArray(v)) throw new SlackApiError('invalid_attachments');
  return v as unknown[] | undefined;
}

export const chatMethods: Record<string, MethodHandler> = {
  'chat.postMessage': (ctx) => {
    refuseAsUser(ctx);
    const conv = conversationArg(ctx, { userMeansDm: true });
    const threadTs = ctx.args.str('thread_ts');
    const metadata = metadataArg(ctx);
    const msg = ctx.services.messages.post(ctx.actor(), conv, {
      text: ctx.args.str('text'),
      blocks: blocksArg(ctx),
      attachments: attachmentsArg(ctx),
      threadTs: threadTs || undefined,
      broadcast: ctx.args.bool('reply_broadcast'),
      username: ctx.args.str('username') || undefined,
      iconUrl: ctx.args.str('icon_url') || undefined,
      iconEmoji: ctx.args.str('icon_emoji') || undefined,
      ...(metadata ? { extra: { metadata } } : {}),
    });
    return { channel: conv.id, ts: msg.ts, message: messageJson(ctx.services.state, msg) };
  },

  'chat.update': (ctx) => {
    refuseAsUser(ctx);
    const conv = conversationArg(ctx);
    const ts = ctx.args.need('ts', 'message_not_found');
    const msg = ctx.services.messages.edit(ctx.actor(), conv, ts, {
      text: ctx.args.has('text') ? ctx.args.str('text') : undefined,
      blocks: blocksArg(ctx),
      attachments: attachmentsArg(ctx),
    });
    return { channel: conv.id, ts: msg.ts, text: msg.text, message: messageJson(ctx.services.state, msg) };
  },

  'chat.delete': (ctx) => {
    refuseAsUser(ctx);
    const conv = conversationArg(ctx);
    const ts = ctx.args.need('ts', 'message_not_found');
    ctx.services.messages.delete(ctx.actor(), conv, ts);
    return { channel: conv.id, ts };
  },

  'chat.postEphemeral': (ctx) => {
    const conv = conversationArg(ctx);
    const actor = ctx.actor();
    ctx.services.messages.checkCanPost(actor, conv);
    const user = ctx.args.need('user', 'user_not_found');
    if (!ctx.services.state.users.has(user)) throw new SlackApiError('user_not_found');
    if (!conv.members.has(user)) throw new SlackApiError('user_not_in_channel');
    const text = ctx.args.str('text');
    const blocks = blocksArg(ctx);
    if (!text && !blocks?.length) throw new SlackApiError('no_text');
    const ts = ctx.services.state.clock.next(`ephemeral:${conv.id}`);
    ctx.services.ephemeral.push({ channel: conv.id, user, ts, text: text ?? '', blocks, appId: actor.appId });
    return { message_ts: ts };
  },

  'chat.getPermalink': (ctx) => {
    const conv = conversationArg(ctx);
    const ts = ctx.args.need('message_ts', 'message_not_found');
    const msg = ctx.services.state.message(conv, ts);
    const team = ctx.services.state.team(conv.teamId);
    const base = `https://${team.domain}.slack.com/archives/${conv.id}/p${msg.ts.replace('.', '')}`;
    const thread = msg.threadTs && msg.threadTs !== msg.ts ? `?thread_ts=${msg.threadTs}&cid=${conv.id}` : '';
    return { channel: conv.id, permalink: base + thread };
  },
};
