// Who the bridge is in one workspace, from `auth.test`: the team, the bot user and the bot/app IDs
// its own posts carry, which is how their echoes are recognised.
import type { WebClient } from '@slack/web-api';

export interface SlackIdentity {
  teamId: string;
  teamName: string;
  /** Workspace URL (`https://acme.slack.com/`), for links back to messages. */
  url?: string;
  botUserId: string;
  botId: string;
  appId?: string;
}

/** Asks Slack who the token belongs to; throws when the token is refused. */
export async function fetchIdentity(client: WebClient): Promise<SlackIdentity> {
  const r = await client.auth.test();
  if (!r.team_id || !r.user_id || !r.bot_id)
    throw new Error('auth.test did not name the team, bot user and bot: is bot_token a bot token (xoxb-)?');
  const appId = (r as { app_id?: unknown }).app_id;
  return {
    teamId: r.team_id,
    teamName: r.team ?? r.team_id,
    botUserId: r.user_id,
    botId: r.bot_id,
    ...(typeof r.url === 'string' ? { url: r.url } : {}),
    ...(typeof appId === 'string' ? { appId } : {}),
  };
}
