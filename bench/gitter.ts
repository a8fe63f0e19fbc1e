/**
 * The Gitter bridge's relay latency and CPU per message, both ways, against a minimal relay measured
 * in the same run, through the Gitter emulator (its rate limit off) and the homeserver emulator.
 * See bench/README.md.
 *
 *   npx tsx bench/gitter.ts [--messages 5000] [--rate 100] [--rounds 3] [--rooms 10] [--people 10]
 *
 * Processes: this one runs the bridge (Bridge + GitterConnector, one relay account, nedb store,
 * logging at `error`) and orchestrates; the homeserver emulator (`--role hs`), the Gitter emulator
 * (`--role gitter`) and the minimal relay (`--role minimal`) are child processes of this same file,
 * so the bridge's process.cpuUsage() holds the bridge's work alone.
 *
 * The minimal relay does what any relay must and nothing else: Gitter→Matrix, one HTTP stream
 * reader per room (newline-delimited JSON, keep-alives skipped) and one `PUT /send` per message;
 * Matrix→Gitter, an appservice transaction listener and one `POST /rooms/:id/chatMessages` per
 * message, with its own Gitter account. One request at a time per room, so each keeps its order, as
 * the bridge's does. Its own messages come back to it (on its streams, and as the homeserver's echo
 * transactions) as the bridge's do, and are read and dropped.
 */
import * as http from 'node:http';
import * as os from 'node:os';
import { Pool } from 'undici';
import { arg } from './cli';
import { startBridge } from './lib/bridge';
import { processCpuMs } from './lib/cpu';
import { hsRole } from './lib/hs-role';
import { minimalMatrix } from './lib/minimal-matrix';
import { Receipts, stamp } from './lib/receipts';
import { relayRounds, runPhase, type Direction, type Relay } from './lib/relay-rounds';
import { eld, runRole, serve, spawnRole, type Child, type Eld } from './lib/roles';
import { paced, until } from './lib/timing';

process.env.CAUSEWAY_LOG_LEVEL ??= 'error';

const MESSAGES = Number(arg('messages', '5000'));
const RATE = Number(arg('rate', '100'));
const ROUNDS = Math.max(1, Number(arg('rounds', '3')));
const ROOMS = Math.max(1, Number(arg('rooms', '10')));
const PEOPLE = Math.max(1, Number(arg('people', '10')));

/** Message i of a phase: sent by person ⌊i / rooms⌋ mod people into room i mod rooms, so every room hears everyone. */
const sender = (i: number) => Math.floor(i / ROOMS) % PEOPLE;
const room = (i: number) => i % ROOMS;

// ---- role: Gitter emulator -----------------------------------------------------------------------

interface Account {
  id: string;
  token: string;
  rooms: string[];
}
interface GitterSide {
  restBaseUrl: string;
  streamBaseUrl: string;
  bridge: Account;
  minimal: Account;
}

async function gitterRole(): Promise<void> {
  const { GitterEmulator } = await import('@causeway/testing');
  const gitter = await GitterEmulator.start({ rateLimit: { enabled: false } });
  const people = Array.from({ length: PEOPLE }, (_, i) => gitter.createUser(`g${i}`, { displayName: `Gitter person ${i}` }));
  const side = (name: string): Account => {
    const account = gitter.createUser(`${name}-bot`);
    const rooms = Array.from(
      { length: ROOMS },
      (_, c) => gitter.createRoom({ uri: `bench/${name}-${c}`, members: [account.id, ...people.map((p) => p.id)] }).id,
    );
    return { id: account.id, token: account.token, rooms };
  };
  const info: GitterSide = {
    restBaseUrl: gitter.restBaseUrl,
    streamBaseUrl: gitter.streamBaseUrl,
    bridge: side('causeway'),
    minimal: side('minimal'),
  };
  const relays = new Set([info.bridge.id, info.minimal.id]);
  const receipts = new Receipts();
  // What the relays post, timed as the emulator creates it (the REST call's handling).
  gitter.model.onMessage((roomId, record) => {
    const m = record as { fromUser?: { id: string }; text?: string; v?: number };
    if (m.v === 1 && m.fromUser && relays.has(m.fromUser.id) && typeof m.text === 'string') receipts.record(m.text, roomId);
  });

  serve({
    info: () => info,
    /** Gitter→Matrix: the people post `count` messages at `rate`/s into the relay's rooms (created directly, as the REST call would, streamed to readers). */
    async send({ count, rate, tag, relay }: { count: number; rate: number; tag: string; relay: Relay }) {
      await paced(count, rate, (i) => gitter.seedMessages(info[relay].rooms[room(i)], people[sender(i)].id, [`s ${stamp(tag, i)}`]));
    },
    count: ({ tag }: { tag: string }) => receipts.count(tag),
    take: ({ tag }: { tag: string }) => {
      gitter.resetCounters();
      return receipts.take(tag);
    },
    streams: ({ token }: { token: string }) => gitter.streams.count({ token }),
  });
}

