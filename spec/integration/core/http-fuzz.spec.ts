/**
 * Malformed HTTP and JSON against a running bridge's two listeners (the appservice listener and
 * the provisioning API on its own port), over raw sockets: broken request lines, header fields,
 * chunked encodings, bodies and JSON, pipelined with valid requests, and media proxy links for
 * file names drawn from the whole of Unicode. The process must stay up, no answer may be a 500
 * and nothing may be logged as an error (bad input is the caller's problem, never an internal
 * error), no connection may be left hanging once the client has finished, and afterwards
 * normal authenticated requests are answered correctly.
 *
 * Bounded (a fixed number of cases) and deterministic given a seed: the seed is in the test's
 * title; `FUZZ_SEED=<seed>` replays the same cases.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MemoryConnector, startBridgeFixture, eventually, freePort, type BridgeFixture } from '@causeway/testing/bridge';
import { RawConnection, requestBytes, type RawResponse } from '@causeway/testing';
import { getLogger } from '@causeway/bridge-core/tools';

const SECRET = 'provisioning-secret-for-fuzzing-0123456789';
const CASES_PER_LISTENER = 160;
const PARALLEL = 8;
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);

/** mulberry32: small, seedable, good enough to pick cases. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Gen {
  constructor(readonly next: () => number) {}
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
  bytes(n: number): Buffer {
    return Buffer.from(Array.from({ length: n }, () => this.int(256)));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

interface Target {
  name: string;
  port: number;
  /** Paths that exist, authenticated or not. */
  paths: string[];
  /** Headers that authenticate (for cases that must get past auth to reach the body). */
  auth: Record<string, string>;
  /** A JSON body for a path that parses it. */
  jsonPaths: string[];
}

const WEIRD_JSON = [
  '',
  '{',
  '}',
  '[',
  '{"events":',
  '{"events": [',
  'null',
  'true',
  '42',
  '"str"',
  '[]',
  '{}',
  '{"events": {}}',
  '{"events": "x"}',
  '{"events": [null, [], "x", 1, {"type": 1}, {"no": "type"}]}',
  '{"events": [{"type": "m.room.message", "room_id": {}, "sender": [], "event_id": 5, "content": "x"}]}',
  '{"events": [{"type": "m.room.message", "room_id": "!a:localhost", "sender": "@x:localhost", "event_id": "$f1", "content": {"body": {"nested": true}, "msgtype": 7}}]}',
  '{"events": [{"type": "m.room.member", "room_id": "!a:localhost", "sender": "@x:localhost", "event_id": "$f2", "state_key": {}, "content": {"membership": []}}]}',
  '{"events": [{"type": "m.room.member", "room_id": "!a:localhost", "sender": "@x:localhost", "event_id": "$f3", "state_key": "@_mem_bot:localhost", "content": {"membership": "invite"}}]}',
  '{"events": [{"type": "m.room.power_levels", "room_id": "!a:localhost", "sender": "@x:localhost", "event_id": "$f4", "state_key": "", "content": {"users": "all"}}]}',
  '{"events": [], "ephemeral": [{"type": "m.typing", "room_id": 5, "content": {"user_ids": "x"}}, {"type": "m.receipt"}]}',
  '{"events": [{"type": "m.room.message", "room_id": "!a:localhost", "sender": "@x:localhost", "event_id": "$f5", "origin_server_ts": "yesterday", "content": {"msgtype": "m.text", "body": "\\ud800 lone", "m.relates_to": {"rel_type": "m.replace", "event_id": {}}}}]}',
  '{"__proto__": {"polluted": true}, "events": [{"type": "m.room.message", "__proto__": {"x": 1}, "constructor": {"prototype": {"y": 2}}}]}',
  '{"events": [1e400, -0, 1e-400]}',
  '\ufeff{"events": []}',
  '{"events": []} trailing',
  '{"events": [] , }',
  '{"user_id": 5, "room_id": {}}',
  '{"user_id": "@x:localhost", "room_id": "!no", "channel": ["a"]}',
  '{"user_id": "not a user", "userId": "@y:localhost"}',
  '{"matrixServer": 5, "openIdToken": {}}',
  '{"matrixServer": "", "openIdToken": ""}',
  `{"matrixServer": "${'a'.repeat(300)}", "openIdToken": "t"}`,
  '{"room_id": "!a:localhost", "channel": "' + 'x'.repeat(70) + '", "user_id": "@fuzz:localhost"}',
];

