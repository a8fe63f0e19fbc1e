/**
 * Input validation for the provisioning API: Matrix identifiers and JSON
 * Schema (Ajv) checks that answer with errors naming the offending field.
 */
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { MatrixError } from '../util/matrix-error';
import type { JsonSchema } from '../connector/routes';

const DNS_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}))*\.?$/;
const IPV4 = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const IPV6_LITERAL = /^\[[0-9A-Fa-f:.]{2,45}\]$/;

export interface ParsedServerName {
  /** Host as written: a DNS name, dotted IPv4 or `[IPv6]`. */
  host: string;
  port?: number;
  /** True for IP literals (no server discovery applies). */
  isIpLiteral: boolean;
}

/** Parse a Matrix server name (`host[:port]`); undefined when malformed. */
export function parseServerName(name: string): ParsedServerName | undefined {
  if (typeof name !== 'string' || name.length === 0 || name.length > 255) return undefined;
  let host = name;
  let port: number | undefined;
  const m = /^(.*):(\d{1,5})$/.exec(name);
  if (m && !(name.startsWith('[') && !m[1].endsWith(']'))) {
    host = m[1];
    port = Number(m[2]);
    if (port < 1 || port > 65535) return undefined;
  }
  if (IPV6_LITERAL.test(host)) return { host, port, isIpLiteral: true };
  if (IPV4.test(host)) return { host, port, isIpLiteral: true };
  if (DNS_NAME.test(host) && !/^[\d.]+$/.test(host)) return { host, port, isIpLiteral: false };
  return undefined;
}

function isValidServerName(name: string): boolean {
  return parseServerName(name) !== undefined;
}

/**
 * A Matrix user ID: `@localpart:server`, printable ASCII localpart (the
 * historical grammar, which every server still accepts), at most 255 bytes.
 */
export function isValidUserId(userId: unknown): userId is string {
  if (typeof userId !== 'string' || userId.length > 255) return false;
  const m = /^@([\x21-\x39\x3B-\x7E]+):(.+)$/.exec(userId);
  return !!m && isValidServerName(m[2]);
}

/** The server part of a valid user ID. */
export function userIdServer(userId: string): string {
  return userId.slice(userId.indexOf(':') + 1);
}

/** A room ID: `!opaque` (server part optional since room version 12), no whitespace, at most 255 bytes. */
export function isValidRoomId(roomId: unknown): roomId is string {
  return typeof roomId === 'string' && roomId.length > 1 && roomId.length <= 255 && /^![\x21-\x7E]+$/.test(roomId);
}

export { type JsonSchema };

const bodyAjv = new Ajv({ allErrors: false, strict: false });
const queryAjv = new Ajv({ allErrors: false, strict: false, coerceTypes: true });
const compiled = new WeakMap<object, { body?: ValidateFunction; query?: ValidateFunction }>();

/** Compile once (at route registration, so a broken schema fails early). */
export function compileSchema(schema: JsonSchema, target: 'body' | 'query'): ValidateFunction {
  let entry = compiled.get(schema);
  if (!entry) compiled.set(schema, (entry = {}));
  const existing = entry[target];
  if (existing) return existing;
  const fn = (target === 'query' ? queryAjv : bodyAjv).compile(schema);
  entry[target] = fn;
  return fn;
}

function fieldName(err: ErrorObject): string {
  const path = err.instancePath
    .replace(/^\//, '')
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (err.keyword === 'required') {
    const missing = (err.params as { missingProperty: string }).missingProperty;
    return [...path.filter(Boolean), missing].join('.');
  }
  if (err.keyword === 'additionalProperties') {
    const extra = (err.params as { additionalProperty: string }).additionalProperty;
    return [...path.filter(Boolean), extra].join('.');
  }
  return path.filter(Boolean).join('.') || '(body)';
}

/** Run a compiled validator; throws 400 `M_MISSING_PARAM` / `M_INVALID_PARAM` naming the field. */
export function validateOrThrow(fn: ValidateFunction, value: unknown, what: 'body' | 'query'): void {
  if (fn(value)) return;
  const err = fn.errors?.[0];
  if (!err) throw new MatrixError(400, 'M_INVALID_PARAM', `Invalid ${what}`);
  const field = fieldName(err);
  if (err.keyword === 'required') {
    throw new MatrixError(400, 'M_MISSING_PARAM', `Missing ${what === 'query' ? 'query parameter' : 'field'}: ${field}`, { field });
  }
  if (err.keyword === 'additionalProperties') {
    throw new MatrixError(400, 'M_INVALID_PARAM', `Unknown ${what === 'query' ? 'query parameter' : 'field'}: ${field}`, { field });
  }
  throw new MatrixError(
    400,
    'M_INVALID_PARAM',
    `Invalid ${what === 'query' ? 'query parameter' : 'field'} ${field}: ${err.message ?? 'invalid'}`,
    { field },
  );
}
