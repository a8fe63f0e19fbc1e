/**
 * The Slack section of the config: a workspace needs a bot token and exactly one transport (an
 * app-level token for Socket Mode or a signing secret for the Events API); mistakes are named by key.
 */
import { strict as assert } from 'node:assert';
import { ConfigError } from '@causeway/bridge-core';
import { parseConfig } from '@causeway/bridge-core/tools';
import { SlackConfigSchema, checkWorkspaces, type SlackConfig } from '../src/config-schema';
import { SlackConnector } from '../src/connector';

const slack = { key: 'slack', schema: SlackConfigSchema };
const base =
  'homeserver:\n  url: http://127.0.0.1:8008\n  domain: example.org\nslack:\n  workspaces:\n    acme:\n      bot_token: xoxb-1-2-abc\n';

function problems(yaml: string): string[] {
  try {
    checkWorkspaces(parseConfig(yaml, slack).connector as SlackConfig);
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.problems;
  }
  return [];
}

describe('slack-bridge: config', () => {
  it('accepts a Socket Mode and an Events API workspace, with defaults filled in', () => {
    const cfg = parseConfig(
      `${base}      app_token: xapp-1-A1-xyz\n    beta:\n      bot_token: xoxb-3\n      signing_secret: s3cret\n`,
      slack,
    ).connector as SlackConfig;
    assert.deepEqual(problems(`${base}      app_token: xapp-1-A1-xyz\n`), []);
    assert.equal(cfg.workspaces.acme.api_url, 'https://slack.com/api/');
    assert.equal(cfg.workspaces.acme.rename_channels, false, 'Matrix room names rename Slack channels only when opted in');
    assert.equal(cfg.relay.username_template, '$DISPLAYNAME');
    checkWorkspaces(cfg);
  });

  it('names a workspace with both transports or neither', () => {
    assert.deepEqual(problems(base), ['slack.workspaces.acme: set app_token (Socket Mode) or signing_secret (Events API)']);
    assert.deepEqual(problems(`${base}      app_token: xapp-1\n      signing_secret: s\n`), [
      'slack.workspaces.acme: set either app_token (Socket Mode) or signing_secret (Events API), not both',
    ]);
  });

  it('names a token of the wrong kind by its key', () => {
    assert.throws(
      () => parseConfig(base.replace('xoxb-1-2-abc', 'xoxp-1-2-abc') + '      app_token: xapp-1\n', slack),
      (e: unknown) => {
        assert.ok(e instanceof ConfigError);
        assert.ok(
          e.problems.some((p) => p.startsWith('slack.workspaces.acme.bot_token')),
          e.problems.join('\n'),
        );
        return true;
      },
    );
  });

  it('refuses two Events API workspaces on one path', () => {
    const yaml = `${base}      signing_secret: a\n      events_path: /slack/events\n    beta:\n      bot_token: xoxb-3\n      signing_secret: b\n      events_path: /slack/events\n`;
    assert.deepEqual(problems(yaml), ['slack.workspaces.beta.events_path: /slack/events is also the path of workspace acme']);
  });

  it("is checked by validate-config too (through the connector's networkNames)", () => {
    const connector = new SlackConnector();
    const section = {
      ...slack,
      networkNames: (v: unknown) => connector.networkNames(v as SlackConfig),
      defaults: connector.protocol.defaults,
    };
    assert.throws(
      () => parseConfig(base, section),
      (e: unknown) => e instanceof ConfigError && e.problems[0].startsWith('slack.workspaces.acme: set app_token'),
    );
    assert.doesNotThrow(() => parseConfig(`${base}      app_token: xapp-1\n`, section));
  });
});
