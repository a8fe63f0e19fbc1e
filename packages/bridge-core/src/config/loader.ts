/**
 * Loading the config file: YAML → secrets resolved (`!env VAR`, `!file path`)
 * → validated against the core schema plus the connector's section, with
 * defaults applied. Every problem is collected and reported at once in a
 * `ConfigError`, each line naming the key path.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseAllowList } from '../net/ssrf-guard';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import type { TSchema } from '@sinclair/typebox';
import { LineCounter, parseDocument, visit, isPair, isScalar, isSeq, type Node, type ScalarTag } from 'yaml';
import { registerSecret } from '../logging/logger';
import { metricsConfigProblem } from '../metrics/metrics-server';
import { composeConfigSchema, type CoreConfig } from './schema';
import { ConfigError, didYouMean, formatKeyPath } from './errors';
import { templateProblems } from './template-checks';
import type { ProtocolInfo } from '../connector/connector';

export { ConfigError } from './errors';

export interface ConnectorSection {
  /** Top-level key of the connector's section, e.g. `irc`. */
  key: string;
  /** TypeBox schema of that section. */
  schema: TSchema;
  /** The network names of a valid section (`BridgeConnector.networkNames`), to check the templates against. */
  networkNames?: (section: unknown) => readonly string[];
  /** The connector's default templates, checked like configured ones. */
  defaults?: ProtocolInfo['defaults'];
}

export interface LoadedConfig<C = unknown> {
  core: CoreConfig;
  connector: C;
  /** Absolute path of the file loaded (undefined when parsed from text). */
  path?: string;
}

export interface ParseOptions {
  /** Name used in messages (defaults to the path or "config"). */
  source?: string;
  /** Directory relative `!file` paths are resolved against (default: the config file's directory, else the CWD). */
  baseDir?: string;
  /** Environment for `!env` (default process.env). */
  env?: NodeJS.ProcessEnv;
}

/** `!env` and `!file` keep their argument as a plain string while parsing; they are resolved afterwards, with the key path known. */
const secretTags: ScalarTag[] = ['!env', '!file'].map((tag) => ({
  tag,
  identify: () => false,
  resolve: (str: string) => str,
}));

const SECRET_KEY = /(secret|password|passwd|token|connection_string|private_key|client_key)$/i;

/** Read, parse, resolve secrets and validate a config file. Throws `ConfigError` listing every problem. */
export function loadConfig<C = unknown>(file: string, connectorSection?: ConnectorSection): LoadedConfig<C> {
  const abs = path.resolve(file);
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(
      code === 'ENOENT'
        ? `config file ${abs} not found (pass another with -c, or copy a sample from config/*.sample.yaml)`
        : `cannot read config file ${abs}: ${(err as Error).message}`,
      [],
      code === 'ENOENT',
    );
  }
  const loaded = parseConfig<C>(text, connectorSection, { source: file, baseDir: path.dirname(abs) });
  return { ...loaded, path: abs };
}

/** Like loadConfig, from YAML text. */
export function parseConfig<C = unknown>(text: string, connectorSection?: ConnectorSection, opts: ParseOptions = {}): LoadedConfig<C> {
  const source = opts.source ?? 'config';
  const raw = parseYamlWithSecrets(text, { ...opts, source });
  return validateConfig<C>(raw, connectorSection, source);
}

