/**
 * The admin-room command router: registration checks, parsing of `!name args`,
 * permission and argument checks, usage errors, the built-in `!help`.
 *
 * Only the first line of a message is parsed (after dropping a Matrix reply
 * fallback). Replies are plain text plus simple HTML in which every
 * user-controlled (and bridge-authored) string is escaped. Argument values of
 * `secret` arguments never reach the log.
 *
 * Arguments are tokenised shell-style (see parse.ts nextToken: double and
 * single quotes, backslash escapes). A `rest` argument receives the raw
 * remainder of the line, trimmed, with quotes and backslashes left as typed
 * (so a password with quotes in it arrives intact).
 *
 * A message naming a command with a `secret` argument is reported through
 * `onSecret`, so the transaction journal drops it once it is handled.
 */
import { getLogger, type Logger } from '../logging/logger';
import { type Command, type CommandArg, type CommandContext, type CommandRegistry, CommandUsageError } from '../connector/commands';
import { closestMatch, escapeHtml, nextToken, skipSpaces, stripReplyFallback } from './parse';

/** A message typed in an admin room, as the bridge wiring hands it over. */
export interface IncomingCommandMessage {
  sender: string;
  roomId: string;
  /** The plain-text `body` of the m.room.message event. */
  body: string;
  /** Whether the sender is a bridge admin (see PermissionChecker). */
  isAdmin: boolean;
  reply(text: string, html?: string): Promise<void>;
  /**
   * Called (before anything else happens to it) when the message is a command with a `secret`
   * argument, so that whatever keeps the message (the transaction journal) lets go of it once handled.
   */
  onSecret?(): void;
}

/** What handle() did with a message (for metrics and tests). */
export type HandleOutcome =
  | 'ran' // the handler ran and returned normally
  | 'help' // built-in !help answered
  | 'hint' // not a command: the "use !help" hint was sent
  | 'ignored' // empty message, nothing sent
  | 'unknown' // unknown command
  | 'forbidden' // admin-only command, sender not an admin
  | 'usage' // wrong arguments / CommandUsageError
  | 'failed'; // the handler threw

export interface CommandRouterOptions {
  /** What starts a command; default `!`. Must be non-empty and contain no blanks. */
  prefix?: string;
  /** Defaults to getLogger('commands'). */
  logger?: Logger;
  /** Reply to a message that is not a command with a hint to use help; default true. */
  hintOnPlainText?: boolean;
}

/** Command names: lowercase letters, digits, `-` and `_`, starting with a letter; at most 32 characters. */
const NAME_RE = /^[a-z][a-z0-9_-]{0,31}$/;
const ARG_NAME_RE = /^[A-Za-z][A-Za-z0-9_-]{0,31}$/;
const HELP = 'help';
/** Longest unknown command name echoed back to the sender. */
const MAX_ECHO = 40;
const SECRET_MASK = '<secret>';

export class CommandRouter implements CommandRegistry {
  readonly prefix: string;
  private readonly commands = new Map<string, Command>();
  private readonly log: Logger;
  private readonly hintOnPlainText: boolean;

  constructor(opts: CommandRouterOptions = {}) {
    const prefix = opts.prefix ?? '!';
    if (!prefix || /\s/.test(prefix)) throw new Error(`Invalid command prefix ${JSON.stringify(prefix)}`);
    this.prefix = prefix;
    this.log = opts.logger ?? getLogger('commands');
    this.hintOnPlainText = opts.hintOnPlainText ?? true;
  }

  /**
   * Add a command. Throws on a duplicate or reserved (`help`) name, an invalid
   * command or argument name, duplicate argument names, a `rest` argument that
   * is not the last, or a required argument after an optional one.
   */
  register(command: Command): void {
    const name = command.name;
    if (typeof name !== 'string' || !NAME_RE.test(name)) {
      throw new Error(
        `Invalid command name ${JSON.stringify(name)}: use lowercase letters, digits, '-' or '_', starting with a letter (max 32)`,
      );
    }
    if (name === HELP) throw new Error('The command name "help" is reserved for the built-in help');
    if (this.commands.has(name)) throw new Error(`Command "${name}" is already registered`);
    if (typeof command.run !== 'function') throw new Error(`Command "${name}" has no run() handler`);
    if (command.permission !== undefined && command.permission !== 'user' && command.permission !== 'admin') {
      throw new Error(`Command "${name}": unknown permission ${JSON.stringify(command.permission)}`);
    }
    const args = command.args ?? [];
    const seen = new Set<string>();
    let sawOptional = false;
    args.forEach((arg, i) => {
      if (typeof arg.name !== 'string' || !ARG_NAME_RE.test(arg.name)) {
        throw new Error(`Command "${name}": invalid argument name ${JSON.stringify(arg.name)}`);
      }
      if (seen.has(arg.name)) throw new Error(`Command "${name}": duplicate argument "${arg.name}"`);
      seen.add(arg.name);
      if (arg.rest && i !== args.length - 1) {
        throw new Error(`Command "${name}": only the last argument may take the rest of the line ("${arg.name}")`);
      }
      if (arg.optional) sawOptional = true;
      else if (sawOptional) throw new Error(`Command "${name}": required argument "${arg.name}" after an optional one`);
    });
    this.commands.set(name, { ...command, args: args.map((a) => ({ ...a })) });
  }

