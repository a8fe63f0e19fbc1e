/**
 * DMs and group DMs of puppeted users: a Slack DM or group DM to a logged-in user becomes a Matrix
 * DM (a room with `is_direct`, the Matrix user invited by the other side's ghost), their answers go
 * out with their own token and are not echoed back; a Matrix user inviting a Slack user's ghost to
 * a direct chat opens the Slack DM (`conversations.open`) with their token; without a login, or
 * once Slack revoked it, they are told instead of their message vanishing.
 */
import { strict as assert } from 'node:assert';
import type { SlackConversation, SlackUser, TestUser } from '@causeway/testing';
import { messages, ghostId, eventually, WS, type SlackBridge } from './support';
import { startPuppetBridge, adminRoom, puppetLogin, botMessages, type AdminRoom } from './puppet-support';

describe('slack-bridge: DMs and group DMs of puppeted users', function () {
  this.timeout(60_000);
  let b: SlackBridge;
  let m: TestUser;
  let admin: AdminRoom;
  let carol: SlackUser;
  let bobDm: { conv: SlackConversation; roomId: string };

  /** The DM room the bridge invited `user` to whose inviter is `ghost`. */
  const dmRoomFrom = (user: string, ghost: string) =>
    eventually(
      () =>
        b.fx.hs.rooms.allRoomIds().find((r) => {
          const invite = b.fx.hs.stateEvent(r, 'm.room.member', user);
          return invite?.content.membership === 'invite' && invite.sender === ghost && invite.content.is_direct === true;
        }),
      `a DM invite from ${ghost}`,
    );
  const slackTexts = (conv: SlackConversation, user: string) =>
    b.slack
      .messages(conv)
      .filter((x) => x.user === user)
      .map((x) => x.text);

  before(async () => {
    b = await startPuppetBridge('socket', { appOptions: { userEvents: ['message.im', 'message.mpim'] } });
    carol = b.slack.createUser(b.team, { name: 'carol', realName: 'Carol Jones' });
    m = b.matrixAlice;
    admin = await adminRoom(b, m);
    await puppetLogin(b, admin, b.alice);
  });
  after(async () => {
    await b?.stop();
  });

  it('a Slack DM to a puppeted user becomes a Matrix DM; their answers are theirs and not echoed', async () => {
    const dm = b.bob.openDm(b.alice);
    b.bob.post(dm, 'hello alice');
    const roomId = await dmRoomFrom(m.userId, ghostId(b.bob.id));
    await eventually(() => messages(b, roomId, ghostId(b.bob.id)).find((e) => e.content.body === 'hello alice'), 'DM message');
    await m.join(roomId);
    await m.sendMessage(roomId, 'hi bob, from Matrix');
    await eventually(() => slackTexts(dm, b.alice.id).includes('hi bob, from Matrix'), 'answer on Slack');
    const [answer] = b.slack.messages(dm).filter((x) => x.text === 'hi bob, from Matrix');
    assert.equal(answer.via, 'user-token');
    b.bob.post(dm, 'second');
    await eventually(() => messages(b, roomId, ghostId(b.bob.id)).find((e) => e.content.body === 'second'), 'second DM message');
    await b.slack.waitForDeliveries(b.app);
    await b.connector().idle();
    await b.fx.bridge.idle();
    assert.equal(messages(b, roomId, ghostId(b.alice.id)).length, 0, 'her own answer is not echoed back');
    const portals = await b.connector().ctx.portals.getByKey({ network: WS, id: dm.id });
    assert.deepEqual(
      portals.map((p) => [p.kind, p.roomId, p.dmUser]),
      [['dm', roomId, m.userId]],
      'one DM room for the conversation',
    );
    bobDm = { conv: dm, roomId };
  });

  it('a group DM becomes one Matrix DM; each further Slack member is invited by the ghost that opened it', async () => {
    const group = b.bob.openDm(b.alice, carol);
    b.bob.post(group, 'group hello');
    const roomId = await dmRoomFrom(m.userId, ghostId(b.bob.id));
    await eventually(() => messages(b, roomId, ghostId(b.bob.id)).find((e) => e.content.body === 'group hello'), 'group message');
    carol.post(group, 'carol here');
    await eventually(() => messages(b, roomId, ghostId(carol.id)).find((e) => e.content.body === 'carol here'), "carol's message");
    assert.equal(b.fx.hs.stateEvent(roomId, 'm.room.member', ghostId(carol.id))?.content.membership, 'join');
    await m.join(roomId);
    await m.sendMessage(roomId, 'hi both');
    await eventually(() => slackTexts(group, b.alice.id).includes('hi both'), 'answer in the group DM');

    // The room is let go (as the core does when nobody can bring it back): a new one is opened by
    // whoever speaks next, and the others are invited into it afresh.
    await b.fx.bridge.portals.unlink(roomId, { reason: 'spec' });
    carol.post(group, 'new room');
    const again = await dmRoomFrom(m.userId, ghostId(carol.id));
    assert.notEqual(again, roomId);
    await m.join(again);
    b.bob.post(group, 'bob again');
    await eventually(() => messages(b, again, ghostId(b.bob.id)).find((e) => e.content.body === 'bob again'), 'bob in the new room');
  });

  it("a group DM of two puppeted users: one room each, each further member invited in each room by that room's opener", async () => {
    const mcarol = await b.fx.hs.registerUser('mcarol', { displayname: 'Carol M' });
    await puppetLogin(b, await adminRoom(b, mcarol), carol);
    const dan = b.slack.createUser(b.team, { name: 'dan', realName: 'Dan Brown' });
    const group = carol.openDm(b.alice, dan);
    // Carol speaks first from Slack: Alice's room is opened by Carol's ghost; then Alice: Carol's room by Alice's.
    carol.post(group, 'carol first');
    const aliceRoom = await dmRoomFrom(m.userId, ghostId(carol.id));
    b.alice.post(group, 'alice second');
    const carolRoom = await dmRoomFrom(mcarol.userId, ghostId(b.alice.id));
    await eventually(() => messages(b, carolRoom, ghostId(b.alice.id)).find((e) => e.content.body === 'alice second'), "in carol's room");
    assert.equal(messages(b, aliceRoom, ghostId(b.alice.id)).length, 0, 'her own Slack post is not shown to her');
    // Dan needs an invite into both rooms, each from a different ghost.
    dan.post(group, 'dan third');
    await eventually(() => messages(b, aliceRoom, ghostId(dan.id)).find((e) => e.content.body === 'dan third'), "in alice's room");
    await eventually(() => messages(b, carolRoom, ghostId(dan.id)).find((e) => e.content.body === 'dan third'), "in carol's room");
    await b.connector().idle();
    const text = await b.fx.bridge.metrics.metrics();
    assert.doesNotMatch(text, /causeway_messages_relayed_total\{[^}]*direction="remote_to_matrix"[^}]*outcome="failed"[^}]*\} [1-9]/);
  });

  it("inviting a Slack user's ghost to a direct chat opens the Slack DM with the user's own token", async () => {
    const roomId = await m.createRoom({ is_direct: true, invite: [ghostId(carol.id)], preset: 'trusted_private_chat' });
    await eventually(() => b.fx.hs.membership(roomId, ghostId(carol.id)) === 'join', 'ghost joined the DM');
    const [open] = b.slack.calls('conversations.open').slice(-1);
    assert.equal(open?.userId, b.alice.id, "conversations.open with alice's token");
    const channel = (open.response as { channel: { id: string } }).channel.id;
    await m.sendMessage(roomId, 'hi carol');
    const dm = await eventually(() => b.slack.messages(channel).find((x) => x.text === 'hi carol'), 'DM on Slack');
    assert.equal(dm.user, b.alice.id);
    carol.post(dm.channel, 'hi alice!');
    await eventually(() => messages(b, roomId, ghostId(carol.id)).find((e) => e.content.body === 'hi alice!'), 'reply in the same room');
  });

  it('without a login a direct chat is refused with the reason, from the ghost', async () => {
    const dave = await b.fx.hs.registerUser('dave', { displayname: 'Dave' });
    const roomId = await dave.createRoom({ is_direct: true, invite: [ghostId(b.bob.id)], preset: 'trusted_private_chat' });
    await eventually(
      () => messages(b, roomId, ghostId(b.bob.id)).find((e) => /log in to acme first/.test(String(e.content.body))),
      'refusal',
    );
    await eventually(() => b.fx.hs.membership(roomId, ghostId(b.bob.id)) === 'leave', 'ghost left');
  });

  it('a revoked token in a DM: the user is told their message could not be sent (the bot cannot write there)', async () => {
    const { conv: dm, roomId } = bobDm;
    b.slack.revokeToken(b.slack.grantUserToken(b.app, b.alice, []), 'invalid_auth');
    const before = botMessages(b, admin.roomId).length;
    await m.sendMessage(roomId, 'lost?');
    await eventually(
      () =>
        botMessages(b, admin.roomId)
          .slice(before)
          .find((t) => /no longer accepts your login to acme \(Slack answered invalid_auth\)/.test(t)),
      'login ended notice',
    );
    await eventually(
      () =>
        botMessages(b, admin.roomId)
          .slice(before)
          .find((t) => /could not be sent: your Slack login has ended/.test(t)),
      'send failure notice',
    );
    assert.ok(!b.slack.messages(dm).some((x) => x.text === 'lost?'));
  });
});
