// A tiny appservice for the emulator's own specs: records every request it gets and
// lets a test script its answers.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { asArray, asNumber, asObject, asObjects, asString, parseJson } from '../../src/spec-json';
import type { JsonObject, SpecEvent } from '../../src/spec-json';

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  authorization?: string;
  body: string;
  /** The parsed body (`undefined` when empty or not JSON); narrow it, e.g. with `transaction()`. */
  json: unknown;
}

/** An appservice transaction as the emulator pushes it, its events checked for the fields specs read. */
export interface Transaction {
  events: SpecEvent[];
  ephemeral?: JsonObject[];
  'de.sorunome.msc2409.ephemeral'?: JsonObject[];
}

/** A pushed event (client format): fails the spec naming the field if one the specs rely on is missing. */
function pushedEvent(value: unknown, what: string): SpecEvent {
  const o = asObject(value, what);
  return {
    ...o,
    event_id: asString(o.event_id, `${what}.event_id`),
    type: asString(o.type, `${what}.type`),
    room_id: asString(o.room_id, `${what}.room_id`),
    sender: asString(o.sender, `${what}.sender`),
    origin_server_ts: asNumber(o.origin_server_ts, `${what}.origin_server_ts`),
    state_key: o.state_key === undefined ? undefined : asString(o.state_key, `${what}.state_key`),
    content: asObject(o.content, `${what}.content`),
    unsigned: asObject(o.unsigned, `${what}.unsigned`),
  };
}

/** The body of a recorded transaction PUT; keys absent from the body stay absent. */
export function transaction(r: RecordedRequest): Transaction {
  const o = asObject(r.json, `transaction ${r.path}`);
  const txn: Transaction = { events: asArray(o.events, 'events').map((e, i) => pushedEvent(e, `events[${i}]`)) };
  if (o.ephemeral !== undefined) txn.ephemeral = asObjects(o.ephemeral, 'ephemeral');
  const unstable = o['de.sorunome.msc2409.ephemeral'];
  if (unstable !== undefined) txn['de.sorunome.msc2409.ephemeral'] = asObjects(unstable, 'de.sorunome.msc2409.ephemeral');
  return txn;
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
            let json: unknown;
            try {
              json = body ? parseJson(body) : undefined;
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
  events(): SpecEvent[] {
    const seen = new Set<string>();
    const out: SpecEvent[] = [];
    for (const t of this.transactions()) {
      const id = t.path.split('/').pop()!;
      if (seen.has(id)) continue;
      seen.add(id);
      out.push(...transaction(t).events);
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
): Promise<{ status: number; body: JsonObject; json: unknown; headers: Headers; bytes: Buffer }> {
  const full = path.startsWith('/_matrix') ? path : '/_matrix/client/v3' + path;
  const u = new URL(base + full);
  for (const [k, v] of Object.entries(opts.query ?? {})) u.searchParams.set(k, v);
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let payload: string | Buffer | undefined;
  if (opts.raw) payload = opts.raw;
  else if (opts.body !== undefined) {
    payload = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(u, { method, headers, body: payload });
  const bytes = Buffer.from(await res.arrayBuffer());
  let parsed: unknown;
  try {
    parsed = parseJson(bytes);
  } catch {
    parsed = undefined;
  }
  // like TestUser.request: `body` is the answer when it is a JSON object, `{}` otherwise; `json` is it whatever its shape
  const body = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as JsonObject) : {};
  return { status: res.status, body, json: parsed, headers: res.headers, bytes };
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
