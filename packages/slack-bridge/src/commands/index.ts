// Registers the Slack bridge's admin-room commands (`help` is the core's).
import type { SlackConnector } from '../connector';
import { linkCommands } from './link-commands';

export function registerCommands(c: SlackConnector): void {
  for (const cmd of linkCommands(c)) c.ctx.commands.register(cmd);
}
