/**
 * Logging: winston underneath, one root logger per process, per-module child
 * loggers. Secrets never reach a sink: every registered secret value is masked
 * and well-known token-bearing fields/query parameters are redacted, whatever
 * the caller passes.
 */
import * as path from 'node:path';
import winston from 'winston';
import { PRIVATE_FILE_MODE, makePrivateDirSync } from '../util/private-files';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug' | 'trace';
export interface LogOptions {
  level?: LogLevel;
  format?: 'text' | 'json';
  /** Extra file sink; stdout is always used. */
  file?: string;
}

export interface Logger {
  error(msg: string, meta?: Record<string, unknown>): void;
  warn(msg: string, meta?: Record<string, unknown>): void;
  info(msg: string, meta?: Record<string, unknown>): void;
  debug(msg: string, meta?: Record<string, unknown>): void;
  trace(msg: string, meta?: Record<string, unknown>): void;
  /** A logger for a sub-module, or one carrying a request ID through a call chain. */
  child(fields: { module?: string; requestId?: string; [k: string]: unknown }): Logger;
  isLevelEnabled(level: LogLevel): boolean;
}

const LEVELS: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3, trace: 4 };
const SECRET_KEYS = /^(as_token|hs_token|access_token|accessToken|password|secret|token|authorization|sasl_password|client_key)$/i;
const secrets = new Set<string>();

/** Register a value (a token, a password) that must never be printed. */
export function registerSecret(value: string | undefined | null): void {
  if (value && value.length >= 6) secrets.add(value);
}

export function redact(text: string): string {
  let out = text
    .replace(/([?&](?:access_token|token)=)[^&\s"']+/gi, '$1<redacted>')
    .replace(/(Bearer\s+)[A-Za-z0-9._~+/=-]+/g, '$1<redacted>');
  for (const s of secrets) if (out.includes(s)) out = out.split(s).join('<redacted>');
  return out;
}

function redactValue(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redact(value);
  if (depth > 4 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return { message: redact(value.message), stack: value.stack && redact(value.stack) };
  if (Array.isArray(value)) return value.map((v) => redactValue(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    out[k] = SECRET_KEYS.test(k) && v ? '<redacted>' : redactValue(v, depth + 1);
  }
  return out;
}

const redactFormat = winston.format((info) => {
  for (const key of Object.keys(info)) {
    if (key === 'level' || key === 'timestamp') continue;
    const v = (info as Record<string, unknown>)[key];
    (info as Record<string, unknown>)[key] = SECRET_KEYS.test(key) && v ? '<redacted>' : redactValue(v);
  }
  return info;
});

function textLine(info: winston.Logform.TransformableInfo): string {
  const { level, message, timestamp, module, requestId, ...rest } = info as Record<string, unknown>;
  const tags = [module, requestId]
    .filter(Boolean)
    .map((t) => `[${String(t)}]`)
    .join('');
  const extra = Object.keys(rest).length ? ' ' + JSON.stringify(rest) : '';
  return `${String(timestamp)} ${String(level).toUpperCase()} ${tags}${tags ? ' ' : ''}${String(message)}${extra}`;
}

let root: winston.Logger | undefined;

/** (Re)configure the process-wide logger. Safe to call more than once. */
export function configureLogging(opts: LogOptions = {}): void {
  // The environment wins over the config file, so an operator (or a test run) can turn logging up or down without editing it.
  const level = (process.env.CAUSEWAY_LOG_LEVEL as LogLevel | undefined) ?? opts.level ?? 'info';
  const fmt =
    opts.format === 'json'
      ? winston.format.combine(winston.format.timestamp(), redactFormat(), winston.format.json())
      : winston.format.combine(winston.format.timestamp(), redactFormat(), winston.format.printf(textLine));
  const transports: winston.transport[] = [new winston.transports.Console({ stderrLevels: ['error', 'warn'] })];
  if (opts.file) {
    // A log holds room IDs, user IDs and message metadata: private like the other data files,
    // whatever the umask (winston would create it 0644 and its directory 0755).
    makePrivateDirSync(path.dirname(path.resolve(opts.file)));
    transports.push(new winston.transports.File({ filename: opts.file, options: { flags: 'a', mode: PRIVATE_FILE_MODE } }));
  }
  if (root) root.close();
  root = winston.createLogger({ levels: LEVELS, level: LEVELS[level] === undefined ? 'info' : level, format: fmt, transports });
}

class WinstonLogger implements Logger {
  constructor(private readonly fields: Record<string, unknown>) {}
  private get w(): winston.Logger {
    if (!root) configureLogging();
    return root!;
  }
  private log(level: LogLevel, msg: string, meta?: Record<string, unknown>): void {
    if (!this.isLevelEnabled(level)) return;
    this.w.log(level, msg, { ...this.fields, ...meta });
  }
  error(m: string, meta?: Record<string, unknown>) {
    this.log('error', m, meta);
  }
  warn(m: string, meta?: Record<string, unknown>) {
    this.log('warn', m, meta);
  }
  info(m: string, meta?: Record<string, unknown>) {
    this.log('info', m, meta);
  }
  debug(m: string, meta?: Record<string, unknown>) {
    this.log('debug', m, meta);
  }
  trace(m: string, meta?: Record<string, unknown>) {
    this.log('trace', m, meta);
  }
  child(fields: Record<string, unknown>): Logger {
    const merged = { ...this.fields, ...fields };
    const outer = this.fields.module,
      inner = fields.module;
    if (typeof outer === 'string' && outer && typeof inner === 'string' && inner) merged.module = `${outer}.${inner}`;
    return new WinstonLogger(merged);
  }
  isLevelEnabled(level: LogLevel): boolean {
    return (LEVELS[this.w.level as LogLevel] ?? 2) >= LEVELS[level];
  }
}

export function getLogger(module: string): Logger {
  return new WinstonLogger({ module });
}
