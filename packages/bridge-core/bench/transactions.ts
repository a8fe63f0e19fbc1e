/**
 * Appservice transaction throughput: the full AppserviceServer + journal +
 * room dispatcher (no-op handler) against a bare node:http server that only
 * reads and JSON.parses the same bodies, both driven by the same
 * worker-thread "homeserver". See bench/README.md.
 *
 *   npx tsx bench/transactions.ts [--txns 2000] [--events 50] [--rooms 100] [--senders 4] [--fsync batch|always|never]
 *     [--rounds 3] [--only bare|full]
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { AppserviceServer } from '../src/appservice/http-server';
import { DeliveryPipeline } from '../src/appservice/delivery';
import type { FsyncMode } from '../src/appservice/transaction-journal';
import { arg } from '../../../bench/cli';

process.env.CAUSEWAY_LOG_LEVEL ??= 'error';

const TXNS = Number(arg('txns', '2000'));
const EVENTS = Number(arg('events', '50'));
const ROOMS = Number(arg('rooms', '100'));
const SENDERS = Number(arg('senders', '4'));
const WARMUP = Math.min(300, Math.ceil(TXNS / 5));
const FSYNC = arg('fsync', 'batch') as FsyncMode;
/** `--only full` / `--only bare`: run one server (for profiling); no table. */
const ONLY = arg('only', '');
const HS_TOKEN = 'bench-hs-token-5f0c2a9e7d';

const words = 'the quick brown fox jumps over lazy dog bridge matrix room message hello world irc slack gitter channel'.split(' ');
let eventCounter = 0;
function message(room: number): Record<string, unknown> {
  const n = eventCounter++;
  const len = 5 + (n % 25);
  const body = Array.from({ length: len }, (_, i) => words[(n * 7 + i * 3) % words.length]).join(' ');
  const e: Record<string, unknown> = {
    type: 'm.room.message',
    room_id: `!${((room * 2654435761) >>> 0).toString(36)}abcdefgh:example.org`,
    sender: `@user${n % 500}:example.org`,
    event_id: `$${n.toString(36)}Xq9fK2mZpL0vR7tW3bN8cD5eY1hJ4gA6sU`,
    origin_server_ts: 1_700_000_000_000 + n,
    content: { msgtype: 'm.text', body },
    unsigned: { age: 12 + (n % 100), transaction_id: n % 5 === 0 ? `m${n}.1` : undefined },
  };
  if (n % 4 === 0) {
    (e.content as Record<string, unknown>).format = 'org.matrix.custom.html';
    (e.content as Record<string, unknown>).formatted_body = `<p>${body}</p>`;
  }
  if (n % 10 === 0) (e.content as Record<string, unknown>)['m.mentions'] = { user_ids: [`@_irc_nick${n % 50}:example.org`] };
  return e;
}

function makeBodies(count: number): Buffer[] {
  return Array.from({ length: count }, (_, t) =>
    Buffer.from(JSON.stringify({ events: Array.from({ length: EVENTS }, (_, i) => message((t * 31 + i) % ROOMS)) })),
  );
}

/**
 * CPU time of this (the servers') thread alone, ms: Linux schedstat of the
 * main thread, which excludes the driver worker and the libuv thread pool;
 * elsewhere undefined (the event-loop busy time is shown instead).
 */