// ---- role: the minimal relay ---------------------------------------------------------------------

async function minimalRole(): Promise<void> {
  const matrix = minimalMatrix();
  let rest: Pool | undefined;
  let restPath = '';
  let account: Account | undefined;
  const gitterRoomOf = new Map<string, string>(); // Matrix room → Gitter room
  const streams: http.ClientRequest[] = [];

  const post = async (gitterRoom: string, text: string) => {
    const res = await rest!.request({
      method: 'POST',
      path: `${restPath}/rooms/${gitterRoom}/chatMessages`,
      headers: { authorization: `Bearer ${account!.token}`, 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ text }),
    });
    await res.body.dump();
    if (res.statusCode !== 200) throw new Error(`${res.statusCode} for POST chatMessages`);
  };

  /** One room's stream: newline-delimited JSON, keep-alives (blank lines) skipped, own messages and edits dropped. */
  const read = (streamBaseUrl: string, gitterRoom: string, roomId: string) =>
    new Promise<void>((resolve, reject) => {
      const req = http.get(
        `${streamBaseUrl}/rooms/${gitterRoom}/chatMessages`,
        { headers: { authorization: `Bearer ${account!.token}`, accept: 'application/json' } },
        (res) => {
          if (res.statusCode !== 200) return reject(new Error(`stream: ${res.statusCode}`));
          resolve();
          let buf = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            buf += chunk;
            let nl: number;
            while ((nl = buf.indexOf('\n')) >= 0) {
              const line = buf.slice(0, nl).trim();
              buf = buf.slice(nl + 1);
              if (!line) continue;
              const m = JSON.parse(line) as { fromUser?: { id: string }; text?: string; v?: number };
              if (!m.fromUser || m.fromUser.id === account!.id || m.v !== 1) continue;
              const text = m.text ?? '';
              matrix.inOrder(roomId, () => matrix.send(roomId, text));
            }
          });
        },
      );
      req.on('error', reject);
      streams.push(req);
    });

  serve({
    /** The appservice listener: each Matrix message becomes one POST chatMessages. */
    listen: () =>
      matrix.listen((roomId, body) => {
        const g = gitterRoomOf.get(roomId);
        if (g) matrix.inOrder(g, () => post(g, body));
      }),
    async start(o: { hsUrl: string; restBaseUrl: string; streamBaseUrl: string; account: Account; rooms: string[] }) {
      account = o.account;
      const restUrl = new URL(o.restBaseUrl);
      rest = new Pool(restUrl.origin, { connections: 16 });
      restPath = restUrl.pathname.replace(/\/$/, '');
      matrix.connect(o.hsUrl);
      for (const [c, roomId] of o.rooms.entries()) gitterRoomOf.set(roomId, account.rooms[c]);
      await Promise.all(o.rooms.map((roomId, c) => read(o.streamBaseUrl, account!.rooms[c], roomId)));
    },
    cpu: () => processCpuMs(),
    stop: () => {
      for (const s of streams) s.destroy();
    },
  });
}

// ---- main: the bridge ------------------------------------------------------------------------------

