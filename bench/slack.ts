/**
 * The Slack bridge's relay latency and CPU per message, both ways, against a minimal relay measured
 * in the same run, through the Slack emulator (its rate limits off) and the homeserver emulator.
 * See bench/README.md.
 *
 *   npx tsx bench/slack.ts [--messages 5000] [--rate 100] [--rounds 3] [--channels 10] [--people 10]
 *
 * Processes: this one runs the bridge (Bridge + SlackConnector, Socket Mode, nedb store, logging at
 * `error`) and orchestrates; the homeserver emulator (`--role hs`), the Slack emulator (`--role
 * slack`) and the minimal relay (`--role minimal`) are child processes of this same file, so the
 * bridge's process.cpuUsage() holds the bridge's work alone.
 *
 * The minimal relay does what any relay must and nothing else: Slack→Matrix, a Bolt app on the same
 * transport as the bridge (Socket Mode) that answers each message event with one `PUT /send` to the
 * homeserver; Matrix→Slack, an appservice transaction listener that answers each message event with
 * one `chat.postMessage`. One request at a time per room/channel, so each keeps its order, as the
 * bridge's does. Its own messages come back to it (Slack's echo events, the homeserver's echo
 * transactions) as the bridge's do, and are read and dropped.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { SlackConfig } from '@causeway/slack-bridge';
import { arg } from './cli';
import { processCpuMs } from './lib/cpu';
import { Receipts, stamp } from './lib/receipts';
import { relayRounds, type Direction, type PhaseResult, type Relay } from './lib/relay-rounds';
import { runRole, serve, spawnRole, type Child } from './lib/roles';
import { collect, paced, sleep, until } from './lib/timing';

process.env.CAUSEWAY_LOG_LEVEL ??= 'error';

const MESSAGES = Number(arg('messages', '5000'));
const RATE = Number(arg('rate', '100'));
const ROUNDS = Math.max(1, Number(arg('rounds', '3')));
const CHANNELS = Math.max(1, Number(arg('channels', '10')));
const PEOPLE = Math.max(1, Number(arg('people', '10')));
/** The workspace's key in the bridge's config (in ghost IDs). */
const WS = 'bench';
const MIN_USER = '@bare_relay:localhost';
const MIN_AS_TOKEN = 'bench-bare-relay-as-token';
/** How long a phase waits for its last message before counting the rest as lost. */
const COLLECT_MS = 60_000;
/** After the last message, how long late duplicates (redeliveries) still get counted. */
const DUP_GRACE_MS = 1_000;

/** Message i of a phase: sent by person ⌊i / channels⌋ mod people into channel i mod channels, so every room hears everyone. */
const sender = (i: number) => Math.floor(i / CHANNELS) % PEOPLE;
const room = (i: number) => i % CHANNELS;

// ---- role: homeserver emulator -------------------------------------------------------------------

