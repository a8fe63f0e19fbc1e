/**
 * State-cache warm-up bench: 5,000 rooms with ~30 state events each, 2 ms of
 * latency per request, a cap of 4 concurrent requests.
 *
 *   npx tsx bench/state-warmup.ts [--rooms 5000] [--members 21] [--latency 2] [--cap 4] [--no-http]
 *
 * No flag is needed for the heap figures: the script enables `gc()` itself
 * (v8.setFlagsFromString('--expose-gc')); `node --expose-gc --import tsx
 * bench/state-warmup.ts` works too.
 *
 * Rows:
 *  - fetcher, precise latency: an in-process StateFetcher answering each room's
 *    wire JSON (the emulator's own /state output, pre-serialised; parsed per
 *    request as a client would) after exactly `latency` ms. Measures the cache.
 *  - fetcher, setTimeout latency: the same with setTimeout(latency), which Node
 *    fires 0.2–0.5 ms late: the timer's own overhead shows in the ratio.
 *  - emulator over HTTP: the homeserver emulator in a worker thread (its CPU does
 *    not compete with the cache's) with `faults.setLatency(latency)` on /state,
 *    fetched through MatrixHttpClient (undici Pool) and through fetch().
 *  - plain HTTP server, bare undici: a worker that does nothing but answer each
 *    room's JSON `latency` ms after the request arrived, fetched by bare undici
 *    loops. No emulator, no cache: what loopback HTTP alone costs against the
 *    floor here.
 * Both servers time their answers with spec/harness/precise-timer (a helper
 * thread; ~0.15 ms late here, but no core kept busy as a busy-wait would).
 *
 * Floor = rooms ÷ cap × latency: the time the requests alone take at the cap.
 * Heap per room = (heapUsed after warm-up − heapUsed before), both after a full
 * GC, ÷ rooms; room-ID strings are created after the baseline and counted.
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import * as os from 'node:os';
import { performance } from 'node:perf_hooks';
import { StateCache } from '../src/state/state-cache';
import { fetchStateFetcher, matrixClientStateFetcher, type StateFetcher } from '../src/state/state-fetcher';
import type { MatrixEvent } from '../src/matrix/event';
import { Semaphore } from '../src/state/semaphore';
import { MatrixHttpClient } from '../src/matrix/http-client';
import { configureLogging } from '../src/logging/logger';
import { HomeserverEmulator } from '@causeway/testing';
import { seedRooms, stateRegistration, STATE_AS_TOKEN } from '../spec/state/emulator-seed';
import { getGc } from '../../../bench/cli';
import { preciseSleepUntil } from '@causeway/testing';

interface Args {
  rooms: number;
  members: number;
  latency: number;
  cap: number;
  http: boolean;
}

function parseArgs(): Args {
  const a = process.argv.slice(2);
  const num = (name: string, def: number) => {
    const i = a.indexOf(`--${name}`);
    return i >= 0 ? Number(a[i + 1]) : def;
  };
  return {
    rooms: num('rooms', 5000),
    members: num('members', 21),
    latency: num('latency', 2),
    cap: num('cap', 4),
    http: !a.includes('--no-http'),
  };
}

// ---- worker: a plain HTTP server -----------------------------------------------------

/** Answers `/…/rooms/{roomId}/state` with that room's JSON, `latency` ms after the request arrived. */
async function plainServerMain(): Promise<void> {
  const { latency, wire } = workerData as { latency: number; wire: Record<string, string> };
  const http = await import('node:http');
  const bodies = new Map(Object.entries(wire).map(([id, w]) => [id, Buffer.from(w)] as const));
  const server = http.createServer((req, res) => {
    const arrived = performance.now();
    const m = /\/rooms\/([^/]+)\/state$/.exec(req.url ?? '');
    const body = m ? bodies.get(decodeURIComponent(m[1])) : undefined;
    req.resume();
    void preciseSleepUntil(performance.timeOrigin + arrived + latency).then(() => {
      if (!body) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(body.length) });
      res.end(body);
    });
  });
  server.listen(0, '127.0.0.1', () => parentPort!.postMessage({ url: `http://127.0.0.1:${(server.address() as { port: number }).port}` }));
}

// ---- worker: the emulator -----------------------------------------------------------

