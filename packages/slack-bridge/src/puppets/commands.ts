// Admin-room commands for puppeting: `login [workspace]` answers with a Slack authorization link
// (its state bound to the sender, single use, expiring), `logout [workspace]` revokes the token at
// Slack and forgets it, `whoami` says which Slack accounts the sender is logged in as.
import { CommandUsageError, type Command } from '@causeway/bridge-core';
import type { SlackWorkspaces } from '../workspace/registry';
import type { SlackWorkspace } from '../workspace/slack-workspace';
import type { LoginStates } from './login-states';

/** The named workspace, or the only one when none is named. */
function pick(c: SlackWorkspaces, name: string | undefined): SlackWorkspace {
  if (name) return c.workspace(name);
  const names = Object.keys(c.ctx.config.workspaces);
  if (names.length === 1) return c.workspace(names[0]);
  throw new CommandUsageError(`Name the workspace: one of ${names.join(', ')}.`);
}

function authorizeUrl(ws: SlackWorkspace, state: string): string {
  const cfg = ws.cfg.puppeting!;
  const u = new URL(cfg.authorize_url);
  u.searchParams.set('client_id', cfg.client_id);
  u.searchParams.set('user_scope', cfg.user_scopes.join(','));
  u.searchParams.set('redirect_uri', cfg.redirect_url);
  u.searchParams.set('state', state);
  u.searchParams.set('team', ws.identity.teamId);
  return u.toString();
}

export function puppetCommands(c: SlackWorkspaces, states: LoginStates): Command[] {
  return [
    {
      name: 'login',
      summary: 'Link your own Slack account, so your messages come from you: login [workspace]',
      args: [{ name: 'workspace', optional: true }],
      async run(cmd) {
        const ws = pick(c, cmd.args.workspace);
        const cfg = ws.cfg.puppeting;
        if (!cfg) return cmd.reply(`Logging in to ${ws.name} is not enabled on this bridge: your messages are relayed by the bot.`);
        const state = await states.issue({ userId: cmd.sender, workspace: ws.name }, cfg.login_ttl_s * 1000);
        const url = authorizeUrl(ws, state);
        const minutes = Math.round(cfg.login_ttl_s / 60);
        const already = ws.puppets.of(cmd.sender) ? ' (you are logged in already; this replaces that login)' : '';
        await cmd.reply(
          `Open this link to log in to the Slack workspace ${ws.name}${already}. It works once, for ${minutes} minutes, and only for you: do not share it.\n${url}`,
        );
      },
    },
    {
      name: 'logout',
      summary: 'Unlink your Slack account (the token is revoked at Slack): logout [workspace]',
      args: [{ name: 'workspace', optional: true }],
      async run(cmd) {
        const ws = pick(c, cmd.args.workspace);
        const r = await ws.puppets.logout(cmd.sender);
        if (!r.hadLogin) return cmd.reply(`You are not logged in to ${ws.name}.`);
        await cmd.reply(
          r.revoked
            ? `Logged out of ${ws.name}: the token is revoked and forgotten. Your messages are relayed by the bot again.`
            : `Logged out of ${ws.name}: the token is forgotten, but Slack did not confirm revoking it (remove the app from your Slack account's authorizations to be sure).`,
        );
      },
    },
    {
      name: 'whoami',
      summary: 'Which Slack accounts you are logged in as',
      async run(cmd) {
        const lines: string[] = [];
        for (const ws of Object.keys(c.ctx.config.workspaces).map((n) => c.workspace(n))) {
          const p = ws.puppets.of(cmd.sender);
          if (p) {
            const name = (await ws.users.get(p.slackUserId)).displayName;
            lines.push(`${ws.name}: logged in as ${name} (${p.slackUserId}) since ${new Date(p.since).toISOString()}`);
          } else {
            lines.push(`${ws.name}: not logged in${ws.cfg.puppeting ? ' (login to link your account)' : ''}; relayed by the bot`);
          }
        }
        await cmd.reply(lines.join('\n'));
      },
    },
  ];
}
