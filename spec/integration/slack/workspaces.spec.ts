/**
 * Several workspaces in one bridge, one on Socket Mode and one on the Events API: each room talks
 * to its own workspace, ghosts are per workspace, and the two apps' tokens never cross.
 */
import { strict as assert } from 'node:assert';
import { startBridgeFixture, eventually, type BridgeFixture } from '@causeway/testing/bridge';
import { HomeserverEmulator, SlackEmulator } from '@causeway/testing';
import { SlackConnector, type SlackConfig } from '@causeway/slack-bridge';

const BOT = '@slackbot:localhost';
const ghost = (ws: string, id: string) => `@slack_${ws}_${id.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}:localhost`;

describe('slack-bridge: several workspaces', function () {
  this.timeout(60_000);
  let slack: SlackEmulator;
  let hs: HomeserverEmulator;
  let fx: BridgeFixture<SlackConfig>;

  after(async () => {
    await fx?.stop();
    await hs?.stop();
    await slack?.stop();
  });

  it('routes each room to its own workspace, over its own transport', async () => {
    slack = await SlackEmulator.start();
    hs = await HomeserverEmulator.start({ serverName: 'localhost' });
    const acme = slack.createTeam({ name: 'Acme', domain: 'acme' });
    const beta = slack.createTeam({ name: 'Beta', domain: 'beta' });
    const ann = slack.createUser(acme, { name: 'ann' });
    const ben = slack.createUser(beta, { name: 'ben' });
    const acmeApp = slack.createApp({ name: 'Bridge A' });
    const betaApp = slack.createApp({ name: 'Bridge B', socketMode: false, requestUrl: 'http://127.0.0.1:9/unset' });
    const a = slack.install(acmeApp, acme);
    const bb = slack.install(betaApp, beta);
    const acmeGeneral = slack.createChannel(acme, { name: 'general', general: true, members: [ann, a.botUserId] });
    const betaGeneral = slack.createChannel(beta, { name: 'general', general: true, members: [ben, bb.botUserId] });
    fx = await startBridgeFixture<SlackConfig>({
      connector: () => new SlackConnector(),
      configKey: 'slack',
      hs,
      // The emulator serves avatars on 127.0.0.1, allowed as an operator would allow a LAN media host.
      core: { remote_fetch: { allowed_private_ips: ['127.0.0.1'] } },
      connectorConfig: {
        workspaces: {
          acme: { bot_token: a.botToken, app_token: acmeApp.appToken, api_url: slack.apiUrl },
          beta: { bot_token: bb.botToken, signing_secret: betaApp.signingSecret, api_url: slack.apiUrl },
        },
      },
    });
    slack.configureApp(betaApp, { requestUrl: `${fx.asUrl}/slack/events/beta`, socketMode: false });
    const alice = await hs.registerUser('malice', { displayname: 'Alice M' });
    const link = async (ws: string, channel: string) => {
      const roomId = await alice.createRoom({ preset: 'public_chat', invite: [BOT] });
      await fx.bridge.portals.link(roomId, { network: ws, id: channel }, { actor: '@admin:localhost' });
      await eventually(() => hs.membership(roomId, BOT) === 'join', 'bot joined');
      return roomId;
    };
    const roomA = await link('acme', acmeGeneral.id);
    const roomB = await link('beta', betaGeneral.id);

    ann.post(acmeGeneral, 'from acme');
    ben.post(betaGeneral, 'from beta');
    await eventually(
      () => hs.roomTimeline(roomA).some((e) => e.sender === ghost('acme', ann.id) && e.content?.body === 'from acme'),
      'acme → room A',
    );
    await eventually(
      () => hs.roomTimeline(roomB).some((e) => e.sender === ghost('beta', ben.id) && e.content?.body === 'from beta'),
      'beta → room B',
    );
    assert.ok(!hs.roomTimeline(roomA).some((e) => e.content?.body === 'from beta'));

    await alice.sendMessage(roomA, 'to acme');
    await alice.sendMessage(roomB, 'to beta');
    await eventually(() => slack.posted(acmeApp, acmeGeneral).some((m) => m.text === 'to acme'), 'room A → acme');
    await eventually(() => slack.posted(betaApp, betaGeneral).some((m) => m.text === 'to beta'), 'room B → beta');
    assert.deepEqual(
      new Set(slack.calls('chat.postMessage').map((c) => `${c.appId}:${c.teamId}`)),
      new Set([`${acmeApp.id}:${acme.id}`, `${betaApp.id}:${beta.id}`]),
    );
    assert.ok(slack.deliveries(acmeApp).every((d) => d.transport === 'socket'));
    assert.ok(slack.deliveries(betaApp).every((d) => d.transport === 'http'));
  });
});
