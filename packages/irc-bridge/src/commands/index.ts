/** Registers the IRC bridge's admin-room commands (`!help` is the core's). */
import type { IrcConnector } from '../connector';
import { userCommands } from './user-commands';
import { adminCommands } from './admin-commands';
import { certfpCommand } from './certfp-command';
import { operatorCommands } from './operator-commands';

export function registerCommands(connector: IrcConnector): void {
  for (const cmd of [...userCommands(connector), certfpCommand(connector), ...adminCommands(connector), ...operatorCommands(connector)]) connector.ctx.commands.register(cmd);
}
