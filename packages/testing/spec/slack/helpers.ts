// Shared setup for the Slack emulator specs: a workspace with people, a channel and an app
// installed, and the real SDKs (WebClient, Bolt in Socket Mode or over HTTP) pointed at it.
import { App as BoltApp, LogLevel, SocketModeReceiver, type Logger } from '@slack/bolt';
import { WebClient, type WebClientOptions } from '@slack/web-api';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SlackEmulator, type SlackEmulatorOptions } from '../../src/slack';
import type { App, Conversation, Team } from '../../src/slack/model';
import type { InstalledApp } from '../../src/slack/emulator';
import type { SlackUser } from '../../src/slack';

/** Polls until `check` answers something truthy (as spec/support's eventually, without loading the bridge). */
export async function eventually<T>(check: () => T | Promise<T>, what: string, timeoutMs = 10_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${last instanceof Error ? String(last) : JSON.stringify(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Bolt and the SDK log through this: silent, so expected errors do not clutter the run. */
const quietLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  setLevel: () => undefined,
  getLevel: () => LogLevel.ERROR,
  setName: () => undefined,
};

function clientOptions(slack: SlackEmulator, extra: WebClientOptions = {}): WebClientOptions {
  return { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 }, logger: quietLogger, ...extra };
}

export function webClient(slack: SlackEmulator, token?: string, extra: WebClientOptions = {}): WebClient {
  return new WebClient(token, clientOptions(slack, extra));
}

export interface Workspace {
  slack: SlackEmulator;
  team: Team;
  alice: SlackUser;
  bob: SlackUser;
  app: App;
  inst: InstalledApp;
  general: Conversation;
  bot: WebClient;
}

/** An emulator with a team, alice and bob, the app installed and #general holding all three. */
export async function startWorkspace(
  opts: SlackEmulatorOptions & { app?: Parameters<SlackEmulator['createApp']>[0] } = {},
): Promise<Workspace> {
  const slack = await SlackEmulator.start(opts);
  const team = slack.createTeam({ name: 'Acme', domain: 'acme' });
  const alice = slack.createUser(team, { name: 'alice', realName: 'Alice Liddell', displayName: 'alice', email: 'alice@example.org' });
  const bob = slack.createUser(team, { name: 'bob', realName: 'Bob Smith' });
  const app = slack.createApp({ name: 'Causeway', ...opts.app });
  const inst = slack.install(app, team);
  const general = slack.createChannel(team, { name: 'general', general: true, members: [alice, bob, inst.botUserId] });
  return { slack, team, alice, bob, app, inst, general, bot: webClient(slack, inst.botToken) };
}

/** Bolt in Socket Mode against the emulator (short client ping timeout: reconnects come quickly). */
export async function startSocketBolt(
  slack: SlackEmulator,
  app: App,
  inst: InstalledApp,
  opts: { ignoreSelf?: boolean } = {},
): Promise<BoltApp> {
  const options = clientOptions(slack);
  const receiver = new SocketModeReceiver({
    appToken: app.appToken,
    logger: quietLogger,
    clientPingTimeout: 1500,
    installerOptions: { clientOptions: options },
  });
  const bolt = new BoltApp({
    token: inst.botToken,
    receiver,
    clientOptions: options,
    logger: quietLogger,
    ignoreSelf: opts.ignoreSelf ?? true,
  });
  return bolt;
}

/** Bolt over HTTP (Events API) on a loopback port; answers the app and its Request URL. */
export async function startHttpBolt(
  slack: SlackEmulator,
  app: App,
  inst: InstalledApp,
  opts: { processBeforeResponse?: boolean } = {},
): Promise<{ bolt: BoltApp; url: string; start(): Promise<string> }> {
  const bolt = new BoltApp({
    token: inst.botToken,
    signingSecret: app.signingSecret,
    clientOptions: clientOptions(slack),
    logger: quietLogger,
    processBeforeResponse: opts.processBeforeResponse ?? false,
  });
  const result = {
    bolt,
    url: '',
    async start() {
      const server = (await bolt.start({ port: 0, host: '127.0.0.1' })) as Server;
      result.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`;
      slack.configureApp(app, { requestUrl: result.url, socketMode: false });
      return result.url;
    },
  };
  return result;
}
