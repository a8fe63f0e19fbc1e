/**
 * A workspace whose tokens Slack refuses stops the bridge at start-up with the config key named,
 * instead of running without it.
 */
import { strict as assert } from 'node:assert';
import { ConfigError } from '@causeway/bridge-core';
import { startSlackBridge, type Transport } from './support';

describe('slack-bridge: start-up with refused tokens', function () {
  this.timeout(60_000);

  for (const [transport, key, value] of [
    ['http', 'bot_token', 'xoxb-not-a-real-token'],
    ['socket', 'app_token', 'xapp-not-a-real-token'],
  ] as Array<[Transport, string, string]>) {
    it(`names slack.workspaces.acme.${key} when Slack refuses it`, async () => {
      let err: unknown;
      try {
        const b = await startSlackBridge(transport, { workspace: { [key]: value } });
        await b.stop();
      } catch (e) {
        err = e;
      }
      assert.ok(err instanceof ConfigError, String(err));
      assert.match(err.problems.join('\n'), new RegExp(`^slack\\.workspaces\\.acme\\.${key}: Slack refused it \\(invalid_auth\\)`));
    });
  }
});
