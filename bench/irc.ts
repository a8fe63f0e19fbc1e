/**
 * The IRC bridge at scale: N Matrix users with IRC connections in one bridge
 * process, against a real InspIRCd 3 and the homeserver emulator, compared with
 * N bare irc-framework clients measured in the same run. See bench/README.md.
 *
 *   npx tsx bench/irc.ts [--users 1000] [--messages 10000] [--rate 1000] [--channels N/20]
 *     [--senders 10] [--connect-rate 50] [--flood 10] [--deaf-mode auto|off|d] [--rounds 1] [--skip-restart]
 *
 * Processes (so nothing shares the measured heap): this process runs the bridge
 * (Bridge + IrcConnector) and orchestrates; the homeserver emulator, the IRC
 * driver (senders + observer) and the bare irc-framework clients are child
 * processes of this same file (`--role hs|driver|bare`); InspIRCd is its own
 * process. Memory figures are process.memoryUsage() after two full GCs.
 */
import { readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import { PerformanceObserver } from 'node:perf_hooks';
import { arg, getGc } from './cli';
import { Client as IfClient, type RawEvent } from 'irc-framework';
import type { RegistrationLike, TestUser } from '@causeway/testing';
import type { IrcConfig } from '@causeway/irc-bridge';
import { startBridge } from './lib/bridge';
import { processCpuMs } from './lib/cpu';
import { MINIMAL_AS_TOKEN, MINIMAL_USER } from './lib/hs-role';
import { minimalMatrix } from './lib/minimal-matrix';
import { parseStamp, Receipts, stamp, type ReceiptStats } from './lib/receipts';
import { eld, fmtEld, runRole, serve, spawnRole, type Child, type Eld } from './lib/roles';
import { lats, median } from './lib/stats';
import { formatTable, ms, ratio } from './lib/table';
import { collect, now, paced, sleep, until } from './lib/timing';

process.env.CAUSEWAY_LOG_LEVEL ??= 'error';

const USERS = Number(arg('users', '1000'));
const MESSAGES = Number(arg('messages', '10000'));
const RATE = Number(arg('rate', '1000'));
const CHANNELS = Number(arg('channels', String(Math.max(1, Math.round(USERS / 20)))));
const SENDERS = Number(arg('senders', '10'));
const CONNECT_RATE = Number(arg('connect-rate', '50'));
const FLOOD = Number(arg('flood', '10'));
/** clients.deaf_mode for the bridge: 'auto' (its default; InspIRCd's letter is 'd'), 'off' or a letter. */
const DEAF_MODE = arg('deaf-mode', 'auto');
const SKIP_RESTART = process.argv.includes('--skip-restart');
/** --rounds N: the steady IRC→Matrix phase N times, each against the same lines to the plain clients (noisy machines). */
const ROUNDS = Math.max(1, Number(arg('rounds', '1')));
/** --profile-i2m <file>: a CPU profile of the bridge's process during the steady IRC→Matrix phase only. */
const PROFILE_I2M = arg('profile-i2m', '');
/** --alloc-profile-i2m <file>: a sampled allocation profile (garbage included) of the same phase, for DevTools' Memory tab. */
const ALLOC_PROFILE_I2M = arg('alloc-profile-i2m', '');
const NET = 'bench';
const channelName = (i: number) => `#bench${i}`;

/**
 * `youngGen`: what V8's young generation holds in RAM. It grows to its maximum (~32 MB) under a
 * high allocation rate and a forced GC does not shrink it, so whether it grew between two
 * readings shifts RSS per connection by ~25 KB at 1,000 connections either way: it is a per-process
 * buffer, not a cost of the connections. `rssNoYoung` leaves it out.
 */
interface Mem {
  rss: number;
  heapUsed: number;
  external: number;
  youngGen: number;
  rssNoYoung: number;
}
async function memAfterGc(): Promise<Mem> {
  const gc = getGc();
  for (let i = 0; i < 3; i++) {
    gc();
    await sleep(50);
  }
  const m = process.memoryUsage();
  const youngGen = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.physical_space_size ?? 0;
  return { rss: m.rss, heapUsed: m.heapUsed, external: m.external + m.arrayBuffers, youngGen, rssNoYoung: m.rss - youngGen };
}

/** irc-framework's Client is an EventEmitter; the shared declaration names only what the observer uses. */
type BareClient = IfClient & {
  off(event: 'raw', listener: (ev: RawEvent) => void): BareClient;
  removeAllListeners(): BareClient;
};

/** One plain irc-framework client, registered; resolves on 001. */
function bareClient(host: string, port: number, nick: string, onLine?: (line: string, client: BareClient) => void): Promise<BareClient> {
  const c = new IfClient() as BareClient;
  if (onLine)
    c.on('raw', (ev: { line: string; from_server: boolean }) => {
      if (ev.from_server) onLine(ev.line.replace(/[\r\n]+$/, ''), c);
    });
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${nick} did not register`)), 60_000);
    c.once('registered', () => {
      clearTimeout(t);
      resolve(c);
    });
    c.once('close', () => reject(new Error(`${nick} closed before registering`)));
    // Same irc-framework options as the bridge's IrcConnection where they matter.
    c.connect({
      host,
      port,
      nick,
      username: 'bare',
      gecos: 'bare',
      auto_reconnect: false,
      version: '',
      ping_interval: 60,
      ping_timeout: 600,
      enable_chghost: true,
      enable_setname: true,
      message_max_length: 510,
    });
  });
}

function joinAndWait(c: IfClient, channels: string[], lines: { waitJoined: Map<string, () => void> }): Promise<void> {
  return Promise.all(
    channels.map(
      (ch) =>
        new Promise<void>((resolve) => {
          lines.waitJoined.set(`${c.user.nick.toLowerCase()} ${ch.toLowerCase()}`, resolve);
          c.raw(`JOIN ${ch}`);
        }),
    ),
  ).then(() => undefined);
}
/** Watches for 366 (end of NAMES) to know a JOIN completed. */
function joinWatcher(): { waitJoined: Map<string, () => void>; onLine: (line: string) => void } {
  const waitJoined = new Map<string, () => void>();
  return {
    waitJoined,
    onLine(line) {
      const m = /^(?:@\S+ )?:\S+ 366 (\S+) (\S+)/.exec(line);
      if (!m) return;
      const k = `${m[1].toLowerCase()} ${m[2].toLowerCase()}`;
      const f = waitJoined.get(k);
      if (f) {
        waitJoined.delete(k);
        f();
      }
    },
  };
}

/** CPU time of this process's main thread alone, ms (Linux schedstat; NaN elsewhere). */
function mainThreadCpuMs(): number {
  try {
    return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return NaN;
  }
}

/** GC pauses of this process while watched, summed by kind (each pause stops the bridge's event loop). */
function watchGc(): { stop(): string } {
  const kinds = new Map<string, { n: number; total: number; max: number }>();
  const names: Record<number, string> = { 1: 'minor', 4: 'major', 8: 'incremental', 16: 'weak callbacks' };
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = names[(e as unknown as { detail?: { kind?: number } }).detail?.kind ?? 0] ?? 'other';
      const k = kinds.get(kind) ?? { n: 0, total: 0, max: 0 };
      k.n++;
      k.total += e.duration;
      k.max = Math.max(k.max, e.duration);
      kinds.set(kind, k);
    }
  });
  obs.observe({ entryTypes: ['gc'] });
  return {
    stop() {
      obs.disconnect();
      return (
        [...kinds].map(([kind, k]) => `${k.n} ${kind} (${k.total.toFixed(0)} ms, longest ${k.max.toFixed(1)} ms)`).join(', ') || 'none'
      );
    },
  };
}

// ---- role: homeserver emulator -------------------------------------------------------------------

async function hsRole(): Promise<void> {
  const { HomeserverEmulator } = await import('@causeway/testing');
  const hs = await HomeserverEmulator.start({ serverName: 'localhost' });
  const users: Array<{ userId: string; roomId: string; user: TestUser }> = [];
  // Ghost messages as the emulator receives them (the send request's handling), with each line's
  // time, to pair it with the same line's receipt elsewhere.
  const receipts = new Receipts(true);
  const origSend = hs.rooms.send.bind(hs.rooms);
  hs.rooms.send = (room, d) => {
    const rec = origSend(room, d);
    const body = d.content.body;
    if (d.type === 'm.room.message' && typeof body === 'string' && (d.sender.startsWith('@irc_') || d.sender === MINIMAL_USER))
      receipts.record(body);
    return rec;
  };

  serve({
    info: () => ({ url: hs.url, serverName: hs.serverName }),
    addRegistration: (reg: RegistrationLike) => {
      hs.addRegistration(reg);
    },
    /** Registers users and joins user i to the portal of channel i % channels (first member of each channel first). */
    async joinAll({ n, channels, concurrency }: { n: number; channels: number; concurrency: number }) {
      const alias = (ch: string) => `#irc_${NET}_${ch}:localhost`;
      for (let i = users.length; i < n; i++) {
        const user = await hs.registerUser(`bu${i}`, { displayname: `bu${i}` });
        users.push({ userId: user.userId, roomId: '', user });
      }
      const t0 = now();
      const joinOne = async (i: number) => {
        users[i].roomId = await users[i].user.join(alias(channelName(i % channels)));
      };
      // The first member of each channel creates its portal (alias query): one at a time per channel.
      const first = Array.from({ length: Math.min(n, channels) }, (_, i) => i);
      const rest = Array.from({ length: Math.max(0, n - channels) }, (_, i) => i + channels);
      for (const batch of [first, rest]) {
        let k = 0;
        await Promise.all(
          Array.from({ length: concurrency }, async () => {
            while (k < batch.length) await joinOne(batch[k++]);
          }),
        );
      }
      return { seconds: (now() - t0) / 1000 };
    },
    recvCount: ({ tag }: { tag: string }) => receipts.count(tag),
    recvStats: ({ tag }: { tag: string }) => receipts.take(tag),
    /**
     * The minimal relay's side of the homeserver: an appservice whose own messages come back to it
     * in transactions, as Synapse sends every appservice its users' events (the bridge gets the
     * same echoes), and one room per channel, created by its user.
     */
    async relaySetup({ channels, url }: { channels: number; url: string }) {
      hs.addRegistration({
        id: 'bench-bare-relay',
        url,
        as_token: MINIMAL_AS_TOKEN,
        hs_token: 'bench-bare-relay-hs-token',
        sender_localpart: MINIMAL_USER.slice(1, MINIMAL_USER.indexOf(':')),
        rate_limited: false,
        namespaces: { users: [{ exclusive: true, regex: MINIMAL_USER }], aliases: [], rooms: [] },
      });
      const bot = hs.appserviceClient('bench-bare-relay');
      const rooms: string[] = [];
      for (let i = 0; i < channels; i++) rooms.push(await bot.createRoom({}));
      return { url: hs.url, rooms };
    },
    /** Matrix users send `count` messages at `rate`/s, round-robin over users (as the homeserver accepting them). */
    async matrixSend({ count, rate, tag, first }: { count: number; rate: number; tag: string; first?: number }) {
      const t0 = now();
      const seconds = await paced(count, rate, (i) => {
        const u = users[(i + (first ?? 0)) % users.length];
        const room = hs.rooms.get(u.roomId)!;
        hs.rooms.send(room, {
          sender: u.userId,
          type: 'm.room.message',
          content: { msgtype: 'm.text', body: `m ${stamp(tag, i)}` },
        });
      });
      return { seconds, start: t0 };
    },
    pending: () => hs.pusher.pending(),
    /** Requests the homeserver received from appservices, by endpoint, since the last reset. */
    requestCounts: ({ reset }: { reset?: boolean }) => {
      const c = hs.metrics.counts();
      if (reset) hs.metrics.reset();
      return c;
    },
    async stop() {
      await hs.stop();
    },
  });
}

