/**
 * BridgeProcess (@causeway/testing/bridge) when the bridge cannot start: start() fails with what the
 * child wrote, so a SIGKILL spec whose bridge dies says why instead of timing out.
 */
import { strict as assert } from 'node:assert';
import path from 'node:path';
import { HomeserverEmulator } from '@causeway/testing';
import { BridgeProcess, MemoryConnector } from '@causeway/testing/bridge';

describe('testing: BridgeProcess', function () {
  this.timeout(60_000);
  let hs: HomeserverEmulator;
  let bridge: BridgeProcess | undefined;
  before(async () => {
    hs = await HomeserverEmulator.start({ serverName: 'localhost' });
  });
  after(async () => {
    await bridge?.dispose();
    await hs.stop();
  });

  it('fails start() with the child’s own error output when the bridge exits before it is ready', async () => {
    bridge = await BridgeProcess.create({
      entry: path.join(__dirname, 'fixtures/bridge-proc.ts'),
      hs,
      protocol: new MemoryConnector().protocol,
      config: (site) => ({
        homeserver: { url: site.hsUrl, domain: 'localhost' },
        appservice: { port: 'not a port', bind_host: '127.0.0.1', registration: site.registration },
        database: { engine: 'nedb', nedb: { directory: path.join(site.dataDir, 'db') } },
        data_dir: site.dataDir,
        mem: {},
      }),
    });
    await assert.rejects(bridge.start(), (err: Error) => {
      assert.match(err.message, /bridge exited early \(1\)/);
      assert.match(err.message, /appservice\.port: wrong type/);
      return true;
    });
    assert.equal(bridge.running, false);
  });
});