  /** Registered command names (without the built-in help), sorted. */
  names(): string[] {
    return [...this.commands.keys()].sort();
  }

  /** The usage line of a registered command (or of `help`), e.g. `!login <user> [password...]`. */
  usage(name: string): string | undefined {
    if (name === HELP) return `${this.prefix}help [command]`;
    const cmd = this.commands.get(name);
    return cmd && this.usageOf(cmd);
  }

  /**
   * Handle one message typed in an admin room. Never throws: failures are
   * answered in the room and logged (failures of reply() itself are logged).
   */
  async handle(msg: IncomingCommandMessage): Promise<HandleOutcome> {
    const body = stripReplyFallback(typeof msg.body === 'string' ? msg.body : '');
    const line = body.split(/\r\n|\r|\n/, 1)[0].trim();
    if (!line) return 'ignored';
    if (!line.startsWith(this.prefix)) {
      if (!this.hintOnPlainText) return 'ignored';
      await this.hint(msg);
      return 'hint';
    }
    const afterPrefix = line.slice(this.prefix.length);
    // The command name: everything up to the first blank, taken literally.
    const nameMatch = /^\S+/.exec(afterPrefix);
    if (!nameMatch) {
      await this.hint(msg);
      return 'hint';
    }
    const typed = nameMatch[0];
    const name = typed.toLowerCase();
    const rest = afterPrefix.slice(typed.length);

    if (name === HELP) return this.runHelp(msg, rest);

    const cmd = this.commands.get(name);
    if (!cmd) {
      await this.unknown(msg, typed);
      return 'unknown';
    }
    // Whatever happens next (refused, bad usage, failure), the message may hold the secret.
    if (cmd.args?.some((a) => a.secret)) msg.onSecret?.();
    if (cmd.permission === 'admin' && !msg.isAdmin) {
      this.log.info('Refused admin-only command', { sender: msg.sender, roomId: msg.roomId, command: cmd.name });
      await this.send(msg, 'This command is only available to bridge admins.');
      return 'forbidden';
    }

    let args: Record<string, string | undefined>;
    // Raw values as typed, so a failing parser's error can be scrubbed of secrets.
    const raw: Record<string, string | undefined> = {};
    try {
      args = this.parseArgs(cmd, rest, raw);
    } catch (err) {
      if (err instanceof CommandUsageError) {
        await this.usageError(msg, cmd, err.message);
        return 'usage';
      }
      // A parser blew up with something other than a usage error: a bug.
      this.logFailure(cmd, msg, raw, raw, err, 'Argument parser failed');
      await this.failed(msg, cmd);
      return 'failed';
    }

    const ctx: CommandContext = {
      sender: msg.sender,
      roomId: msg.roomId,
      args,
      isAdmin: msg.isAdmin,
      reply: (text, html) => msg.reply(text, html),
    };
    this.log.debug('Running command', { sender: msg.sender, roomId: msg.roomId, command: cmd.name, args: this.maskArgs(cmd, args) });
    try {
      await cmd.run(ctx);
      return 'ran';
    } catch (err) {
      if (err instanceof CommandUsageError) {
        await this.usageError(msg, cmd, err.message);
        return 'usage';
      }
      this.logFailure(cmd, msg, args, raw, err, 'Command failed');
      await this.failed(msg, cmd);
      return 'failed';
    }
  }

  // ---- parsing ----

