/**
 * The appservice registration file the homeserver admin installs (see the
 * Matrix AS API, "Registration"). Generated from the connector's ProtocolInfo
 * and the config; tokens are random and are never rotated silently.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import type { ProtocolInfo } from '../connector/connector';
import { registerSecret } from '../logging/logger';
import { ConfigError } from '../config/errors';

interface NamespaceEntry {
  exclusive: boolean;
  regex: string;
}

export interface Registration {
  id: string;
  /** Where the homeserver pushes transactions; null disables pushes. */
  url: string | null;
  as_token: string;
  hs_token: string;
  sender_localpart: string;
  rate_limited?: boolean;
  receive_ephemeral?: boolean;
  'de.sorunome.msc2409.push_ephemeral'?: boolean;
  protocols?: string[];
  namespaces: {
    users: NamespaceEntry[];
    aliases: NamespaceEntry[];
    rooms: NamespaceEntry[];
  };
  [extra: string]: unknown;
}

export interface GenerateRegistrationOptions {
  /** Registration ID; default `causeway-<protocol id>` (or the existing file's ID). */
  id?: string;
  url: string | null;
  protocol: ProtocolInfo;
  /** Homeserver domain (server name). */
  domain: string;
  botLocalpart?: string;
  ghostTemplate?: string;
  aliasTemplate?: string;
  /** A registration already installed: its ID and tokens are kept unless forceNewTokens. */
  existing?: Registration;
  /** Issue new as_token/hs_token even though `existing` has some (the homeserver must then reload the file). */
  forceNewTokens?: boolean;
}

/** A random token with 32 bytes of entropy, base64url (43 characters). */
function generateToken(): string {
  return randomBytes(32).toString('base64url');
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Turn a localpart template (`_irc_$NETWORK_$ID`) into an anchored regex over
 * full IDs: placeholders (`$ID`, `$NETWORK`, `$NICK`, … — a `$` and capitals)
 * become `.*`, everything else is matched literally.
 */
export function templateToRegex(sigil: '@' | '#', template: string, domain: string): string {
  let local = template;
  if (local.startsWith('@') || local.startsWith('#')) local = local.slice(1);
  const colon = local.indexOf(':');
  if (colon >= 0) local = local.slice(0, colon);
  const body = local
    .split(/(\$[A-Z]+)/)
    .map((part, i) => (i % 2 === 1 ? '.*' : escapeRegex(part)))
    .join('');
  return `^${escapeRegex(sigil)}${body.replace(/(\.\*)+/g, '.*')}:${escapeRegex(domain)}$`;
}

/** Build a registration. With `existing`, its ID and tokens are kept (unless forceNewTokens); URL and namespaces follow the arguments. */
export function generateRegistration(opts: GenerateRegistrationOptions): Registration {
  const { protocol, domain, existing } = opts;
  const botLocalpart = opts.botLocalpart ?? protocol.defaults.botLocalpart;
  const ghostTemplate = opts.ghostTemplate ?? protocol.defaults.ghostLocalpartTemplate;
  const aliasTemplate = opts.aliasTemplate ?? protocol.defaults.aliasLocalpartTemplate;
  const keepTokens = existing && !opts.forceNewTokens;

  const users: NamespaceEntry[] = [{ exclusive: true, regex: templateToRegex('@', ghostTemplate, domain) }];
  const botId = `@${botLocalpart}:${domain}`;
  if (!new RegExp(users[0].regex).test(botId)) users.push({ exclusive: true, regex: `^${escapeRegex(botId)}$` });
  const aliases: NamespaceEntry[] = aliasTemplate ? [{ exclusive: true, regex: templateToRegex('#', aliasTemplate, domain) }] : [];

  const reg: Registration = {
    ...(existing ?? {}),
    id: opts.id ?? existing?.id ?? `causeway-${protocol.id}`,
    url: opts.url,
    as_token: keepTokens ? existing.as_token : generateToken(),
    hs_token: keepTokens ? existing.hs_token : generateToken(),
    sender_localpart: botLocalpart,
    rate_limited: false,
    protocols: [protocol.id],
    namespaces: { users, aliases, rooms: existing?.namespaces?.rooms ?? [] },
  };
  if (protocol.wantsEphemeral) {
    reg.receive_ephemeral = true;
    reg['de.sorunome.msc2409.push_ephemeral'] = true;
  } else {
    delete reg.receive_ephemeral;
    delete reg['de.sorunome.msc2409.push_ephemeral'];
  }
  return reg;
}

/** Human-readable differences between an installed registration and a regenerated one (tokens only say "changed"). */
export function describeRegistrationChanges(before: Registration, after: Registration): string[] {
  const out: string[] = [];
  const cmp = (label: string, a: unknown, b: unknown, show = true) => {
    if (JSON.stringify(a) !== JSON.stringify(b))
      out.push(show ? `${label} changed from ${JSON.stringify(a)} to ${JSON.stringify(b)}` : `${label} changed`);
  };
  cmp('id', before.id, after.id);
  cmp('url', before.url, after.url);
  cmp('as_token', before.as_token, after.as_token, false);
  cmp('hs_token', before.hs_token, after.hs_token, false);
  cmp('sender_localpart', before.sender_localpart, after.sender_localpart);
  cmp('namespaces.users', before.namespaces?.users, after.namespaces.users);
  cmp('namespaces.aliases', before.namespaces?.aliases, after.namespaces.aliases);
  cmp('namespaces.rooms', before.namespaces?.rooms, after.namespaces.rooms);
  cmp('receive_ephemeral', before.receive_ephemeral, after.receive_ephemeral);
  cmp('protocols', before.protocols, after.protocols);
  cmp('rate_limited', before.rate_limited, after.rate_limited);
  return out;
}

/** Write the registration as YAML, readable by the owner only (0600), atomically. */
export function writeRegistration(file: string, reg: Registration): void {
  const abs = path.resolve(file);
  mkdirSync(path.dirname(abs), { recursive: true });
  const tmp = `${abs}.${process.pid}.tmp`;
  const header =
    '# Appservice registration generated by Causeway. Install it in the homeserver config;\n' +
    '# keep it secret (it holds the tokens). Regenerating keeps the tokens unless --force-new-tokens.\n';
  writeFileSync(tmp, header + stringifyYaml(reg), { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, abs);
}

/** Read and check a registration file. Throws ConfigError naming every missing or malformed key. */
export function loadRegistration(file: string): Registration {
  const abs = path.resolve(file);
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(
      code === 'ENOENT' ? `registration file ${abs} not found` : `cannot read registration file ${abs}: ${(err as Error).message}`,
      [],
      code === 'ENOENT',
    );
  }
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`registration file ${abs} is not valid YAML`, [(err as Error).message.split('\n')[0]]);
  }
  const problems = checkRegistration(data);
  if (problems.length) throw new ConfigError(`registration file ${abs} is not valid`, problems);
  const reg = data as Registration;
  registerSecret(reg.as_token);
  registerSecret(reg.hs_token);
  return reg;
}

