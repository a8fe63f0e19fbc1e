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
import * as os from 'node:os';
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
const CHANNELS = Math.max(1, Number(arg('channels', '10')));
const PEOPLE = Math.max(1, Number(arg('people', '10')));
/** --fsync always|batch|never: the core's `delivery.fsync` (default: the core's default, batch). */
const FSYNC = arg('fsync', '');
/** The workspace's key in the bridge's config (in ghost IDs). */
const WS = 'bench';

/** Message i of a phase: sent by person ⌊i / channels⌋ mod people into channel i mod channels, so every room hears everyone. */
const sender = (i: number) => Math.floor(i / CHANNELS) % PEOPLE;
const room = (i: number) => i % CHANNELS;

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
  slack.state.addMessage = (conv, fields) => {
    const msg = origAdd(conv, fields);
    if (fields.via === 'bot' && typeof fields.text === 'string') receipts.record(fields.text, conv.id);
    return msg;
  };

  serve({
    info: () => info,
    /** Slack→Matrix: the people post `count` messages at `rate`/s into the relay's channels (as Slack clients). */
    async send({ count, rate, tag, relay }: { count: number; rate: number; tag: string; relay: Relay }) {
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
  const { App, LogLevel } = await import('@slack/bolt');
  const matrix = minimalMatrix();
  let app: InstanceType<typeof App> | undefined;
  const channelOf = new Map<string, string>(); // Matrix room → Slack channel
  const roomOf = new Map<string, string>(); // Slack channel → Matrix room

  serve({
    /** The appservice listener: each Matrix message becomes one chat.postMessage. */
    listen: () =>
      matrix.listen((roomId, body) => {
        const channel = channelOf.get(roomId);
        if (!channel || !app) return;
        matrix.inOrder(channel, async () => {
          await app!.client.chat.postMessage({ channel, text: body });
        });
      }),
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
      matrix.connect(hsUrl);
      app = new App({ token: botToken, appToken, socketMode: true, logLevel: LogLevel.ERROR, clientOptions: { slackApiUrl: apiUrl } });
      app.event('message', async ({ event }) => {
        const e = event as { channel: string; text?: string; bot_id?: string; subtype?: string };
        const roomId = roomOf.get(e.channel);
        if (e.bot_id || e.subtype || !roomId) return;
        matrix.inOrder(roomId, () => matrix.send(roomId, e.text ?? ''));
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
  const { SlackConnector } = await import('@causeway/slack-bridge');
  const load = () =>
    os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ');
  console.log(
    `Slack bridge bench: ${MESSAGES} messages each way at ${RATE}/s, ${CHANNELS} channels, ${PEOPLE} people a side, ${ROUNDS} round(s)${FSYNC ? `, delivery.fsync ${FSYNC}` : ''}; ` +
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

    // The bridge, in this process, in Socket Mode.
    const { bridge, bot, stop } = await startBridge({
      connector: new SlackConnector(),
      key: 'slack',
      section: { workspaces: { [WS]: { bot_token: side.bridge.botToken, app_token: side.bridge.appToken, api_url: side.apiUrl } } },
      hs,
      core: FSYNC ? { delivery: { fsync: FSYNC } } : {},
    });
    cleanup.unshift(stop);

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

    const cpuMs = (relay: Relay) => () => (relay === 'bridge' ? Promise.resolve(processCpuMs()) : minimal.call<number>('cpu'));
    const eldOf = (relay: Relay) => (reset: boolean) =>
      relay === 'bridge' ? Promise.resolve(eld(reset)) : minimal.call<Eld>('eld', { reset });
    const toMatrix = (relay: Relay, tag: string, count = MESSAGES) =>
      runPhase({ relay, tag, count, rate: RATE, sender: slack, receiver: hs, cpuMs: cpuMs(relay), eld: eldOf(relay) });
    const toSlack = (relay: Relay, tag: string, count = MESSAGES) =>
      runPhase({ relay, tag, count, rate: RATE, sender: hs, receiver: slack, cpuMs: cpuMs(relay), eld: eldOf(relay) });
    const directions: Direction[] = [
      { name: 'Slack→Matrix', run: (relay, tag) => toMatrix(relay, tag) },
      { name: 'Matrix→Slack', run: (relay, tag) => toSlack(relay, tag) },
    ];

    // Warm-up, not counted: every person's ghost registered and joined in every portal, connections and JIT warm.
    const warm = Math.max(PEOPLE * CHANNELS, Math.min(1000, MESSAGES));
    for (const relay of ['bridge', 'minimal'] as Relay[]) {
      await toMatrix(relay, `w0${relay}`, warm);
      await toSlack(relay, `w1${relay}`, warm);
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

runRole({
  main,
  hs: () => hsRole({ ghostPrefix: '@slack_', people: PEOPLE, rooms: CHANNELS, sender, room }),
  slack: slackRole,
  minimal: minimalRole,
});
