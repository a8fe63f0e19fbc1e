import type { KeyValueRepository } from '../../src/store/store';
import { BridgeMetrics } from '../../src/metrics/bridge-metrics';
import { MetricsServer } from '../../src/metrics/metrics-server';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parse the Prometheus text exposition format (enough for our own output). */
export function parseExposition(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/.exec(line);
    if (!m) throw new Error(`unparsable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/g;
    let lm: RegExpExecArray | null;
    while ((lm = re.exec(m[2] ?? '')) !== null) {
      labels[lm[1]] = lm[2].replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    }
    const v = m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : Number(m[3]);
    out.push({ name: m[1], labels, value: v });
  }
  return out;
}

/** Samples of `name` whose labels include every given label. */
export function find(samples: Sample[], name: string, labels: Record<string, string> = {}): Sample[] {
  return samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

/** The value of the single sample matching, or undefined; throws when several match. */
export function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const f = find(samples, name, labels);
  if (f.length > 1) throw new Error(`${f.length} samples match ${name} ${JSON.stringify(labels)}`);
  return f[0]?.value;
}

export async function scrape(url: string, token?: string): Promise<{ status: number; contentType: string | null; body: string }> {
  const res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: res.status, contentType: res.headers.get('content-type'), body: await res.text() };
}

/** A BridgeMetrics served on a random local port. */
export async function served(opts: { protocol?: string; token?: string; processMetrics?: boolean } = {}) {
  const metrics = new BridgeMetrics({ protocol: opts.protocol ?? 'test', version: '1.2.3', processMetrics: opts.processMetrics ?? false });
  const server = new MetricsServer({ registry: metrics, port: 0, bearerToken: opts.token });
  await server.start();
  const get = async () => {
    const r = await scrape(server.url, opts.token);
    if (r.status !== 200) throw new Error(`scrape: ${r.status} ${r.body}`);
    return parseExposition(r.body);
  };
  return { metrics, server, get };
}

/** In-memory KeyValueRepository with the store contract's expiry semantics and an injectable clock. */
export class MemoryKv implements KeyValueRepository {
  readonly data = new Map<string, { value: unknown; expiresAt?: number }>();
  puts = 0;
  failing = false;
  constructor(private readonly now: () => number = Date.now) {}
  private live(ns: string, key: string) {
    const e = this.data.get(`${ns}\u0000${key}`);
    return e && (e.expiresAt === undefined || e.expiresAt > this.now()) ? e : undefined;
  }
  async get<T>(ns: string, key: string): Promise<T | undefined> {
    return this.live(ns, key)?.value as T | undefined;
  }
  async put<T>(ns: string, key: string, value: T, opts?: { expiresAt?: number }): Promise<void> {
    if (this.failing) throw new Error('store down');
    this.puts++;
    this.data.set(`${ns}\u0000${key}`, { value: JSON.parse(JSON.stringify(value)), expiresAt: opts?.expiresAt });
  }
  async delete(ns: string, key: string): Promise<boolean> {
    const had = !!this.live(ns, key);
    this.data.delete(`${ns}\u0000${key}`);
    return had;
  }
  async list<T>(ns: string, opts?: { prefix?: string; limit?: number }): Promise<Array<{ key: string; value: T }>> {
    const out: Array<{ key: string; value: T }> = [];
    for (const [k, e] of [...this.data].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const [n, key] = k.split('\u0000');
      if (n !== ns || (opts?.prefix && !key.startsWith(opts.prefix))) continue;
      if (!this.live(ns, key)) continue;
      out.push({ key, value: e.value as T });
      if (opts?.limit && out.length >= opts.limit) break;
    }
    return out;
  }
}
