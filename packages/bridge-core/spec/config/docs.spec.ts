import { strict as assert } from 'node:assert';
import { generateConfigReference, listConfigOptions } from '../../src/config/docs';
import { CoreConfigSchema, composeConfigSchema } from '../../src/config/schema';
import { TestConnectorSchema } from './fixtures/protocol';

describe('config reference', () => {
  it('lists every option with type, default and description', () => {
    const opts = listConfigOptions(CoreConfigSchema);
    const byPath = new Map(opts.map((o) => [o.path, o]));
    for (const p of [
      'homeserver.url',
      'appservice.port',
      'database.postgres.connection_string',
      'provisioning.openid.allowed_ips',
      'state_cache.event_types',
      'data_dir',
    ]) {
      assert.ok(byPath.has(p), p);
    }
    assert.equal(byPath.get('appservice.port')?.default, 9898);
    assert.equal(byPath.get('homeserver.url')?.required, true);
    assert.equal(byPath.get('logging.level')?.type, '"error" | "warn" | "info" | "debug" | "trace"');
    assert.ok(
      opts.every((o) => o.description),
      opts
        .filter((o) => !o.description)
        .map((o) => o.path)
        .join(', '),
    );
  });

  it('renders Markdown tables including the connector section', () => {
    const md = generateConfigReference(composeConfigSchema({ key: 'test', schema: TestConnectorSchema }));
    assert.match(md, /^# Configuration reference/);
    assert.match(md, /## `homeserver`/);
    assert.match(md, /\| `homeserver\.url` \| string \| \*\*required\*\* \| Client-server API/);
    assert.match(md, /\| `database\.engine` \| "nedb" \\\| "postgres" \| `"nedb"` \|/);
    assert.match(md, /## `test`/);
    assert.match(md, /\| `test\.servers\.<name>\.host` \| string \| \*\*required\*\* in `test\.servers\.<name>` \|/);
    assert.match(md, /\| `bridge\.permissions\.users` \| list of string \| \*\*required\*\* in `bridge\.permissions` \|/);
  });
});
