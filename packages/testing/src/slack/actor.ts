// Who performs an action and how: a person in a Slack client, an app's bot token, or an app
// acting as a person with that person's user token. The difference shows in what Slack stores
// and sends (bot_id/app_id, client_msg_id and rich_text blocks, overrides needing
// chat:write.customize, posting in public channels without joining with chat:write.public).
import type { SlackState } from './state';
import type { TokenRecord } from './tokens';

export interface Actor {
  teamId: string;
  /** The acting user (a bot's bot user for bot tokens). */
  userId: string;
  via: 'client' | 'bot' | 'user-token';
  appId?: string;
  botId?: string;
  scopes: ReadonlySet<string>;
}

export function clientActor(state: SlackState, userId: string): Actor {
  const user = state.user(userId);
  return { teamId: user.teamId, userId, via: 'client', scopes: new Set() };
}

export function tokenActor(state: SlackState, token: TokenRecord): Actor {
  if (!token.teamId || !token.userId) throw new Error('token without team or user cannot act');
  if (token.kind === 'bot') {
    const user = state.user(token.userId);
    return { teamId: token.teamId, userId: token.userId, via: 'bot', appId: token.appId, botId: user.botId, scopes: token.scopes };
  }
  return { teamId: token.teamId, userId: token.userId, via: 'user-token', appId: token.appId, scopes: token.scopes };
}

export function isAdmin(state: SlackState, actor: Actor): boolean {
  return state.users.get(actor.userId)?.isAdmin ?? false;
}
