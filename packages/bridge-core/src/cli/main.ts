/**
 * The bridge executable: `runCli(process.argv.slice(2), {...})` from a
 * connector's bin script. Commands: run (default), generate-registration (-r),
 * validate-config, config-reference, --help, --version.
 * Exit codes: 0 ok, 1 config/registration/start error, 2 usage error.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { TSchema } from '@sinclair/typebox';
import type { ProtocolInfo } from '../connector/connector';
import { configureLogging, getLogger } from '../logging/logger';
import { ConfigError } from '../config/errors';
import { loadConfig, type LoadedConfig } from '../config/loader';
import { composeConfigSchema, type CoreConfig } from '../config/schema';
import { generateConfigReference } from '../config/docs';
import {
  describeRegistrationChanges,
  ensureRegistration,
  generateRegistration,
  loadRegistration,
  type GenerateRegistrationOptions,
  type Registration,
} from '../appservice/registration';
import { parseArgs, usage, UsageError, type CliArgs, type ConnectorCliCommand } from './args';
import { guardProcess } from './process-guard';

const EXIT_OK = 0;
const EXIT_CONFIG = 1;
const EXIT_USAGE = 2;

/** Everything `start` gets: the validated config and the registration in force. */
export interface StartContext<C = unknown> extends LoadedConfig<C> {
  registration: Registration;
  registrationPath: string;
  configPath: string;
}

interface RunningBridge {
  stop(): Promise<void>;
}

interface CliIo {
  /** Default: process.stdout. */
  stdout?: (text: string) => void;
  /** Default: process.stderr. */
  stderr?: (text: string) => void;
  /** Called with the exit code when the CLI is done (not after a successful start). Default: process.exit. */
  exit?: (code: number) => void;
  /** Where SIGINT/SIGTERM, uncaught exceptions and unhandled rejections come from (see process-guard.ts). Default: process. */
  signals?: NodeJS.EventEmitter;
}

export interface CliOptions<C = unknown> {
  protocol: ProtocolInfo;
  /** Top-level key of the connector's config section, e.g. "irc". */
  connectorConfigKey: string;
  connectorSchema: TSchema;
  /** The connector's network names for a valid section (`BridgeConnector.networkNames`), to check templates against. */
  networkNames?: (section: unknown) => readonly string[];
  start: (loaded: StartContext<C>) => Promise<RunningBridge>;
  /** Shown in usage and messages; default `<protocol id>-bridge`. */
  programName?: string;
  /** Printed by --version; default the bridge-core package version. */
  version?: string;
  /** The connector's own commands (`<program> <name> ...`), listed in the usage. */
  commands?: readonly ConnectorCliCommand[];
  io?: CliIo;
}

