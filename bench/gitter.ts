/**
 * The Gitter bridge under a steady load, against the Gitter and homeserver emulators, next to a
 * minimal relay measured in the same run. See bench/README.md.
 *
 *   npx tsx bench/gitter.ts [--messages 5000] [--rate 100] [--rounds 3]
 *
 * Processes: this one runs both emulators (Gitter's rate limit off), drives the load and
 * witnesses arrivals; the bridge (Bridge + GitterConnector, NeDB store, its journal) and the
 * minimal relay are child processes of this same file (`--role bridge|bare`), so each one's CPU
 * time is its own. The minimal relay does only what relaying needs: reads its Gitter room's stream
 * and PUTs each message to the homeserver as one appservice user (transaction ID = Gitter id), and
 * POSTs each Matrix message its appservice receives to Gitter, one room at a time in order. No
 * store, no journal, no formatting, no ghosts.
 *
 * Each round sends `--messages` each way at `--rate` per second to each system in turn and
 * measures relay latency (sent → seen by the other side's emulator), CPU per message of the
 * system's process, lost and duplicated messages. Target: the bridge's p99 ≤ 2× the minimal
 * relay's (median over rounds), nothing lost or duplicated. Exit code 0 when met.
 */
import { fork, type ChildProcess } from 'node:child_process';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { arg } from './cli';

process.env.CAUSEWAY_LOG_LEVEL ??= 'error';

const ROLE = arg('role', 'main');
const MESSAGES = Number(arg('messages', '5000'));
const RATE = Number(arg('rate', '100'));
const ROUNDS = Math.max(1, Number(arg('rounds', '3')));
const BARE_USER = '@bare_relay:localhost';
const BARE_AS_TOKEN = 'bench-bare-relay-as-token';
const BARE_HS_TOKEN = 'bench-bare-relay-hs-token';
/** Message texts carry `<direction> <tag> <seq> <sent epoch ms>`. */
const STAMP = /\b([gm]) (\S+) (\d+) (\d+(?:\.\d+)?)\b/;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---- child processes: a tiny request/answer protocol over IPC -----------------------------------

type Handlers = Record<string, (arg: any) => unknown>;

function serveParent(handlers: Handlers): void {
  process.on('message', (m: { id: number; call: string; arg: unknown }) => {
    void (async () => {
      try {
        process.send!({ id: m.id, ok: true, value: await handlers[m.call](m.arg) });
      } catch (err) {
        process.send!({ id: m.id, ok: false, error: String((err as Error)?.stack ?? err) });
      }
    })();
  });
  process.send!({ ready: true });
}

interface Child {
  proc: ChildProcess;
  call<T = unknown>(name: string, arg?: unknown): Promise<T>;
}

async function startChild(role: string, env: Record<string, string>): Promise<Child> {
  const proc = fork(__filename, ['--role', role], {
    env: { ...process.env, ...env },
    execArgv: [
      '--require',
      'tsx/cjs',
      ...(role === 'bridge' && process.env.BENCH_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROF] : []),
    ],
  });
  let next = 0;
  const waiting = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  const ready = new Promise<void>((resolve, reject) => {
    proc.on('message', (m: { ready?: boolean; id?: number; ok?: boolean; value?: unknown; error?: string }) => {
      if (m.ready) return resolve();
      const w = waiting.get(m.id!);
      waiting.delete(m.id!);
      if (m.ok) w?.resolve(m.value);
      else w?.reject(new Error(m.error));
    });
    proc.once('exit', (code) => reject(new Error(`${role} exited (${code})`)));
  });
  await ready;
  return {
    proc,
    call: (name, a) =>
      new Promise((resolve, reject) => {
        const id = ++next;
        waiting.set(id, { resolve, reject });
        proc.send({ id, call: name, arg: a });
      }),
  };
}

/** CPU time of this process, µs. */
const cpuMicros = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

// ---- role: the bridge ---------------------------------------------------------------------------

