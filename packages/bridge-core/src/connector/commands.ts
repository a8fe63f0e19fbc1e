/**
 * Admin-room commands: what a bridge registers and what a handler receives.
 * The framework (commands/*.ts) parses `!name args`, checks permissions and
 * argument counts, answers `!help`, and reports usage errors.
 */

export type CommandPermission = 'user' | 'admin';

export interface CommandArg {
  name: string;
  description?: string;
  optional?: boolean;
  /** Takes the rest of the line, spaces included (must be the last argument). */
  rest?: boolean;
  /**
   * The value is sensitive (a password, a token): the framework never writes it
   * to the log (it appears as `<secret>` and is scrubbed from logged errors), and
   * the message that carried it is dropped from the transaction journal as soon
   * as it has been handled.
   */
  secret?: boolean;
  /** Validates and may normalise the raw value; throw CommandUsageError to refuse. */
  parse?(raw: string): string;
}

export interface CommandContext {
  /** The Matrix user who typed the command. */
  sender: string;
  /** The admin room it was typed in. */
  roomId: string;
  /** Parsed arguments by name (optional ones may be undefined). */
  args: Record<string, string | undefined>;
  isAdmin: boolean;
  /** Answer in the admin room. */
  reply(text: string, html?: string): Promise<void>;
}

export interface Command {
  name: string;
  /** One line for `!help`. */
  summary: string;
  args?: CommandArg[];
  permission?: CommandPermission;
  /** Longer help for `!help <name>`. */
  help?: string;
  run(ctx: CommandContext): Promise<void>;
}

export interface CommandRegistry {
  register(command: Command): void;
}

/** Thrown by argument parsers and handlers for a wrong invocation; shown with the usage line. */
export class CommandUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CommandUsageError';
  }
}

/** `parse` for an argument that names a Matrix room by its ID (`!abc:example.org`). */
export function parseRoomId(raw: string): string {
  if (!/^![^:\s]+:\S+$/.test(raw)) throw new CommandUsageError(`${raw} is not a room ID (!abc:example.org).`);
  return raw;
}
