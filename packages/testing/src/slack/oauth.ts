// OAuth v2 as the emulator plays it: there is no browser, so a spec asks for an authorization
// code on behalf of a user ("alice clicked Allow for these scopes"), hands it to the bridge, and
// the bridge exchanges it with oauth.v2.access for a bot token and/or a user token (xoxp-)
// acting as that user. Codes are single-use and expire after ten minutes, as Slack's do.
import { SlackApiError } from './errors';
import { randomHex } from './ids';
import type { App } from './model';
import type { SlackState } from './state';

export interface CodeRequest {
  appId: string;
  teamId: string;
  /** The user who approves (and gets the user token). */
  userId: string;
  /** Bot scopes to install with (default none: a user-token-only authorization). */
  botScopes?: Iterable<string>;
  /** User scopes for the user token (default none). */
  userScopes?: Iterable<string>;
  /** The redirect_uri the authorization used; the exchange must repeat it. */
  redirectUri?: string;
}

interface IssuedCode extends Required<Omit<CodeRequest, 'botScopes' | 'userScopes' | 'redirectUri'>> {
  botScopes: string[];
  userScopes: string[];
  redirectUri?: string;
  expires: number;
  used: boolean;
}

const CODE_TTL_MS = 10 * 60_000;

export class OAuthCodes {
  private codes = new Map<string, IssuedCode>();

  constructor(private state: SlackState) {}

  issue(req: CodeRequest): string {
    const app = this.state.app(req.appId);
    const user = this.state.user(req.userId);
    if (user.teamId !== req.teamId) throw new Error(`user ${req.userId} is not in team ${req.teamId}`);
    const botScopes = [...(req.botScopes ?? [])];
    const userScopes = [...(req.userScopes ?? [])];
    for (const s of botScopes) if (!app.botScopes.has(s)) throw new Error(`app ${app.name} does not list bot scope ${s}`);
    for (const s of userScopes) if (!app.userScopes.has(s)) throw new Error(`app ${app.name} does not list user scope ${s}`);
    if (!botScopes.length && !userScopes.length) throw new Error('an authorization needs bot or user scopes');
    const code = `${Date.now()}.${randomHex(6)}.${randomHex(24)}`;
    this.codes.set(code, { ...req, botScopes, userScopes, redirectUri: req.redirectUri, expires: Date.now() + CODE_TTL_MS, used: false });
    return code;
  }

  exchange(app: App, code: string, redirectUri: string | undefined): Record<string, unknown> {
    const issued = this.codes.get(code);
    if (!issued || issued.used || issued.expires < Date.now() || issued.appId !== app.id) throw new SlackApiError('invalid_code');
    if (issued.redirectUri !== undefined && issued.redirectUri !== redirectUri) throw new SlackApiError('bad_redirect_uri');
    issued.used = true;
    const team = this.state.team(issued.teamId);
    const out: Record<string, unknown> = { app_id: app.id };
    if (issued.botScopes.length) {
      const inst = this.state.install(app.id, team.id, { botScopes: issued.botScopes, installedBy: issued.userId });
      const bot = inst.bot!;
      Object.assign(out, { access_token: bot.token, token_type: 'bot', scope: [...bot.scopes].join(','), bot_user_id: bot.botUserId });
    }
    const authed: Record<string, unknown> = { id: issued.userId };
    if (issued.userScopes.length) {
      const grant = this.state.grantUser(app.id, team.id, issued.userId, issued.userScopes);
      Object.assign(authed, { scope: [...grant.scopes].join(','), access_token: grant.token, token_type: 'user' });
    }
    return { ...out, authed_user: authed, team: { id: team.id, name: team.name }, enterprise: null, is_enterprise_install: false };
  }
}
