// conversations.*: info, list, members, history, replies, join, leave, invite, open, create,
// rename, setTopic, setPurpose, archive. Reading follows Slack's visibility rules (bots read
// only where they are members; private conversations are invisible to non-members).
import { SlackApiError } from '../errors';
import { parseTs } from '../ids';
import type { Conversation, Message } from '../model';
import { clampLimit, paginate } from '../paging';
import { scopeFor, type ConversationKind } from '../scopes';
import type { MethodContext, MethodHandler } from '../web-api';
import { conversationJson, messageJson } from '../wire';
import { checkCanRead, conversationArg } from './common';

const TYPE_KIND: Record<string, ConversationKind> = { public_channel: 'channel', private_channel: 'group', im: 'im', mpim: 'mpim' };

function info(ctx: MethodContext, conv: Conversation, numMembers = false) {
  return conversationJson(conv, ctx.actor().userId, { numMembers });
}

/** Messages between `oldest` and `latest` (exclusive unless `inclusive`), by ts. */
function inWindow(ctx: MethodContext, msgs: Message[]): Message[] {
  const oldest = parseTs(ctx.args.str('oldest') ?? '') ?? -Infinity;
  const latest = parseTs(ctx.args.str('latest') ?? '') ?? Infinity;
  const inclusive = ctx.args.bool('inclusive');
  return msgs.filter((m) => {
    const t = parseTs(m.ts)!;
    return inclusive ? t >= oldest && t <= latest : t > oldest && t < latest;
  });
}

/**
 * conversations.list (what the caller can see) and users.conversations (what `memberOf` is in,
 * as far as the caller can see): `types`, `exclude_archived`, paging.
 */
function listConversations(ctx: MethodContext, memberOf: string, onlyMember: boolean) {
  const actor = ctx.actor();
  const types = ctx.args.list('types');
  const kinds = (types.length ? types : ['public_channel']).map((t) => {
    const k = TYPE_KIND[t];
    if (!k) throw new SlackApiError('invalid_types');
    return k;
  });
  const need = ctx.spec.tokens[ctx.token.kind];
  for (const k of kinds) {
    const scope = scopeFor(need, k);
    if (scope && !ctx.token.scopes.has(scope))
      throw new SlackApiError('missing_scope', { needed: scope, provided: [...ctx.token.scopes].join(',') });
  }
  const exclude = ctx.args.bool('exclude_archived');
  const visible = [...ctx.services.state.conversations.values()]
    .filter(
      (c) =>
        c.teamId === actor.teamId &&
        kinds.includes(c.kind) &&
        (c.kind === 'channel' || c.members.has(actor.userId)) &&
        (!onlyMember || c.members.has(memberOf)) &&
        !(exclude && c.archived),
    )
    .sort((a, b) => (a.id < b.id ? -1 : 1));
  const page = paginate(visible, (c) => c.id, ctx.args.str('cursor'), clampLimit(ctx.args.int('limit', 100), 100, 1000));
  return { channels: page.items.map((c) => info(ctx, c)), response_metadata: { next_cursor: page.nextCursor } };
}

