/**
 * The IRC section of the config: mistakes are named by key at start-up, before any connection.
 */
import { strict as assert } from 'node:assert';
import { parseConfig, ConfigError } from '../../packages/bridge-core/src/config/loader';
import { IrcConfigSchema } from '../../packages/irc-bridge/src/config-schema';

const irc = { key: 'irc', schema: IrcConfigSchema };
const base = 'homeserver:\n  url: http://127.0.0.1:8008\n  domain: example.org\nirc:\n  servers:\n    libera:\n      address: irc.example.org\n';

describe('irc-bridge: config', () => {
  it('names an excluded_users entry that is not a regular expression (it used to throw on every message)', () => {
    let problems: string[] = [];
    try {
      parseConfig(base + '      excluded_users: ["^@bot:", "@(unclosed"]\n', irc);
    } catch (e) {
      assert.ok(e instanceof ConfigError, String(e));
      problems = e.problems;
    }
    assert.deepEqual(problems, ['irc.servers.libera.excluded_users[1]: "@(unclosed" is not a valid regular expression']);
    assert.doesNotThrow(() => parseConfig(base + '      excluded_users: ["^@bot:"]\n', irc));
  });
});
