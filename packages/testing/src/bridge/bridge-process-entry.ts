/**
 * The child's half of a BridgeProcess (bridge-process.ts): the real Bridge, with the test's
 * connector, started from the config and registration files the parent wrote, as an operator's
 * bridge would load them. It says READY on stdout once it listens; a failure to start is written
 * to stderr and exits 1, which the parent reports with that output.
 */
import path from 'node:path';
import type { BridgeConnector } from '@causeway/bridge-core';
import { Bridge, loadConfig, loadRegistration } from '@causeway/bridge-core/tools';

/** The environment variables that tell the child where its files are. */
export const BRIDGE_PROCESS_ENV = { config: 'CAUSEWAY_PROC_CONFIG', registration: 'CAUSEWAY_PROC_REGISTRATION' } as const;
export const READY_LINE = 'READY';

/** Start `connector`'s bridge from the parent's files (`key`: the connector's config section). */
export function runBridgeProcess<C>(connector: BridgeConnector<C>, key: string): void {
  start(connector, key).catch((err: unknown) => {
    const name = path.basename(process.argv[1] ?? 'bridge process');
    process.stderr.write(`${name} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}

async function start<C>(connector: BridgeConnector<C>, key: string): Promise<void> {
  const where = (name: string) => {
    const value = process.env[name];
    if (!value) throw new Error(`${name} is not set: start this file through BridgeProcess`);
    return value;
  };
  const registration = loadRegistration(where(BRIDGE_PROCESS_ENV.registration));
  const { core, connector: config } = loadConfig<C>(where(BRIDGE_PROCESS_ENV.config), {
    key,
    schema: connector.configSchema,
    defaults: connector.protocol.defaults,
  });
  const bridge = new Bridge<C>({ config: core, connectorConfig: config, registration, connector });
  await bridge.start();
  process.stdout.write(`${READY_LINE}\n`);
}