async function workerMain(): Promise<void> {
  if ((workerData as { role?: string }).role === 'plain') return plainServerMain();
  const { rooms, members, latency } = workerData as Args;
  const hs = await HomeserverEmulator.start({ serverName: 'bench.example', registrations: [stateRegistration()] });
  const ids = seedRooms(hs, rooms, members);
  hs.faults.setLatency(latency, 'GET /rooms/{roomId}/state');
  parentPort!.postMessage({ type: 'ready', url: hs.url, ids });
  let elu0 = performance.eventLoopUtilization();
  parentPort!.on('message', (m: { type: string }) => void onMessage(m));
  async function onMessage(m: { type: string }): Promise<void> {
    if (m.type === 'reset') {
      hs.resetCounters();
      elu0 = performance.eventLoopUtilization();
      parentPort!.postMessage({ type: 'reset-done' });
    } else if (m.type === 'stats') {
      parentPort!.postMessage({
        type: 'stats',
        requests: hs.requestCount('GET /rooms/{roomId}/state'),
        all: hs.requestCount(),
        peak: hs.peakConcurrency('GET /rooms/{roomId}/state'),
        hsBusyMs: performance.eventLoopUtilization(elu0).active,
      });
    } else if (m.type === 'wire') {
      // Events as the emulator serves them, for the in-process rows (asked for after the HTTP rows).
      parentPort!.postMessage({ type: 'wire', wire: ids.map((id) => JSON.stringify(hs.roomState(id))) });
    } else if (m.type === 'stop') {
      await hs.stop();
      process.exit(0);
    }
  }
}

// ---- main ------------------------------------------------------------------------------

/** Resolves `ms` from now to within ~0.1 ms: a timer for all but the last millisecond, then event-loop turns. */
function preciseDelay(ms: number): Promise<void> {
  const deadline = performance.now() + ms;
  return new Promise((resolve) => {
    const check = () => {
      const left = deadline - performance.now();
      if (left <= 0) resolve();
      else if (left > 1.5) setTimeout(check, Math.floor(left - 1));
      else setImmediate(check);
    };
    check();
  });
}

class WireFetcher implements StateFetcher {
  inFlight = 0;
  peak = 0;
  requests = 0;
  constructor(
    private readonly byRoom: Map<string, string>,
    private readonly delay: () => Promise<void>,
  ) {}
  async fetchRoomState(roomId: string): Promise<MatrixEvent[]> {
    this.requests++;
    if (++this.inFlight > this.peak) this.peak = this.inFlight;
    try {
      await this.delay();
      return JSON.parse(this.byRoom.get(roomId)!) as MatrixEvent[];
    } finally {
      this.inFlight--;
    }
  }
}

interface Row {
  mode: string;
  rooms: number;
  requests: number;
  peak: number;
  wallMs: number;
  busyMs: number;
  hsBusyMs?: number;
  fetchMs: number;
  slotUse: number;
  heapPerRoom: number;
}

async function measure(
  mode: string,
  args: Args,
  idsTemplate: string[],
  inner: StateFetcher,
  counters: () => Promise<{ requests: number; peak: number; hsBusyMs?: number }>,
): Promise<Row> {
  // Time each request as the cache sees it (slot held from call to answer).
  let fetchTotal = 0;
  const fetcher: StateFetcher = {
    async fetchRoomState(roomId, signal) {
      const t0 = performance.now();
      try {
        return await inner.fetchRoomState(roomId, signal);
      } finally {
        fetchTotal += performance.now() - t0;
      }
    },
  };
  const gc = getGc();
  gc();
  gc();
  const before = process.memoryUsage().heapUsed;
  // Fresh room-ID strings (counted in the per-room heap), as a bridge reading them from its store would hand over.
  let ids: string[] | undefined = idsTemplate.map((id) => (' ' + id).slice(1));
  ids = ids.map((id) => id.split('').join(''));
  const cache = new StateCache({ fetcher, semaphore: new Semaphore(args.cap), maxRooms: args.rooms, progressIntervalMs: 1000 });
  const elu0 = performance.eventLoopUtilization();
  const t = performance.now();
  const res = await cache.warm(ids);
  const wallMs = performance.now() - t;
  const busyMs = performance.eventLoopUtilization(elu0).active;
  // eslint-disable-next-line no-useless-assignment -- dropping the last reference is the point: gc() below collects the IDs
  ids = undefined;
  gc();
  gc();
  const after = process.memoryUsage().heapUsed;
  if (res.fetched !== args.rooms) throw new Error(`${mode}: fetched ${res.fetched}/${args.rooms} (${res.failed} failed)`);
  const { requests, peak, hsBusyMs } = await counters();
  const row = {
    mode,
    rooms: args.rooms,
    requests,
    peak,
    wallMs,
    busyMs,
    hsBusyMs,
    fetchMs: fetchTotal / requests,
    slotUse: fetchTotal / (args.cap * wallMs),
    heapPerRoom: (after - before) / args.rooms,
  };
  await cache.close();
  return row;
}

