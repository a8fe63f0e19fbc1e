/**
 * Command-line parsing, compatible with the flags operators know from other
 * Matrix bridges (`-r -u URL -f registration.yaml`, `-c config.yaml`, `-p PORT`).
 */
import type { ConnectorCliCommand } from '../connector/cli-command';
export type { ConnectorCliCommand };

type CliCommand = 'run' | 'generate-registration' | 'validate-config' | 'config-reference' | 'help' | 'version';

export interface CliArgs {
  command: CliCommand;
  /** -c / --config; default ./config.yaml */
  config: string;
  /** -u / --url: the URL the homeserver uses to reach the bridge. */
  url?: string;
  /** -f / --file: registration output path (default: appservice.registration from the config). */
  file?: string;
  /** -p / --port: override appservice.port. */
  port?: number;
  forceNewTokens: boolean;
}

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

const SUBCOMMANDS: Record<string, CliCommand> = {
  'generate-registration': 'generate-registration',
  'validate-config': 'validate-config',
  'config-reference': 'config-reference',
  run: 'run',
  start: 'run',
  help: 'help',
};

export function usage(program: string, extra: readonly ConnectorCliCommand[] = []): string {
  return [
    `Usage: ${program} [command] [options]`,
    '',
    'Commands:',
    '  (none)                      Load the config and run the bridge (generates the registration if missing)',
    '  generate-registration, -r   Write the appservice registration file and exit',
    '  validate-config             Check the config file and exit (0 = valid, 1 = invalid)',
    '  config-reference            Print the reference of every config option (Markdown)',
    ...extra.map((c) => {
      const head = `  ${c.name} ${c.args}`;
      return head.length < 30 ? `${head.padEnd(30)}${c.summary}` : `${head}\n${' '.repeat(30)}${c.summary}`;
    }),
    '',
    'Options:',
    '  -c, --config FILE           Config file (default ./config.yaml)',
    '  -u, --url URL               URL the homeserver uses to reach the bridge (registration `url`)',
    '  -f, --file FILE             Registration file to write (default: appservice.registration from the config)',
    '  -p, --port PORT             Listen on this port instead of appservice.port',
    '      --force-new-tokens      With -r: issue new as_token/hs_token even if the registration exists',
    '  -h, --help                  Show this help',
    '  -V, --version               Show the version',
    '',
    'Exit codes: 0 ok, 1 config or registration error, 2 usage error.',
  ].join('\n');
}

/** Parse argv (without node and the script). Throws UsageError on anything it does not understand. */
export function parseArgs(argv: readonly string[]): CliArgs {
  const out: CliArgs = { command: 'run', config: './config.yaml', forceNewTokens: false };
  let commandSet = false;
  const setCommand = (c: CliCommand, how: string) => {
    if (commandSet && out.command !== c) throw new UsageError(`${how} cannot be combined with ${out.command}`);
    out.command = c;
    commandSet = true;
  };
  const args = [...argv];
  for (let i = 0; i < args.length; i++) {
    let arg = args[i];
    let inline: string | undefined;
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    if (eq > 0) {
      inline = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    const value = (name: string): string => {
      if (inline !== undefined) return inline;
      const v = args[++i];
      if (v === undefined || (v.startsWith('-') && v.length > 1)) throw new UsageError(`${name} needs a value`);
      return v;
    };
    switch (arg) {
      case '-r':
      case '--generate-registration':
        setCommand('generate-registration', arg);
        break;
      case '-c':
      case '--config':
        out.config = value(arg);
        break;
      case '-u':
      case '--url': {
        const url = value(arg);
        if (!/^https?:\/\/[^\s/]+/.test(url)) throw new UsageError(`${arg} expects an http(s) URL, got "${url}"`);
        out.url = url;
        break;
      }
      case '-f':
      case '--file':
        out.file = value(arg);
        break;
      case '-p':
      case '--port': {
        const raw = value(arg);
        const port = Number(raw);
        if (!/^\d+$/.test(raw) || port < 1 || port > 65535) throw new UsageError(`${arg} expects a port number (1-65535), got "${raw}"`);
        out.port = port;
        break;
      }
      case '--force-new-tokens':
        out.forceNewTokens = true;
        break;
      case '-h':
      case '--help':
        out.command = 'help';
        return out;
      case '-V':
      case '-v':
      case '--version':
        out.command = 'version';
        return out;
      default:
        if (inline === undefined && !arg.startsWith('-') && SUBCOMMANDS[arg] && !commandSet) {
          setCommand(SUBCOMMANDS[arg], arg);
          if (out.command === 'help') return out;
          break;
        }
        throw new UsageError(arg.startsWith('-') ? `unknown option ${arg}` : `unexpected argument "${arg}"`);
    }
  }
  if (out.forceNewTokens && out.command !== 'generate-registration')
    throw new UsageError('--force-new-tokens only applies to generate-registration (-r)');
  return out;
}
