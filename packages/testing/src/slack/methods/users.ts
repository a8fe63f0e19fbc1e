// users.info, users.list, users.lookupByEmail, users.profile.get/set, bots.info, team.info,
// emoji.list: directory reads (and a user token editing its own profile, which emits user_change).
import { SlackApiError } from '../errors';
import { clampLimit, paginate } from '../paging';
import type { MethodHandler } from '../web-api';
import { botJson, profileJson, teamJson, userJson } from '../wire';
import { userArg } from './common';

export const userMethods: Record<string, MethodHandler> = {
  'users.info': (ctx) => ({ user: userJson(ctx.services.state, userArg(ctx)) }),

  'users.list': (ctx) => {
    const { state } = ctx.services;
    const members = [...state.users.values()].filter((u) => u.teamId === ctx.token.teamId).sort((a, b) => (a.id < b.id ? -1 : 1));
    // Without a limit Slack answers as many as it can in one page.
    const page = paginate(members, (u) => u.id, ctx.args.str('cursor'), clampLimit(ctx.args.int('limit', 0), 0, 1000));
    return {
      members: page.items.map((u) => userJson(state, u)),
      cache_ts: Math.floor(Date.now() / 1000),
      response_metadata: { next_cursor: page.nextCursor },
    };
  },

  'users.lookupByEmail': (ctx) => {
    const email = ctx.args.str('email')?.toLowerCase();
    const user = [...ctx.services.state.users.values()].find(
      (u) => u.teamId === ctx.token.teamId && u.profile.email?.toLowerCase() === email,
    );
    if (!user) throw new SlackApiError('users_not_found');
    return { user: userJson(ctx.services.state, user) };
  },

  'users.profile.get': (ctx) => {
    const user = ctx.args.has('user') ? userArg(ctx) : ctx.services.state.user(ctx.token.userId!);
    return { profile: profileJson(ctx.services.state, user) };
  },

  'users.profile.set': (ctx) => {
    const target = ctx.args.str('user');
    if (target && target !== ctx.token.userId) throw new SlackApiError('cannot_update_admin_user');
    const profile = ctx.args.json<Record<string, unknown>>('profile', 'invalid_profile') ?? {};
    const name = ctx.args.str('name');
    if (name) profile[name] = ctx.args.str('value') ?? '';
    const str = (k: string) => (typeof profile[k] === 'string' ? profile[k] : undefined);
    const user = ctx.services.users.updateProfile(ctx.token.userId!, {
      displayName: str('display_name'),
      realName: str('real_name'),
      title: str('title'),
      statusText: str('status_text'),
      statusEmoji: str('status_emoji'),
    });
    return { profile: profileJson(ctx.services.state, user) };
  },

  'bots.info': (ctx) => {
    const id = ctx.args.str('bot');
    const bot = id ? ctx.services.state.bots.get(id) : undefined;
    if (!bot || bot.teamId !== ctx.token.teamId) throw new SlackApiError('bot_not_found');
    return { bot: botJson(bot) };
  },

  'team.info': (ctx) => {
    const id = ctx.args.str('team') ?? ctx.token.teamId!;
    if (id !== ctx.token.teamId) throw new SlackApiError('team_not_found');
    return { team: teamJson(ctx.services.state.team(id)) };
  },

  'emoji.list': (ctx) => ({
    emoji: Object.fromEntries(ctx.services.state.team(ctx.token.teamId!).emoji),
    cache_ts: `${Math.floor(Date.now() / 1000)}.000000`,
  }),
};
