/**
 * A bridge in the bench's own process, configured as an operator would configure it (a generated
 * registration, the config validated by the real schema, the nedb store in a temp directory,
 * logging at `error`), against the homeserver emulator running as the `hs` role.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { BridgeConnector } from '@causeway/bridge-core';
import type { Bridge } from '@causeway/bridge-core/tools';
import type { Child } from './roles';

export interface BenchBridge<C> {
  bridge: Bridge<C>;
  /** The bridge bot's Matrix ID. */
  bot: string;
  stop: () => Promise<void>;
}

export async function startBridge<C>(o: {
  connector: BridgeConnector<C>;
  key: string;
  /** The connector's section; a function gets the bridge's data directory (made here). */
  section: Record<string, unknown> | ((dataDir: string) => Record<string, unknown>);
  hs: Child;
  /** Core options on top of the bench's (e.g. `delivery.fsync`). */
  core?: Record<string, unknown>;
}): Promise<BenchBridge<C>> {
  const { Bridge, generateRegistration, validateConfig } = await import('@causeway/bridge-core/tools');
  const { freePort } = await import('@causeway/testing');
  const hsInfo = await o.hs.call<{ url: string; serverName: string }>('info');
  const dataDir = mkdtempSync(path.join(os.tmpdir(), `causeway-bench-${o.key}-`));
  const port = await freePort();
  const registration = generateRegistration({ url: `http://127.0.0.1:${port}`, protocol: o.connector.protocol, domain: hsInfo.serverName });
  await o.hs.call('addRegistration', registration);
  const connector = o.connector;
  const cfg = validateConfig<C>(
    {
      homeserver: { url: hsInfo.url, domain: hsInfo.serverName },
      appservice: { port, bind_host: '127.0.0.1', registration: path.join(dataDir, 'registration.yaml') },
      bridge: { admins: ['@admin:localhost'] },
      database: { engine: 'nedb', nedb: { directory: path.join(dataDir, 'db') } },
      data_dir: dataDir,
      state_cache: { warm_on_start: false },
      logging: { level: 'error' },
      ...o.core,
      [o.key]: typeof o.section === 'function' ? o.section(dataDir) : o.section,
    },
    {
      key: o.key,
      schema: connector.configSchema,
      defaults: connector.protocol.defaults,
      networkNames: connector.networkNames && ((s) => connector.networkNames!(s as C)),
    },
  );
  const bridge = new Bridge<C>({ config: cfg.core, connectorConfig: cfg.connector, registration, connector });
  await bridge.start();
  return {
    bridge,
    bot: `@${registration.sender_localpart}:${hsInfo.serverName}`,
    stop: async () => {
      await bridge.stop().catch(() => undefined);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
