/**
 * The Slack bridge under test: the Slack emulator (a workspace with people, the app installed in
 * Socket Mode or with an Events API request URL on the bridge's own listener), the homeserver
 * emulator and the real Bridge with the SlackConnector, plus helpers for what each side sees.
 */
import { startBridgeFixture, eventually, type BridgeFixture } from '@causeway/testing/bridge';
import {
  HomeserverEmulator,
  SlackEmulator,
  type SlackApp,
  type SlackConversation,
  type SlackTeam,
  type SlackUser,
  type TestUser,
} from '@causeway/testing';
import { SlackConnector, type SlackConfig } from '@causeway/slack-bridge';

export const WS = 'acme';
export const BOT = '@slackbot:localhost';

export interface SlackBridge {
  fx: BridgeFixture<SlackConfig>;
  slack: SlackEmulator;
  team: SlackTeam;
  alice: SlackUser;
  bob: SlackUser;
  app: SlackApp;
  botToken: string;
  botUserId: string;
  general: SlackConversation;
  connector(): SlackConnector;
  /** Alice on Matrix. */
  matrixAlice: TestUser;
  stop(): Promise<void>;
}

export type Transport = 'socket' | 'http';

export async function startSlackBridge(
  transport: Transport,
  opts: {
    emulator?: Parameters<typeof SlackEmulator.start>[0];
    /** The app's settings (scopes, event subscriptions), as its manifest gives them. */
    appOptions?: Parameters<SlackEmulator['createApp']>[0];
    /** Extra workspace settings; a function gets the emulator's app (its OAuth client ID and secret). */
    workspace?: Record<string, unknown> | ((app: SlackApp) => Record<string, unknown>);
    slack?: Record<string, unknown>;
    core?: Record<string, unknown> | ((asUrl: string) => Record<string, unknown>);
    /** A homeserver the spec prepared (e.g. a ban list room the config names); stopped with the bridge. */
    hs?: HomeserverEmulator;
  } = {},
): Promise<SlackBridge> {
  const slack = await SlackEmulator.start({ ...opts.emulator });
  const team = slack.createTeam({ name: 'Acme', domain: 'acme' });
  const alice = slack.createUser(team, { name: 'alice', realName: 'Alice Liddell', displayName: 'alice' });
  const bob = slack.createUser(team, { name: 'bob', realName: 'Bob Smith' });
  const app = slack.createApp({
    ...opts.appOptions,
    name: 'Causeway',
    ...(transport === 'http' ? { socketMode: false, requestUrl: 'http://127.0.0.1:9/unset' } : {}),
  });
  const { botToken, botUserId } = slack.install(app, team);
  const general = slack.createChannel(team, { name: 'general', general: true, members: [alice, bob, botUserId] });
  let connector!: SlackConnector;
  const hs = opts.hs ?? (await HomeserverEmulator.start({ serverName: 'localhost' }));
  const fx = await startBridgeFixture<SlackConfig>({
    connector: () => (connector = new SlackConnector()),
    configKey: 'slack',
    // The emulator serves avatars, emoji and files on 127.0.0.1: allowed as an operator would allow a
    // media host on the LAN. Specs of the address guard put their hostile hosts on 127.0.0.2.
    core: (asUrl) => ({
      remote_fetch: { allowed_private_ips: ['127.0.0.1'] },
      ...(typeof opts.core === 'function' ? opts.core(asUrl) : opts.core),
    }),
    hs,
    connectorConfig: {
      workspaces: {
        [WS]: {
          bot_token: botToken,
          api_url: slack.apiUrl,
          ...(transport === 'socket' ? { app_token: app.appToken } : { signing_secret: app.signingSecret }),
          ...(typeof opts.workspace === 'function' ? opts.workspace(app) : opts.workspace),
        },
      },
      ...opts.slack,
    },
  }).catch(async (err: unknown) => {
    await hs.stop();
    await slack.stop();
    throw err;
  });
  if (transport === 'http') slack.configureApp(app, { requestUrl: `${fx.asUrl}/slack/events/${WS}`, socketMode: false });
  const matrixAlice = await fx.hs.registerUser('malice', { displayname: 'Alice M' });
  return {
    fx,
    slack,
    team,
    alice,
    bob,
    app,
    botToken,
    botUserId,
    general,
    matrixAlice,
    connector: () => connector,
    async stop() {
      await fx.stop();
      await hs.stop();
      await slack.stop();
    },
  };
}

/** A Matrix room Alice creates, linked to a Slack channel (as a bridge admin's `link` would). */
export async function linkedRoom(b: SlackBridge, channel: SlackConversation = b.general): Promise<string> {
  const roomId = await b.matrixAlice.createRoom({ preset: 'public_chat', invite: [BOT] });
  await b.fx.bridge.portals.link(roomId, { network: WS, id: channel.id }, { actor: '@admin:localhost' });
  await eventually(() => b.fx.hs.membership(roomId, BOT) === 'join', 'bot joined the linked room');
  return roomId;
}

export const ghostId = (slackUserId: string) => `@slack_${WS}_${slackUserId.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}:localhost`;

export function messages(b: SlackBridge, roomId: string, sender?: string) {
  return b.fx.hs.roomTimeline(roomId).filter((e) => e.type === 'm.room.message' && (!sender || e.sender === sender));
}

export { eventually };
