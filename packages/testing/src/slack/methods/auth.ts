// auth.test, auth.revoke, apps.connections.open (Socket Mode tickets), oauth.v2.access (codes
// issued by the emulator exchanged for bot and user tokens), and rtm.connect, which granular
// tokens may not use.
import { timingSafeEqual } from 'node:crypto';
import { SlackApiError } from '../errors';
import type { MethodHandler } from '../web-api';

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Client credentials from HTTP Basic auth (preferred by Slack) or form fields. */
function clientCredentials(
  authorization: string | undefined,
  args: { str(n: string): string | undefined },
): { id?: string; secret?: string } {
  const m = /^Basic\s+(\S+)$/i.exec(authorization ?? '');
  if (m) {
    const decoded = Buffer.from(m[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon >= 0) return { id: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
  }
  return { id: args.str('client_id'), secret: args.str('client_secret') };
}

export const authMethods: Record<string, MethodHandler> = {
  'auth.test': (ctx) => {
    const { state } = ctx.services;
    const t = ctx.token;
    const team = state.team(t.teamId!);
    const user = state.user(t.userId!);
    const out: Record<string, unknown> = {
      url: `https://${team.domain}.slack.com/`,
      team: team.name,
      user: user.name,
      team_id: team.id,
      user_id: user.id,
      is_enterprise_install: false,
    };
    if (t.kind === 'bot') {
      out.bot_id = user.botId;
      out.app_id = t.appId;
    }
    return out;
  },

  'auth.revoke': (ctx) => {
    if (ctx.args.bool('test')) return { revoked: false };
    const given = /^Bearer\s+(\S+)/i.exec(ctx.req.headers.authorization ?? '')?.[1] ?? ctx.args.str('token');
    if (given) ctx.services.state.tokens.forget(given);
    return { revoked: true };
  },

  'apps.connections.open': (ctx) => ({ url: ctx.services.socketMode.issueTicket(ctx.token.appId) }),

  'rtm.connect': () => {
    throw new SlackApiError('not_allowed_token_type');
  },

  'oauth.v2.access': (ctx) => {
    const { state } = ctx.services;
    const creds = clientCredentials(ctx.req.headers.authorization, ctx.args);
    const app = [...state.apps.values()].find((a) => a.clientId === creds.id);
    if (!app) throw new SlackApiError('invalid_client_id');
    if (!creds.secret || !sameSecret(creds.secret, app.clientSecret)) throw new SlackApiError('bad_client_secret');
    return ctx.services.oauth.exchange(app, ctx.args.str('code') ?? '', ctx.args.str('redirect_uri'));
  },
};
