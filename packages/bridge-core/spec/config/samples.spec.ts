/**
 * Every config/*.sample.yaml must validate. `core.sample.yaml` is the core block
 * alone; `<prefix>.sample.yaml` is validated with the connector schema exported
 * by packages/<prefix>-bridge/src/config-schema.ts as `<Prefix>ConfigSchema`
 * (e.g. irc → IrcConfigSchema). A sample whose connector schema does not exist
 * yet is reported as pending, never silently passed.
 */
import { strict as assert } from 'node:assert';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { TSchema } from '@sinclair/typebox';
import { parseConfig, ConfigError, type ConnectorSection } from '../../src/config/loader';
import { composeConfigSchema } from '../../src/config/schema';
import { listConfigOptions } from '../../src/config/docs';

/**
 * Options a sample never mentions, neither as a key nor as a commented-out key: a sample that
 * claims to show every option must not fall behind the schema as options are added. Matched by
 * the option's own name (its last path segment), which catches a new option left out entirely.
 */
function unmentioned(text: string, schema: TSchema): string[] {
  const lines = text.split('\n');
  // The key of every line, commented out or not, with its indentation: `  # key: value` counts.
  const keys = lines.map((l) => /^(\s*)(?:#\s*)?([A-Za-z0-9_.-]+|"[^"]+"):/.exec(l)).filter((m): m is RegExpExecArray => !!m);
  return listConfigOptions(schema)
    .map((o) => o.path)
    .filter((p) => {
      const leaf = p.split('.').pop()!;
      return !leaf.startsWith('<') && !keys.some((m) => m[2] === leaf);
    });
}

const root = path.resolve(__dirname, '..', '..', '..', '..');
const configDir = path.join(root, 'config');

/** Prefixes whose schema does not follow the `packages/<prefix>-bridge` convention go here. */
const CONNECTORS: Record<string, { file: string; exportName: string; key: string }> = {
  irc: { file: 'packages/irc-bridge/src/config-schema.ts', exportName: 'IrcConfigSchema', key: 'irc' },
};

function connectorFor(prefix: string): { file: string; exportName: string; key: string } {
  return (
    CONNECTORS[prefix] ?? {
      file: `packages/${prefix}-bridge/src/config-schema.ts`,
      exportName: `${prefix[0].toUpperCase()}${prefix.slice(1)}ConfigSchema`,
      key: prefix,
    }
  );
}

// Placeholder values for `!env` in samples; `!file` must point to something real.
const sampleEnv = new Proxy(
  {},
  {
    get: (_t, name) => (typeof name === 'string' ? (process.env[name] ?? `sample-value-for-${name}`) : undefined),
  },
);

describe('sample configs (config/*.sample.yaml)', () => {
  const samples = existsSync(configDir)
    ? readdirSync(configDir)
        .filter((f) => f.endsWith('.sample.yaml'))
        .sort()
    : [];

  it('there is at least the core sample', () => {
    assert.ok(samples.includes('core.sample.yaml'), `found: ${samples.join(', ') || 'none'}`);
  });

  for (const name of samples) {
    const prefix = name.slice(0, -'.sample.yaml'.length);
    const text = () => readFileSync(path.join(configDir, name), 'utf8');
    const validate = (section?: ConnectorSection) => {
      try {
        parseConfig(text(), section, { source: `config/${name}`, baseDir: configDir, env: sampleEnv });
      } catch (e) {
        if (e instanceof ConfigError) assert.fail(e.message);
        throw e;
      }
    };

    if (prefix === 'core') {
      it(`${name} validates against the core schema`, () => validate());
      it(`${name} mentions every core option`, () => assert.deepEqual(unmentioned(text(), composeConfigSchema()), []));
      continue;
    }
    const c = connectorFor(prefix);
    const schemaPath = path.join(root, c.file);
    it(`${name} validates against the core schema + ${c.exportName} under "${c.key}"`, () => {
      // A sample without its bridge's schema is a sample nobody can check: that fails, never skips.
      assert.ok(existsSync(schemaPath), `config/${name} has no connector schema: ${c.file} does not exist`);
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- the schema module is found by path at run time, one per sample
      const mod = require(schemaPath) as Record<string, TSchema | undefined>;
      const schema = mod[c.exportName];
      assert.ok(schema, `${c.file} does not export ${c.exportName}`);
      validate({ key: c.key, schema });
      assert.deepEqual(unmentioned(text(), composeConfigSchema({ key: c.key, schema })), [], `${name} does not mention these options`);
    });
  }
});
