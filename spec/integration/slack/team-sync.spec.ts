/**
 * Team sync (`team_sync.enabled`): a portal room for every public channel the app is in — made at
 * start and when the app is added to a channel — with its name and topic kept in step (also across
 * a restart that missed a rename); archiving makes the portal read-only with a notice, unarchiving
 * lifts it. With `join_public_channels` the app joins new public channels itself. Private channels
 * and channels the app is not in get no portal.
 */
import { strict as assert } from 'node:assert';
import { SLACK_BRIDGE_BOT_EVENTS } from '@causeway/testing';
import { startSlackBridge, eventually, BOT, WS, type SlackBridge } from './support';

const EVENTS = [...SLACK_BRIDGE_BOT_EVENTS, 'channel_created', 'channel_unarchive'];

async function portalRoom(b: SlackBridge, channel: string): Promise<string> {
  return eventually(async () => {
    const [p] = await b.connector().ctx.portals.getByKey({ network: WS, id: channel });
    return p?.kind === 'portal' ? p.roomId : undefined;
  }, `portal for ${channel}`);
}

const roomName = (b: SlackBridge, roomId: string) => b.fx.hs.stateEvent(roomId, 'm.room.name')?.content.name;
const roomTopic = (b: SlackBridge, roomId: string) => b.fx.hs.stateEvent(roomId, 'm.room.topic')?.content.topic;

describe('slack-bridge: team sync', function () {
  this.timeout(60_000);

  describe('for the channels the app is in', () => {
    let b: SlackBridge;
    before(async () => {
      // Events API without retries: what happens while the bridge is down is lost to it, as after
      // Slack's retry window, so only the start-up sync can catch up.
      b = await startSlackBridge('http', {
        appOptions: { botEvents: EVENTS },
        workspace: { team_sync: { enabled: true } },
        emulator: { rateLimits: false, eventsApi: { retryDelaysMs: [] } },
      });
    });
    after(async () => {
      await b?.stop();
    });

    it('makes a portal at start for each public channel the app is in, named after it', async () => {
      const roomId = await portalRoom(b, b.general.id);
      assert.equal(roomName(b, roomId), 'general');
      assert.equal(b.fx.hs.membership(roomId, BOT), 'join');
    });

    it('makes a portal when the app is added to a channel, with its topic; nothing for channels it is not in or private ones', async () => {
      const offtopic = b.alice.createChannel('offtopic');
      b.alice.setTopic(offtopic, 'anything goes');
      const secret = b.alice.createChannel('secret', { private: true });
      b.alice.invite(secret, b.botUserId);
      await b.slack.waitForDeliveries(b.app);
      await b.connector().idle();
      assert.deepEqual(await b.connector().ctx.portals.getByKey({ network: WS, id: offtopic.id }), []);
      assert.deepEqual(await b.connector().ctx.portals.getByKey({ network: WS, id: secret.id }), []);

      b.alice.invite(offtopic, b.botUserId);
      const roomId = await portalRoom(b, offtopic.id);
      assert.equal(roomName(b, roomId), 'offtopic');
      assert.equal(roomTopic(b, roomId), 'anything goes');
      // And it is a portal like any other: messages cross.
      b.alice.post(offtopic, 'hello portal');
      await eventually(
        () => b.fx.hs.roomTimeline(roomId).find((e) => e.type === 'm.room.message' && e.content.body === 'hello portal'),
        'message in the new portal',
      );
    });

    it('keeps name and topic in step, also across a restart that missed a rename', async () => {
      const roomId = await portalRoom(b, b.general.id);
      b.alice.rename(b.general, 'lobby');
      await eventually(() => roomName(b, roomId) === 'lobby', 'renamed');
      b.alice.setTopic(b.general, 'welcome all');
      await eventually(() => roomTopic(b, roomId) === 'welcome all', 'topic');

      await b.fx.bridge.stop();
      b.alice.rename(b.general, 'town-square');
      b.alice.setTopic(b.general, 'changed while away');
      await b.slack.waitForDeliveries(b.app);
      assert.ok(
        b.slack.deliveries(b.app).some((d) => d.state === 'failed'),
        'the rename was never delivered',
      );
      await b.fx.restart();
      await eventually(() => roomName(b, roomId) === 'town-square' && roomTopic(b, roomId) === 'changed while away', 'caught up');
      const [again] = await b.connector().ctx.portals.getByKey({ network: WS, id: b.general.id });
      assert.equal(again.roomId, roomId, 'the same room, not a second one');
    });

    it('an archived channel makes its portal read-only with a notice; unarchiving lifts it', async () => {
      const old = b.alice.createChannel('old-stuff');
      b.alice.invite(old, b.botUserId);
      const roomId = await portalRoom(b, old.id);
      const eventsDefault = () => b.fx.hs.stateEvent(roomId, 'm.room.power_levels')?.content.events_default ?? 0;
      const notices = () =>
        b.fx.hs
          .roomTimeline(roomId)
          .filter((e) => e.sender === BOT && e.content.msgtype === 'm.notice')
          .map((e) => String(e.content.body));
      b.alice.archive(old);
      await eventually(() => eventsDefault() === 1, 'read-only');
      await eventually(() => notices().some((t) => /was archived/.test(t)), 'archive notice');
      b.alice.unarchive(old);
      await eventually(() => eventsDefault() === 0, 'writable again');
      await eventually(() => notices().some((t) => /was unarchived/.test(t)), 'unarchive notice');
    });
  });

  describe('with join_public_channels', () => {
    let b: SlackBridge;
    before(async () => {
      b = await startSlackBridge('socket', {
        appOptions: { botEvents: EVENTS },
        workspace: { team_sync: { enabled: true, join_public_channels: true, published: true } },
        emulator: { rateLimits: false },
      });
    });
    after(async () => {
      await b?.stop();
    });

    it('joins a new public channel and makes its portal, listed in the directory', async () => {
      const fresh = b.bob.createChannel('fresh');
      const roomId = await portalRoom(b, fresh.id);
      assert.ok(b.slack.calls('conversations.join').some((c) => (c.args as { channel?: string }).channel === fresh.id));
      assert.equal(roomName(b, roomId), 'fresh');
      const dir = await b.matrixAlice.request('GET', '/_matrix/client/v3/publicRooms');
      assert.ok(
        (dir.body.chunk as Array<{ room_id: string }>).some((r) => r.room_id === roomId),
        'published',
      );
    });
  });
});