function threadCpuMs(): number | undefined {
  try {
    return Number(fs.readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return undefined;
  }
}

/** Measure the server thread's cost over a run: CPU time where available, else event-loop busy time. */
function costMeter(): () => number {
  const cpu0 = threadCpuMs();
  const elu = performance.eventLoopUtilization();
  return () => {
    const cpu1 = threadCpuMs();
    return cpu0 !== undefined && cpu1 !== undefined ? cpu1 - cpu0 : performance.eventLoopUtilization(elu).active;
  };
}

interface RunResult {
  name: string;
  seconds: number;
  latencies: number[];
  /**
   * Server (main) thread CPU time during the measured run, ms (event-loop
   * busy time where the thread's CPU time is not readable): a steadier cost
   * figure than wall time on a shared machine.
   */
  busyMs: number;
}

/**
 * The "homeserver": SENDERS concurrent keep-alive senders in a worker thread
 * (its own event loop and heap, like a real homeserver in another process),
 * measuring each transaction from request start to the end of the response.
 */
const DRIVER = `
const http = require('node:http');
const { parentPort, workerData } = require('node:worker_threads');
const { port, prefix, shared, offsets, senders, token } = workerData;
// Own copies of the bodies, made before the clock starts.
const bodies = [];
for (let i = 0; i + 1 < offsets.length; i++) bodies.push(Buffer.from(Buffer.from(shared, offsets[i], offsets[i + 1] - offsets[i])));
const agent = new http.Agent({ keepAlive: true, maxSockets: senders });
const latencies = new Array(bodies.length);
let next = 0;
const send = (i) => new Promise((resolve, reject) => {
  const body = bodies[i];
  const t0 = process.hrtime.bigint();
  const req = http.request({ host: '127.0.0.1', port, agent, method: 'PUT', path: '/_matrix/app/v1/transactions/' + prefix + i,
    headers: { Authorization: 'Bearer ' + token, 'Content-Type': 'application/json', 'Content-Length': body.length } }, (res) => {
    res.resume();
    res.on('end', () => {
      latencies[i] = Number(process.hrtime.bigint() - t0) / 1e6;
      if (res.statusCode !== 200) reject(new Error('status ' + res.statusCode)); else resolve();
    });
  });
  req.on('error', reject);
  req.end(body);
});
(async () => {
  // The clock starts here, after the worker has started and has its bodies:
  // neither server is charged for worker start-up. hrtime is the process-wide
  // monotonic clock, so the main thread can stop the same clock later.
  const start = process.hrtime.bigint();
  await Promise.all(Array.from({ length: senders }, async () => { while (next < bodies.length) await send(next++); }));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  agent.destroy();
  parentPort.postMessage({ seconds, start: String(start), latencies });
})().catch((err) => parentPort.postMessage({ error: String(err) }));
`;

/** Bodies in one SharedArrayBuffer, so handing them to each driver worker copies nothing. */
interface BodySet {
  shared: SharedArrayBuffer;
  offsets: number[];
  count: number;
}

function share(bodies: Buffer[]): BodySet {
  const offsets = [0];
  for (const b of bodies) offsets.push(offsets[offsets.length - 1] + b.length);
  const shared = new SharedArrayBuffer(offsets[offsets.length - 1]);
  const view = Buffer.from(shared);
  bodies.forEach((b, i) => b.copy(view, offsets[i]));
  return { shared, offsets, count: bodies.length };
}

interface DriveResult {
  /** Worker clock: first request start to last response end. */
  seconds: number;
  /** process.hrtime.bigint() when the first request started (same clock in every thread). */
  start: bigint;
  latencies: number[];
}

function drive(port: number, prefix: string, bodies: BodySet): Promise<DriveResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(DRIVER, {
      eval: true,
      workerData: { port, prefix, shared: bodies.shared, offsets: bodies.offsets, senders: SENDERS, token: HS_TOKEN },
    });
    worker.once('message', (m: { seconds: number; start: string; latencies: number[]; error?: string }) => {
      void worker.terminate();
      if (m.error) reject(new Error(m.error));
      else resolve({ seconds: m.seconds, start: BigInt(m.start), latencies: m.latencies });
    });
    worker.once('error', reject);
  });
}

function listen(server: http.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

async function bare(warm: BodySet, bodies: BodySet): Promise<RunResult> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      JSON.parse(Buffer.concat(chunks).toString('utf8'));
      // Same answer bytes as the full server (fixed length, no chunked framing).
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '2' });
      res.end('{}');
    });
  });
  const port = await listen(server);
  await drive(port, 'warm', warm);
  const cost = costMeter();
  const r = await drive(port, 'txn', bodies);
  const busyMs = cost();
  await new Promise((res) => server.close(() => res(undefined)));
  // Everything is done once the last response is sent: the worker's clock is the whole run.
  return { name: 'bare node:http + JSON.parse', seconds: r.seconds, latencies: r.latencies, busyMs };
}

async function full(warm: BodySet, bodies: BodySet, fsync: FsyncMode): Promise<RunResult & { journalBytes: number; events: number }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'causeway-bench-'));
  let handled = 0;
  const pipeline = await DeliveryPipeline.open({
    journalDir: dir,
    journal: { fsync },
    handler: async () => {
      handled++;
    },
  });
  const server = new AppserviceServer({
    hsToken: HS_TOKEN,
    transactions: pipeline,
    handlers: { onUserQuery: async () => false, onAliasQuery: async () => false },
  });
  const port = (await server.listen(0)).port;
  await drive(port, 'warm', warm);
  await pipeline.idle();
  const before = pipeline.stats().journal!.bytesWritten;
  const cost = costMeter();
  const r = await drive(port, 'txn', bodies);
  await pipeline.idle(); // count until every event has been handled, not just acknowledged
  // Same start as the bare run (the worker's first request), stopped when the last event is handled.
  const seconds = Number(process.hrtime.bigint() - r.start) / 1e9;
  const busyMs = cost();
  const journalBytes = pipeline.stats().journal!.bytesWritten - before;
  await server.close();
  await pipeline.close();
  fs.rmSync(dir, { recursive: true, force: true });
  if (handled !== (warm.count + bodies.count) * EVENTS) throw new Error(`handled ${handled} events`);
  return {
    name: `AppserviceServer + journal (fsync ${fsync}) + dispatcher`,
    seconds,
    latencies: r.latencies,
    busyMs,
    journalBytes,
    events: handled,
  };
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function summarise(r: RunResult): { eps: number; p50: number; p99: number; busyMs: number } {
  const sorted = [...r.latencies].sort((x, y) => x - y);
  return { eps: (TXNS * EVENTS) / r.seconds, p50: pct(sorted, 50), p99: pct(sorted, 99), busyMs: r.busyMs };
}

