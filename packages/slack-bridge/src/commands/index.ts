// Registers the Slack bridge's admin-room commands (`help` is the core's).
import type { SlackWorkspaces } from '../workspace/registry';
import { linkCommands } from './link-commands';

export function registerCommands(c: SlackWorkspaces): void {
  for (const cmd of linkCommands(c)) c.ctx.commands.register(cmd);
}