/** Parse YAML and resolve `!env`/`!file` tags. Throws ConfigError on syntax errors (with line and column) and on missing secrets. */
function parseYamlWithSecrets(text: string, opts: ParseOptions = {}): unknown {
  const source = opts.source ?? 'config';
  const env = opts.env ?? process.env;
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { customTags: secretTags, lineCounter, prettyErrors: false, uniqueKeys: true });
  const where = (offset: number | undefined) => {
    if (offset === undefined) return '';
    const { line, col } = lineCounter.linePos(offset);
    return ` (line ${line}, column ${col})`;
  };
  if (doc.errors.length) {
    throw new ConfigError(
      `${source} is not valid YAML`,
      doc.errors.map((e) => {
        const msg = e.message.replace(/ at line \d+, column \d+:?[\s\S]*$/, '');
        const pos = e.linePos?.[0] ?? lineCounter.linePos(e.pos[0]);
        return `line ${pos.line}, column ${pos.col}: ${msg}`;
      }),
    );
  }

  const problems: string[] = [];
  visit(doc, {
    Node(_key, node, ancestry) {
      const tag = node.tag;
      if (tag !== '!env' && tag !== '!file') return;
      const keyPath = formatKeyPath(yamlKeyPath(ancestry, node));
      const at = where(node.range?.[0]);
      if (!isScalar(node) || typeof node.value !== 'string' || node.value.trim() === '') {
        problems.push(
          `${keyPath}: ${tag} needs a ${tag === '!env' ? 'variable name' : 'file path'}, as in \`${tag} ${tag === '!env' ? 'BRIDGE_SECRET' : '/run/secrets/bridge'}\`${at}`,
        );
        return;
      }
      const arg = node.value.trim();
      let value: string | undefined;
      if (tag === '!env') {
        value = env[arg];
        if (value === undefined) problems.push(`${keyPath}: environment variable ${arg} is not set (from !env)${at}`);
      } else {
        const file = path.resolve(opts.baseDir ?? process.cwd(), arg);
        try {
          value = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          problems.push(
            `${keyPath}: cannot read secret file ${file} (${code === 'ENOENT' ? 'no such file' : (code ?? (err as Error).message)}, from !file)${at}`,
          );
        }
      }
      if (value !== undefined) {
        registerSecret(value);
        node.value = value;
      }
      node.tag = undefined;
    },
  });
  if (problems.length) throw new ConfigError(`${source}: secrets could not be resolved`, problems);
  return doc.toJS() ?? {};
}

function yamlKeyPath(ancestry: readonly unknown[], node: Node): Array<string | number> {
  const chain = [...ancestry, node];
  const out: Array<string | number> = [];
  for (let i = 0; i < chain.length; i++) {
    const item = chain[i];
    if (isPair(item)) {
      const key = item.key;
      out.push(isScalar(key) ? String(key.value) : String(key));
    } else if (isSeq(item)) {
      const next = chain[i + 1];
      const idx = item.items.indexOf(next);
      if (idx >= 0) out.push(idx);
    }
  }
  return out;
}

/** What a value of each custom format must be, for error messages. */
const FORMAT_NAMES: Record<string, string> = { regex: 'regular expression', cidr: 'IP address or CIDR range (e.g. 10.0.0.0/8)' };

const validators = new WeakMap<object, ValidateFunction>();

function compile(schema: TSchema): ValidateFunction {
  let v = validators.get(schema);
  if (!v) {
    const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true, verbose: true });
    // `format: 'regex'` on options the bridge compiles as regular expressions: a broken one is a
    // config error naming its key at start-up, not an exception on every event that consults it.
    ajv.addFormat('regex', (s: string) => {
      try {
        new RegExp(s);
        return true;
      } catch {
        return false;
      }
    });
    // `format: 'cidr'`: an address or CIDR range, parsed as the allow-lists that use it parse it.
    ajv.addFormat('cidr', (s: string) => {
      try {
        parseAllowList([s]);
        return true;
      } catch {
        return false;
      }
    });
    try {
      v = ajv.compile(schema);
    } catch (err) {
      throw new Error(`the config schema does not compile (a bug in the bridge, not in your config): ${(err as Error).message}`, {
        cause: err,
      });
    }
    validators.set(schema, v);
  }
  return v;
}