  private parseArgs(cmd: Command, text: string, rawOut: Record<string, string | undefined>): Record<string, string | undefined> {
    const specs = cmd.args ?? [];
    const out: Record<string, string | undefined> = {};
    let pos = 0;
    for (const spec of specs) {
      let raw: string | undefined;
      if (spec.rest) {
        // The raw remainder of the line, quotes and backslashes untouched.
        const from = skipSpaces(text, pos);
        raw = from < text.length ? text.slice(from).trimEnd() : undefined;
        pos = text.length;
      } else {
        const tok = nextToken(text, pos);
        if (tok) {
          raw = tok.value;
          pos = tok.end;
        }
      }
      if (raw === undefined) {
        if (!spec.optional) throw new CommandUsageError(`Missing argument <${spec.name}>.`);
        out[spec.name] = undefined;
        continue;
      }
      rawOut[spec.name] = raw;
      out[spec.name] = spec.parse ? spec.parse(raw) : raw;
    }
    if (nextToken(text, pos) !== undefined) {
      throw new CommandUsageError(specs.length ? 'Too many arguments.' : `${this.prefix}${cmd.name} takes no arguments.`);
    }
    return out;
  }

  // ---- help ----

  private visible(isAdmin: boolean): Command[] {
    return [...this.commands.values()]
      .filter((c) => c.permission !== 'admin' || isAdmin)
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  private async runHelp(msg: IncomingCommandMessage, rest: string): Promise<HandleOutcome> {
    let topic: string | undefined;
    try {
      const tok = nextToken(rest, 0);
      topic = tok?.value;
      if (tok && nextToken(rest, tok.end)) throw new CommandUsageError('Too many arguments.');
    } catch (err) {
      const message = err instanceof CommandUsageError ? err.message : 'Invalid arguments.';
      const usage = `${this.prefix}help [command]`;
      await this.send(msg, `${message}\nUsage: ${usage}`, `${escapeHtml(message)}<br>Usage: <code>${escapeHtml(usage)}</code>`);
      return 'usage';
    }
    if (topic === undefined || topic === '') {
      await this.helpList(msg);
      return 'help';
    }
    let wanted = topic;
    if (wanted.startsWith(this.prefix)) wanted = wanted.slice(this.prefix.length);
    const key = wanted.toLowerCase();
    if (key === HELP) {
      const usage = `${this.prefix}help [command]`;
      await this.send(
        msg,
        `${usage}\nList the commands you can use, or explain one command.`,
        `<p><code>${escapeHtml(usage)}</code></p><p>List the commands you can use, or explain one command.</p>`,
      );
      return 'help';
    }
    const cmd = this.commands.get(key);
    if (!cmd || (cmd.permission === 'admin' && !msg.isAdmin)) {
      await this.unknown(msg, wanted);
      return 'unknown';
    }
    await this.helpFor(msg, cmd);
    return 'help';
  }

  private async helpList(msg: IncomingCommandMessage): Promise<void> {
    const rows: Array<{ usage: string; summary: string }> = this.visible(msg.isAdmin).map((c) => ({
      usage: this.usageOf(c),
      summary: c.summary,
    }));
    rows.push({ usage: `${this.prefix}help [command]`, summary: 'Show this list, or help for one command.' });
    rows.sort((a, b) => (a.usage < b.usage ? -1 : a.usage > b.usage ? 1 : 0));
    const text = ['Available commands:', ...rows.map((r) => `${r.usage} — ${r.summary}`)].join('\n');
    const html =
      '<p>Available commands:</p><ul>' +
      rows.map((r) => `<li><code>${escapeHtml(r.usage)}</code> — ${escapeHtml(r.summary)}</li>`).join('') +
      '</ul>';
    await this.send(msg, text, html);
  }

  private async helpFor(msg: IncomingCommandMessage, cmd: Command): Promise<void> {
    const usage = this.usageOf(cmd);
    const text: string[] = [usage, cmd.summary];
    const html: string[] = [`<p><code>${escapeHtml(usage)}</code></p>`, `<p>${escapeHtml(cmd.summary)}</p>`];
    if (cmd.help) {
      text.push('', cmd.help);
      html.push(`<p>${escapeHtml(cmd.help).replace(/\r?\n/g, '<br>')}</p>`);
    }
    const args = cmd.args ?? [];
    if (args.length) {
      text.push('', 'Arguments:');
      html.push('<p>Arguments:</p><ul>');
      for (const a of args) {
        const notes = [a.optional ? 'optional' : '', a.rest ? 'rest of the line' : ''].filter(Boolean).join(', ');
        const label = `${a.name}${notes ? ` (${notes})` : ''}`;
        text.push(`  ${label}${a.description ? ` — ${a.description}` : ''}`);
        html.push(
          `<li><code>${escapeHtml(a.name)}</code>${notes ? ` (${escapeHtml(notes)})` : ''}` +
            `${a.description ? ` — ${escapeHtml(a.description)}` : ''}</li>`,
        );
      }
      html.push('</ul>');
    }
    if (cmd.permission === 'admin') {
      text.push('', 'Only bridge admins can use this command.');
      html.push('<p>Only bridge admins can use this command.</p>');
    }
    await this.send(msg, text.join('\n'), html.join(''));
  }

  private usageOf(cmd: Command): string {
    const parts = [`${this.prefix}${cmd.name}`];
    for (const a of cmd.args ?? []) {
      const inner = a.rest ? `${a.name}...` : a.name;
      parts.push(a.optional ? `[${inner}]` : `<${inner}>`);
    }
    return parts.join(' ');
  }

  // ---- replies ----

  private async hint(msg: IncomingCommandMessage): Promise<void> {
    const p = this.prefix;
    await this.send(
      msg,
      `Commands start with ${p}. Send ${p}help for the list of commands.`,
      `Commands start with <code>${escapeHtml(p)}</code>. Send <code>${escapeHtml(p)}help</code> for the list of commands.`,
    );
  }

  private async unknown(msg: IncomingCommandMessage, typed: string): Promise<void> {
    const shown = typed.length > MAX_ECHO ? `${typed.slice(0, MAX_ECHO)}…` : typed;
    const candidates = [HELP, ...this.visible(msg.isAdmin).map((c) => c.name)];
    const suggestion = closestMatch(typed, candidates);
    const p = this.prefix;
    let text = `Unknown command \`${p}${shown}\`.`;
    let html = `Unknown command <code>${escapeHtml(p + shown)}</code>.`;
    if (suggestion) {
      text += ` Did you mean \`${p}${suggestion}\`?`;
      html += ` Did you mean <code>${escapeHtml(p + suggestion)}</code>?`;
    }
    text += ` Send \`${p}help\` for the list of commands.`;
    html += ` Send <code>${escapeHtml(p)}help</code> for the list of commands.`;
    await this.send(msg, text, html);
  }

  private async usageError(msg: IncomingCommandMessage, cmd: Command, message: string): Promise<void> {
    const usage = this.usageOf(cmd);
    await this.send(msg, `${message}\nUsage: ${usage}`, `${escapeHtml(message)}<br>Usage: <code>${escapeHtml(usage)}</code>`);
  }

  private async failed(msg: IncomingCommandMessage, cmd: Command): Promise<void> {
    const p = this.prefix;
    await this.send(
      msg,
      `Something went wrong running \`${p}${cmd.name}\`. The bridge administrators can find the details in the log.`,
      `Something went wrong running <code>${escapeHtml(p + cmd.name)}</code>. The bridge administrators can find the details in the log.`,
    );
  }

  private async send(msg: IncomingCommandMessage, text: string, html?: string): Promise<void> {
    try {
      await msg.reply(text, html);
    } catch (err) {
      this.log.warn('Could not reply in admin room', {
        roomId: msg.roomId,
        sender: msg.sender,
        error: err instanceof Error ? err.message : String(err),
      });
    }
  }

  // ---- logging without secrets ----

  private maskArgs(cmd: Command, args: Record<string, string | undefined>): Record<string, string | undefined> {
    const out: Record<string, string | undefined> = {};
    for (const spec of cmd.args ?? []) {
      const v = args[spec.name];
      out[spec.name] = spec.secret && v !== undefined ? SECRET_MASK : v;
    }
    return out;
  }

  private logFailure(
    cmd: Command,
    msg: IncomingCommandMessage,
    args: Record<string, string | undefined>,
    raw: Record<string, string | undefined>,
    err: unknown,
    what: string,
  ): void {
    // Values of secret arguments, as typed and as parsed; longest first so a
    // secret containing another is masked whole.
    const secrets = [
      ...new Set(
        (cmd.args ?? [])
          .filter((a: CommandArg) => a.secret)
          .flatMap((a) => [raw[a.name], args[a.name]])
          .filter((v): v is string => typeof v === 'string' && v.length > 0),
      ),
    ].sort((a, b) => b.length - a.length);
    const scrub = (s: string | undefined): string | undefined => {
      if (s === undefined) return s;
      let out = s;
      for (const v of secrets) out = out.split(v).join(SECRET_MASK);
      return out;
    };
    const error =
      err instanceof Error ? { name: err.name, message: scrub(err.message), stack: scrub(err.stack) } : { message: scrub(String(err)) };
    this.log.error(what, {
      sender: msg.sender,
      roomId: msg.roomId,
      command: cmd.name,
      args: this.maskArgs(cmd, args),
      error,
    });
  }
}