async function bridgeRole(): Promise<void> {
  const { Bridge, validateConfig } = await import('@causeway/bridge-core/tools');
  const { GitterConnector } = await import('@causeway/gitter-bridge');
  const e = process.env;
  const dataDir = e.DATA_DIR!;
  const connector = new GitterConnector();
  const raw = {
    homeserver: { url: e.HS_URL!, domain: 'localhost' },
    appservice: { port: Number(e.PORT), bind_host: '127.0.0.1', registration: path.join(dataDir, 'registration.yaml') },
    bridge: { admins: ['@admin:localhost'] },
    database: { engine: 'nedb', nedb: { directory: path.join(dataDir, 'db') } },
    data_dir: dataDir,
    logging: { level: 'error' },
    state_cache: { warm_on_start: false },
    gitter: {
      rest_base_url: e.GITTER_REST!,
      stream_base_url: e.GITTER_STREAM!,
      relay: { token: e.GITTER_TOKEN! },
      membership: { poll_interval_s: 0 },
    },
  };
  const { core, connector: cfg } = validateConfig(raw, {
    key: 'gitter',
    schema: connector.configSchema,
    defaults: connector.protocol.defaults,
  });
  const bridge = new Bridge({ config: core, connectorConfig: cfg as never, registration: JSON.parse(e.REGISTRATION!), connector });
  await bridge.start();
  serveParent({
    cpu: () => cpuMicros(),
    async stop() {
      await bridge.stop();
      setImmediate(() => process.exit(0)); // after the answer (and a --cpu-prof profile) is written
    },
  });
}

// ---- role: the minimal relay --------------------------------------------------------------------