export const conversationMethods: Record<string, MethodHandler> = {
  'conversations.info': (ctx) => ({ channel: info(ctx, conversationArg(ctx), ctx.args.bool('include_num_members')) }),

  'conversations.members': (ctx) => {
    const conv = conversationArg(ctx);
    const members = [...conv.members].sort();
    const page = paginate(members, (m) => m, ctx.args.str('cursor'), clampLimit(ctx.args.int('limit', 100), 100, 1000));
    return { members: page.items, response_metadata: { next_cursor: page.nextCursor } };
  },

  'conversations.list': (ctx) => listConversations(ctx, ctx.actor().userId, false),

  'users.conversations': (ctx) => {
    const user = ctx.args.str('user') ?? ctx.actor().userId;
    const target = ctx.services.state.users.get(user);
    if (!target || target.teamId !== ctx.token.teamId) throw new SlackApiError('user_not_found');
    return listConversations(ctx, user, true);
  },

  'conversations.history': (ctx) => {
    const conv = conversationArg(ctx);
    checkCanRead(ctx, conv);
    // Top-level messages only: thread replies appear in history only when broadcast.
    const top = conv.messages.filter((m) => !m.deleted && (!m.threadTs || m.threadTs === m.ts || m.subtype === 'thread_broadcast'));
    const newestFirst = inWindow(ctx, top).reverse();
    const limit = clampLimit(ctx.args.int('limit', 100), 100, 999);
    const page = paginate(newestFirst, (m) => m.ts, ctx.args.str('cursor'), limit, true);
    return {
      messages: page.items.map((m) => withoutMetadata(messageJson(ctx.services.state, m), ctx.args.bool('include_all_metadata'))),
      has_more: page.nextCursor !== '',
      pin_count: 0,
      channel_actions_ts: null,
      channel_actions_count: 0,
      response_metadata: { next_cursor: page.nextCursor },
    };
  },

  'conversations.replies': (ctx) => {
    const conv = conversationArg(ctx);
    checkCanRead(ctx, conv);
    const ts = ctx.args.need('ts', 'thread_not_found');
    const msg = conv.byTs.get(ts);
    if (!msg || msg.deleted) throw new SlackApiError('thread_not_found');
    const rootTs = msg.threadTs ?? msg.ts;
    const root = conv.byTs.get(rootTs);
    const replies = (root?.replies ?? []).map((r) => conv.byTs.get(r)).filter((m): m is Message => !!m && !m.deleted);
    const all = [...(root && !root.deleted ? [root] : []), ...inWindow(ctx, replies)];
    const page = paginate(all, (m) => m.ts, ctx.args.str('cursor'), clampLimit(ctx.args.int('limit', 1000), 1000, 1000));
    return {
      messages: page.items.map((m) => messageJson(ctx.services.state, m)),
      has_more: page.nextCursor !== '',
      response_metadata: { next_cursor: page.nextCursor },
    };
  },

  'conversations.join': (ctx) => {
    const id = ctx.args.str('channel');
    const conv = id ? ctx.services.state.conversations.get(id) : undefined;
    if (!conv || conv.teamId !== ctx.token.teamId) throw new SlackApiError('channel_not_found');
    if (conv.kind !== 'channel')
      throw new SlackApiError(conv.members.has(ctx.actor().userId) ? 'method_not_supported_for_channel_type' : 'channel_not_found');
    const joined = ctx.services.conversations.selfJoin(ctx.actor(), conv);
    if (!joined) ctx.warn('already_in_channel');
    return { channel: info(ctx, conv) };
  },

  'conversations.leave': (ctx) => {
    const conv = conversationArg(ctx);
    const left = ctx.services.conversations.leave(ctx.actor(), conv);
    return left ? {} : { not_in_channel: true };
  },

  'conversations.invite': (ctx) => {
    const conv = conversationArg(ctx);
    ctx.services.conversations.invite(ctx.actor(), conv, ctx.args.list('users'));
    return { channel: info(ctx, conv) };
  },

  'conversations.open': (ctx) => {
    const actor = ctx.actor();
    const channel = ctx.args.str('channel');
    let result;
    if (channel) {
      result = { conversation: conversationArg(ctx), created: false };
    } else {
      const users = ctx.args.list('users');
      if (users.length === 0) throw new SlackApiError('users_list_not_supplied');
      const kind: ConversationKind = users.length > 1 ? 'mpim' : 'im';
      const scope = scopeFor(ctx.spec.tokens[ctx.token.kind], kind);
      if (scope && !ctx.token.scopes.has(scope))
        throw new SlackApiError('missing_scope', { needed: scope, provided: [...ctx.token.scopes].join(',') });
      result = ctx.services.conversations.open(actor, users);
    }
    const conv = result.conversation;
    const full = ctx.args.bool('return_im') || conv.kind === 'mpim';
    const out: Record<string, unknown> = { channel: full ? info(ctx, conv) : { id: conv.id } };
    if (!result.created) Object.assign(out, { no_op: true, already_open: true });
    return out;
  },

  'conversations.create': (ctx) => {
    const isPrivate = ctx.args.bool('is_private');
    const scope = scopeFor(ctx.spec.tokens[ctx.token.kind], isPrivate ? 'group' : 'channel');
    if (scope && !ctx.token.scopes.has(scope))
      throw new SlackApiError('missing_scope', { needed: scope, provided: [...ctx.token.scopes].join(',') });
    const conv = ctx.services.conversations.create(ctx.actor(), ctx.args.str('name') ?? '', isPrivate);
    return { channel: info(ctx, conv) };
  },

  'conversations.rename': (ctx) => {
    const conv = conversationArg(ctx);
    ctx.services.conversations.rename(ctx.actor(), conv, ctx.args.str('name') ?? '');
    return { channel: info(ctx, conv) };
  },

  'conversations.setTopic': (ctx) => {
    const conv = conversationArg(ctx);
    ctx.services.conversations.setTopic(ctx.actor(), conv, ctx.args.str('topic') ?? '');
    return { channel: info(ctx, conv) };
  },

  'conversations.setPurpose': (ctx) => {
    const conv = conversationArg(ctx);
    ctx.services.conversations.setPurpose(ctx.actor(), conv, ctx.args.str('purpose') ?? '');
    return { channel: info(ctx, conv) };
  },

  'conversations.archive': (ctx) => {
    const conv = conversationArg(ctx);
    ctx.services.conversations.archive(ctx.actor(), conv);
    return {};
  },
};

/** Message metadata is listed by history only when asked for (`include_all_metadata`). */
function withoutMetadata(json: Record<string, unknown>, keep: boolean): Record<string, unknown> {
  if (!keep) delete json.metadata;
  return json;
}
