/**
 * The one-call entry point of a bridge package's executable:
 * `runBridge({connector: new IrcConnector(), configKey: 'irc'})` gives it the
 * familiar command line (generate-registration, -r -u -f, -c, -p,
 * validate-config, config-reference) and starts the Bridge with the loaded config.
 */
import type { BridgeConnector } from '../connector/connector';
import { runCli } from '../cli/main';
import type { ConnectorCliCommand } from '../cli/args';
import { Bridge } from './bridge';

export interface RunBridgeOptions<C> {
  connector: BridgeConnector<C>;
  /** Top-level config key of the connector's section, e.g. "irc". */
  configKey: string;
  argv?: readonly string[];
  version?: string;
  /** The connector's own commands (see ConnectorCliCommand). */
  commands?: readonly ConnectorCliCommand[];
}

export function runBridge<C>(opts: RunBridgeOptions<C>): Promise<number> {
  return runCli<C>(opts.argv ?? process.argv.slice(2), {
    protocol: opts.connector.protocol,
    connectorConfigKey: opts.configKey,
    connectorSchema: opts.connector.configSchema,
    networkNames: opts.connector.networkNames && ((section) => opts.connector.networkNames!(section as C)),
    version: opts.version,
    commands: opts.commands,
    start: async (loaded) => {
      let stopping = false;
      const bridge: Bridge<C> = new Bridge<C>({
        config: loaded.core,
        connectorConfig: loaded.connector,
        registration: loaded.registration,
        connector: opts.connector,
        version: opts.version,
        // A rejected as_token is a configuration error: stop and say so instead of retrying forever.
        onFatal: (err) => {
          if (stopping) return;
          stopping = true;
          process.stderr.write(`Stopping: ${err.message}\n`);
          void bridge.stop().finally(() => process.exit(1));
        },
      });
      await bridge.start();
      return bridge;
    },
  });
}
