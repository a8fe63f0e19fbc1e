/**
 * The Gitter section of the config: mistakes are named by key at start-up, before any request.
 */
import { strict as assert } from 'node:assert';
import { ConfigError } from '@causeway/bridge-core';
import { parseConfig } from '@causeway/bridge-core/tools';
import { GitterConfigSchema, type GitterConfig } from '../src/config-schema';

const gitter = { key: 'gitter', schema: GitterConfigSchema };
const base = 'homeserver:\n  url: http://127.0.0.1:8008\n  domain: example.org\n';

function problems(yaml: string): string[] {
  try {
    parseConfig(base + yaml, gitter);
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.problems;
  }
  return [];
}

describe('gitter-bridge: config', () => {
  it('fills in the defaults around a relay token', () => {
    const cfg = parseConfig<GitterConfig>(base + 'gitter:\n  relay:\n    token: abc\n', gitter).connector;
    assert.equal(cfg.rest_base_url, 'https://api.gitter.im/v1');
    assert.equal(cfg.stream_base_url, 'https://stream.gitter.im/v1');
    assert.equal(cfg.puppeting.enabled, false);
    assert.equal(cfg.portals.aliases, true);
  });

  it('names a missing relay token and a base URL that is not http(s)', () => {
    assert.ok(
      problems('gitter:\n  relay: {}\n').some((p) => p.startsWith('gitter.relay.token')),
      'token named',
    );
    assert.ok(
      problems('gitter:\n  rest_base_url: ftp://x\n  relay:\n    token: abc\n').some((p) => p.startsWith('gitter.rest_base_url')),
      'URL named',
    );
    assert.ok(
      problems('gitter:\n  relay:\n    token: abc\n  relay_token: x\n').some((p) => /relay_token/.test(p)),
      'unknown key named',
    );
  });
});