async function hsRole(): Promise<void> {
  const { HomeserverEmulator } = await import('@causeway/testing');
  const hs = await HomeserverEmulator.start({ serverName: 'localhost' });
  const receipts = new Receipts();
  // What the relays send, timed as the emulator handles the send request.
  const origSend = hs.rooms.send.bind(hs.rooms);
  hs.rooms.send = ((r: any, d: any) => {
    const rec = origSend(r, d);
    if (d.type === 'm.room.message' && typeof d.content?.body === 'string' && (d.sender.startsWith('@slack_') || d.sender === MIN_USER))
      receipts.record(d.content.body, r.roomId);
    return rec;
  }) as typeof hs.rooms.send;
  const users: any[] = [];
  const rooms: Record<Relay, string[]> = { bridge: [], minimal: [] };

  serve({
    info: () => ({ url: hs.url, serverName: hs.serverName }),
    addRegistration: (reg) => hs.addRegistration(reg),
    membership: ({ roomId, userId }: { roomId: string; userId: string }) => hs.membership(roomId, userId),
    /** Matrix people, and one room per channel created by the first with the bridge's bot invited, everyone joined. */
    async setupBridgeRooms({ bot }: { bot: string }) {
      for (let i = 0; i < PEOPLE; i++) users.push(await hs.registerUser(`mu${i}`, { displayname: `Matrix user ${i}` }));
      for (let c = 0; c < CHANNELS; c++) {
        const id = await users[0].createRoom({ preset: 'public_chat', invite: [bot] });
        for (const u of users.slice(1)) await u.join(id);
        rooms.bridge.push(id);
      }
      return rooms.bridge;
    },
    /** The minimal relay's appservice (it hears its rooms through its bot) and its rooms, everyone joined. */
    async setupMinimalRooms({ url }: { url: string }) {
      hs.addRegistration({
        id: 'bench-bare-relay',
        url,
        as_token: MIN_AS_TOKEN,
        hs_token: 'bench-bare-relay-hs-token',
        sender_localpart: MIN_USER.slice(1, MIN_USER.indexOf(':')),
        rate_limited: false,
        namespaces: { users: [{ exclusive: true, regex: MIN_USER }], aliases: [], rooms: [] },
      });
      const bot = hs.appserviceClient('bench-bare-relay');
      for (let c = 0; c < CHANNELS; c++) {
        const id = await bot.createRoom({ preset: 'public_chat' });
        for (const u of users) await u.join(id);
        rooms.minimal.push(id);
      }
      return { url: hs.url, rooms: rooms.minimal };
    },
    /** Matrix→Slack: the people send `count` messages at `rate`/s into the relay's rooms (as the homeserver accepting them). */
    async matrixSend({ count, rate, tag, relay }: { count: number; rate: number; tag: string; relay: Relay }) {
      await paced(count, rate, (i) => {
        const u = users[sender(i)];
        hs.rooms.send(hs.rooms.get(rooms[relay][room(i)])!, {
          sender: u.userId,
          type: 'm.room.message',
          content: { msgtype: 'm.text', body: `m ${stamp(tag, i)}` },
        });
      });
    },
    count: ({ tag }: { tag: string }) => receipts.count(tag),
    take: ({ tag }: { tag: string }) => receipts.take(tag),
  });
}

// ---- role: Slack emulator ------------------------------------------------------------------------

interface SlackSide {
  apiUrl: string;
  bridge: { botToken: string; appToken: string; botUserId: string; channels: string[] };
  minimal: { botToken: string; appToken: string; botUserId: string; channels: string[] };
}

async function slackRole(): Promise<void> {
  const { SlackEmulator } = await import('@causeway/testing');
  const slack = await SlackEmulator.start({ rateLimits: false });
  const team = slack.createTeam({ name: 'Bench', domain: 'bench' });
  const people = Array.from({ length: PEOPLE }, (_, i) => slack.createUser(team, { name: `p${i}`, realName: `Slack person ${i}` }));
  const side = (name: string) => {
    const app = slack.createApp({ name });
    const { botToken, botUserId } = slack.install(app, team);
    const channels = Array.from(
      { length: CHANNELS },
      (_, c) => slack.createChannel(team, { name: `${name.toLowerCase()}-${c}`, members: [...people, botUserId] }).id,
    );
    return { botToken, appToken: app.appToken, botUserId, channels };
  };
  const info: SlackSide = { apiUrl: slack.apiUrl, bridge: side('Causeway'), minimal: side('Minimal') };
  const receipts = new Receipts();
  // What the relays post, timed as the emulator stores it (the Web API call's handling).
  const origAdd = slack.state.addMessage.bind(slack.state);
  slack.state.addMessage = ((conv: any, fields: any) => {
    const msg = origAdd(conv, fields);
    if (fields.via === 'bot' && typeof fields.text === 'string') receipts.record(fields.text, conv.id);
    return msg;
  }) as typeof slack.state.addMessage;

  serve({
    info: () => info,
    /** Slack→Matrix: the people post `count` messages at `rate`/s into the relay's channels (as Slack clients). */
    async slackSend({ count, rate, tag, relay }: { count: number; rate: number; tag: string; relay: Relay }) {
      await paced(count, rate, (i) => people[sender(i)].post(info[relay].channels[room(i)], `s ${stamp(tag, i)}`));
    },
    count: ({ tag }: { tag: string }) => receipts.count(tag),
    take: ({ tag }: { tag: string }) => {
      slack.web.calls.length = 0; // the call log is for specs; a long bench would only grow it
      return receipts.take(tag);
    },
    internalErrors: () => slack.web.internalErrors.map(String),
  });
}

// ---- role: the minimal relay ---------------------------------------------------------------------

