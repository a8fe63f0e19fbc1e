/**
 * Matrix topic and room name changes reach the Slack channel: the topic always
 * (`conversations.setTopic`), the name only with `rename_channels` (`conversations.rename`, made a
 * valid channel name). A logged-in puppet's change is made with their own token, so their Slack
 * permissions apply. Slack's refusal is told in the room (privately when it comes after a restart);
 * the change Slack reports back is not applied to the room again, a change whose answer was lost
 * is not made twice, and team sync takes a renamed channel's name for the Matrix name it came from.
 */
import { strict as assert } from 'node:assert';
import { grantPower, SLACK_BRIDGE_BOT_SCOPES } from '@causeway/testing';
import { startSlackBridge, linkedRoom, messages, eventually, BOT, WS, type SlackBridge } from './support';
import { startPuppetBridge, adminRoom, puppetLogin } from './puppet-support';

describe('slack-bridge: Matrix topic and name → Slack', function () {
  this.timeout(60_000);
  let b: SlackBridge;
  let roomId: string;

  const settle = async () => {
    await b.slack.waitForDeliveries(b.app);
    await b.connector().idle();
    await b.fx.bridge.idle();
  };
  const notices = () => messages(b, roomId, BOT).map((e) => e.content.body ?? '');
  const notice = (re: RegExp) => eventually(() => notices().find((n) => re.test(n)), `notice ${re}`);
  /** State events of a type the bot sent in the room (a change from Slack applied to it). */
  const byBot = (type: string) => b.fx.hs.roomTimeline(roomId).filter((e) => e.type === type && e.sender === BOT);

  before(async () => {
    b = await startPuppetBridge('socket', {
      appOptions: { botScopes: [...SLACK_BRIDGE_BOT_SCOPES, 'channels:manage', 'groups:write'] },
      extraWorkspace: { rename_channels: true },
    });
    roomId = await linkedRoom(b);
    // The bridge may change the room's name and topic when Slack's change.
    await grantPower(b.fx.hs, b.matrixAlice, roomId, BOT, 100);
  });
  after(async () => {
    await b?.stop();
  });

  it('a relayed user sets the topic as the bot; its echo is not applied again', async () => {
    await b.matrixAlice.sendState(roomId, 'm.room.topic', '', { topic: 'planning & more' });
    await eventually(() => b.slack.conversation(b.general.id).topic.value === 'planning & more', 'topic on Slack');
    assert.equal(b.slack.conversation(b.general.id).topic.creator, b.botUserId);
    await settle();
    assert.deepEqual(byBot('m.room.topic'), []);
    // Slack's own changes still cross.
    b.bob.setTopic(b.general, 'from slack');
    await eventually(() => b.fx.hs.stateEvent(roomId, 'm.room.topic')?.content.topic === 'from slack', 'Slack topic on Matrix');
  });

  it('a topic change whose answer was lost is not made again (one "set the channel topic" line)', async () => {
    const lost = b.slack.faults.lostAnswer('conversations.setTopic');
    await b.matrixAlice.sendState(roomId, 'm.room.topic', '', { topic: 'said once' });
    await eventually(() => b.slack.conversation(b.general.id).topic.value === 'said once', 'topic on Slack');
    await settle();
    assert.equal(lost.triggered, 1);
    assert.equal(b.slack.messages(b.general).filter((m) => m.subtype === 'channel_topic' && m.text.endsWith('said once')).length, 1);
    assert.ok(!notices().some((n) => n.includes('said once') || n.includes('not changed')), notices().join('\n'));
    b.bob.setTopic(b.general, 'from slack again');
    await eventually(() => b.fx.hs.stateEvent(roomId, 'm.room.topic')?.content.topic === 'from slack again', 'Slack topic on Matrix');
  });

  it("tells the room why Slack refused (the bot may not rename a channel it did not create; the workspace's rules)", async () => {
    await b.matrixAlice.sendState(roomId, 'm.room.name', '', { name: 'Big Plans' });
    await notice(/not renamed to #big-plans: Slack lets only the channel's creator or a workspace admin rename it/);
    assert.equal(b.slack.conversation(b.general.id).name, 'general');

    b.slack.faults.error('conversations.setTopic', 'restricted_action');
    await b.matrixAlice.sendState(roomId, 'm.room.topic', '', { topic: 'not allowed' });
    await notice(/topic was not changed on Slack: the Slack workspace does not let the bridge do that/);
    assert.equal(b.slack.conversation(b.general.id).topic.value, 'from slack again');
  });

  it("a logged-in puppet renames with their own token (their permissions), normalised; Slack's echo is not applied again", async () => {
    const admin = await adminRoom(b, b.matrixAlice);
    await puppetLogin(b, admin, b.alice); // Slack's alice created #general
    await b.matrixAlice.sendState(roomId, 'm.room.name', '', { name: 'Café Talk: Q3 Plans!' });
    await eventually(() => b.slack.conversation(b.general.id).name === 'cafe-talk-q3-plans', 'renamed on Slack');
    await b.matrixAlice.sendState(roomId, 'm.room.topic', '', { topic: 'mine' });
    await eventually(() => b.slack.conversation(b.general.id).topic.value === 'mine', 'topic on Slack');
    assert.equal(b.slack.conversation(b.general.id).topic.creator, b.alice.id);
    await settle();
    assert.equal(b.fx.hs.stateEvent(roomId, 'm.room.name')?.content.name, 'Café Talk: Q3 Plans!');
    assert.deepEqual(
      byBot('m.room.name').map((e) => e.content.name),
      [],
    );
    assert.deepEqual(
      byBot('m.room.topic').map((e) => e.content.topic),
      ['from slack', 'from slack again'],
    );

    b.alice.createChannel('taken');
    await b.matrixAlice.sendState(roomId, 'm.room.name', '', { name: 'Taken' });
    await notice(/not renamed to #taken: another Slack channel already has that name/);
    await b.matrixAlice.sendState(roomId, 'm.room.name', '', { name: '日本語' });
    await notice(/leaves no valid Slack channel name/);
    assert.equal(b.slack.conversation(b.general.id).name, 'cafe-talk-q3-plans');
  });
});

describe('slack-bridge: Matrix room names without rename_channels', function () {
  this.timeout(60_000);
  let b: SlackBridge;

  before(async () => {
    b = await startPuppetBridge('socket', { appOptions: { botScopes: [...SLACK_BRIDGE_BOT_SCOPES, 'channels:manage', 'groups:write'] } });
  });
  after(async () => {
    await b?.stop();
  });

  let roomId: string;
  before(async () => {
    roomId = await linkedRoom(b);
  });

  it('leaves the channel name alone (the topic still crosses)', async () => {
    await b.matrixAlice.sendState(roomId, 'm.room.name', '', { name: 'Renamed On Matrix' });
    await b.matrixAlice.sendState(roomId, 'm.room.topic', '', { topic: 'after the name' });
    await eventually(() => b.slack.conversation(b.general.id).topic.value === 'after the name', 'topic on Slack');
    assert.equal(b.slack.conversation(b.general.id).name, 'general');
    assert.equal(b.slack.calls('conversations.rename').length, 0);
  });

  it('a topic change still waiting at a restart, then refused, is told to its sender privately', async () => {
    const storm = b.slack.faults.rateLimit('conversations.setTopic', { times: Infinity, retryAfter: 60 });
    await b.matrixAlice.sendState(roomId, 'm.room.topic', '', { topic: 'across a restart' });
    await eventually(() => storm.triggered > 0, 'the change held by a 429');
    storm.cancel();
    b.slack.faults.error('conversations.setTopic', 'restricted_action');
    await b.fx.restart();
    const told = 'Your topic change ("across a restart") could not be made on Slack (restricted_action).';
    await eventually(
      () => b.fx.hs.rooms.allRoomIds().some((r) => b.fx.hs.roomTimeline(r).some((e) => e.sender === BOT && e.content?.body === told)),
      'the sender told',
    );
  });
});

describe('slack-bridge: Matrix room names of team-synced portals', function () {
  this.timeout(60_000);
  let b: SlackBridge;

  before(async () => {
    b = await startPuppetBridge('socket', {
      appOptions: { botScopes: [...SLACK_BRIDGE_BOT_SCOPES, 'channels:manage', 'groups:write'] },
      extraWorkspace: { rename_channels: true, team_sync: { enabled: true } },
    });
  });
  after(async () => {
    await b?.stop();
  });

  it("renames the channel the bot created; the start-up sync takes the channel's name for the Matrix name's Slack form", async () => {
    // A channel the app created, so its bot may rename it.
    const ops = b.slack.createChannel(b.team, { name: 'ops', members: [b.botUserId, b.alice], creator: b.botUserId });
    await b.fx.restart(); // the start-up sync makes its portal
    const roomId = await eventually(async () => {
      const [p] = await b.connector().ctx.portals.getByKey({ network: WS, id: ops.id });
      return p?.kind === 'portal' ? p.roomId : undefined;
    }, 'team-sync portal');
    const bot = b.fx.hs.appserviceClient(b.fx.registration.id);
    await bot.invite(roomId, b.matrixAlice.userId);
    await b.matrixAlice.join(roomId);
    await grantPower(b.fx.hs, bot, roomId, b.matrixAlice.userId, 100);

    await b.matrixAlice.sendState(roomId, 'm.room.name', '', { name: 'Ops Room' });
    await eventually(() => b.slack.conversation(ops.id).name === 'ops-room', 'renamed on Slack');
    await b.slack.waitForDeliveries(b.app);
    await b.connector().idle();
    await b.fx.restart();
    await b.connector().idle();
    await b.fx.bridge.idle();
    assert.equal(b.fx.hs.stateEvent(roomId, 'm.room.name')?.content.name, 'Ops Room');
    assert.deepEqual(
      b.fx.hs
        .roomTimeline(roomId)
        .filter((e) => e.type === 'm.room.name' && e.sender === BOT)
        .map((e) => e.content.name),
      ['ops'],
    );
  });
});

describe('slack-bridge: Matrix topics with an app installed before channels:manage', function () {
  this.timeout(60_000);
  let b: SlackBridge;

  before(async () => {
    b = await startSlackBridge('socket'); // the emulator's default bot scopes: no channels:manage
  });
  after(async () => {
    await b?.stop();
  });

  it("tells the room the app lacks the scope (Slack's missing_scope)", async () => {
    const roomId = await linkedRoom(b);
    await b.matrixAlice.sendState(roomId, 'm.room.topic', '', { topic: 'needs a scope' });
    await eventually(
      () =>
        messages(b, roomId, BOT).some((e) =>
          /topic was not changed on Slack: the Slack app lacks the permission \(channels:manage, groups:write\)/.test(e.content.body ?? ''),
        ),
      'notice',
    );
    assert.equal(b.slack.calls('conversations.setTopic')[0]?.error, 'missing_scope');
    assert.equal(b.slack.conversation(b.general.id).topic.value, '');
  });
});
