/**
 * The Slack bridge end to end in relay mode, over both transports (Socket Mode, and the Events API
 * posting signed requests to the bridge's own listener): messages cross both ways, Matrix users
 * appear on Slack under their name through the bot, Slack users are ghosts whose profile follows
 * `user_change`, and nothing the bridge posts comes back.
 */
import { strict as assert } from 'node:assert';
import { startSlackBridge, linkedRoom, ghostId, messages, eventually, type SlackBridge, type Transport } from './support';

const AVATAR = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==', 'base64');

for (const transport of ['socket', 'http'] as Transport[]) {
  describe(`slack-bridge relay (${transport === 'socket' ? 'Socket Mode' : 'Events API'})`, function () {
    this.timeout(60_000);
    let b: SlackBridge;
    let roomId: string;

    before(async () => {
      // The media proxy gives Matrix avatars a URL Slack can fetch (icon_url).
      b = await startSlackBridge(transport, { core: (asUrl) => ({ media_proxy: { public_url: asUrl } }) });
      await b.matrixAlice.setAvatarUrl(await b.matrixAlice.upload(AVATAR, 'image/png', 'me.png'));
      roomId = await linkedRoom(b);
    });
    after(async () => {
      await b?.stop();
    });

    it("a Slack message reaches Matrix from the sender's ghost, with their name", async () => {
      b.alice.post(b.general, 'hello matrix');
      const ev = await eventually(
        () => messages(b, roomId, ghostId(b.alice.id)).find((e) => e.content.body === 'hello matrix'),
        'Slack message on Matrix',
      );
      assert.equal(ev.content.msgtype, 'm.text');
      assert.equal(b.fx.hs.profile(ghostId(b.alice.id))?.displayname, 'alice');
    });

    it('a Slack message costs no Web API call of its own: Bolt does not ask auth.test again for every event', async () => {
      // Bolt's default authorization re-ran auth.test for each event (its cache is skipped when the
      // app does not verify its token at start): one extra round trip to Slack per message.
      await b.connector().idle();
      const before = b.slack.calls().length;
      for (let i = 0; i < 5; i++) b.alice.post(b.general, `quiet ${i}`);
      await eventually(() => messages(b, roomId, ghostId(b.alice.id)).find((e) => e.content.body === 'quiet 4'), 'the last one on Matrix');
      await b.connector().idle();
      const during = b.slack
        .calls()
        .slice(before)
        .map((c) => c.method);
      // At most the sender's profile, fetched once (when this test runs first); never a call per message.
      assert.deepEqual(
        during.filter((m) => m !== 'users.info'),
        [],
        `Web API calls made while relaying five Slack messages: ${during.join(', ')}`,
      );
      assert.ok(during.length <= 1, during.join(', '));
    });

    it("a Matrix message reaches Slack through the bot under the sender's display name, and is not echoed back", async () => {
      await b.matrixAlice.sendMessage(roomId, 'hello slack');
      const post = await eventually(() => b.slack.posted(b.app, b.general).find((m) => m.text === 'hello slack'), 'post on Slack');
      assert.equal(post.username, 'Alice M');
      // The avatar is the Matrix user's, served by the bridge's media proxy without a token.
      const icon = await fetch(post.icons!.image_72);
      assert.equal(icon.status, 200);
      assert.deepEqual(Buffer.from(await icon.arrayBuffer()), AVATAR);
      await b.slack.waitForDeliveries(b.app);
      await b.connector().idle();
      assert.equal(messages(b, roomId).filter((e) => e.content.body === 'hello slack').length, 1);
    });

    it('a Slack profile change (user_change) renames the ghost and changes its avatar', async () => {
      b.bob.post(b.general, 'first words');
      await eventually(() => messages(b, roomId, ghostId(b.bob.id)).find((e) => e.content.body === 'first words'), 'Bob on Matrix');
      b.bob.updateProfile({ displayName: 'Robert', avatar: { data: AVATAR, contentType: 'image/png' } });
      await eventually(() => b.fx.hs.profile(ghostId(b.bob.id))?.displayname === 'Robert', 'ghost renamed');
      // Bob had Slack's default picture before; the ghost's avatar becomes the new one.
      await eventually(() => {
        const mxc = b.fx.hs.profile(ghostId(b.bob.id))?.avatar_url;
        return mxc !== undefined && b.fx.hs.mediaBytes(mxc)?.equals(AVATAR);
      }, 'ghost avatar');
    });

    it('messages of channels that are not linked stay on Slack', async () => {
      const other = b.slack.createChannel(b.team, { name: 'random', members: [b.alice, b.botUserId] });
      b.alice.post(other, 'not bridged');
      b.alice.post(b.general, 'after the unbridged one');
      await eventually(() => messages(b, roomId).find((e) => e.content.body === 'after the unbridged one'), 'later message');
      await b.connector().idle();
      for (const r of b.fx.hs.rooms.allRoomIds()) assert.ok(!messages(b, r).some((e) => e.content.body === 'not bridged'));
    });
  });
}