async function minimalRole(): Promise<void> {
  const http = await import('node:http');
  const { App, LogLevel } = await import('@slack/bolt');
  const { Pool } = await import('undici');
  let hsPool: InstanceType<typeof Pool> | undefined;
  let app: InstanceType<typeof App> | undefined;
  const channelOf = new Map<string, string>(); // Matrix room → Slack channel
  const roomOf = new Map<string, string>(); // Slack channel → Matrix room
  // One request at a time per room or channel, so each keeps its order (as the bridge's queues do).
  const tails = new Map<string, Promise<void>>();
  const inOrder = (key: string, f: () => Promise<void>) =>
    tails.set(
      key,
      (tails.get(key) ?? Promise.resolve()).then(f).catch((err) => console.error(`minimal relay: ${String(err)}`)),
    );
  let txn = 0;

  const putSend = async (roomId: string, body: string) => {
    const p = `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/r${txn++}?user_id=${encodeURIComponent(MIN_USER)}`;
    const res = await hsPool!.request({
      method: 'PUT',
      path: p,
      headers: { authorization: `Bearer ${MIN_AS_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ msgtype: 'm.text', body }),
    });
    await res.body.dump();
    if (res.statusCode !== 200) throw new Error(`${res.statusCode} for PUT /send`);
  };

  serve({
    /** The appservice listener: each m.room.message from someone else becomes one chat.postMessage; echoes are read and dropped. */
    async listen() {
      const server = http.createServer((req, res) => {
        const parts: Buffer[] = [];
        req.on('data', (c: Buffer) => parts.push(c));
        req.on('end', () => {
          const txnBody = JSON.parse(Buffer.concat(parts).toString('utf8') || '{}') as { events?: any[] };
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': '2' }).end('{}');
          for (const ev of txnBody.events ?? []) {
            const channel = channelOf.get(ev.room_id);
            if (ev.type !== 'm.room.message' || ev.sender === MIN_USER || !channel || !app) continue;
            const text = String(ev.content?.body ?? '');
            inOrder(channel, async () => {
              await app!.client.chat.postMessage({ channel, text });
            });
          }
        });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
      server.unref();
      return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    },
    /** Bolt in Socket Mode: each person's message becomes one PUT /send; the bot's own echoes are dropped. */
    async start({
      hsUrl,
      apiUrl,
      botToken,
      appToken,
      pairs,
    }: {
      hsUrl: string;
      apiUrl: string;
      botToken: string;
      appToken: string;
      pairs: Array<[string, string]>;
    }) {
      for (const [r, c] of pairs) {
        channelOf.set(r, c);
        roomOf.set(c, r);
      }
      hsPool = new Pool(hsUrl, { connections: 16 });
      app = new App({ token: botToken, appToken, socketMode: true, logLevel: LogLevel.ERROR, clientOptions: { slackApiUrl: apiUrl } });
      app.event('message', async ({ event }) => {
        const e = event as { channel: string; text?: string; bot_id?: string; subtype?: string };
        const roomId = roomOf.get(e.channel);
        if (e.bot_id || e.subtype || !roomId) return;
        inOrder(roomId, () => putSend(roomId, e.text ?? ''));
      });
      await app.start();
    },
    cpu: () => processCpuMs(),
    async stop() {
      await app?.stop();
    },
  });
}

// ---- main: the bridge ------------------------------------------------------------------------------

async function main(): Promise<void> {
  const { Bridge, generateRegistration, validateConfig } = await import('@causeway/bridge-core/tools');
  const { SlackConnector } = await import('@causeway/slack-bridge');
  const { freePort } = await import('@causeway/testing');
  const load = () =>
    os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ');
  console.log(
    `Slack bridge bench: ${MESSAGES} messages each way at ${RATE}/s, ${CHANNELS} channels, ${PEOPLE} people a side, ${ROUNDS} round(s); ` +
      `${os.cpus().length} CPUs, load ${load()}`,
  );
  const children: Child[] = [];
  const cleanup: Array<() => Promise<unknown>> = [() => Promise.all(children.map((c) => c.kill()))];
  try {
    const [hs, slack, minimal] = await Promise.all([
      spawnRole(__filename, 'hs'),
      spawnRole(__filename, 'slack'),
      spawnRole(__filename, 'minimal'),
    ]);
    children.push(hs, slack, minimal);
    const side = await slack.call<SlackSide>('info');
    const hsInfo = await hs.call<{ url: string; serverName: string }>('info');

    // The bridge, in this process, configured as an operator would (Socket Mode).
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'causeway-bench-slack-'));
    cleanup.push(async () => rmSync(dataDir, { recursive: true, force: true }));
    const connector = new SlackConnector();
    const port = await freePort();
    const registration = generateRegistration({ url: `http://127.0.0.1:${port}`, protocol: connector.protocol, domain: hsInfo.serverName });
    await hs.call('addRegistration', registration);
    const cfg = validateConfig<any>(
      {
        homeserver: { url: hsInfo.url, domain: hsInfo.serverName },
        appservice: { port, bind_host: '127.0.0.1', registration: path.join(dataDir, 'registration.yaml') },
        bridge: { admins: ['@admin:localhost'] },
        database: { engine: 'nedb', nedb: { directory: path.join(dataDir, 'db') } },
        data_dir: dataDir,
        state_cache: { warm_on_start: false },
        logging: { level: 'error' },
        slack: { workspaces: { [WS]: { bot_token: side.bridge.botToken, app_token: side.bridge.appToken, api_url: side.apiUrl } } },
      },
      {
        key: 'slack',
        schema: connector.configSchema,
        defaults: connector.protocol.defaults,
        networkNames: (s) => connector.networkNames(s as SlackConfig),
      },
    );
    const bridge = new Bridge<any>({ config: cfg.core, connectorConfig: cfg.connector, registration, connector });
    await bridge.start();
    cleanup.unshift(() => bridge.stop());
    const bot = `@${registration.sender_localpart}:${hsInfo.serverName}`;

    // Portals: one Matrix room per bridge channel, linked as a bridge admin's `link` would.
    const bridgeRooms = await hs.call<string[]>('setupBridgeRooms', { bot });
    for (const [c, roomId] of bridgeRooms.entries())
      await bridge.portals.link(roomId, { network: WS, id: side.bridge.channels[c] }, { actor: '@admin:localhost' });
    await until(
      'the bridge bot in every portal',
      async () => (await Promise.all(bridgeRooms.map((r) => hs.call('membership', { roomId: r, userId: bot })))).every((m) => m === 'join'),
      30_000,
    );

    // The minimal relay: its appservice, its rooms, its Bolt app.
    const minUrl = await minimal.call<string>('listen');
    const minRooms = await hs.call<{ url: string; rooms: string[] }>('setupMinimalRooms', { url: minUrl });
    await minimal.call('start', {
      hsUrl: minRooms.url,
      apiUrl: side.apiUrl,
      botToken: side.minimal.botToken,
      appToken: side.minimal.appToken,
      pairs: minRooms.rooms.map((r, c) => [r, side.minimal.channels[c]]),
    });
    cleanup.unshift(() => minimal.call('stop'));

    const phase = async (relay: Relay, tag: string, count: number, send: Child, sendCmd: string, recv: Child): Promise<PhaseResult> => {
      const cpu = () => (relay === 'bridge' ? Promise.resolve(processCpuMs()) : minimal.call<number>('cpu'));
      const cpu0 = await cpu();
      await send.call(sendCmd, { count, rate: RATE, tag, relay });
      await collect(() => recv.call<number>('count', { tag }), count, COLLECT_MS);
      const cpuMs = (await cpu()) - cpu0;
      await sleep(DUP_GRACE_MS);
      const r = await recv.call<{ lat: number[]; duplicated: number; misordered: number }>('take', { tag });
      return { sent: count, lat: r.lat, duplicated: r.duplicated, misordered: r.misordered, cpuMs };
    };
    const directions: Direction[] = [
      { name: 'Slack→Matrix', run: (relay, tag) => phase(relay, tag, MESSAGES, slack, 'slackSend', hs) },
      { name: 'Matrix→Slack', run: (relay, tag) => phase(relay, tag, MESSAGES, hs, 'matrixSend', slack) },
    ];

    // Warm-up, not counted: every person's ghost registered and joined in every portal, connections and JIT warm.
    const warm = Math.max(PEOPLE * CHANNELS, Math.min(1000, MESSAGES));
    for (const relay of ['bridge', 'minimal'] as Relay[]) {
      await phase(relay, `w0${relay}`, warm, slack, 'slackSend', hs);
      await phase(relay, `w1${relay}`, warm, hs, 'matrixSend', slack);
    }
    console.log(`warmed up (${warm} messages each way through each relay); load ${load()}`);

    const ok = await relayRounds({ rounds: ROUNDS, directions, minimalLabel: 'minimal relay' });
    const errors = await slack.call<string[]>('internalErrors');
    if (errors.length) console.log(`Slack emulator internal errors: ${errors.length}, first: ${errors[0]}`);
    process.exitCode = ok ? 0 : 1;
  } finally {
    for (const c of cleanup) await c().catch(() => undefined);
  }
}

runRole({ main, hs: hsRole, slack: slackRole, minimal: minimalRole });
