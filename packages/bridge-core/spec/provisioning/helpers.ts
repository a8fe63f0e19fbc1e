import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KeyValueRepository } from '../../src/store/store';
import type { Logger, LogLevel } from '../../src/logging/logger';
import { ProvisioningApi, type ProvisioningOptions, type RoomPowerChecker } from '../../src/provisioning/api';

export const SECRET = 'provisioning-shared-secret-0123456789abcdef';

/** In-memory KeyValueRepository with the store's expiry semantics. */
export class MemoryKv implements KeyValueRepository {
  readonly data = new Map<string, { value: unknown; expiresAt?: number }>();
  constructor(private readonly now: () => number = Date.now) {}
  private k(ns: string, key: string) {
    return `${ns}\u0000${key}`;
  }
  private live(e?: { expiresAt?: number }) {
    return !!e && (e.expiresAt === undefined || e.expiresAt > this.now());
  }
  async get<T>(ns: string, key: string): Promise<T | undefined> {
    const e = this.data.get(this.k(ns, key));
    return this.live(e) ? (structuredClone(e!.value) as T) : undefined;
  }
  async put<T>(ns: string, key: string, value: T, opts?: { expiresAt?: number }): Promise<void> {
    this.data.set(this.k(ns, key), { value: structuredClone(value), expiresAt: opts?.expiresAt });
  }
  async delete(ns: string, key: string): Promise<boolean> {
    const e = this.data.get(this.k(ns, key));
    this.data.delete(this.k(ns, key));
    return this.live(e);
  }
  async list<T>(ns: string, opts: { prefix?: string; limit?: number } = {}): Promise<Array<{ key: string; value: T }>> {
    const out: Array<{ key: string; value: T }> = [];
    for (const [k, e] of [...this.data].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const [n, key] = k.split('\u0000');
      if (n === ns && key.startsWith(opts.prefix ?? '') && this.live(e)) out.push({ key, value: structuredClone(e.value) as T });
    }
    return out.slice(0, opts.limit ?? Infinity);
  }
}

export interface LogLine {
  level: LogLevel;
  msg: string;
  meta: Record<string, unknown>;
}

/** A Logger that records every line (children share the sink). */
export function captureLogger(lines: LogLine[] = [], fields: Record<string, unknown> = {}): Logger & { lines: LogLine[] } {
  const rec = (level: LogLevel) => (msg: string, meta?: Record<string, unknown>) => {
    lines.push({ level, msg, meta: { ...fields, ...meta } });
  };
  return {
    lines,
    error: rec('error'),
    warn: rec('warn'),
    info: rec('info'),
    debug: rec('debug'),
    trace: rec('trace'),
    child: (f) => captureLogger(lines, { ...fields, ...f }),
    isLevelEnabled: () => true,
  };
}

/** Power checker over a table: rooms → users → {joined, level}; required per room (default 50). */
export class FakePowerChecker implements RoomPowerChecker {
  readonly rooms = new Map<string, { required: number; users: Map<string, { joined: boolean; level: number }> }>();
  readonly calls: Array<[string, string]> = [];
  set(roomId: string, userId: string, joined: boolean, level: number, required = 50): this {
    let r = this.rooms.get(roomId);
    if (!r) this.rooms.set(roomId, (r = { required, users: new Map() }));
    r.required = required;
    r.users.set(userId, { joined, level });
    return this;
  }
  async userPowerIn(roomId: string, userId: string) {
    this.calls.push([roomId, userId]);
    const r = this.rooms.get(roomId);
    const u = r?.users.get(userId);
    return { joined: u?.joined ?? false, level: u?.level ?? 0, required: r?.required ?? 50 };
  }
}

export { httpCall as call } from '@causeway/testing';

export interface ApiHarness {
  api: ProvisioningApi;
  base: string;
  port: number;
  close(): Promise<void>;
}

export async function startApi(opts: Partial<ProvisioningOptions> & { store?: KeyValueRepository } = {}): Promise<ApiHarness> {
  const api = new ProvisioningApi({ secret: SECRET, store: opts.store ?? new MemoryKv(), ...opts });
  const addr = await api.listen(0, '127.0.0.1');
  return { api, port: addr.port, base: `http://127.0.0.1:${addr.port}/_matrix/provision`, close: () => api.close() };
}

/** A node:http server on loopback, answering with `handler`; counts TCP connections. */
export async function fakeServer(
  handler: http.RequestListener,
): Promise<{ port: number; url: string; connections: number; requests: string[]; close(): Promise<void> }> {
  const state = { connections: 0, requests: [] as string[] };
  const server = http.createServer((req, res) => {
    state.requests.push(req.url ?? '');
    handler(req, res);
  });
  server.on('connection', () => {
    state.connections++;
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    get connections() {
      return state.connections;
    },
    get requests() {
      return state.requests;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