function deepJson(g: Gen): string {
  const depth = 1000 + g.int(20_000);
  return g.chance(0.5) ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}

function jsonBody(g: Gen): Buffer {
  switch (g.int(5)) {
    case 0:
      return Buffer.from(deepJson(g));
    case 1:
      return g.bytes(1 + g.int(300)); // not UTF-8, not JSON
    case 2:
      return Buffer.from(g.pick(WEIRD_JSON), 'utf16le');
    default:
      return Buffer.from(g.pick(WEIRD_JSON));
  }
}

function chunked(body: Buffer, g: Gen): Buffer {
  const parts: Buffer[] = [];
  let o = 0;
  while (o < body.length) {
    const n = 1 + g.int(Math.max(1, body.length - o));
    const size = g.pick(['', ';ext=1', ';a="b"']);
    parts.push(Buffer.from(`${n.toString(16)}${size}\r\n`), body.subarray(o, o + n), Buffer.from('\r\n'));
    o += n;
  }
  switch (g.int(6)) {
    case 0:
      parts.push(Buffer.from('0\r\n\r\n'));
      break;
    case 1:
      parts.push(Buffer.from('0\r\nX-Trailer: 1\r\n\r\n'));
      break;
    case 2:
      parts.push(Buffer.from(g.pick(['zz\r\n', '-5\r\n', 'ffffffffffffffffff\r\n', '5\r\nabc', '3\nabc\n0\n\n', '\r\n\r\n'])));
      break;
    case 3:
      break; // never finished
    default:
      parts.push(Buffer.from('0\r\n\r\n'));
  }
  return Buffer.concat(parts);
}