/**
 * Baseline for the HTTP rows: the same requests from `cap` bare undici loops, no
 * cache, no client wrapper. Nothing fetches faster over this transport, so the
 * gap to it is what the cache and MatrixHttpClient cost.
 */
async function bareHttpRow(
  args: Args,
  ready: { url: string; ids: string[] },
  ask?: <T>(type: string) => Promise<T>,
  mode = 'emulator/HTTP, bare undici (baseline)',
): Promise<Row> {
  const { Pool } = await import('undici');
  const pool = new Pool(ready.url, { connections: 32 });
  await ask?.('reset');
  let next = 0;
  let fetchTotal = 0;
  const elu0 = performance.eventLoopUtilization();
  const t = performance.now();
  await Promise.all(
    Array.from({ length: args.cap }, async () => {
      while (next < ready.ids.length) {
        const id = ready.ids[next++];
        const t0 = performance.now();
        const res = await pool.request({
          path: `/_matrix/client/v3/rooms/${encodeURIComponent(id)}/state`,
          method: 'GET',
          headers: { authorization: `Bearer ${STATE_AS_TOKEN}` },
        });
        if (res.statusCode !== 200) throw new Error(`bare HTTP: ${res.statusCode} for ${id}`);
        JSON.parse(await res.body.text());
        fetchTotal += performance.now() - t0;
      }
    }),
  );
  const wallMs = performance.now() - t;
  const busyMs = performance.eventLoopUtilization(elu0).active;
  await pool.close();
  // The plain server counts nothing: its loops issue exactly one request per room, at most `cap` at a time.
  const st = ask
    ? await ask<{ requests: number; peak: number; hsBusyMs: number }>('stats')
    : { requests: args.rooms, peak: args.cap, hsBusyMs: undefined };
  return {
    mode,
    rooms: args.rooms,
    requests: st.requests,
    peak: st.peak,
    wallMs,
    busyMs,
    hsBusyMs: st.hsBusyMs,
    fetchMs: fetchTotal / st.requests,
    slotUse: fetchTotal / (args.cap * wallMs),
    heapPerRoom: NaN,
  };
}

