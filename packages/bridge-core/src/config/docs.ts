/**
 * The config option reference, generated from the schema so it cannot drift:
 * one row per option with its key path, type, default and description.
 */
import type { TSchema } from '@sinclair/typebox';

export interface ConfigOption {
  path: string;
  type: string;
  /** Required within its parent section. */
  required: boolean;
  /** Required in every valid file (it and all enclosing sections are required). */
  alwaysRequired: boolean;
  default?: unknown;
  description?: string;
}

type Json = Record<string, unknown>;

function typeName(s: Json): string {
  if (Array.isArray(s.enum)) return s.enum.map((v) => JSON.stringify(v)).join(' | ');
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (Array.isArray(s.anyOf)) return (s.anyOf as Json[]).map(typeName).join(' | ');
  if (s.type === 'array') return `list of ${typeName((s.items as Json) ?? {})}`;
  if (s.type === 'object')
    return s.patternProperties || (s.additionalProperties && typeof s.additionalProperties === 'object') ? 'map' : 'section';
  return typeof s.type === 'string' ? s.type : Array.isArray(s.type) ? s.type.join(' | ') : 'any';
}

/** Every option in the schema, depth first, in declaration order. */
export function listConfigOptions(schema: TSchema): ConfigOption[] {
  const out: ConfigOption[] = [];
  const walk = (s: Json, at: string, required: boolean, parentAlways = true) => {
    const alwaysRequired = required && parentAlways;
    if (at)
      out.push({
        path: at,
        type: typeName(s),
        required,
        alwaysRequired,
        default: s.default,
        description: s.description as string | undefined,
      });
    if (s.type === 'object') {
      const props = (s.properties ?? {}) as Record<string, Json>;
      const req = new Set((s.required as string[] | undefined) ?? []);
      for (const [k, v] of Object.entries(props)) walk(v, at ? `${at}.${k}` : k, req.has(k), alwaysRequired);
      const pattern = s.patternProperties as Record<string, Json> | undefined;
      if (pattern) for (const v of Object.values(pattern)) walk(v, `${at}.<name>`, false, false);
      else if (s.additionalProperties && typeof s.additionalProperties === 'object')
        walk(s.additionalProperties as Json, `${at}.<name>`, false, false);
    } else if (s.type === 'array' && s.items && (s.items as Json).type === 'object') {
      walk(s.items as Json, `${at}[]`, false, false);
      out.splice(
        out.findIndex((o) => o.path === `${at}[]`),
        1,
      );
    }
  };
  walk(schema, '', true, true);
  return out;
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function formatDefault(o: ConfigOption): string {
  if (o.default === undefined) {
    if (o.alwaysRequired) return '**required**';
    return o.required ? `**required** in \`${o.path.replace(/\.[^.]+$/, '')}\`` : '';
  }
  if (typeof o.default === 'object' && o.default !== null && !Array.isArray(o.default) && Object.keys(o.default).length === 0) return '';
  return '`' + JSON.stringify(o.default).replace(/\|/g, '\\|') + '`';
}

/** Markdown reference of every option in the schema (a table per top-level section). */
export function generateConfigReference(schema: TSchema, title = 'Configuration reference'): string {
  const options = listConfigOptions(schema);
  const lines: string[] = [`# ${title}`, ''];
  if (schema.description) lines.push(String(schema.description), '');
  lines.push(
    'Values may be written as `!env VARIABLE` or `!file /path/to/file` to read them (typically secrets) from the environment or a file.',
    '',
  );
  const topLevel = options.filter((o) => !o.path.includes('.') && !o.path.includes('['));
  const scalarsAtTop = topLevel.filter((o) => o.type !== 'section');
  const table = (rows: ConfigOption[]) => {
    lines.push('| Option | Type | Default | Description |', '|---|---|---|---|');
    for (const o of rows) lines.push(`| \`${o.path}\` | ${cell(o.type)} | ${formatDefault(o)} | ${cell(o.description ?? '')} |`);
    lines.push('');
  };
  if (scalarsAtTop.length) {
    lines.push('## Top-level options', '');
    table(scalarsAtTop);
  }
  for (const sec of topLevel.filter((o) => o.type === 'section')) {
    lines.push(`## \`${sec.path}\``, '');
    if (sec.description) lines.push(sec.description + (sec.required ? ' (Required section.)' : ''), '');
    table(options.filter((o) => o.path.startsWith(sec.path + '.') || o.path.startsWith(sec.path + '[')));
  }
  return lines.join('\n');
}
