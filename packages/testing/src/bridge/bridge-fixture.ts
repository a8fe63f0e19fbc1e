/**
 * A bridge under test: the homeserver emulator, a registration generated the
 * way an operator would, a config validated by the real schema, and a Bridge
 * with a connector of the test's choice, on a temp data directory.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { BridgeConnector } from '@causeway/bridge-core';
import { Bridge, generateRegistration, validateConfig, type Registration } from '@causeway/bridge-core/tools';
import { HomeserverEmulator } from '../homeserver';
import { freePort } from '../ports';
import { eventually } from '../eventually';

export interface BridgeFixture<C> {
  hs: HomeserverEmulator;
  bridge: Bridge<C>;
  registration: Registration;
  dataDir: string;
  asUrl: string;
  /** Stop the bridge (the emulator keeps running) and start a fresh one on the same data directory. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startBridgeFixture<C>(opts: {
  connector: () => BridgeConnector<C>;
  configKey: string;
  connectorConfig?: Record<string, unknown>;
  /** Core config overrides; a function gets the appservice URL (known only once the port is picked). */
  core?: Record<string, unknown> | ((asUrl: string) => Record<string, unknown>);
  hs?: HomeserverEmulator;
}): Promise<BridgeFixture<C>> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'causeway-bridge-'));
  const hs = opts.hs ?? (await HomeserverEmulator.start({ serverName: 'localhost' }));
  let connector = opts.connector();
  const core = (port: number) => ({
    homeserver: { url: hs.url, domain: hs.serverName },
    appservice: { port, bind_host: '127.0.0.1', registration: path.join(dataDir, 'registration.yaml') },
    bridge: { admins: ['@admin:localhost'] },
    database: { engine: 'nedb', nedb: { directory: path.join(dataDir, 'db') } },
    data_dir: dataDir,
    state_cache: { warm_on_start: false },
    ...(typeof opts.core === 'function' ? opts.core(`http://127.0.0.1:${port}`) : opts.core),
    [opts.configKey]: opts.connectorConfig ?? {},
  });
  // The registration needs the listener's URL, the listener needs the registration's hs_token:
  // pick a free port first, then generate the registration as an operator would.
  const port = await freePort();
  const asUrl = `http://127.0.0.1:${port}`;
  // As an operator's `generate-registration` would: namespaces follow the configured templates.
  const bridgeCfg = (core(port).bridge ?? {}) as { ghost_localpart_template?: string; alias_localpart_template?: string };
  const registration = generateRegistration({
    url: asUrl,
    protocol: connector.protocol,
    domain: hs.serverName,
    ghostTemplate: bridgeCfg.ghost_localpart_template,
    aliasTemplate: bridgeCfg.alias_localpart_template,
  });
  hs.addRegistration(registration);
  const make = () => {
    const l = validateConfig<C>(core(port), {
      key: opts.configKey,
      schema: connector.configSchema,
      defaults: connector.protocol.defaults,
      networkNames: connector.networkNames && ((section) => connector.networkNames!(section as C)),
    });
    return new Bridge<C>({ config: l.core, connectorConfig: l.connector, registration, connector });
  };
  const bridge = make();
  await bridge.start();
  const fixture: BridgeFixture<C> = {
    hs,
    bridge,
    registration,
    dataDir,
    asUrl,
    async restart() {
      await fixture.bridge.stop();
      connector = opts.connector();
      fixture.bridge = make();
      await fixture.bridge.start();
    },
    async stop() {
      await fixture.bridge.stop().catch(() => undefined);
      if (!opts.hs) await hs.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return fixture;
}

export { freePort, eventually };
