/**
 * The IRC section of the config: mistakes are named by key at start-up, before any connection.
 */
import { strict as assert } from 'node:assert';
import { ConfigError } from '@causeway/bridge-core';
import { parseConfig } from '@causeway/bridge-core/tools';
import { IrcConfigSchema } from '../src/config-schema';
import { questionableCombinations } from '../src/connector';

const irc = { key: 'irc', schema: IrcConfigSchema };
const base =
  'homeserver:\n  url: http://127.0.0.1:8008\n  domain: example.org\nirc:\n  servers:\n    libera:\n      address: irc.example.org\n';

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

  it('warns (does not refuse) when the privacy filter is on but members are not connected as they join', () => {
    const filtered = (incremental: boolean) =>
      parseConfig(
        base +
          `      membership:\n        irc_to_matrix: {require_matrix_joined: true}\n        matrix_to_irc: {incremental: ${incremental}}\n`,
        irc,
      ).connector as never;
    const [warning] = questionableCombinations(filtered(false));
    assert.match(
      warning,
      /^irc\.servers\.libera\.membership\.irc_to_matrix\.require_matrix_joined is on but matrix_to_irc\.incremental is off/,
    );
    assert.deepEqual(questionableCombinations(filtered(true)), []);
  });
});