async function bareRole(): Promise<void> {
  const e = process.env;
  const hsUrl = e.HS_URL!;
  const matrixRoom = e.MATRIX_ROOM!;
  const gitterRoom = e.GITTER_ROOM!;
  const token = e.GITTER_TOKEN!;
  const gitterAuth = { Authorization: `Bearer ${token}`, Accept: 'application/json' };

  // Gitter → Matrix: the room's stream, one PUT per message.
  let chain = Promise.resolve();
  const toMatrix = async (msg: { id: string; text: string }) => {
    const url = `${hsUrl}/_matrix/client/v3/rooms/${encodeURIComponent(matrixRoom)}/send/m.room.message/${msg.id}`;
    await fetch(url, {
      method: 'PUT',
      headers: { Authorization: `Bearer ${BARE_AS_TOKEN}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ msgtype: 'm.text', body: msg.text }),
    });
  };
  void (async () => {
    const res = await fetch(`${e.GITTER_STREAM}/rooms/${gitterRoom}/chatMessages`, { headers: gitterAuth });
    let buf = '';
    for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
      buf += Buffer.from(chunk).toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line) continue;
        const msg = JSON.parse(line) as { id: string; text: string; fromUser?: { id: string } };
        if (msg.fromUser?.id === e.GITTER_USER_ID) continue;
        chain = chain.then(() => toMatrix(msg)).catch(() => undefined);
      }
    }
  })();

  // Matrix → Gitter: the appservice's transactions, one POST per message, in order.
  let out = Promise.resolve();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.headers.authorization !== `Bearer ${BARE_HS_TOKEN}`) return res.writeHead(403).end('{}');
      const body = chunks.length ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { events?: any[] }) : {};
      for (const ev of body.events ?? []) {
        if (ev.type !== 'm.room.message' || ev.room_id !== matrixRoom || ev.sender === BARE_USER) continue;
        const text = String(ev.content?.body ?? '');
        out = out
          .then(async () => {
            await fetch(`${e.GITTER_REST}/rooms/${gitterRoom}/chatMessages`, {
              method: 'POST',
              headers: { ...gitterAuth, 'Content-Type': 'application/json' },
              body: JSON.stringify({ text }),
            });
          })
          .catch(() => undefined);
      }
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(Number(e.PORT), '127.0.0.1', resolve));
  serveParent({ cpu: () => cpuMicros() });
}

// ---- role: main (emulators, load, witness) ------------------------------------------------------

interface Arrivals {
  lat: number[];
  seen: Set<number>;
  dup: number;
  misorder: number;
  last: number;
}

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

async function main(): Promise<void> {
  const { HomeserverEmulator, GitterEmulator, freePort, preciseSleepUntil, preciseNow } = await import('@causeway/testing');
  const { generateRegistration } = await import('@causeway/bridge-core/tools');
  const { GitterConnector } = await import('@causeway/gitter-bridge');
  const now = () => performance.timeOrigin + preciseNow();

  const arrivals = new Map<string, Arrivals>();
  const record = (text: string) => {
    const m = STAMP.exec(text);
    if (!m) return;
    const t = now();
    const tag = `${m[1]} ${m[2]}`;
    let a = arrivals.get(tag);
    if (!a) arrivals.set(tag, (a = { lat: [], seen: new Set(), dup: 0, misorder: 0, last: -1 }));
    const seq = Number(m[3]);
    if (a.seen.has(seq)) return void a.dup++;
    a.seen.add(seq);
    if (seq < a.last) a.misorder++;
    a.last = Math.max(a.last, seq);
    a.lat.push(t - Number(m[4]));
  };

  // The witness: an appservice interested in every room, so Matrix arrivals are timed as the
  // homeserver hands them out (the same push path for both systems).
  const witness = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = chunks.length ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { events?: any[] }) : {};
      for (const ev of body.events ?? [])
        if (ev.type === 'm.room.message' && String(ev.content?.body ?? '').startsWith('g ')) record(String(ev.content.body));
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => witness.listen(0, '127.0.0.1', resolve));

  const hs = await HomeserverEmulator.start({ serverName: 'localhost' });
  hs.addRegistration({
    id: 'bench-witness',
    url: `http://127.0.0.1:${(witness.address() as AddressInfo).port}`,
    as_token: 'bench-witness-as',
    hs_token: 'bench-witness-hs',
    sender_localpart: 'bench_witness',
    rate_limited: false,
    namespaces: { users: [], aliases: [], rooms: [{ exclusive: false, regex: '!.*' }] },
  } as never);
  const gitter = await GitterEmulator.start({ rateLimit: { enabled: false } });
  gitter.model.onMessage((_roomId, rec) => {
    const m = rec as { text?: string; v?: number };
    if (typeof m.text === 'string' && (m.v ?? 1) === 1 && /\bm \S+ \d+/.test(m.text)) record(m.text);
  });
  const bridgeUser = gitter.createUser('causeway-bot');
  const bareUser = gitter.createUser('bare-relay');
  const alice = gitter.createUser('alice');
  const bridgeGitterRoom = gitter.createRoom({ uri: 'bench/bridge', members: [alice.id, bridgeUser.id] });
  const bareGitterRoom = gitter.createRoom({ uri: 'bench/bare', members: [alice.id, bareUser.id] });
  const bob = await hs.registerUser('bob', { displayname: 'Bob' });
  const admin = await hs.registerUser('admin');

  // The minimal relay's appservice and room.
  const barePort = await freePort();
  hs.addRegistration({
    id: 'bench-bare-relay',
    url: `http://127.0.0.1:${barePort}`,
    as_token: BARE_AS_TOKEN,
    hs_token: BARE_HS_TOKEN,
    sender_localpart: 'bare_relay',
    rate_limited: false,
    namespaces: { users: [{ exclusive: true, regex: '@bare_relay:localhost' }], aliases: [], rooms: [] },
  } as never);
  const bareMatrixRoom = await hs.appserviceClient('bench-bare-relay').createRoom({ preset: 'public_chat' });
  await bob.join(bareMatrixRoom);

  // The bridge, its registration as an operator would generate it, and its linked room.
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'causeway-bench-gitter-'));
  const bridgePort = await freePort();
  const registration = generateRegistration({
    url: `http://127.0.0.1:${bridgePort}`,
    protocol: new GitterConnector().protocol,
    domain: 'localhost',
  });
  hs.addRegistration(registration as never);
  const common = { HS_URL: hs.url, GITTER_REST: gitter.restBaseUrl, GITTER_STREAM: gitter.streamBaseUrl, CAUSEWAY_LOG_LEVEL: 'error' };
  const bridge = await startChild('bridge', {
    ...common,
    PORT: String(bridgePort),
    DATA_DIR: dataDir,
    GITTER_TOKEN: bridgeUser.token,
    REGISTRATION: JSON.stringify(registration),
  });
  const bare = await startChild('bare', {
    ...common,
    PORT: String(barePort),
    GITTER_TOKEN: bareUser.token,
    GITTER_USER_ID: bareUser.id,
    MATRIX_ROOM: bareMatrixRoom,
    GITTER_ROOM: bareGitterRoom.id,
  });
  const bot = '@gitterbot:localhost';
  const bridgeMatrixRoom = await bob.createRoom({ preset: 'public_chat', invite: [bot] });
  const adminRoom = await admin.createRoom({ is_direct: true, invite: [bot], preset: 'trusted_private_chat' });
  const until = async (what: string, f: () => boolean, ms = 30_000) => {
    const end = Date.now() + ms;
    while (!f()) {
      if (Date.now() > end) throw new Error(`timed out: ${what}`);
      await sleep(20);
    }
  };
  await until('bot in the admin room', () => hs.membership(adminRoom, bot) === 'join');
  await sleep(500);
  await admin.sendMessage(adminRoom, `!link ${bridgeMatrixRoom} bench/bridge`);
  await until('linked', () => gitter.streams.count({ roomId: bridgeGitterRoom.id, token: bridgeUser.token }) === 1);
  await until('bare stream', () => gitter.streams.count({ roomId: bareGitterRoom.id, token: bareUser.token }) === 1);
  await sleep(1000);

  type System = 'bridge' | 'bare';
  const rooms = {
    bridge: { matrix: bridgeMatrixRoom, gitter: bridgeGitterRoom.id, child: bridge },
    bare: { matrix: bareMatrixRoom, gitter: bareGitterRoom.id, child: bare },
  };

  /** Sends `count` stamped messages at RATE/s one way to one system; resolves with its figures. */
  async function phase(system: System, dir: 'g' | 'm', round: number, count: number) {
    const tag = `${system}-r${round}`;
    const key = `${dir} ${tag}`;
    arrivals.delete(key);
    const r = rooms[system];
    const cpu0 = await r.child.call<number>('cpu');
    const t0 = preciseNow();
    for (let i = 0; i < count; i++) {
      await preciseSleepUntil(t0 + (i * 1000) / RATE);
      const text = `${dir} ${tag} ${i} ${now().toFixed(3)}`;
      if (dir === 'g') gitter.seedMessages(r.gitter, alice.id, [text]);
      else
        hs.rooms.send(hs.rooms.get(r.matrix)!, { sender: bob.userId, type: 'm.room.message', content: { msgtype: 'm.text', body: text } });
    }
    const deadline = Date.now() + 60_000;
    while ((arrivals.get(key)?.seen.size ?? 0) < count && Date.now() < deadline) await sleep(50);
    await sleep(500); // late duplicates
    const cpu1 = await r.child.call<number>('cpu');
    const a = arrivals.get(key) ?? { lat: [], seen: new Set<number>(), dup: 0, misorder: 0, last: -1 };
    const sorted = [...a.lat].sort((x, y) => x - y);
    return {
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      lost: count - a.seen.size,
      dup: a.dup,
      misorder: a.misorder,
      cpuPerMsgUs: (cpu1 - cpu0) / count,
    };
  }

  const fmt = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '-');
  const ratios: Record<'g' | 'm', number[]> = { g: [], m: [] };
  let clean = true;
  // A short warm-up each way for each system (JIT, connections), not measured.
  for (const s of ['bridge', 'bare'] as const) for (const d of ['g', 'm'] as const) await phase(s, d, 0, Math.min(200, MESSAGES));
  console.log(`Gitter bench: ${MESSAGES} messages each way per system per round at ${RATE}/s, ${ROUNDS} round(s)`);
  console.log('round  direction        system  p50 ms  p99 ms  cpu µs/msg  lost  dup  misordered');
  for (let round = 1; round <= ROUNDS; round++) {
    for (const dir of ['g', 'm'] as const) {
      const res: Record<System, Awaited<ReturnType<typeof phase>>> = {} as never;
      for (const system of (round % 2 ? ['bridge', 'bare'] : ['bare', 'bridge']) as System[])
        res[system] = await phase(system, dir, round, MESSAGES);
      for (const system of ['bridge', 'bare'] as const) {
        const x = res[system];
        console.log(
          `${String(round).padEnd(6)} ${(dir === 'g' ? 'Gitter→Matrix' : 'Matrix→Gitter').padEnd(16)} ${system.padEnd(7)} ${fmt(x.p50).padStart(6)}  ${fmt(x.p99).padStart(6)}  ${fmt(x.cpuPerMsgUs).padStart(10)}  ${String(x.lost).padStart(4)}  ${String(x.dup).padStart(3)}  ${String(x.misorder).padStart(10)}`,
        );
        if (system === 'bridge' && (x.lost || x.dup || x.misorder)) clean = false;
      }
      ratios[dir].push(res.bridge.p99 / res.bare.p99);
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const gRatio = median(ratios.g);
  const mRatio = median(ratios.m);
  console.log(
    `\nmedian p99 ratio bridge/minimal relay: Gitter→Matrix ${gRatio.toFixed(2)}×, Matrix→Gitter ${mRatio.toFixed(2)}× (target ≤ 2×)`,
  );
  console.log(`bridge: ${clean ? 'nothing lost, duplicated or out of order' : 'LOST, DUPLICATED OR MISORDERED messages (see the table)'}`);
  const met = clean && gRatio <= 2 && mRatio <= 2;
  console.log(met ? 'target met' : 'target NOT met');

  await bridge.call('stop').catch(() => bridge.proc.kill('SIGKILL'));
  bare.proc.kill('SIGTERM');
  await hs.stop();
  await gitter.stop();
  witness.close();
  rmSync(dataDir, { recursive: true, force: true });
  process.exit(met ? 0 : 1);
}

const roles: Record<string, () => Promise<void>> = { main, bridge: bridgeRole, bare: bareRole };
roles[ROLE]().catch((err) => {
  console.error(`bench/gitter.ts (${ROLE}) failed:`, err);
  process.exit(2);
});