function coreVersion(): string {
  try {
    return (JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** The lines an admin adds to the homeserver config to install the registration. */
function homeserverInstructions(registrationPath: string): string {
  const abs = path.resolve(registrationPath);
  return [
    'Add it to your homeserver and restart the homeserver:',
    '  Synapse (homeserver.yaml):',
    '    app_service_config_files:',
    `      - ${abs}`,
    '  Dendrite (dendrite.yaml):',
    '    app_service_api:',
    '      config_files:',
    `        - ${abs}`,
    'The file is readable by its owner only (it holds the tokens); make sure the homeserver can read it.',
  ].join('\n');
}

/** The registration URL: -u, else appservice.url, else the listener address (127.0.0.1 for a wildcard bind). */
function defaultAppserviceUrl(core: CoreConfig): string {
  const host = ['0.0.0.0', '::', '[::]'].includes(core.appservice.bind_host) ? '127.0.0.1' : core.appservice.bind_host;
  return `http://${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${core.appservice.port}`;
}

function registrationOptions(core: CoreConfig, protocol: ProtocolInfo, url: string | null): Omit<GenerateRegistrationOptions, 'existing'> {
  return {
    url,
    protocol,
    domain: core.homeserver.domain,
    botLocalpart: core.bridge.bot.localpart,
    ghostTemplate: core.bridge.ghost_localpart_template,
    aliasTemplate: core.bridge.alias_localpart_template,
  };
}

/**
 * Run the command line. Resolves with the exit code; `io.exit` is called with it
 * too, except after the bridge started (then the process lives until a signal,
 * which stops the bridge and exits 0, or 1 if stopping failed).
 */
export async function runCli<C = unknown>(argv: readonly string[], opts: CliOptions<C>): Promise<number> {
  const out =
    opts.io?.stdout ??
    ((t: string) => {
      process.stdout.write(t.endsWith('\n') ? t : t + '\n');
    });
  const err =
    opts.io?.stderr ??
    ((t: string) => {
      process.stderr.write(t.endsWith('\n') ? t : t + '\n');
    });
  const exit = opts.io?.exit ?? ((code: number) => process.exit(code));
  const program = opts.programName ?? `${opts.protocol.id}-bridge`;
  const connectorSection = {
    key: opts.connectorConfigKey,
    schema: opts.connectorSchema,
    networkNames: opts.networkNames,
    defaults: opts.protocol.defaults,
  };
  const done = (code: number) => {
    exit(code);
    return code;
  };
  const own = opts.commands?.find((c) => c.name === argv[0]);
  if (own) return done(await own.run(argv.slice(1), { stdout: out, stderr: err }));

  let args: CliArgs;
  try {
    args = parseArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    err(`${program}: ${e.message}\n\n${usage(program, opts.commands)}`);
    return done(EXIT_USAGE);
  }

  try {
    switch (args.command) {
      case 'help':
        out(usage(program, opts.commands));
        return done(EXIT_OK);
      case 'version':
        out(`${program} ${opts.version ?? coreVersion()}`);
        return done(EXIT_OK);
      case 'config-reference':
        out(generateConfigReference(composeConfigSchema(connectorSection), `${opts.protocol.displayName} bridge configuration reference`));
        return done(EXIT_OK);
      case 'validate-config': {
        const loaded = loadConfig<C>(args.config, connectorSection);
        out(`OK: ${loaded.path} is valid`);
        return done(EXIT_OK);
      }
      case 'generate-registration': {
        const { core } = loadConfig<C>(args.config, connectorSection);
        if (args.port) core.appservice.port = args.port;
        const url = args.url ?? core.appservice.url;
        if (!url)
          throw new UsageError(
            'generate-registration needs the URL the homeserver uses to reach the bridge: pass -u URL or set appservice.url',
          );
        const file = args.file ?? core.appservice.registration;
        const result = ensureRegistration(file, { ...registrationOptions(core, opts.protocol, url), forceNewTokens: args.forceNewTokens });
        if (result.created) {
          out(`Registration written to ${result.path}.`);
          out(homeserverInstructions(result.path));
        } else if (result.updated) {
          out(`Registration ${result.path} updated:\n${result.changes.map((c) => `  - ${c}`).join('\n')}`);
          if (args.forceNewTokens)
            out('New tokens were issued: the homeserver must load the new file (restart it) before the bridge can connect.');
          else out('Tokens were kept. Restart the homeserver so it sees the changes.');
        } else {
          out(`Registration ${result.path} is already up to date (tokens kept; use --force-new-tokens to rotate them).`);
        }
        return done(EXIT_OK);
      }
      case 'run':
        break;
    }
  } catch (e) {
    if (e instanceof UsageError) {
      err(`${program}: ${e.message}\n\n${usage(program, opts.commands)}`);
      return done(EXIT_USAGE);
    }
    if (e instanceof ConfigError) {
      err(e.message);
      return done(EXIT_CONFIG);
    }
    throw e;
  }

  // run
  let ctx: StartContext<C>;
  try {
    const loaded = loadConfig<C>(args.config, connectorSection);
    const core = loaded.core;
    if (args.port) core.appservice.port = args.port;
    // CAUSEWAY_LOG_LEVEL, when set, overrides logging.level (handy for one-off debugging and for tests).
    const envLevel = process.env.CAUSEWAY_LOG_LEVEL as CoreConfig['logging']['level'] | undefined;
    const level = envLevel && ['error', 'warn', 'info', 'debug', 'trace'].includes(envLevel) ? envLevel : core.logging.level;
    configureLogging({ level, format: core.logging.format, file: core.logging.file });
    const regPath = path.resolve(args.file ?? core.appservice.registration);
    const regOpts = registrationOptions(core, opts.protocol, args.url ?? core.appservice.url ?? defaultAppserviceUrl(core));
    let registration: Registration;
    try {
      registration = loadRegistration(regPath);
      const drift = describeRegistrationChanges(registration, generateRegistration({ ...regOpts, existing: registration }));
      if (drift.length) {
        err(
          `Warning: registration ${regPath} does not match the config:\n${drift.map((c) => `  - ${c}`).join('\n')}\n` +
            `Run \`${program} -r -c ${args.config}\` to update it (tokens are kept), then restart the homeserver.`,
        );
      }
    } catch (e) {
      if (!(e instanceof ConfigError) || !e.fileMissing) throw e;
      const result = ensureRegistration(regPath, regOpts);
      registration = result.registration;
      out(`No registration found; generated one at ${result.path} (url ${String(registration.url)}).`);
      out(homeserverInstructions(result.path));
    }
    ctx = { ...loaded, registration, registrationPath: regPath, configPath: loaded.path ?? path.resolve(args.config) };
  } catch (e) {
    if (e instanceof ConfigError) {
      err(e.message);
      return done(EXIT_CONFIG);
    }
    throw e;
  }

  const signals = opts.io?.signals ?? process;
  const unguard = guardProcess({ source: signals, log: getLogger('process'), exit });
  let running: RunningBridge;
  try {
    running = await opts.start(ctx);
  } catch (e) {
    unguard();
    err(`${program}: failed to start: ${e instanceof Error ? e.message : String(e)}`);
    return done(e instanceof ConfigError ? EXIT_CONFIG : 1);
  }

  let stopping = false;
  const onSignal = (sig: string) => {
    if (stopping) {
      err(`${program}: ${sig} again, exiting without waiting`);
      exit(1);
      return;
    }
    stopping = true;
    err(`${program}: ${sig} received, stopping`);
    running.stop().then(
      () => {
        cleanup();
        exit(EXIT_OK);
      },
      (e: unknown) => {
        cleanup();
        err(`${program}: error while stopping: ${e instanceof Error ? e.message : String(e)}`);
        exit(1);
      },
    );
  };
  const onInt = () => onSignal('SIGINT');
  const onTerm = () => onSignal('SIGTERM');
  const cleanup = () => {
    signals.off('SIGINT', onInt);
    signals.off('SIGTERM', onTerm);
    unguard();
  };
  signals.on('SIGINT', onInt);
  signals.on('SIGTERM', onTerm);
  return EXIT_OK;
}