async function main(): Promise<void> {
  const args = parseArgs();
  configureLogging({ level: (process.env.CAUSEWAY_LOG_LEVEL as 'info') ?? 'warn' });
  // The worker loads this same file through tsx's CommonJS hook.
  const worker = new Worker(`require('tsx/cjs'); require(${JSON.stringify(__filename)});`, { eval: true, workerData: args });
  const ready = await new Promise<{ url: string; ids: string[] }>((resolve, reject) => {
    worker.once('error', reject);
    worker.once('message', resolve);
  });
  const ask = <T>(type: string): Promise<T> =>
    new Promise((resolve) => {
      worker.once('message', resolve);
      worker.postMessage({ type });
    });

  const rows: Row[] = [];
  // HTTP rows first, while neither thread holds the in-process rows' 50 MB of JSON (their GC would tax the transport).
  let bareHttpMs: number | undefined;
  if (args.http) {
    const bare = await bareHttpRow(args, ready, ask);
    bareHttpMs = bare.wallMs;
    rows.push(bare);
    const client = new MatrixHttpClient({ baseUrl: ready.url, asToken: STATE_AS_TOKEN });
    const viaHttp: Array<[string, StateFetcher]> = [
      ['emulator/HTTP, MatrixHttpClient', matrixClientStateFetcher(client)],
      ['emulator/HTTP, fetch()', fetchStateFetcher({ baseUrl: ready.url, asToken: STATE_AS_TOKEN })],
    ];
    for (const [mode, fetcher] of viaHttp) {
      await ask('reset');
      rows.push(
        await measure(mode, args, ready.ids, fetcher, async () => {
          const s = await ask<{ requests: number; all: number; peak: number; hsBusyMs: number }>('stats');
          if (s.all !== s.requests) throw new Error(`${mode}: ${s.all - s.requests} requests other than /state`);
          return s;
        }),
      );
    }
    await client.close();
  }

  const { wire } = await ask<{ wire: string[] }>('wire');
  const byRoom = new Map(ready.ids.map((id, i) => [id, wire[i]] as const));
  wire.length = 0;
  if (args.http) {
    // Loopback HTTP alone: a server that only answers the same bytes on time.
    const plain = new Worker(`require('tsx/cjs'); require(${JSON.stringify(__filename)});`, {
      eval: true,
      workerData: { role: 'plain', latency: args.latency, wire: Object.fromEntries(byRoom) },
    });
    const { url } = await new Promise<{ url: string }>((resolve, reject) => {
      plain.once('error', reject);
      plain.once('message', resolve);
    });
    rows.push(await bareHttpRow(args, { url, ids: ready.ids }, undefined, 'plain HTTP server, bare undici'));
    await plain.terminate();
  }
  const avgEvents =
    [...byRoom.values()].slice(0, 100).reduce((n, w) => n + (JSON.parse(w) as unknown[]).length, 0) / Math.min(100, byRoom.size);
  const avgBytes = [...byRoom.values()].reduce((n, w) => n + w.length, 0) / byRoom.size;
  const inProcess: Row[] = [];
  for (const [mode, delay] of [
    ['fetcher, precise latency', () => preciseDelay(args.latency)],
    ['fetcher, setTimeout latency', () => new Promise<void>((r) => setTimeout(r, args.latency))],
  ] as const) {
    const f = new WireFetcher(byRoom, delay);
    inProcess.push(await measure(mode, args, ready.ids, f, async () => ({ requests: f.requests, peak: f.peak })));
  }
  rows.unshift(...inProcess);
  // The cache's own CPU: answers already parsed (shared arrays; the cache never mutates them), no latency.
  const parsed = new Map([...byRoom].map(([id, w]) => [id, JSON.parse(w) as MatrixEvent[]] as const));
  let cacheCpuUs: number;
  {
    const cache = new StateCache({
      fetcher: { fetchRoomState: async (id) => parsed.get(id)! },
      semaphore: new Semaphore(args.cap),
      maxRooms: args.rooms,
    });
    const ids = ready.ids.map((id) => id.split('').join(''));
    const elu0 = performance.eventLoopUtilization();
    await cache.warm(ids);
    cacheCpuUs = (performance.eventLoopUtilization(elu0).active * 1000) / args.rooms;
    await cache.close();
    parsed.clear();
  }
  worker.postMessage({ type: 'stop' });

  const floor = (args.rooms / args.cap) * args.latency;
  console.log(
    `\nstate cache warm-up: ${args.rooms} rooms × ~${avgEvents.toFixed(0)} state events (${(avgBytes / 1024).toFixed(1)} KB of JSON each), ` +
      `${args.latency} ms latency, cap ${args.cap}, default event types; floor = ${args.rooms} ÷ ${args.cap} × ${args.latency} ms = ${floor.toFixed(0)} ms\n`,
  );
  const head = [
    'mode',
    'rooms',
    'requests',
    'peak conc.',
    'wall ms',
    'floor ms',
    'wall/floor',
    'busy ms',
    'HS busy ms',
    'ms/request',
    'slot use',
    'heap/room',
    'vs bare HTTP',
  ];
  const table = rows.map((r) => [
    r.mode,
    String(r.rooms),
    String(r.requests),
    String(r.peak),
    r.wallMs.toFixed(0),
    floor.toFixed(0),
    (r.wallMs / floor).toFixed(2) + '×',
    r.busyMs.toFixed(0),
    r.hsBusyMs === undefined ? '-' : r.hsBusyMs.toFixed(0),
    r.fetchMs.toFixed(2),
    (r.slotUse * 100).toFixed(0) + '%',
    Number.isNaN(r.heapPerRoom) ? '-' : `${(r.heapPerRoom / 1024).toFixed(2)} KB`,
    (r.mode.startsWith('emulator/') || r.mode.startsWith('plain')) && bareHttpMs ? (r.wallMs / bareHttpMs).toFixed(2) + '×' : '-',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...table.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of table) console.log(line(r));
  console.log(`\ncache's own CPU (answers pre-parsed, no latency): ${cacheCpuUs.toFixed(0)} µs per room`);
  console.log('busy ms = main-thread event-loop active time during the warm-up (JSON parsing of the responses included):');
  console.log('when it approaches the floor the run is CPU-bound, not request-bound.');
  console.log('ms/request = mean time from the cache calling the fetcher to the answer (nominal: the latency);');
  console.log('slot use = Σ request time ÷ (cap × wall): how full the cache kept the cap. wall ≈ rooms ÷ cap × ms/request ÷ slot use.');
  console.log(
    `machine: ${os.cpus().length} CPU(s), load average ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  console.log('targets: requests = rooms, peak ≤ cap, wall ≤ 1.2× floor, heap ≤ 3 KB/room');
}

if (isMainThread) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
} else {
  void workerMain();
}