async function main(): Promise<void> {
  const ROUNDS = Number(arg('rounds', '3'));
  const warmBodies = makeBodies(WARMUP);
  const txnBodies = makeBodies(TXNS);
  const mb = txnBodies.reduce((n, b) => n + b.length, 0) / 1e6;
  const warm = share(warmBodies);
  const bodies = share(txnBodies);
  console.log(
    `${TXNS} transactions × ${EVENTS} events (${mb.toFixed(1)} MB, ${ROOMS} rooms), ${SENDERS} keep-alive senders, ` +
      `warm-up ${WARMUP}, ${ROUNDS} interleaved rounds; ${os.cpus().length} CPUs, load ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}`,
  );
  const bareRuns: Array<ReturnType<typeof summarise>> = [];
  const fullRuns: Array<ReturnType<typeof summarise>> = [];
  let journalMb = 0;
  for (let round = 0; round < ROUNDS; round++) {
    if (ONLY === 'full' || ONLY === 'bare') {
      // Profiling aid: one server only, no comparison.
      const r = ONLY === 'bare' ? await bare(warm, bodies) : await full(warm, bodies, FSYNC);
      const x = summarise(r);
      console.log(
        `  round ${round + 1}: ${ONLY} ${Math.round(x.eps)} ev/s p50 ${x.p50.toFixed(2)} p99 ${x.p99.toFixed(2)} cpu ${x.busyMs.toFixed(0)} ms`,
      );
      continue;
    }
    const b = summarise(await bare(warm, bodies));
    const fr = await full(warm, bodies, FSYNC);
    const f = summarise(fr);
    journalMb = fr.journalBytes / 1e6;
    bareRuns.push(b);
    fullRuns.push(f);
    console.log(
      `  round ${round + 1}: bare ${Math.round(b.eps)} ev/s p50 ${b.p50.toFixed(2)} p99 ${b.p99.toFixed(2)} cpu ${b.busyMs.toFixed(0)} ms | ` +
        `full ${Math.round(f.eps)} ev/s p50 ${f.p50.toFixed(2)} p99 ${f.p99.toFixed(2)} cpu ${f.busyMs.toFixed(0)} ms | ratio ${(f.eps / b.eps).toFixed(2)}`,
    );
  }
  if (ONLY) return;
  // Best round of each: on a shared machine the least-disturbed run is the most repeatable figure.
  const best = (runs: typeof bareRuns) => runs.reduce((a, b) => (b.eps > a.eps ? b : a));
  const rows = [
    { name: 'bare node:http + JSON.parse', ...best(bareRuns) },
    { name: `AppserviceServer + journal (fsync ${FSYNC}) + dispatcher`, ...best(fullRuns) },
  ];
  const w = Math.max(...rows.map((r) => r.name.length));
  console.log(`\n${'server (best round)'.padEnd(w)}  ${'events/s'.padStart(10)}  ${'p50 ms'.padStart(7)}  ${'p99 ms'.padStart(7)}`);
  for (const r of rows) {
    console.log(
      `${r.name.padEnd(w)}  ${Math.round(r.eps).toString().padStart(10)}  ${r.p50.toFixed(2).padStart(7)}  ${r.p99.toFixed(2).padStart(7)}`,
    );
  }
  const ratio = rows[1].eps / rows[0].eps;
  const medianRatio = fullRuns.map((f, i) => f.eps / bareRuns[i].eps).sort((a, b) => a - b)[Math.floor(ROUNDS / 2)];
  console.log(
    `ratio full/bare events/s: ${ratio.toFixed(2)}× (median per round ${medianRatio.toFixed(2)}×); ` +
      `target ≥ 0.5×, p99 ≤ 8 ms; journal ${journalMb.toFixed(1)} MB per run`,
  );
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const bareCpu = med(bareRuns.map((r) => r.busyMs)),
    fullCpu = med(fullRuns.map((r) => r.busyMs));
  console.log(
    `server-thread cpu per 1,000 events (median): bare ${(bareCpu / ((TXNS * EVENTS) / 1000)).toFixed(2)} ms, ` +
      `full ${(fullCpu / ((TXNS * EVENTS) / 1000)).toFixed(2)} ms (${(fullCpu / bareCpu).toFixed(2)}× bare)`,
  );
  const ok = ratio >= 0.5 && rows[1].p99 <= 8;
  console.log(ok ? 'PASS' : `MISS${rows[0].p99 > 8 ? ' (the bare server misses the p99 target too: machine is loaded)' : ''}`);
  process.exitCode = ok ? 0 : 1;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
