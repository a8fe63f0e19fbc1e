// The OAuth v2 redirect: Slack sends the user's browser back to `puppeting.redirect_url` with
// `code` and `state`. The route is public (a browser has no hs_token) but does nothing without a
// state the bridge issued: it names the Matrix user and workspace, is taken once, and expires. The
// code is exchanged with `oauth.v2.access` for a user token, which must belong to the workspace's
// team and is checked with `auth.test` before it is stored. The answer is plain text for the
// browser; the user is also told in their admin room.
import type { RouteContext } from '@causeway/bridge-core';
import type { SlackWorkspaces } from '../workspace/registry';
import type { LoginStates } from './login-states';
import { LoginRefused, slackErrorCode } from './puppets';
import { MeteredWebClient } from '../metrics/metered-client';
import { leanFetch } from '../workspace/lean-fetch';

function page(ctx: RouteContext, status: number, text: string): void {
  ctx.res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'cache-control': 'no-store',
    // The URL carried a one-time code: nothing it links to should see it.
    'referrer-policy': 'no-referrer',
  });
  ctx.res.end(`${text}\n`);
}

export function oauthCallback(c: SlackWorkspaces, states: LoginStates) {
  return async (ctx: RouteContext): Promise<void> => {
    const state = ctx.query.get('state') ?? '';
    const who = await states.take(state);
    const ws = who && c.has(who.workspace) ? c.workspace(who.workspace) : undefined;
    const cfg = ws?.cfg.puppeting;
    if (!who || !ws || !cfg) {
      page(
        ctx,
        400,
        'This Slack login link is unknown, expired or already used. Ask the bridge for a new one with "login" in your admin room.',
      );
      return;
    }
    if (!c.ctx.mayUseBridge(who.userId)) {
      page(ctx, 403, 'This Matrix account may not use the bridge.');
      return;
    }
    const tell = (text: string) =>
      c.ctx.notify
        .notice(who.userId, text)
        .catch((err: unknown) => ctx.log.warn('could not tell a user about their Slack login', { err: String(err) }));
    const denied = ctx.query.get('error');
    const code = ctx.query.get('code');
    if (denied || !code) {
      await tell(`The Slack login to ${ws.name} was not completed (${denied ?? 'no code'}).`);
      page(ctx, 400, `The Slack login was not completed (${denied ?? 'Slack sent no code'}).`);
      return;
    }
    let token: string | undefined;
    let slackUserId: string | undefined;
    try {
      const meter = { metrics: ws.metrics, workspace: ws.name, token: 'user' as const };
      const oauth = new MeteredWebClient(
        undefined,
        { slackApiUrl: ws.cfg.api_url, fetch: leanFetch, retryConfig: { retries: 2, maxTimeout: 2000 } },
        meter,
      );
      const r = (await oauth.oauth.v2.access({
        client_id: cfg.client_id,
        client_secret: cfg.client_secret,
        code,
        redirect_uri: cfg.redirect_url,
      })) as { team?: { id?: string }; authed_user?: { id?: string; access_token?: string } };
      if (r.team?.id !== ws.identity.teamId) throw new LoginRefused(`that login is for another Slack workspace than ${ws.name}`);
      token = r.authed_user?.access_token;
      if (!token?.startsWith('xoxp-')) throw new LoginRefused('Slack gave no user token (is a user scope configured?)');
      const me = await new MeteredWebClient(
        token,
        { slackApiUrl: ws.cfg.api_url, fetch: leanFetch, retryConfig: { retries: 0 } },
        meter,
      ).auth.test();
      slackUserId = me.user_id;
      if (!slackUserId || slackUserId !== r.authed_user?.id || me.team_id !== ws.identity.teamId)
        throw new LoginRefused('Slack did not confirm whose token it is');
      await ws.puppets.add(who.userId, slackUserId, token);
    } catch (err) {
      const code = slackErrorCode(err);
      const why = err instanceof LoginRefused ? err.message : code ? `Slack answered ${code}` : 'the bridge could not complete it';
      // What went wrong inside the bridge is logged, never shown on a public page.
      if (!(err instanceof LoginRefused) && !code) ctx.log.warn('Slack login failed', { err: String(err) });
      await tell(`The Slack login to ${ws.name} failed: ${why}.`);
      page(ctx, 400, `The Slack login failed: ${why}.`);
      return;
    }
    const name = (await ws.users.get(slackUserId)).displayName;
    await tell(
      `You are logged in to the Slack workspace ${ws.name} as ${name} (${slackUserId}). Your messages in bridged rooms now come from your own Slack account, and your Slack DMs reach you here. "logout ${ws.name}" ends it.`,
    );
    page(ctx, 200, `Your Slack account ${name} is now linked to the Matrix user ${who.userId}. You can close this page.`);
  };
}
