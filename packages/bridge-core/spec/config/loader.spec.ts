import { strict as assert } from 'node:assert';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { loadConfig, parseConfig, ConfigError } from '../../src/config/loader';
import { CoreConfigSchema } from '../../src/config/schema';
import { redact } from '../../src/logging/logger';
import { provisioningOptionsFromConfig } from '../../src/provisioning/from-config';
import { TestConnectorSchema, minimalConfig } from './fixtures/protocol';

const section = { key: 'test', schema: TestConnectorSchema };

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
    return e.problems;
  }
  assert.fail('expected a ConfigError');
}

describe('config loader', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'causeway-config-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('loads a minimal config and applies every default', () => {
    const file = path.join(dir, 'config.yaml');
    writeFileSync(file, minimalConfig + 'test:\n  servers:\n    libera: {host: irc.libera.chat}\n');
    const { core, connector, path: loadedPath } = loadConfig<{ servers: Record<string, { host: string; port: number }> }>(file, section);
    assert.equal(loadedPath, file);
    assert.equal(core.homeserver.domain, 'example.org');
    assert.equal(core.appservice.port, 9898);
    assert.equal(core.appservice.bind_host, '127.0.0.1');
    assert.equal(core.appservice.registration, './registration.yaml');
    assert.equal(core.database.engine, 'nedb');
    assert.equal(core.database.nedb.directory, './data');
    assert.equal(core.data_dir, './data');
    assert.equal(core.delivery.fsync, 'batch');
    assert.equal(core.logging.level, 'info');
    assert.equal(core.metrics.enabled, false);
    assert.equal(core.metrics.port, 9001);
    assert.equal(core.provisioning.enabled, false);
    assert.equal(core.provisioning.path_prefix, '/_matrix/provision');
    assert.equal(core.provisioning.rate_limit.enabled, true);
    assert.equal(core.state_cache.max_rooms, 10000);
    assert.equal(core.state_cache.max_concurrent_requests, 4);
    assert.equal(core.state_cache.warm_on_start, true);
    assert.equal(core.state_cache.persist, false);
    assert.ok(core.state_cache.event_types.includes('m.room.power_levels'));
    assert.deepEqual(core.bridge.admins, []);
    assert.deepEqual(core.bridge.permissions?.users, ['@*:example.org']);
    assert.equal(connector.servers.libera.port, 6697);
    assert.ok(!('test' in core), 'the connector section is not part of core');
  });

  it('defaults do not leak between loads', () => {
    const a = parseConfig(minimalConfig);
    a.core.state_cache.event_types.push('x.custom');
    const b = parseConfig(minimalConfig);
    assert.ok(!b.core.state_cache.event_types.includes('x.custom'));
  });

  it('names the key path of an unknown key, with a did-you-mean', () => {
    const problems = problemsOf(() =>
      parseConfig(minimalConfig + 'appservice:\n  prot: 9000\ntest:\n  servers:\n    libera: {host: h, prot: 6667}\n', section),
    );
    assert.ok(problems.includes('appservice.prot: unknown key (did you mean "port"?)'), problems.join('\n'));
    assert.ok(problems.includes('test.servers.libera.prot: unknown key (did you mean "port"?)'), problems.join('\n'));
  });

  it('names an unknown top-level section', () => {
    const problems = problemsOf(() => parseConfig(minimalConfig + 'loging: {level: debug}\n'));
    assert.deepEqual(problems, ['loging: unknown key (did you mean "logging"?)']);
  });

  it('names the expected type of a wrongly typed value', () => {
    const problems = problemsOf(() => parseConfig(minimalConfig + 'appservice:\n  port: "ninety"\nmetrics:\n  enabled: 3\n'));
    assert.ok(
      problems.some((p) => p.startsWith('appservice.port: wrong type (expected an integer, got a string)')),
      problems.join('\n'),
    );
    assert.ok(
      problems.some((p) => p.startsWith('metrics.enabled: wrong type (expected a boolean')),
      problems.join('\n'),
    );
  });

  it('names a missing required value and lists every problem at once', () => {
    const problems = problemsOf(() => parseConfig('homeserver:\n  url: http://hs\nlogging: {level: loud}\n', section));
    assert.ok(
      problems.some((p) => p.startsWith('homeserver.domain: required value missing (expected a string')),
      problems.join('\n'),
    );
    assert.ok(
      problems.some((p) => p.startsWith('logging.level: "loud" is not allowed (expected one of "error"')),
      problems.join('\n'),
    );
    assert.equal(problems.length, 2);
  });

  it('reports a missing homeserver section and a missing connector value', () => {
    const problems = problemsOf(() => parseConfig('test:\n  servers:\n    libera: {port: 6667}\n', section));
    assert.ok(
      problems.some((p) => p.startsWith('homeserver: required section missing')),
      problems.join('\n'),
    );
    assert.ok(
      problems.some((p) => p.startsWith('test.servers.libera.host: required value missing')),
      problems.join('\n'),
    );
  });

  it('names an address range that does not parse (it used to fail at start-up without its key)', () => {
    const problems = problemsOf(() =>
      parseConfig(
        minimalConfig + 'provisioning:\n  trusted_proxies: [10.0.0.1, "::1/200"]\n  openid:\n    allowed_ips: ["10.0.0.0/99", fd00::/8]\n',
      ),
    );
    assert.deepEqual(problems.sort(), [
      'provisioning.openid.allowed_ips[0]: "10.0.0.0/99" is not a valid IP address or CIDR range (e.g. 10.0.0.0/8)',
      'provisioning.trusted_proxies[1]: "::1/200" is not a valid IP address or CIDR range (e.g. 10.0.0.0/8)',
    ]);
    const { core } = parseConfig(minimalConfig + 'provisioning:\n  trusted_proxies: [127.0.0.1]\n');
    assert.deepEqual(provisioningOptionsFromConfig(core.provisioning, { store: undefined as never }).trustedProxies, ['127.0.0.1']);
  });

  it('gives a readable multi-line message', () => {
    try {
      parseConfig(minimalConfig + 'appservice: {port: 0, prot: 1}\n', undefined, { source: 'bridge.yaml' });
      assert.fail('expected an error');
    } catch (e) {
      const msg = (e as Error).message;
      assert.match(msg, /^bridge\.yaml is not valid:\n {2}- /);
      assert.match(msg, /appservice\.port: 0 is too small \(expected >= 1\)/);
      assert.match(msg, /appservice\.prot: unknown key/);
    }
  });

  it('requires a connection string for postgres', () => {
    const problems = problemsOf(() => parseConfig(minimalConfig + 'database: {engine: postgres}\n'));
    assert.ok(problems[0].startsWith('database.postgres.connection_string: required'), problems.join('\n'));
  });

  it('reports YAML syntax errors with line and column', () => {
    try {
      parseConfig('homeserver:\n  url: [http://x\n  domain: a\n', undefined, { source: 'c.yaml' });
      assert.fail('expected an error');
    } catch (e) {
      assert.ok(e instanceof ConfigError);
      assert.match(e.headline, /c\.yaml is not valid YAML/);
      assert.match(e.problems[0], /^line \d+, column \d+: /);
    }
    const dup = problemsOf(() => parseConfig(minimalConfig + 'data_dir: a\ndata_dir: b\n'));
    assert.match(dup[0], /^line 6, column 1: Map keys must be unique/);
  });

  it('resolves !env and !file secrets and registers them for redaction', () => {
    const secretFile = path.join(dir, 'db-url');
    writeFileSync(secretFile, 'postgresql://bridge:s3cretpw@db/bridge\n');
    writeFileSync(path.join(dir, 'token'), 'metrics-token-from-file-0123\n');
    const file = path.join(dir, 'config.yaml');
    process.env.CAUSEWAY_TEST_PROV_SECRET = 'provisioning-secret-from-env-0123456789';
    try {
      writeFileSync(
        file,
        minimalConfig +
          [
            'database:',
            '  engine: postgres',
            `  postgres: {connection_string: !file ${secretFile}}`,
            'provisioning: {secret: !env CAUSEWAY_TEST_PROV_SECRET}',
            'metrics: {bearer_token: !file ./token}',
          ].join('\n') +
          '\n',
      );
      const { core } = loadConfig(file);
      assert.equal(core.database.postgres?.connection_string, 'postgresql://bridge:s3cretpw@db/bridge');
      assert.equal(core.provisioning.secret, 'provisioning-secret-from-env-0123456789');
      assert.equal(core.metrics.bearer_token, 'metrics-token-from-file-0123', 'relative !file is relative to the config file');
      assert.equal(redact('x provisioning-secret-from-env-0123456789 y'), 'x <redacted> y');
      assert.equal(redact('postgresql://bridge:s3cretpw@db/bridge'), '<redacted>');
    } finally {
      delete process.env.CAUSEWAY_TEST_PROV_SECRET;
    }
  });

  it('reports a missing environment variable or secret file with the key path', () => {
    const problems = problemsOf(() =>
      parseConfig(
        minimalConfig +
          'provisioning:\n  secret: !env CAUSEWAY_TEST_UNSET_VAR\nmetrics:\n  bearer_token: !file /nonexistent/causeway-token\n',
        undefined,
        { env: {} },
      ),
    );
    assert.equal(problems.length, 2);
    assert.match(
      problems[0],
      /^provisioning\.secret: environment variable CAUSEWAY_TEST_UNSET_VAR is not set \(from !env\) \(line 6, column 16\)$/,
    );
    assert.match(problems[1], /^metrics\.bearer_token: cannot read secret file \/nonexistent\/causeway-token \(no such file/);
  });

  it('does not print secret values in validation errors', () => {
    try {
      parseConfig(minimalConfig + 'database:\n  postgres: {connection_string: "mysql://u:hunter2pw@db"}\n');
      assert.fail('expected an error');
    } catch (e) {
      assert.match((e as Error).message, /database\.postgres\.connection_string: not in the expected form/);
      assert.ok(!(e as Error).message.includes('hunter2pw'));
    }
  });

  it('refuses metrics on an address other machines reach without a bearer token, unless metrics.public says so', () => {
    const metrics = (body: string) => `${minimalConfig}metrics:\n  enabled: true\n${body}`;
    for (const host of ['0.0.0.0', '::', '192.0.2.10', 'metrics.example.org']) {
      const problems = problemsOf(() => parseConfig(metrics(`  bind_host: "${host}"\n`)));
      assert.equal(problems.length, 1, problems.join('\n'));
      assert.match(problems[0], /^metrics\.bind_host: /);
      assert.match(problems[0], /metrics\.bearer_token/);
      assert.match(problems[0], /metrics\.public/);
    }
    assert.equal(parseConfig(metrics('  bind_host: 0.0.0.0\n  bearer_token: scrape-token-0123456789\n')).core.metrics.bind_host, '0.0.0.0');
    assert.equal(parseConfig(metrics('  bind_host: 0.0.0.0\n  public: true\n')).core.metrics.public, true);
    for (const host of ['127.0.0.1', '::1', 'localhost'])
      assert.equal(parseConfig(metrics(`  bind_host: "${host}"\n`)).core.metrics.bind_host, host);
    // Disabled metrics bind nothing: no complaint.
    assert.equal(parseConfig(`${minimalConfig}metrics:\n  bind_host: 0.0.0.0\n`).core.metrics.enabled, false);
  });

  it('says where a missing config file was looked for', () => {
    assert.throws(
      () => loadConfig(path.join(dir, 'nope.yaml')),
      (e: unknown) => e instanceof ConfigError && /nope\.yaml not found/.test(e.message),
    );
  });

  it('has a description on every property of the schema', () => {
    const missing: string[] = [];
    const walk = (s: Record<string, unknown>, at: string) => {
      for (const [k, v] of Object.entries((s.properties ?? {}) as Record<string, Record<string, unknown>>)) {
        if (!v.description) missing.push(`${at}${k}`);
        walk(v, `${at}${k}.`);
      }
    };
    walk(CoreConfigSchema, '');
    assert.deepEqual(missing, []);
  });
});
