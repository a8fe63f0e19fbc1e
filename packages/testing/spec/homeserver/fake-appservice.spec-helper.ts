// A tiny appservice for the emulator's own specs: records every request it gets and
// lets a test script its answers.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  authorization?: string;
  body: string;
  json: any;
}

export type Answer = { status: number; body?: unknown } | 'hang' | 'reset';

export class FakeAppservice {
  readonly requests: RecordedRequest[] = [];
  /** Override to script answers; default 200 {}. */
  answer: (r: RecordedRequest) => Answer | Promise<Answer> = () => ({ status: 200, body: {} });
  private server!: http.Server;
  private sockets = new Set<import('node:net').Socket>();
  url = '';

  static async start(): Promise<FakeAppservice> {
    const f = new FakeAppservice();
    f.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on(
        'end',
        () =>
          void (async () => {
            const u = new URL(req.url ?? '/', 'http://x');
            const body = Buffer.concat(chunks).toString('utf8');
            let json: any;
            try {
              json = body ? JSON.parse(body) : undefined;
            } catch {
              json = undefined;
            }
            const rec: RecordedRequest = {
              method: req.method!,
              path: u.pathname,
              query: u.searchParams,
              authorization: req.headers.authorization,
              body,
              json,
            };
            f.requests.push(rec);
            const a = await f.answer(rec);
            if (a === 'hang') return;
            if (a === 'reset') return void req.socket.destroy();
            const out = JSON.stringify(a.body ?? {});
            res.writeHead(a.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) });
            res.end(out);
          })(),
      );
    });
    f.server.on('connection', (s) => {
      f.sockets.add(s);
      s.on('close', () => f.sockets.delete(s));
    });
    await new Promise<void>((r) => f.server.listen(0, '127.0.0.1', r));
    f.url = `http://127.0.0.1:${(f.server.address() as AddressInfo).port}`;
    return f;
  }

  transactions(): RecordedRequest[] {
    return this.requests.filter((r) => r.method === 'PUT' && /\/transactions\//.test(r.path));
  }

  /** Events from transactions, de-duplicated by txnId (as a correct bridge would). */
  events(): any[] {
    const seen = new Set<string>();
    const out: any[] = [];
    for (const t of this.transactions()) {
      const id = t.path.split('/').pop()!;
      if (seen.has(id)) continue;
      seen.add(id);
      out.push(...(t.json?.events ?? []));
    }
    return out;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

export async function waitFor(cond: () => boolean, timeoutMs = 3000, what = 'condition'): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A plain client call (not marked as a fixture), like a bridge would make. */
export async function call(
  base: string,
  method: string,
  path: string,
  opts: { token?: string; body?: unknown; query?: Record<string, string>; raw?: Buffer; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: any; headers: Headers; bytes: Buffer }> {
  const full = path.startsWith('/_matrix') ? path : '/_matrix/client/v3' + path;
  const u = new URL(base + full);
  for (const [k, v] of Object.entries(opts.query ?? {})) u.searchParams.set(k, v);
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let body: any;
  if (opts.raw) body = opts.raw;
  else if (opts.body !== undefined) {
    body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(u, { method, headers, body });
  const bytes = Buffer.from(await res.arrayBuffer());
  let parsed: any;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    parsed = undefined;
  }
  return { status: res.status, body: parsed, headers: res.headers, bytes };
}

export function registration(
  id: string,
  url: string | null,
  extra: Partial<import('../../src/homeserver/appservices').RegistrationLike> = {},
): import('../../src/homeserver/appservices').RegistrationLike {
  return {
    id,
    url,
    as_token: `as_${id}`,
    hs_token: `hs_${id}`,
    sender_localpart: `_${id}_bot`,
    rate_limited: false,
    namespaces: {
      users: [{ exclusive: true, regex: `@_${id}_.*:localhost` }],
      aliases: [{ exclusive: true, regex: `#_${id}_.*:localhost` }],
      rooms: [],
    },
    ...extra,
  };
}