/** Problems with a parsed registration, one line per key (empty when valid). */
function checkRegistration(data: unknown): string[] {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return ['(top level): expected a mapping of registration keys'];
  const r = data as Record<string, unknown>;
  const problems: string[] = [];
  for (const key of ['id', 'as_token', 'hs_token', 'sender_localpart'] as const) {
    if (r[key] === undefined) problems.push(`${key}: required value missing (expected a string)`);
    else if (typeof r[key] !== 'string' || r[key] === '') problems.push(`${key}: wrong type (expected a non-empty string)`);
  }
  if (!('url' in r)) problems.push('url: required value missing (expected a URL string, or null for no pushes)');
  else if (r.url !== null && typeof r.url !== 'string') problems.push('url: wrong type (expected a URL string or null)');
  if (typeof r.as_token === 'string' && r.as_token === r.hs_token) problems.push('hs_token: must differ from as_token');
  if (r.namespaces === undefined) problems.push('namespaces: required value missing (expected a mapping with users, aliases, rooms)');
  else if (typeof r.namespaces !== 'object' || r.namespaces === null || Array.isArray(r.namespaces))
    problems.push('namespaces: wrong type (expected a mapping)');
  else {
    const ns = r.namespaces as Record<string, unknown>;
    for (const kind of ['users', 'aliases', 'rooms']) {
      const list = ns[kind];
      if (list === undefined) {
        ns[kind] = [];
        continue;
      }
      if (!Array.isArray(list)) {
        problems.push(`namespaces.${kind}: wrong type (expected a list)`);
        continue;
      }
      list.forEach((entry, i) => {
        const at = `namespaces.${kind}[${i}]`;
        if (typeof entry !== 'object' || entry === null) {
          problems.push(`${at}: wrong type (expected a mapping with exclusive and regex)`);
          return;
        }
        const e = entry as Record<string, unknown>;
        if (typeof e.regex !== 'string') problems.push(`${at}.regex: required value missing (expected a string)`);
        else {
          try {
            new RegExp(e.regex);
          } catch (err) {
            problems.push(`${at}.regex: invalid regular expression (${(err as Error).message})`);
          }
        }
        if (typeof e.exclusive !== 'boolean') problems.push(`${at}.exclusive: required value missing (expected true or false)`);
      });
    }
  }
  return problems;
}

export interface EnsureRegistrationResult {
  registration: Registration;
  /** The file did not exist and was written. */
  created: boolean;
  /** The file existed and was rewritten. */
  updated: boolean;
  /** What changed in an existing file (empty when nothing did). */
  changes: string[];
  path: string;
}

/**
 * Generate (or refresh) the registration at `file`. An existing file keeps its
 * ID and tokens unless forceNewTokens; the file is only rewritten when
 * something changed.
 */
export function ensureRegistration(file: string, opts: Omit<GenerateRegistrationOptions, 'existing'>): EnsureRegistrationResult {
  const abs = path.resolve(file);
  let existing: Registration | undefined;
  try {
    existing = loadRegistration(abs);
  } catch (err) {
    if (!(err instanceof ConfigError) || !err.fileMissing) throw err;
  }
  const registration = generateRegistration({ ...opts, existing });
  registerSecret(registration.as_token);
  registerSecret(registration.hs_token);
  if (!existing) {
    writeRegistration(abs, registration);
    return { registration, created: true, updated: false, changes: [], path: abs };
  }
  const changes = describeRegistrationChanges(existing, registration);
  if (changes.length) writeRegistration(abs, registration);
  return { registration, created: false, updated: changes.length > 0, changes, path: abs };
}
