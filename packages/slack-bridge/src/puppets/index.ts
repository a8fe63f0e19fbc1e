// Puppeting's registration: the OAuth callback route(s) on the appservice listener and the
// login/logout/whoami commands. One route per distinct redirect path; the state names the workspace.
import { ConfigError } from '@causeway/bridge-core';
import type { SlackWorkspaces } from '../workspace/registry';
import { LoginStates } from './login-states';
import { oauthCallback } from './oauth-callback';
import { puppetCommands } from './commands';
import { redirectPath } from './config';

export function registerPuppeting(c: SlackWorkspaces): void {
  const states = new LoginStates(c.ctx.data);
  const paths = new Set<string>();
  for (const ws of Object.keys(c.ctx.config.workspaces).map((n) => c.workspace(n))) {
    if (!ws.cfg.puppeting) continue;
    const path = redirectPath(ws.cfg.puppeting);
    if (path === ws.eventsPath)
      throw new ConfigError('The slack section of the config is not valid', [
        `slack.workspaces.${ws.name}.puppeting.redirect_url: its path ${path} is the workspace's events_path`,
      ]);
    paths.add(path);
  }
  const handler = oauthCallback(c, states);
  // Public on purpose: the browser Slack redirects carries no hs_token; the one-time state is the check.
  for (const path of paths) c.ctx.http.addRoute('GET', path, handler, { public: true });
  for (const cmd of puppetCommands(c, states)) c.ctx.commands.register(cmd);
}