// ---- role: IRC driver (senders + observer) -------------------------------------------------------

async function driverRole(): Promise<void> {
  let senders: BareClient[] = [];
  let observer: BareClient | null = null;
  // What the observer sees, in order per sender (a user's lines keep their order, not the channel's).
  const seen = new Receipts();
  const jw = joinWatcher();
  const observe = (line: string) => {
    jw.onLine(line);
    const m = /^(?:@\S+ )?:([^!\s]+)\S* PRIVMSG (#\S+) :(.*)$/.exec(line);
    if (m) seen.record(m[3], m[1]);
  };
  const channels = () => Array.from({ length: CHANNELS }, (_, i) => channelName(i));
  serve({
    async connect({ host, port, senders: n }: { host: string; port: number; senders: number }) {
      observer = await bareClient(host, port, 'BenchObs', observe);
      await joinAndWait(observer, channels(), jw);
      senders = await Promise.all(Array.from({ length: n }, (_, k) => bareClient(host, port, `BenchSnd${k}`, (l) => jw.onLine(l))));
      await Promise.all(senders.map((s) => joinAndWait(s, channels(), jw)));
      // The senders are deaf (user mode +d): without it each line would come back to the other nine
      // senders, 10,000 lines/s for this process to parse and InspIRCd to write, load on the two
      // cores that has nothing to do with what is measured.
      await Promise.all(
        senders.map(
          (s) =>
            new Promise<void>((resolve) => {
              const onLine = (ev: { line: string }) => {
                if (/ MODE \S+ :?\+d/.test(ev.line)) {
                  s.off('raw', onLine);
                  resolve();
                }
              };
              s.on('raw', onLine);
              s.raw(`MODE ${s.user.nick} +d`);
            }),
        ),
      );
    },
    async reconnectObserver({ host, port }: { host: string; port: number }) {
      observer?.removeAllListeners();
      observer = await bareClient(host, port, 'BenchObs', observe);
      await joinAndWait(observer, channels(), jw);
    },
    /** IRC → Matrix: `count` PRIVMSGs at `rate`/s, round-robin over senders and channels. */
    /**
     * `count` lines at `rate`/s. Steady (burst 1): consecutive lines go to different channels, so
     * each channel hears an even CHANNELS-th of the rate. Burst n: n consecutive lines (one per
     * sender in turn) go to the same channel, as when several people answer at once or one pastes.
     */
    async ircSend({ count, rate, tag, burst = 1 }: { count: number; rate: number; tag: string; burst?: number }) {
      const t0 = now();
      const seconds = await paced(count, rate, (i) => {
        senders[i % senders.length].raw(`PRIVMSG ${channelName(Math.floor(i / burst) % CHANNELS)} :i ${stamp(tag, i)}`);
      });
      return { seconds, start: t0 };
    },
    /** One line from every sender into every channel (ghost registration and room joins happen here). */
    async warm({ tag }: { tag: string }) {
      let i = 0;
      for (let c = 0; c < CHANNELS; c++) {
        for (const s of senders) s.raw(`PRIVMSG ${channelName(c)} :i ${stamp(tag, i++)}`);
        await sleep(20);
      }
      return i;
    },
    seenCount: ({ tag }: { tag: string }) => seen.count(tag),
    seenStats: ({ tag }: { tag: string }) => seen.take(tag),
  });
}

// ---- role: bare irc-framework clients ------------------------------------------------------------

interface RelayTarget {
  url: string;
  rooms: string[];
  tags: string[];
}

/**
 * The least any IRC→Matrix bridge must do with a line: a bare irc-framework client has read it, and
 * one `PUT /send` carries it to the homeserver (lib/minimal-matrix: bare undici, keep-alive, the
 * appservice token), one request at a time per room so that a room's lines keep their order; the
 * homeserver's echo of it comes back in a transaction, read and answered. No store, no formatting,
 * no ghosts: the latency and CPU floor of a relay with one homeserver round trip in it, on the
 * machine at hand.
 */
function minimalRelay(): {
  listen(): Promise<string>;
  configure(t: RelayTarget | null): void;
  forward(channel: number, tag: string, text: string): void;
} {
  const matrix = minimalMatrix();
  let target: RelayTarget | null = null;
  let connected = false;
  return {
    // The echoes of its own sends are all that comes back: read, parsed and dropped.
    listen: () => matrix.listen(() => undefined),
    configure(t) {
      if (t && !connected) {
        matrix.connect(t.url);
        connected = true;
      }
      target = t;
    },
    forward(channel, tag, text) {
      if (!target?.tags.includes(tag)) return;
      const room = target.rooms[channel];
      matrix.inOrder(String(channel), () => matrix.send(room, text));
    },
  };
}

async function bareRole(): Promise<void> {
  const clients: BareClient[] = [];
  // Receipts per tag: the first bare client of the channel to see each line.
  const recv = new Map<string, { lat: number[]; last: number; at: Array<[number, number]> }>();
  const jw = joinWatcher();
  const relay = minimalRelay();
  serve({
    mem: () => memAfterGc(),
    /** n clients, client i in channel i % channels, connects started at `rate`/s (as the bridge's scheduler). */
    async connect({ host, port, n, rate }: { host: string; port: number; n: number; rate: number }) {
      const t0 = now();
      const pending: Promise<void>[] = [];
      for (let i = 0; i < n; i++) {
        const wait = t0 + (i * 1000) / rate - now();
        if (wait > 0) await sleep(wait);
        const listener = i < CHANNELS; // the first client of each channel records delivery latency
        pending.push(
          bareClient(host, port, `bare${i}`, (line) => {
            jw.onLine(line);
            if (!listener || !line.includes(' PRIVMSG #')) return;
            const s = parseStamp(line);
            if (!s) return;
            const r = recv.get(s.tag);
            if (r) {
              const t = now();
              r.lat.push(t - s.sentAt);
              r.last = t;
              r.at.push([s.seq, t]);
            }
            relay.forward(i, s.tag, line.slice(line.indexOf(' :', line.indexOf(' PRIVMSG #')) + 2));
          }).then((c) => {
            clients[i] = c;
            return joinAndWait(c, [channelName(i % CHANNELS)], jw);
          }),
        );
      }
      await Promise.all(pending);
      return { seconds: (now() - t0) / 1000 };
    },
    resetRecv: ({ tag }: { tag: string }) => {
      recv.set(tag, { lat: [], last: 0, at: [] });
    },
    recvCount: ({ tag }: { tag: string }) => recv.get(tag)?.lat.length ?? 0,
    recvStats: ({ tag }: { tag: string }) => recv.get(tag) ?? { lat: [], last: 0 },
    relay: (target: RelayTarget | null) => relay.configure(target),
    /** The minimal relay's appservice listener: takes the echo transactions, answers 200 {}. */
    relayListen: () => relay.listen(),
    /** This process's CPU time so far (ms): the minimal relay's cost per line is a difference of two. */
    cpu: () => processCpuMs(),
    /** Keeps only the first client of each channel (the listeners), so they can time the same lines as the bridge. */
    async thin() {
      for (let i = CHANNELS; i < clients.length; i++) clients[i]?.quit('bye');
      clients.length = Math.min(clients.length, CHANNELS);
      await sleep(1000);
    },
    /** Matrix → IRC baseline: the bare clients send `count` lines at `rate`/s, round-robin. */
    async send({ count, rate, tag }: { count: number; rate: number; tag: string }) {
      const t0 = now();
      const seconds = await paced(count, rate, (i) => {
        const k = i % clients.length;
        clients[k].raw(`PRIVMSG ${channelName(k % CHANNELS)} :m ${stamp(tag, i)}`);
      });
      return { seconds, start: t0 };
    },
    async quit() {
      for (const c of clients) c.quit('bye');
      await sleep(1000);
    },
  });
}

// ---- main: the bridge ------------------------------------------------------------------------------

/** The V8 CPU profiler on this process, for one phase (open the file in Chrome DevTools or speedscope). */
async function startProfile(kind: 'cpu' | 'alloc' = 'cpu'): Promise<{ stop(file: string): Promise<string> }> {
  const inspector = await import('node:inspector');
  const { writeFileSync } = await import('node:fs');
  const session = new inspector.Session();
  session.connect();
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) => session.post(method, params ?? {}, (err, res) => (err ? reject(err) : resolve(res))));
  if (kind === 'cpu') {
    await post('Profiler.enable');
    await post('Profiler.start');
  } else {
    await post('HeapProfiler.enable');
    // Garbage is the point (it is what the scavenges collect), so collected objects stay in.
    await post('HeapProfiler.startSampling', {
      samplingInterval: 4096,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
  }
  return {
    async stop(file) {
      const answer = await post(kind === 'cpu' ? 'Profiler.stop' : 'HeapProfiler.stopSampling');
      session.disconnect();
      if (typeof answer !== 'object' || answer === null || !('profile' in answer))
        throw new Error('the profiler answered without a profile');
      writeFileSync(file, JSON.stringify(answer.profile));
      return path.resolve(file);
    },
  };
}

async function main(): Promise<void> {
  const { startInspircd } = await import('@causeway/testing');
  const { IrcConnector } = await import('@causeway/irc-bridge');

  console.log(
    `IRC bridge bench: ${USERS} users in ${CHANNELS} channels, ${MESSAGES} messages each way at ${RATE}/s ` +
      `(${SENDERS} IRC senders), connect_rate ${CONNECT_RATE}/s, flood ${FLOOD} lines/s per connection, deaf_mode ${DEAF_MODE}; ` +
      `${os.cpus().length} CPUs, load ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}`,
  );
  const ircd = await startInspircd({ connectClass: { threshold: '100000', recvq: '8M' } });
  const children: Child[] = [];
  const cleanup: Array<() => Promise<unknown>> = [() => Promise.all(children.map((c) => c.kill())), () => ircd.dispose()];
  const server = { host: ircd.host, port: ircd.port };
  const out: Record<string, number> = {};
  try {
    const [hs, driver] = await Promise.all([spawnRole(__filename, 'hs'), spawnRole(__filename, 'driver')]);
    children.push(hs, driver);
    await driver.call('connect', { ...server, senders: SENDERS });

    // ---- bare irc-framework: memory, connect time, delivery latency ----
    const bare = await spawnRole(__filename, 'bare');
    children.push(bare);
    const bareMem0: Mem = await bare.call('mem');
    const bareConnect = await bare.call<{ seconds: number }>('connect', { ...server, n: USERS, rate: CONNECT_RATE });
    await sleep(2000);
    const bareMem1: Mem = await bare.call('mem');
    console.log(
      `bare: ${USERS} clients connected and joined in ${bareConnect.seconds.toFixed(1)} s; ` +
        `RSS +${((bareMem1.rss - bareMem0.rss) / USERS / 1024).toFixed(1)} KB/client, heap +${((bareMem1.heapUsed - bareMem0.heapUsed) / USERS / 1024).toFixed(1)} KB/client`,
    );
    await driver.call('ircSend', { count: Math.min(1000, MESSAGES), rate: RATE, tag: 'bw' }); // warm-up
    await sleep(1000);
    await bare.call('resetRecv', { tag: 'b' });
    const bareSend = await driver.call<{ seconds: number; start: number }>('ircSend', { count: MESSAGES, rate: RATE, tag: 'b' });
    const bareGot = await collect(() => bare.call('recvCount', { tag: 'b' }), MESSAGES, 30_000);
    const bareI2m = await bare.call<{ lat: number[]; last: number }>('recvStats', { tag: 'b' });
    console.log(
      `bare: IRC delivery ${bareGot}/${MESSAGES}, p50 ${lats(bareI2m.lat).p50.toFixed(1)} ms p99 ${lats(bareI2m.lat).p99.toFixed(1)} ms`,
    );
    await bare.call('resetRecv', { tag: 'bb' });
    await driver.call('ircSend', { count: MESSAGES, rate: RATE, tag: 'bb', burst: SENDERS });
    await collect(() => bare.call('recvCount', { tag: 'bb' }), MESSAGES, 30_000);
    const bareBurst = await bare.call<{ lat: number[]; last: number }>('recvStats', { tag: 'bb' });
    console.log(
      `bare: IRC delivery in ${SENDERS}-line bursts per channel, p50 ${lats(bareBurst.lat).p50.toFixed(1)} ms p99 ${lats(bareBurst.lat).p99.toFixed(1)} ms`,
    );
    const bareM2iSend = await bare.call<{ seconds: number; start: number }>('send', { count: MESSAGES, rate: RATE, tag: 'bm' });
    const bareM2iGot = await collect(() => driver.call('seenCount', { tag: 'bm' }), MESSAGES, 30_000);
    const bareM2i = await driver.call<ReceiptStats>('seenStats', { tag: 'bm' });
    console.log(
      `bare: sent→observer ${bareM2iGot}/${MESSAGES}, p50 ${lats(bareM2i.lat).p50.toFixed(1)} ms p99 ${lats(bareM2i.lat).p99.toFixed(1)} ms`,
    );
    // The listeners (one plain client per channel) stay: they time the very lines the bridge relays,
    // at the same moment and under the same load, for the like-for-like baseline.
    await bare.call('thin');
    // The minimal relay (each listener + one PUT /send per line, see minimalRelay): what a bridge with
    // no cost of its own would deliver, homeserver round trip included. After `thin`, so that the
    // relay's process holds only the listeners, not 1,000 clients parsing every line.
    const relayUrl = await bare.call<string>('relayListen');
    await bare.call('relay', {
      ...(await hs.call<{ url: string; rooms: string[] }>('relaySetup', { channels: CHANNELS, url: relayUrl })),
      tags: ['rw', 'r'],
    });
    await driver.call('ircSend', { count: Math.min(1000, MESSAGES), rate: RATE, tag: 'rw' }); // warm-up (connections, JIT)
    await collect(() => hs.call('recvCount', { tag: 'rw' }), Math.min(1000, MESSAGES), 30_000);
    await bare.call('resetRecv', { tag: 'r' });
    const relayCpu0 = await bare.call<number>('cpu');
    await driver.call('ircSend', { count: MESSAGES, rate: RATE, tag: 'r' });
    const relayGot = await collect(() => hs.call('recvCount', { tag: 'r' }), MESSAGES, 30_000);
    const relayCpuPerLine = ((await bare.call<number>('cpu')) - relayCpu0) / Math.max(1, relayGot);
    await bare.call('relay', null);
    const relayI2m = await hs.call<{ lat: number[] }>('recvStats', { tag: 'r' });
    const relayRead = await bare.call<{ lat: number[] }>('recvStats', { tag: 'r' });
    console.log(
      `bare: minimal relay (the listener + one PUT /send per line) ${relayGot}/${MESSAGES}, p50 ${lats(relayI2m.lat).p50.toFixed(1)} ms ` +
        `p99 ${lats(relayI2m.lat).p99.toFixed(1)} ms; its IRC read alone p99 ${lats(relayRead.lat).p99.toFixed(1)} ms; ` +
        `its process CPU ${relayCpuPerLine.toFixed(2)} ms per line (the ${CHANNELS} listeners' reads included)`,
    );

    // ---- the bridge, in this process ----
    const connector = new IrcConnector();
    const started = await startBridge<IrcConfig>({
      connector,
      key: 'irc',
      hs,
      section: (dataDir) => ({
        servers: {
          [NET]: {
            address: ircd.host,
            port: ircd.port,
            bot: { nick: 'BenchBot' },
            membership: { irc_to_matrix: { initial: false, incremental: true } },
            clients: {
              max_clients: USERS + 10,
              connect_rate_per_second: CONNECT_RATE,
              flood_lines_per_second: FLOOD,
              deaf_mode: DEAF_MODE === 'off' ? '' : DEAF_MODE,
              nick_template: '$DISPLAY[m]',
              queue: { max_messages: 100, max_age_s: 300 },
            },
          },
        },
        data_dir: dataDir,
      }),
    });
    cleanup.unshift(() => started.stop());
    const bridge = started.bridge;
    const net = connector.networks.get(NET)!;
    await sleep(1000);
    const mem0 = await memAfterGc();

    const userIds = Array.from({ length: USERS }, (_, i) => `@bu${i}:localhost`);
    const allIn = () =>
      userIds.every((u, i) => {
        const c = net.users.get(u);
        return c?.status === 'connected' && net.channels.get(channelName(i % CHANNELS))?.joinedBy.has(u);
      });
    const tc0 = now();
    const joined = hs.call('joinAll', { n: USERS, channels: CHANNELS, concurrency: 20 });
    await joined;
    await until('all users connected and in their channel', allIn, 120_000 + (USERS / CONNECT_RATE) * 2000, 100);
    out.connectS = (now() - tc0) / 1000;
    console.log(
      `bridge: ${USERS} users connected and joined in ${out.connectS.toFixed(1)} s (floor ${(USERS / CONNECT_RATE).toFixed(1)} s)`,
    );
    await sleep(2000);
    const mem1 = await memAfterGc();

    // IRC → Matrix
    const warmN = await driver.call<number>('warm', { tag: 'w' });
    await collect(() => hs.call('recvCount', { tag: 'w' }), warmN, 60_000);
    await driver.call('ircSend', { count: Math.min(1000, MESSAGES), rate: RATE, tag: 'w2' });
    await collect(() => hs.call('recvCount', { tag: 'w2' }), Math.min(1000, MESSAGES), 30_000);
    // When the connector hands each line to the core: splits the latency into the IRC leg (sender →
    // InspIRCd → bridge) and the Matrix leg (core → emulator handling the send).
    const emittedAt = new Map<number, number>();
    const origEmit = bridge.remote.emit.bind(bridge.remote);
    bridge.remote.emit = (ev) => {
      if (ev.type === 'message') {
        const s = parseStamp(ev.content.body);
        if (s?.tag === 'x') emittedAt.set(s.seq, now());
      }
      return origEmit(ev);
    };
    const eldAll = async (reset: boolean) => ({
      bridge: eld(reset),
      hs: await hs.call<Eld>('eld', { reset }),
      driver: await driver.call<Eld>('eld', { reset }),
    });
    await eldAll(true);
    await bare.call('resetRecv', { tag: 'x' });
    await hs.call('requestCounts', { reset: true });
    const profiler = PROFILE_I2M ? await startProfile() : undefined;
    const allocProfiler = ALLOC_PROFILE_I2M ? await startProfile('alloc') : undefined;
    // The bridge's CPU per line: a figure the machine's other load does not move much, unlike latency.
    const cpu0 = process.cpuUsage();
    const mainCpu0 = mainThreadCpuMs();
    const gcs = watchGc();
    const cpuT0 = now();
    const i2mSend = await driver.call<{ seconds: number; start: number }>('ircSend', { count: MESSAGES, rate: RATE, tag: 'x' });
    const i2mGot = await collect(() => hs.call('recvCount', { tag: 'x' }), MESSAGES, 60_000);
    const i2mCpu = process.cpuUsage(cpu0);
    const i2mMainCpuMs = mainThreadCpuMs() - mainCpu0;
    const i2mGc = gcs.stop();
    const i2mCpuWallMs = now() - cpuT0;
    const i2mCpuPerLine = (i2mCpu.user + i2mCpu.system) / Math.max(1, i2mGot);
    const i2m = await hs.call<Required<ReceiptStats>>('recvStats', { tag: 'x' });
    await collect(() => bare.call('recvCount', { tag: 'x' }), MESSAGES, 10_000);
    const sameLines = await bare.call<{ lat: number[]; last: number; at: Array<[number, number]> }>('recvStats', { tag: 'x' });
    // What the bridge adds to each line: the emulator handling it − the plain client receiving it.
    const plainAt = new Map(sameLines.at);
    const added = i2m.at.filter(([seq]) => plainAt.has(seq)).map(([seq, t]) => t - plainAt.get(seq)!);
    if (profiler) console.log(`  CPU profile of the phase: ${await profiler.stop(PROFILE_I2M)}`);
    if (allocProfiler) console.log(`  allocation profile of the phase: ${await allocProfiler.stop(ALLOC_PROFILE_I2M)}`);
    const i2mEld = await eldAll(true);
    const i2mRequests = await hs.call<Record<string, number>>('requestCounts', { reset: true });
    bridge.remote.emit = origEmit;
    const ircLeg: number[] = [];
    const matrixLeg: number[] = [];
    i2m.at.forEach(([seq, t], k) => {
      // at[k] and lat[k] are the same message
      const e = emittedAt.get(seq);
      if (e === undefined) return;
      matrixLeg.push(t - e);
      ircLeg.push(e - (t - i2m.lat[k]));
    });
    console.log(`bridge: IRC→Matrix ${i2mGot}/${MESSAGES}, p50 ${lats(i2m.lat).p50.toFixed(1)} ms p99 ${lats(i2m.lat).p99.toFixed(1)} ms`);
    console.log(
      `  IRC leg (send → connector emits) p50 ${lats(ircLeg).p50.toFixed(1)} ms p99 ${lats(ircLeg).p99.toFixed(1)} ms; ` +
        `Matrix leg (emit → emulator handles the send) p50 ${lats(matrixLeg).p50.toFixed(1)} ms p99 ${lats(matrixLeg).p99.toFixed(1)} ms`,
    );
    console.log(`  event-loop delay: bridge ${fmtEld(i2mEld.bridge)}; emulator ${fmtEld(i2mEld.hs)}; IRC driver ${fmtEld(i2mEld.driver)}`);
    console.log(
      `  bridge process CPU (all threads): ${(i2mCpuPerLine / 1000).toFixed(2)} ms per relayed line, ${((i2mCpu.user + i2mCpu.system) / 10 / i2mCpuWallMs).toFixed(0)}% of a core over the phase` +
        (Number.isNaN(i2mMainCpuMs)
          ? ''
          : `; the main thread alone ${(i2mMainCpuMs / Math.max(1, i2mGot)).toFixed(2)} ms per line (the rest: GC helpers, file writes and syncs on the thread pool)`),
    );
    console.log(`  garbage collection in the bridge's process: ${i2mGc}`);
    // Every request beyond one send per line is homeserver work on the line's path.
    console.log(
      `  homeserver requests per relayed line: ${Object.entries(i2mRequests)
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => `${k} ${(v / Math.max(1, i2mGot)).toFixed(2)}`)
        .join(', ')}`,
    );
    console.log(
      `  the same lines to a bare irc-framework client in each channel: ${sameLines.lat.length}/${MESSAGES}, ` +
        `p50 ${lats(sameLines.lat).p50.toFixed(1)} ms p99 ${lats(sameLines.lat).p99.toFixed(1)} ms; ` +
        `what the bridge adds to a line (its delivery − the plain client's), p50 ${lats(added).p50.toFixed(1)} ms p99 ${lats(added).p99.toFixed(1)} ms`,
    );
    // More rounds of the same phase: on a shared machine one round can hit a bad stretch, so the
    // ratio to the same lines is also given as the median over rounds.
    const roundRatios = [lats(i2m.lat).p99 / lats(sameLines.lat).p99];
    for (let r = 1; r < ROUNDS; r++) {
      const tag = `x${r}`;
      await bare.call('resetRecv', { tag });
      await driver.call('ircSend', { count: MESSAGES, rate: RATE, tag });
      await collect(() => hs.call('recvCount', { tag }), MESSAGES, 60_000);
      await collect(() => bare.call('recvCount', { tag }), MESSAGES, 10_000);
      const got = await hs.call<{ lat: number[] }>('recvStats', { tag });
      const plain = await bare.call<{ lat: number[] }>('recvStats', { tag });
      roundRatios.push(lats(got.lat).p99 / lats(plain.lat).p99);
      console.log(
        `  round ${r + 1}: bridge p50 ${lats(got.lat).p50.toFixed(1)} ms p99 ${lats(got.lat).p99.toFixed(1)} ms; ` +
          `the same lines to a plain client p99 ${lats(plain.lat).p99.toFixed(1)} ms (${roundRatios[r].toFixed(2)}×)`,
      );
    }
    const medianRatio = median(roundRatios);
    // The same rate in bursts: each room's events are applied in order, one homeserver request at a
    // time, so the last line of a burst waits for the ones before it.
    await driver.call('ircSend', { count: MESSAGES, rate: RATE, tag: 'xb', burst: SENDERS });
    await collect(() => hs.call('recvCount', { tag: 'xb' }), MESSAGES, 60_000);
    const i2mBurst = await hs.call<{ lat: number[] }>('recvStats', { tag: 'xb' });
    console.log(
      `bridge: IRC→Matrix in ${SENDERS}-line bursts per channel, p50 ${lats(i2mBurst.lat).p50.toFixed(1)} ms p99 ${lats(i2mBurst.lat).p99.toFixed(1)} ms`,
    );

    // Matrix → IRC
    const m2iSend = await hs.call<{ seconds: number; start: number }>('matrixSend', { count: MESSAGES, rate: RATE, tag: 'y' });
    const m2iGot = await collect(() => driver.call('seenCount', { tag: 'y' }), MESSAGES, 60_000);
    const m2i = await driver.call<ReceiptStats>('seenStats', { tag: 'y' });
    const m2iEld = await eldAll(true);
    console.log(`bridge: Matrix→IRC ${m2iGot}/${MESSAGES}, p50 ${lats(m2i.lat).p50.toFixed(1)} ms p99 ${lats(m2i.lat).p99.toFixed(1)} ms`);
    console.log(`  event-loop delay: bridge ${fmtEld(m2iEld.bridge)}; emulator ${fmtEld(m2iEld.hs)}; IRC driver ${fmtEld(m2iEld.driver)}`);

    await bare.call('quit');
    await bare.kill();

    // IRC server restart with messages sent during the outage
    let restart: { seconds: number; bound: number; sent: number; got: number; misorder: number } | null = null;
    if (!SKIP_RESTART) {
      await until('all connected before the restart', allIn, 60_000, 100);
      await ircd.stop();
      await until('all users disconnected', () => userIds.every((u) => net.users.get(u)?.status !== 'connected'), 30_000);
      const outage = USERS; // one message per user while the server is down
      await hs.call('matrixSend', { count: outage, rate: RATE, tag: 'o' });
      await until('outage messages queued', () => net.stats().queuedMessages >= outage, 30_000);
      // Hold the bridge's reconnects until the observer is back in every channel, so it can see the
      // flushed queues; the hold counts against the bridge (the clock starts when the server is back).
      net.scheduler.pause();
      await ircd.start();
      const tBack = now();
      await driver.call('reconnectObserver', server);
      net.scheduler.resume();
      await until('all users reconnected and in their channel', allIn, 300_000, 50);
      const seconds = (now() - tBack) / 1000;
      const got = await collect(() => driver.call('seenCount', { tag: 'o' }), outage, 60_000);
      const st = await driver.call<ReceiptStats>('seenStats', { tag: 'o' });
      restart = { seconds, bound: USERS / CONNECT_RATE + 10, sent: outage, got, misorder: st.misordered };
      console.log(
        `bridge: restart: all ${USERS} back in ${seconds.toFixed(1)} s (bound ${restart.bound.toFixed(0)} s), outage messages ${got}/${outage}`,
      );
    }

    // ---- table ----
    const perUser = (a: Mem, b: Mem, k: keyof Mem) => (b[k] - a[k]) / USERS / 1024;
    const bRss = perUser(bareMem0, bareMem1, 'rss');
    const bHeap = perUser(bareMem0, bareMem1, 'heapUsed');
    const rss = perUser(mem0, mem1, 'rss');
    const heap = perUser(mem0, mem1, 'heapUsed');
    const bRssNoYoung = perUser(bareMem0, bareMem1, 'rssNoYoung');
    const rssNoYoung = perUser(mem0, mem1, 'rssNoYoung');
    const bI = lats(bareI2m.lat);
    const I = lats(i2m.lat);
    const bM = lats(bareM2i.lat);
    const M = lats(m2i.lat);
    const tput = (n: number, start: number, last: number) => n / ((last - start) / 1000);
    type Row = [string, string, string, string, string];
    const rows: Row[] = [];
    const verdicts: boolean[] = [];
    const row = (name: string, bridgeV: string, bareV: string, vs: string, target = '') => rows.push([name, bridgeV, bareV, vs, target]);
    const verdict = (ok: boolean, text: string) => {
      verdicts.push(ok);
      return `${ok ? 'PASS' : 'MISS'} ${text}`;
    };
    row(
      `connect ${USERS} (at ${CONNECT_RATE}/s; floor ${(USERS / CONNECT_RATE).toFixed(0)} s)`,
      `${out.connectS.toFixed(1)} s`,
      `${bareConnect.seconds.toFixed(1)} s`,
      ratio(out.connectS, bareConnect.seconds),
    );
    row(
      'RSS per connection (after GC)',
      `${rss.toFixed(1)} KB`,
      `${bRss.toFixed(1)} KB`,
      ratio(rss, bRss),
      verdict(rss <= 1.5 * bRss, '≤ 1.5×'),
    );
    row(
      'RSS per connection, young generation left out',
      `${rssNoYoung.toFixed(1)} KB`,
      `${bRssNoYoung.toFixed(1)} KB`,
      ratio(rssNoYoung, bRssNoYoung),
    );
    row('heap per connection (after GC)', `${heap.toFixed(1)} KB`, `${bHeap.toFixed(1)} KB`, ratio(heap, bHeap));
    row(
      `RSS / heap of the process with 0 → ${USERS}`,
      `${(mem0.rss / 2 ** 20).toFixed(0)}→${(mem1.rss / 2 ** 20).toFixed(0)} / ${(mem0.heapUsed / 2 ** 20).toFixed(0)}→${(mem1.heapUsed / 2 ** 20).toFixed(0)} MB`,
      `${(bareMem0.rss / 2 ** 20).toFixed(0)}→${(bareMem1.rss / 2 ** 20).toFixed(0)} / ${(bareMem0.heapUsed / 2 ** 20).toFixed(0)}→${(bareMem1.heapUsed / 2 ** 20).toFixed(0)} MB`,
      '',
    );
    row(`IRC→Matrix delivered (of ${MESSAGES})`, `${i2mGot}`, `${bareGot}`, '', verdict(i2mGot === MESSAGES, 'all'));
    row(
      'IRC→Matrix msg/s (first send → last receipt)',
      tput(i2mGot, i2mSend.start, i2m.last).toFixed(0),
      tput(bareGot, bareSend.start, bareI2m.last).toFixed(0),
      '',
    );
    row('IRC→Matrix p50 latency', ms(I.p50), ms(bI.p50), ratio(I.p50, bI.p50));
    row(
      `IRC→Matrix p99 latency at ${RATE}/s (bare: alone)`,
      ms(I.p99),
      ms(bI.p99),
      ratio(I.p99, bI.p99),
      verdict(I.p99 <= 2 * bI.p99, '≤ 2×'),
    );
    const sI = lats(sameLines.lat);
    row(
      `IRC→Matrix p50 / p99 (bare: the same lines)`,
      `${I.p50.toFixed(1)} / ${I.p99.toFixed(1)} ms`,
      `${sI.p50.toFixed(1)} / ${sI.p99.toFixed(1)} ms`,
      ratio(I.p99, sI.p99),
      verdict(I.p99 <= 2 * sI.p99, '≤ 2×'),
    );
    if (ROUNDS > 1)
      row(
        `IRC→Matrix p99 ÷ the same lines' p99, median of ${ROUNDS} rounds`,
        '',
        '',
        `${medianRatio.toFixed(2)}×`,
        verdict(medianRatio <= 2, '≤ 2×'),
      );
    const R = lats(relayI2m.lat);
    // Informational: the issue's target compares with a bare read, which has no homeserver round trip in it.
    row('IRC→Matrix p99 vs a minimal relay (bare client + 1 PUT/line)', ms(I.p99), ms(R.p99), ratio(I.p99, R.p99));
    // The same lines, read by the relay's own client: the ratio any bridge pays for the round trip alone.
    row('minimal relay p99 ÷ its own IRC read p99', ms(R.p99), ms(lats(relayRead.lat).p99), ratio(R.p99, lats(relayRead.lat).p99));
    const IB = lats(i2mBurst.lat);
    const bIB = lats(bareBurst.lat);
    row(
      'IRC→Matrix: process CPU per relayed line (bare: the minimal relay)',
      `${(i2mCpuPerLine / 1000).toFixed(2)} ms`,
      `${relayCpuPerLine.toFixed(2)} ms`,
      ratio(i2mCpuPerLine / 1000, relayCpuPerLine),
    );
    row(`IRC→Matrix p99, ${SENDERS}-line bursts per channel`, ms(IB.p99), ms(bIB.p99), ratio(IB.p99, bIB.p99));
    row(`Matrix→IRC delivered (of ${MESSAGES})`, `${m2iGot}`, `${bareM2iGot}`, '', verdict(m2iGot === MESSAGES, 'all'));
    row(
      'Matrix→IRC msg/s (first send → last receipt)',
      tput(m2iGot, m2iSend.start, m2i.last).toFixed(0),
      tput(bareM2iGot, bareM2iSend.start, bareM2i.last).toFixed(0),
      '',
    );
    row('Matrix→IRC p50 latency', ms(M.p50), ms(bM.p50), ratio(M.p50, bM.p50));
    row('Matrix→IRC p99 latency', ms(M.p99), ms(bM.p99), ratio(M.p99, bM.p99));
    if (restart) {
      row(
        `restart: all ${USERS} reconnected`,
        `${restart.seconds.toFixed(1)} s`,
        '',
        '',
        verdict(restart.seconds <= restart.bound, `≤ ${restart.bound.toFixed(0)} s`),
      );
      row(
        'restart: outage messages lost / out of order',
        `${restart.sent - restart.got} / ${restart.misorder}`,
        '',
        '',
        verdict(restart.got === restart.sent, `0 of ${restart.sent}`),
      );
    }
    console.log(`\n${formatTable(['', 'bridge', 'bare irc-framework', 'ratio', 'target'], rows)}`);
    console.log(
      `\nMatrix users were created in the emulator and joined their portal by alias (the bridge connects a user on the join);` +
        ` Matrix→IRC messages are accepted by the emulator as if sent by those users (pushed to the bridge as transactions).`,
    );
    console.log(
      `Latency: IRC→Matrix = emulator handling the ghost's send − the sender's write; bare = first bare client of the channel receiving the line.` +
        ` Matrix→IRC = observer receipt − emulator accepting the user's event; bare = observer receipt − bare client's write.`,
    );
    console.log(
      `machine load after run: ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}`,
    );
    const ok = verdicts.every(Boolean);
    console.log(ok ? 'PASS' : 'MISS');
    process.exitCode = ok ? 0 : 1;
  } finally {
    for (const c of cleanup) await c().catch(() => undefined);
  }
}

runRole({ main, hs: hsRole, driver: driverRole, bare: bareRole });