const schemaCache = new WeakMap<TSchema, Map<string, TSchema>>();
const coreOnly = composeConfigSchema();
function schemaFor(connectorSection?: ConnectorSection): TSchema {
  if (!connectorSection) return coreOnly;
  let byKey = schemaCache.get(connectorSection.schema);
  if (!byKey) schemaCache.set(connectorSection.schema, (byKey = new Map<string, TSchema>()));
  let s = byKey.get(connectorSection.key);
  if (!s) byKey.set(connectorSection.key, (s = composeConfigSchema(connectorSection)));
  return s;
}

/**
 * Validate an already-parsed config object (mutated: defaults are filled in).
 * Throws ConfigError listing every problem.
 */
export function validateConfig<C = unknown>(raw: unknown, connectorSection?: ConnectorSection, source = 'config'): LoadedConfig<C> {
  const data = raw ?? {};
  const validate = compile(schemaFor(connectorSection));
  const problems: string[] = [];
  if (!validate(data)) problems.push(...formatAjvErrors(validate.errors ?? []));
  if (isObject(data)) problems.push(...crossChecks(data));
  if (!problems.length && connectorSection?.networkNames) {
    const bridge = (data as { bridge: CoreConfig['bridge'] }).bridge;
    const networks = connectorSection.networkNames((data as Record<string, unknown>)[connectorSection.key]);
    problems.push(
      ...templateProblems(
        { ghost: bridge.ghost_localpart_template, alias: bridge.alias_localpart_template },
        networks,
        connectorSection.defaults,
      ),
    );
  }
  if (problems.length) throw new ConfigError(`${source} is not valid`, problems);

  const cfg = data as Record<string, unknown>;
  const core = cfg as unknown as CoreConfig;
  if (!core.bridge.permissions) core.bridge.permissions = { users: [`@*:${core.homeserver.domain}`] };
  registerSecretsIn(cfg);
  const connector = (connectorSection ? cfg[connectorSection.key] : undefined) as C;
  const coreOut = { ...cfg } as Record<string, unknown>;
  if (connectorSection) delete coreOut[connectorSection.key];
  return { core: coreOut as unknown as CoreConfig, connector };
}

function crossChecks(cfg: Record<string, unknown>): string[] {
  const out: string[] = [];
  const metrics = metricsConfigProblem(cfg.metrics ?? {});
  if (metrics) out.push(metrics);
  const db = cfg.database as { engine?: string; postgres?: { connection_string?: string } } | undefined;
  if (db?.engine === 'postgres' && !db.postgres?.connection_string) {
    out.push('database.postgres.connection_string: required when database.engine is "postgres" (expected a postgresql:// URI)');
  }
  return out;
}

function registerSecretsIn(value: unknown, key = '', depth = 0): void {
  if (depth > 12) return;
  if (typeof value === 'string') {
    if (SECRET_KEY.test(key)) registerSecret(value);
    return;
  }
  if (Array.isArray(value)) {
    for (const v of value) registerSecretsIn(v, key, depth + 1);
    return;
  }
  if (isObject(value)) for (const [k, v] of Object.entries(value)) registerSecretsIn(v, k, depth + 1);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function typeOfValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'number') return Number.isInteger(v) ? 'an integer' : 'a number';
  if (typeof v === 'object') return 'a mapping';
  return `a ${typeof v}`;
}

function describeType(schema: Record<string, unknown> | undefined): string {
  if (!schema) return 'a value';
  if (Array.isArray(schema.enum)) return `one of ${schema.enum.map((e) => JSON.stringify(e)).join(', ')}`;
  const t = schema.type;
  const one = (x: unknown) => (x === 'object' ? 'a mapping' : x === 'array' ? 'a list' : x === 'integer' ? 'an integer' : `a ${String(x)}`);
  if (Array.isArray(t)) return t.map(one).join(' or ');
  if (t) return one(t);
  if (Array.isArray(schema.anyOf)) return (schema.anyOf as Record<string, unknown>[]).map(describeType).join(' or ');
  return 'a value';
}