async function main(): Promise<void> {
  const { GitterConnector } = await import('@causeway/gitter-bridge');
  const load = () =>
    os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ');
  console.log(
    `Gitter bridge bench: ${MESSAGES} messages each way at ${RATE}/s, ${ROOMS} rooms, ${PEOPLE} people a side, ${ROUNDS} round(s); ` +
      `${os.cpus().length} CPUs, load ${load()}`,
  );
  const children: Child[] = [];
  const cleanup: Array<() => Promise<unknown>> = [() => Promise.all(children.map((c) => c.kill()))];
  try {
    const [hs, gitter, minimal] = await Promise.all([
      spawnRole(__filename, 'hs'),
      spawnRole(__filename, 'gitter'),
      spawnRole(__filename, 'minimal'),
    ]);
    children.push(hs, gitter, minimal);
    const side = await gitter.call<GitterSide>('info');

    // The bridge, in this process, with one relay account.
    const connector = new GitterConnector();
    const { bot, stop } = await startBridge({
      connector,
      key: 'gitter',
      section: { rest_base_url: side.restBaseUrl, stream_base_url: side.streamBaseUrl, relay: { token: side.bridge.token } },
      hs,
    });
    cleanup.unshift(stop);

    // Portals: one Matrix room per bridge room, linked as a bridge admin's `link` would.
    const bridgeRooms = await hs.call<string[]>('setupBridgeRooms', { bot });
    for (const [c, roomId] of bridgeRooms.entries()) await connector.link(roomId, side.bridge.rooms[c], '@admin:localhost');
    await until(
      'the bridge bot in every portal and every stream live',
      async () =>
        side.bridge.rooms.every((r) => connector.streams.live(r)) &&
        (await Promise.all(bridgeRooms.map((r) => hs.call('membership', { roomId: r, userId: bot })))).every((m) => m === 'join'),
      30_000,
    );

    // The minimal relay: its appservice, its rooms, its streams.
    const minUrl = await minimal.call<string>('listen');
    const minRooms = await hs.call<{ url: string; rooms: string[] }>('setupMinimalRooms', { url: minUrl });
    await minimal.call('start', {
      hsUrl: minRooms.url,
      restBaseUrl: side.restBaseUrl,
      streamBaseUrl: side.streamBaseUrl,
      account: side.minimal,
      rooms: minRooms.rooms,
    });
    cleanup.unshift(() => minimal.call('stop'));
    await until(
      'the minimal relay streaming every room',
      async () => (await gitter.call<number>('streams', { token: side.minimal.token })) === ROOMS,
      10_000,
    );

    const cpuMs = (relay: Relay) => () => (relay === 'bridge' ? Promise.resolve(processCpuMs()) : minimal.call<number>('cpu'));
    const eldOf = (relay: Relay) => (reset: boolean) =>
      relay === 'bridge' ? Promise.resolve(eld(reset)) : minimal.call<Eld>('eld', { reset });
    const toMatrix = (relay: Relay, tag: string, count = MESSAGES) =>
      runPhase({ relay, tag, count, rate: RATE, sender: gitter, receiver: hs, cpuMs: cpuMs(relay), eld: eldOf(relay) });
    const toGitter = (relay: Relay, tag: string, count = MESSAGES) =>
      runPhase({ relay, tag, count, rate: RATE, sender: hs, receiver: gitter, cpuMs: cpuMs(relay), eld: eldOf(relay) });
    const directions: Direction[] = [
      { name: 'Gitter→Matrix', run: (relay, tag) => toMatrix(relay, tag) },
      { name: 'Matrix→Gitter', run: (relay, tag) => toGitter(relay, tag) },
    ];

    // Warm-up, not counted: every person's ghost registered and joined in every portal, connections and JIT warm.
    const warm = Math.max(PEOPLE * ROOMS, Math.min(1000, MESSAGES));
    for (const relay of ['bridge', 'minimal'] as Relay[]) {
      await toMatrix(relay, `w0${relay}`, warm);
      await toGitter(relay, `w1${relay}`, warm);
    }
    console.log(`warmed up (${warm} messages each way through each relay); load ${load()}`);

    const ok = await relayRounds({ rounds: ROUNDS, directions, minimalLabel: 'minimal relay' });
    process.exitCode = ok ? 0 : 1;
  } finally {
    for (const c of cleanup) await c().catch(() => undefined);
  }
}

runRole({
  main,
  hs: () => hsRole({ ghostPrefix: '@gitter_', people: PEOPLE, rooms: ROOMS, sender, room }),
  gitter: gitterRole,
  minimal: minimalRole,
});