/** One malformed (or odd but valid) exchange's bytes, and what it is, for the failure report. */
function makeCase(g: Gen, t: Target): { what: string; bytes: Buffer } {
  const path = g.pick(t.paths);
  const auth: Record<string, string> = g.chance(0.6)
    ? t.auth
    : g.pick<Record<string, string>>([
        {},
        { Authorization: 'Bearer wrong' },
        { Authorization: 'Basic Zm9vOmJhcg==' },
        { Authorization: 'Bearer' },
        { Authorization: `Bearer ${'x'.repeat(5000)}` },
      ]);
  const kind = g.int(9);
  switch (kind) {
    case 0: {
      // request line
      const line = g.pick([
        `${g.pick(['GET', 'PUT', 'POST', 'get', 'BREW', 'G\u0000T', 'DELETE', 'OPTIONS', 'CONNECT', 'TRACE', 'X'.repeat(100)])} ${path} HTTP/1.1`,
        `GET ${path}`,
        `GET ${path} HTTP/0.9`,
        `GET ${path} HTTP/2.0`,
        `GET ${path} HTTP/1.1 extra`,
        `GET http://evil.example${path} HTTP/1.1`,
        'GET * HTTP/1.1',
        `GET /${'a'.repeat(20_000)} HTTP/1.1`,
        `GET ${path}%zz%ED%A0%80%00 HTTP/1.1`,
        `GET ${path}/../../etc/passwd HTTP/1.1`,
        `GET ${path}?access_token=${encodeURIComponent(g.bytes(8).toString('latin1'))}&access_token= HTTP/1.1`,
        '\r\n\r\nGET / HTTP/1.1',
        g.bytes(1 + g.int(200)).toString('latin1'),
      ]);
      return { what: `request line ${JSON.stringify(line.slice(0, 80))}`, bytes: Buffer.from(`${line}\r\nHost: x\r\n\r\n`, 'latin1') };
    }
    case 1: {
      // header fields
      const bad = g.pick([
        'Bad Header: x',
        'NoColon',
        ': empty-name',
        'X-A: \u0000\u007f',
        ' folded: continuation',
        'X-Folded: a\r\n b',
        'Content-Length: -1',
        'Content-Length: 1e30',
        'Content-Length: abc',
        'Content-Length: 5\r\nContent-Length: 6',
        'Content-Length: 5\r\nTransfer-Encoding: chunked',
        'Transfer-Encoding: gzip',
        'Transfer-Encoding: chunked, chunked',
        `X-Big: ${'b'.repeat(70_000)}`,
        Array.from({ length: 3000 }, (_, i) => `X-${i}: v`).join('\r\n'),
        `Authorization: Bearer ${Buffer.from('tök€n').toString('latin1')}`,
        'Authorization: Bearer a\r\nAuthorization: Bearer b',
        'Expect: 100-continue\r\nContent-Length: 10',
        'Connection: Upgrade\r\nUpgrade: websocket',
        'Host: \u00ff\u00fe',
      ]);
      const body = g.chance(0.5) ? jsonBody(g) : Buffer.alloc(0);
      return {
        what: `header ${JSON.stringify(bad.slice(0, 60))}`,
        bytes: Buffer.concat([
          Buffer.from(
            `${g.pick(['PUT', 'POST', 'GET'])} ${path} HTTP/1.1\r\nHost: x\r\n${Object.entries(auth)
              .map(([k, v]) => `${k}: ${v}\r\n`)
              .join('')}${bad}\r\n\r\n`,
            'latin1',
          ),
          body,
        ]),
      };
    }
    case 2: {
      // chunked body
      const body = jsonBody(g);
      const p = g.pick(t.jsonPaths);
      return {
        what: `chunked JSON to ${p}`,
        bytes: Buffer.concat([
          Buffer.from(
            `${g.pick(['PUT', 'POST'])} ${p} HTTP/1.1\r\nHost: x\r\n${Object.entries(t.auth)
              .map(([k, v]) => `${k}: ${v}\r\n`)
              .join('')}Transfer-Encoding: chunked\r\n\r\n`,
          ),
          chunked(body, g),
        ]),
      };
    }
    case 3:
    case 4: {
      // JSON bodies past authentication
      const p = g.pick(t.jsonPaths);
      const body = jsonBody(g);
      return {
        what: `JSON to ${p}: ${JSON.stringify(body.toString('utf8').slice(0, 80))}`,
        bytes: requestBytes(p.includes('/transactions/') ? 'PUT' : 'POST', p, { ...t.auth, 'Content-Type': 'application/json' }, body),
      };
    }
    case 5: {
      // a body shorter or longer than announced
      const body = jsonBody(g);
      const declared = g.pick([body.length + 1 + g.int(1000), Math.max(0, body.length - 1 - g.int(body.length)), 10 * 1024 * 1024 * 1024]);
      return {
        what: `Content-Length ${declared} for ${body.length} bytes`,
        bytes: Buffer.concat([requestBytes('PUT', g.pick(t.jsonPaths), { ...auth, 'Content-Length': String(declared) }), body]),
      };
    }
    case 6: {
      // pipelined: valid requests around a malformed one
      const ok = requestBytes('GET', path, t.auth);
      const junk = g.pick([
        g.bytes(50),
        Buffer.from('GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n'),
        requestBytes('PUT', g.pick(t.jsonPaths), t.auth, jsonBody(g)),
      ]);
      return { what: 'pipelined requests around a malformed one', bytes: Buffer.concat([ok, junk, ok]) };
    }
    case 7: // random bytes
      return { what: 'random bytes', bytes: g.bytes(1 + g.int(4000)) };
    default: {
      // odd but valid requests, any method on any path
      const method = g.pick(['GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'PATCH', 'OPTIONS']);
      const body = method === 'GET' || method === 'HEAD' ? undefined : jsonBody(g);
      return {
        what: `${method} ${path}`,
        bytes: requestBytes(method, path, { ...auth, ...(g.chance(0.5) ? { Origin: 'https://evil.example' } : {}) }, body),
      };
    }
  }
}

/** A file name a Matrix user could give: any Unicode, controls, quotes, lone surrogates. */
function fileName(g: Gen): string {
  const pools = [
    () => String.fromCharCode(0x20 + g.int(0x5f)),
    () => String.fromCharCode(0xa0 + g.int(0x60)),
    () => String.fromCharCode(0x4e00 + g.int(0x5000)),
    () => String.fromCodePoint(0x1f600 + g.int(0x50)),
    () => g.pick(['"', '\\', '%', '\r', '\n', '\u0000', '/', ';', "'", '*']),
    () => String.fromCharCode(0xd800 + g.int(0x800)),
  ];
  let out = '';
  for (let i = 1 + g.int(20); i > 0; i--) out += g.pick(pools)();
  return out;
}

/** Send one case on a fresh connection, finish sending, and collect what comes back until the server closes. */
async function run(port: number, bytes: Buffer): Promise<{ responses: RawResponse[]; closed: boolean; garbage?: string }> {
  const conn = await RawConnection.open(port);
  const responses: RawResponse[] = [];
  try {
    await conn.write(bytes);
    conn.end();
    for (;;) {
      let r: RawResponse | undefined;
      try {
        r = await conn.response(10_000);
      } catch (err) {
        return { responses, closed: conn.isClosed, garbage: String(err) };
      }
      if (!r) break;
      responses.push(r);
    }
    return { responses, closed: true };
  } finally {
    conn.destroy();
  }
}

describe('bridge-core: malformed HTTP and JSON against the listeners', function () {
  this.timeout(60_000);
  let fx: BridgeFixture<{ network: string }>;
  let connector: MemoryConnector;
  let provisioningPort: number;
  const logDir = fs.mkdtempSync(path.join(tmpdir(), 'causeway-fuzz-log-'));
  const logFile = path.join(logDir, 'bridge.log');

  before(async () => {
    provisioningPort = await freePort();
    fx = await startBridgeFixture({
      connector: () => (connector = new MemoryConnector()),
      configKey: 'mem',
      core: (asUrl) => ({
        provisioning: { enabled: true, secret: SECRET, port: provisioningPort },
        media_proxy: { public_url: asUrl },
        logging: { file: logFile, format: 'json' },
      }),
    });
  });
  after(async () => {
    await fx?.stop();
    fs.rmSync(logDir, { recursive: true, force: true });
  });

  it(`stays up, never answers 500, leaves no connection hanging, and answers normal requests afterwards (seed ${SEED})`, async () => {
    const alice = await fx.hs.registerUser('alice');
    const roomId = await alice.join('#_mem_mem_fuzz:localhost');
    await eventually(async () => (await fx.bridge.portals.getByRoom(roomId)) !== undefined, 'portal');
    const asPort = Number(new URL(fx.asUrl).port);
    const hs = { Authorization: `Bearer ${fx.registration.hs_token}` };
    const prov = { Authorization: `Bearer ${SECRET}` };
    const user = (u: string) => `user_id=${encodeURIComponent(u)}`;
    const targets: Target[] = [
      {
        name: 'appservice',
        port: asPort,
        auth: hs,
        paths: [
          '/_matrix/app/v1/transactions/fz',
          '/transactions/fz',
          '/_matrix/app/v1/users/%40_mem_mem_x%3Alocalhost',
          '/_matrix/app/v1/rooms/%23_mem_mem_y%3Alocalhost',
          '/_matrix/app/v1/ping',
          '/_matrix/app/v1/thirdparty/protocol/mem',
          '/_matrix/app/v1/thirdparty/location?alias=%23x',
          '/_mem/status',
          '/_mem/health',
          '/_causeway/media/v1/localhost/abc/0/sig/name',
          '/_matrix/provision/v1/whoami',
          '/nope',
        ],
        jsonPaths: ['/_matrix/app/v1/transactions/fz', '/_matrix/app/v1/ping', '/_causeway/echo'],
      },
      {
        name: 'provisioning',
        port: provisioningPort,
        auth: prov,
        paths: [
          `/_matrix/provision/v1/whoami?${user('@fuzz:localhost')}`,
          '/_matrix/provision/health',
          `/_matrix/provision/v1/links/${encodeURIComponent(roomId)}?${user('@fuzz:localhost')}`,
          '/_matrix/provision/v1/session',
          '/_matrix/provision/v1/exchange_openid',
          '/_matrix/provision',
          '/_matrix/provisionX',
          '/elsewhere',
        ],
        jsonPaths: [
          '/_matrix/provision/v1/link',
          '/_matrix/provision/v1/unlink',
          '/_matrix/provision/v1/exchange_openid',
          '/_matrix/provision/v1/session',
        ],
      },
    ];

    const g = new Gen(rng(SEED));
    // Media proxy links (public, signed) for one file under names drawn from the seed.
    const mxc = await alice.upload(
      Buffer.from('fuzzed file'),
      g.pick(['text/plain', 'image/png', 'application/pdf', 'text/plain; charset=\u00e9']),
      'file.txt',
    );
    for (let i = 0; i < 12; i++) targets[0].paths.push(new URL(connector.ctx.media.publicUrl(mxc, fileName(g))!).pathname);
    const failures: string[] = [];
    let txn = 0;
    for (const t of targets) {
      // Every case is drawn before any runs, so the cases depend on the seed alone.
      const cases = Array.from({ length: CASES_PER_LISTENER }, () => makeCase(g, t)).map((c) => ({
        ...c,
        bytes: Buffer.from(
          c.bytes.toString('latin1').replace(/\/transactions\/fz/g, () => `/transactions/fz${txn++}`),
          'latin1',
        ),
      }));
      for (let i = 0; i < cases.length; i += PARALLEL) {
        await Promise.all(
          cases.slice(i, i + PARALLEL).map(async (c, k) => {
            const label = `${t.name} case ${i + k} (${c.what})`;
            const out = await run(t.port, c.bytes).catch((err) => ({
              responses: [],
              closed: false,
              garbage: `could not connect: ${String(err)}`,
            }));
            if (out.garbage) failures.push(`${label}: ${out.garbage}`);
            for (const r of out.responses) if (r.status === 500) failures.push(`${label}: 500 ${r.body.toString().slice(0, 200)}`);
          }),
        );
      }
    }
    assert.deepEqual(failures, [], `fuzz seed ${SEED} (replay with FUZZ_SEED=${SEED})`);

    // Normal requests, as the homeserver and an integration manager make them.
    await alice.sendMessage(roomId, 'after the fuzzing');
    await eventually(
      () => connector.messages().some((m) => m.event.content.body === 'after the fuzzing'),
      'a message relayed after the fuzzing',
    );
    const ping = await fetch(`${fx.asUrl}/_matrix/app/v1/ping`, {
      method: 'POST',
      headers: { ...hs, 'content-type': 'application/json' },
      body: '{"transaction_id":"after"}',
    });
    assert.equal(ping.status, 200);
    const whoami = await fetch(`http://127.0.0.1:${provisioningPort}/_matrix/provision/v1/whoami?${user('@after:localhost')}`, {
      headers: prov,
    });
    assert.equal(whoami.status, 200, `seed ${SEED}`);
    assert.deepEqual(await whoami.json(), { user_id: '@after:localhost', auth: 'secret' });
    await fx.bridge.idle();
    // The file sink writes asynchronously: the marker line is written after everything above.
    const marker = `fuzz-done-${SEED}`;
    getLogger('fuzz').error(marker);
    type Line = { level: string; message: string };
    const lines = await eventually((): Line[] | undefined => {
      const text = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : '';
      return text.includes(marker)
        ? text
            .split('\n')
            .filter(Boolean)
            .map((l) => JSON.parse(l) as Line)
        : undefined;
    }, 'the log file');
    const errors = lines.filter((l) => l.level === 'error' && l.message !== marker);
    assert.deepEqual(
      errors.map((l) => l.message),
      [],
      `seed ${SEED}: ${JSON.stringify(errors).slice(0, 2000)}`,
    );
  });
});
