/** Registers the IRC bridge's admin-room commands (`!help` is the core's). */
import type { CommandDeps } from './deps';
import { userCommands } from './user-commands';
import { adminCommands } from './admin-commands';
import { certfpCommand } from './certfp-command';
import { operatorCommands } from './operator-commands';

export function registerCommands(deps: CommandDeps): void {
  for (const cmd of [...userCommands(deps), certfpCommand(deps), ...adminCommands(deps), ...operatorCommands(deps)])
    deps.ctx.commands.register(cmd);
}
