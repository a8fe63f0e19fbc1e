/**
 * The Slack bridge killed with SIGKILL mid-burst, as a separate process:
 * - Matrix → Slack: messages the homeserver handed over while Slack answered every post with 429
 *   reach the channel after the restart, every one, once, in order (the post being attempted is
 *   looked for by its metadata before it is sent again).
 * - Slack → Matrix: events Slack was told the bridge has (acknowledged) while the homeserver was
 *   down reach the room after the restart, once, in order.
 * - Matrix → Slack file: killed after the upload was completed (shared) but before the send was
 *   acknowledged, the restarted bridge finds the share (`files.info` of the file ID it stored
 *   before completing) instead of uploading again: one `file_share` in the channel.
 * What the bridge had stored when it died is read from its data directory (the queue log).
 */
import { strict as assert } from 'node:assert';
import path from 'node:path';
import {
  HomeserverEmulator,
  SlackEmulator,
  eventually,
  storedInQueue,
  type SlackConversation,
  type SlackUser,
  type SlackApp,
  type TestUser,
} from '@causeway/testing';
import { BridgeProcess } from '@causeway/testing/bridge';
import { SlackConnector } from '@causeway/slack-bridge';
import { slackConfig } from './fixtures/slack-bridge-proc';

const BOT = '@slackbot:localhost';
// A 1×1 PNG.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==', 'base64');