function firstSentence(text: unknown): string | undefined {
  if (typeof text !== 'string') return undefined;
  const m = /^[\s\S]*?[.!?](\s|$)/.exec(text);
  return (m ? m[0] : text).trim();
}

function pointerToSegments(pointer: string): string[] {
  if (!pointer) return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** Turn Ajv errors into `key.path: what is wrong (expected …)` lines. */
function formatAjvErrors(errors: ErrorObject[]): string[] {
  const lines: string[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    const segs = pointerToSegments(e.instancePath);
    const at = formatKeyPath(segs);
    const parent = e.parentSchema;
    let line: string;
    // A failing anyOf/oneOf also reports each branch; keep its summary only.
    if (/\/(anyOf|oneOf)\/\d+\//.test(e.schemaPath)) continue;
    switch (e.keyword) {
      case 'additionalProperties': {
        const key = String((e.params as { additionalProperty: string }).additionalProperty);
        const known = Object.keys((parent?.properties as Record<string, unknown>) ?? {});
        const guess = didYouMean(key, known);
        const where = formatKeyPath([...segs, key]);
        line =
          `${where}: unknown key` + (guess ? ` (did you mean "${guess}"?)` : known.length ? ` (expected one of: ${known.join(', ')})` : '');
        break;
      }
      case 'required': {
        const key = String((e.params as { missingProperty: string }).missingProperty);
        const propSchema = (parent?.properties as Record<string, Record<string, unknown>> | undefined)?.[key];
        const desc = firstSentence(propSchema?.description);
        const what = propSchema?.type === 'object' ? 'required section missing' : 'required value missing';
        line = `${formatKeyPath([...segs, key])}: ${what} (expected ${describeType(propSchema)}${desc ? `: ${desc}` : ''})`;
        break;
      }
      case 'type':
        line = `${at}: wrong type (expected ${describeType(parent)}, got ${typeOfValue(e.data)})`;
        break;
      case 'enum':
        line = `${at}: ${JSON.stringify(e.data)} is not allowed (expected ${describeType(parent)})`;
        break;
      case 'const':
        line = `${at}: wrong value (expected ${JSON.stringify((e.params as { allowedValue: unknown }).allowedValue)})`;
        break;
      case 'pattern': {
        const desc = firstSentence(parent?.description);
        line = `${at}: not in the expected form (expected ${desc ?? `a string matching ${(e.params as { pattern: string }).pattern}`})`;
        break;
      }
      case 'minimum':
      case 'exclusiveMinimum':
        line = `${at}: ${JSON.stringify(e.data)} is too small (expected ${e.keyword === 'minimum' ? '>=' : '>'} ${(e.params as { limit: number }).limit})`;
        break;
      case 'maximum':
      case 'exclusiveMaximum':
        line = `${at}: ${JSON.stringify(e.data)} is too large (expected ${e.keyword === 'maximum' ? '<=' : '<'} ${(e.params as { limit: number }).limit})`;
        break;
      case 'format':
        line = `${at}: ${JSON.stringify(e.data)} is not a valid ${FORMAT_NAMES[(e.params as { format: string }).format] ?? (e.params as { format: string }).format}`;
        break;
      case 'minLength':
        line = `${at}: too short (expected at least ${(e.params as { limit: number }).limit} characters)`;
        break;
      case 'maxLength':
        line = `${at}: too long (expected at most ${(e.params as { limit: number }).limit} characters)`;
        break;
      case 'minItems':
        line = `${at}: too few entries (expected at least ${(e.params as { limit: number }).limit})`;
        break;
      case 'maxItems':
        line = `${at}: too many entries (expected at most ${(e.params as { limit: number }).limit})`;
        break;
      case 'anyOf':
      case 'oneOf':
        line = `${at}: invalid value (expected ${describeType(parent)})`;
        break;
      default:
        line = `${at}: ${e.message ?? 'invalid'}`;
    }
    if (!seen.has(line)) {
      seen.add(line);
      lines.push(line);
    }
  }
  return lines;
}
