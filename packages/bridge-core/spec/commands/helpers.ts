import type { Logger, LogLevel } from '../../src/logging/logger';
import type { KeyValueRepository } from '../../src/store/store';
import type { IncomingCommandMessage } from '../../src/commands/command-router';

export interface LogLine {
  level: LogLevel;
  msg: string;
  meta: Record<string, unknown>;
}

/** A logger that records every call; `text()` is everything it saw, serialised. */
export class CapturingLogger implements Logger {
  constructor(
    readonly lines: LogLine[] = [],
    private readonly fields: Record<string, unknown> = {},
  ) {}
  private add(level: LogLevel, msg: string, meta?: Record<string, unknown>): void {
    this.lines.push({ level, msg, meta: { ...this.fields, ...meta } });
  }
  error(m: string, meta?: Record<string, unknown>) {
    this.add('error', m, meta);
  }
  warn(m: string, meta?: Record<string, unknown>) {
    this.add('warn', m, meta);
  }
  info(m: string, meta?: Record<string, unknown>) {
    this.add('info', m, meta);
  }
  debug(m: string, meta?: Record<string, unknown>) {
    this.add('debug', m, meta);
  }
  trace(m: string, meta?: Record<string, unknown>) {
    this.add('trace', m, meta);
  }
  child(fields: Record<string, unknown>): Logger {
    return new CapturingLogger(this.lines, { ...this.fields, ...fields });
  }
  isLevelEnabled(): boolean {
    return true;
  }
  text(): string {
    return this.lines.map((l) => `${l.level} ${l.msg} ${JSON.stringify(l.meta)}`).join('\n');
  }
}

export interface Reply {
  text: string;
  html?: string;
}

/** A message plus the replies it received. */
export function message(
  body: string,
  opts: { sender?: string; roomId?: string; isAdmin?: boolean } = {},
): IncomingCommandMessage & { replies: Reply[] } {
  const replies: Reply[] = [];
  return {
    sender: opts.sender ?? '@alice:example.org',
    roomId: opts.roomId ?? '!admin:example.org',
    body,
    isAdmin: opts.isAdmin ?? false,
    replies,
    reply: async (text: string, html?: string) => {
      replies.push({ text, html });
    },
  };
}

/** In-memory KeyValueRepository (no expiry handling needed here). */
export class MemoryKv implements KeyValueRepository {
  readonly data = new Map<string, Map<string, unknown>>();
  private ns(n: string): Map<string, unknown> {
    let m = this.data.get(n);
    if (!m) {
      m = new Map();
      this.data.set(n, m);
    }
    return m;
  }
  async get<T>(namespace: string, key: string): Promise<T | undefined> {
    const v = this.ns(namespace).get(key);
    return v === undefined ? undefined : (JSON.parse(JSON.stringify(v)) as T);
  }
  async put<T>(namespace: string, key: string, value: T): Promise<void> {
    this.ns(namespace).set(key, JSON.parse(JSON.stringify(value)));
  }
  async delete(namespace: string, key: string): Promise<boolean> {
    return this.ns(namespace).delete(key);
  }
  async list<T>(namespace: string, opts: { prefix?: string; limit?: number } = {}): Promise<Array<{ key: string; value: T }>> {
    const out = [...this.ns(namespace).entries()]
      .filter(([k]) => !opts.prefix || k.startsWith(opts.prefix))
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([key, value]) => ({ key, value: value as T }));
    return opts.limit ? out.slice(0, opts.limit) : out;
  }
}