describe('slack-bridge: the bridge killed with SIGKILL', function () {
  this.timeout(120_000);
  let hs: HomeserverEmulator;
  let slack: SlackEmulator;
  let app: SlackApp;
  let alice: SlackUser;
  let general: SlackConversation;
  let botUserId: string;
  let bridge: BridgeProcess;
  let matrixAlice: TestUser;

  beforeEach(async () => {
    hs = await HomeserverEmulator.start({ serverName: 'localhost', pushRetryBaseMs: 50, pushRetryMaxMs: 500 });
    slack = await SlackEmulator.start({ socketMode: { ackTimeoutMs: 1000 } });
    const team = slack.createTeam({ name: 'Acme', domain: 'acme' });
    alice = slack.createUser(team, { name: 'alice', realName: 'Alice' });
    app = slack.createApp({ name: 'Causeway' });
    const inst = slack.install(app, team);
    botUserId = inst.botUserId;
    general = slack.createChannel(team, { name: 'general', general: true, members: [alice, botUserId] });
    bridge = await BridgeProcess.create({
      entry: path.join(__dirname, 'fixtures/slack-bridge-proc.ts'),
      hs,
      protocol: new SlackConnector().protocol,
      name: 'causeway-slack-kill-',
      config: (site) => slackConfig({ ...site, botToken: inst.botToken, appToken: app.appToken, apiUrl: slack.apiUrl }),
    });
    matrixAlice = await hs.registerUser('malice', { displayname: 'Alice M' });
  });
  afterEach(async function () {
    await bridge.dispose({ failed: this.currentTest?.state === 'failed' });
    await slack.stop();
    await hs.stop();
  });

  /** A room linked to #general by a bridge admin's command. */
  async function linkGeneral(): Promise<string> {
    const admin = await hs.registerUser('admin');
    const adminRoom = await admin.createRoom({ is_direct: true, invite: [BOT], preset: 'trusted_private_chat' });
    const roomId = await matrixAlice.createRoom({ preset: 'public_chat', invite: [BOT] });
    await eventually(() => hs.membership(adminRoom, BOT) === 'join', 'bot in the admin room', 20_000);
    await admin.sendMessage(adminRoom, `!link ${roomId} acme ${general.id}`);
    await eventually(
      () => hs.roomTimeline(adminRoom).some((e) => e.sender === BOT && String(e.content?.body).startsWith('Linked ')),
      'linked',
      20_000,
    );
    await eventually(() => hs.membership(roomId, BOT) === 'join', 'bot in the room', 20_000);
    return roomId;
  }

  it('Matrix → Slack: messages held by a 429 storm reach Slack after the restart, once each, in order', async () => {
    await bridge.start();
    const roomId = await linkGeneral();
    const storm = slack.faults.rateLimit('chat.postMessage', { times: Infinity, retryAfter: 1 });
    const N = 10;
    for (let i = 0; i < N; i++) await matrixAlice.sendMessage(roomId, `m${i}`);
    await eventually(() => hs.pusher.pending() === 0, 'every event acknowledged', 20_000);
    await eventually(
      () => storedInQueue(bridge.dataDir, 'connector.slack.slack-sends').length > 0,
      'a post stored while Slack refuses it',
      20_000,
    );
    await bridge.kill();
    assert.equal(slack.posted(app, general).length, 0);
    storm.cancel();

    await bridge.start();
    const texts = () => slack.posted(app, general).map((m) => m.text);
    await eventually(() => texts().length >= N, 'every message on Slack', 60_000).catch((err: unknown) => {
      throw new Error(`${err instanceof Error ? err.message : String(err)}: ${texts().join(' ')}`);
    });
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(
      texts(),
      Array.from({ length: N }, (_, i) => `m${i}`),
    );
    await eventually(() => storedInQueue(bridge.dataDir, 'connector.slack.slack-sends').length === 0, 'nothing left stored');
  });

  it('Matrix → Slack: a file shared just before the kill is not uploaded again after the restart', async () => {
    await bridge.start();
    const roomId = await linkGeneral();
    // The share's ts is read from files.info after the completion: held there by a 429, the upload
    // has been completed on Slack while its outbox entry still waits.
    const held = slack.faults.rateLimit('files.info', { times: Infinity, retryAfter: 60 });
    const mxc = await matrixAlice.upload(PNG, 'image/png', 'kill.png');
    await matrixAlice.sendMessage(roomId, {
      msgtype: 'm.image',
      body: 'kill.png',
      url: mxc,
      info: { mimetype: 'image/png', size: PNG.length },
    });
    const shares = () => slack.messages(general).filter((m) => m.subtype === 'file_share');
    await eventually(() => shares().length === 1 && held.triggered > 0, 'the file shared, its answer held', 20_000);
    assert.equal(storedInQueue(bridge.dataDir, 'connector.slack.slack-sends').length, 1);
    await bridge.kill();
    held.cancel();

    await bridge.start();
    await eventually(() => storedInQueue(bridge.dataDir, 'connector.slack.slack-sends').length === 0, 'nothing left stored', 30_000);
    // The Matrix event the bridge had not finished is replayed by the core too: it must find the share as well.
    await eventually(() => hs.pusher.pending() === 0, 'every event acknowledged', 20_000);
    await matrixAlice.sendMessage(roomId, 'marker');
    await eventually(() => slack.posted(app, general).some((m) => m.text === 'marker'), 'marker on Slack', 20_000);
    assert.equal(shares().length, 1, 'one file_share');
    assert.equal(slack.calls('files.completeUploadExternal').length, 1);
  });

  it('Slack → Matrix: events acknowledged while the homeserver is down reach the room after the restart, once, in order', async () => {
    await bridge.start();
    const roomId = await linkGeneral();
    alice.post(general, 'warm-up');
    const bodies = () =>
      hs
        .roomTimeline(roomId)
        .filter((e) => e.type === 'm.room.message' && e.sender !== BOT)
        .map((e) => String(e.content.body));
    await eventually(() => bodies().includes('warm-up'), 'warm-up in the room', 20_000);
    await hs.goDown();
    const N = 10;
    for (let i = 0; i < N; i++) alice.post(general, `w${i}`);
    await slack.waitForDeliveries(app, 20_000);
    assert.ok(
      slack.deliveries(app).every((d) => d.state === 'acked'),
      'Slack was told the bridge has every event',
    );
    await bridge.kill();

    await bridge.start();
    await hs.comeBack();
    await eventually(() => bodies().length >= N + 1, 'every message in the room', 60_000).catch((err: unknown) => {
      throw new Error(`${err instanceof Error ? err.message : String(err)}: ${bodies().join(' ')}`);
    });
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(bodies(), ['warm-up', ...Array.from({ length: N }, (_, i) => `w${i}`)]);
    await eventually(() => storedInQueue(bridge.dataDir, 'connector.slack.slack-inbox').length === 0, 'nothing left stored');
  });
});
