/**
 * One Slack channel linked to two Matrix rooms: what a Matrix user does in one reaches the other
 * too (the bridge drops Slack's echo of its own posts, so it shows it there itself), once, as Slack
 * shows it: a relayed message from the ghost of the bridge's bot under the Matrix user's name, a
 * puppeted user's from their Slack user's ghost; never back in the room it came from. Its Slack ts
 * is mapped in both rooms, so edits, thread replies, reactions and deletions follow from either side.
 */
import { strict as assert } from 'node:assert';
import type { SlackMessage, TestUser } from '@causeway/testing';
import { ghostId, messages, eventually, BOT, WS, type SlackBridge } from './support';
import { startPuppetBridge, adminRoom, puppetLogin } from './puppet-support';

describe('slack-bridge: a Slack channel linked to several Matrix rooms', function () {
  this.timeout(60_000);
  let b: SlackBridge;
  let carol: TestUser;
  let roomA: string;
  let roomB: string;

  const bodies = (roomId: string, sender?: string) => messages(b, roomId, sender).map((e) => String(e.content.body));
  const shown = (roomId: string, sender: string, body: string) =>
    eventually(() => messages(b, roomId, sender).find((e) => e.content.body === body), `"${body}" in ${roomId}`);
  const posted = (text: string): Promise<SlackMessage> =>
    eventually(() => b.slack.messages(b.general).find((m) => m.text === text), `"${text}" on Slack`);
  const relations = (roomId: string, relType: string) =>
    b.fx.hs.roomTimeline(roomId).filter((e) => e.content?.['m.relates_to']?.rel_type === relType);
  /** A Slack message reached both rooms (so everything bridged before it was applied too). */
  async function synced(text: string): Promise<void> {
    b.alice.post(b.general, text);
    await shown(roomA, ghostId(b.alice.id), text);
    await shown(roomB, ghostId(b.alice.id), text);
    await b.connector().idle();
  }
  async function link(user: TestUser): Promise<string> {
    const roomId = await user.createRoom({ preset: 'public_chat', invite: [BOT] });
    await b.fx.bridge.portals.link(roomId, { network: WS, id: b.general.id }, { actor: '@admin:localhost' });
    await eventually(() => b.fx.hs.membership(roomId, BOT) === 'join', 'bot joined the linked room');
    return roomId;
  }

  before(async () => {
    b = await startPuppetBridge('socket');
    carol = await b.fx.hs.registerUser('carol', { displayname: 'Carol' });
    roomA = await link(b.matrixAlice);
    roomB = await link(carol);
  });
  after(async () => {
    await b?.stop();
  });

  it("shows a relayed message in the other room once, from the bot's ghost under the sender's name, and not again in its own", async () => {
    await b.matrixAlice.sendMessage(roomA, 'hello from A');
    const post = await posted('hello from A');
    assert.equal(post.username, 'Alice M');
    const relay = ghostId(post.botId!);
    await shown(roomB, relay, 'hello from A');
    assert.equal(b.fx.hs.profile(relay)?.displayname, 'Alice M');

    await carol.sendMessage(roomB, 'hello from B');
    assert.equal((await posted('hello from B')).username, 'Carol');
    await shown(roomA, relay, 'hello from B');
    await synced('sync 1');
    assert.deepEqual(bodies(roomB, relay), ['hello from A'], 'once in B');
    assert.deepEqual(bodies(roomA, relay), ['hello from B'], 'once in A, and A does not get its own back');
    assert.deepEqual(bodies(roomA, b.matrixAlice.userId), ['hello from A']);
    assert.equal(b.slack.messages(b.general).filter((m) => m.text === 'hello from A').length, 1, 'once on Slack');
  });

  it('follows edits, thread replies, reactions and deletions of the message from either room', async () => {
    const eventId = await b.matrixAlice.sendMessage(roomA, 'teh typo');
    const post = await posted('teh typo');
    const relay = ghostId(post.botId!);
    const copy = await shown(roomB, relay, 'teh typo');

    // An edit in A: Slack's message is updated, B shows the edit of its copy.
    await b.matrixAlice.sendEvent(roomA, 'm.room.message', {
      msgtype: 'm.text',
      body: '* the typo',
      'm.new_content': { msgtype: 'm.text', body: 'the typo' },
      'm.relates_to': { rel_type: 'm.replace', event_id: eventId },
    });
    await eventually(() => b.slack.message(b.general, post.ts)?.text === 'the typo', 'edited on Slack');
    const edit = await eventually(() => relations(roomB, 'm.replace')[0], 'the edit in B');
    assert.equal(edit.content['m.relates_to']?.event_id, copy.event_id);
    assert.equal(edit.content['m.new_content']?.body, 'the typo');
    assert.equal(edit.sender, relay);

    // A Slack thread reply to it lands in each room's thread.
    b.bob.reply(b.general, post.ts, 'answer in the thread');
    const inA = await shown(roomA, ghostId(b.bob.id), 'answer in the thread');
    const inB = await shown(roomB, ghostId(b.bob.id), 'answer in the thread');
    assert.equal(inA.content['m.relates_to']?.event_id, eventId);
    assert.equal(inB.content['m.relates_to']?.event_id, copy.event_id);

    // A thread reply in B to the copy: on Slack it is in the message's thread, and A shows it in its thread.
    await carol.sendMessage(roomB, {
      msgtype: 'm.text',
      body: 'me too',
      'm.relates_to': {
        rel_type: 'm.thread',
        event_id: copy.event_id,
        is_falling_back: true,
        'm.in_reply_to': { event_id: copy.event_id },
      },
    });
    assert.equal((await posted('me too')).threadTs, post.ts);
    const threadInA = await shown(roomA, relay, 'me too');
    assert.equal(threadInA.content['m.relates_to']?.rel_type, 'm.thread');
    assert.equal(threadInA.content['m.relates_to']?.event_id, eventId);

    // A reaction in A: the bot's reaction on Slack, and in B the bot user's on the copy.
    await b.matrixAlice.sendEvent(roomA, 'm.reaction', { 'm.relates_to': { rel_type: 'm.annotation', event_id: eventId, key: '👍' } });
    await eventually(() => b.slack.message(b.general, post.ts)?.reactions.some((r) => r.name === '+1'), 'reacted on Slack');
    const reaction = await eventually(
      () => b.fx.hs.roomTimeline(roomB).find((e) => e.type === 'm.reaction' && e.content['m.relates_to']?.event_id === copy.event_id),
      'the reaction in B',
    );
    assert.equal(reaction.sender, ghostId(b.botUserId));
    assert.equal(reaction.content['m.relates_to']?.key, '👍');

    // A redaction in A: deleted on Slack, and the copy in B is redacted.
    await b.matrixAlice.redact(roomA, eventId);
    // A thread root with replies stays on Slack as a tombstone.
    await eventually(() => b.slack.message(b.general, post.ts)?.subtype === 'tombstone', 'deleted on Slack');
    await eventually(() => b.fx.hs.event(copy.event_id)?.unsigned?.redacted_because, 'the copy redacted in B');
    await synced('sync 2');
    assert.equal(relations(roomB, 'm.replace').length, 1, 'the edit once');
    assert.deepEqual(
      b.fx.hs.roomTimeline(roomA).filter((e) => e.type === 'm.reaction' && e.sender !== b.matrixAlice.userId),
      [],
      'no reaction back in A',
    );
  });

  it('shows an upload in the other room with the Matrix file, from the bot user that Slack shows as its uploader', async () => {
    const mxc = await b.matrixAlice.upload(Buffer.from('a picture'), 'image/png', 'pic.png');
    await b.matrixAlice.sendMessage(roomA, { msgtype: 'm.image', body: 'pic.png', url: mxc, info: { mimetype: 'image/png' } });
    const copy = await shown(roomB, ghostId(b.botUserId), 'pic.png');
    assert.equal(copy.content.msgtype, 'm.image');
    assert.equal(copy.content.url, mxc);
    await eventually(() => b.slack.messages(b.general).some((m) => m.files?.length), 'the file on Slack');
    await synced('sync upload');
    assert.deepEqual(bodies(roomB, ghostId(b.botUserId)), ['pic.png'], 'once in B');
    assert.deepEqual(bodies(roomA, ghostId(b.botUserId)), [], 'not back in A');
  });

  it("shows a puppeted user's message in the other room from their Slack user's ghost", async () => {
    const dave = await b.fx.hs.registerUser('dave', { displayname: 'Dave' });
    await puppetLogin(b, await adminRoom(b, dave), b.bob);
    await dave.join(roomA);
    await dave.sendMessage(roomA, 'from my own account');
    await eventually(
      () => b.slack.messages(b.general).find((m) => m.text === 'from my own account' && m.user === b.bob.id),
      'on Slack as Bob',
    );
    await shown(roomB, ghostId(b.bob.id), 'from my own account');
    await synced('sync 3');
    assert.deepEqual(
      bodies(roomB, ghostId(b.bob.id)).filter((t) => t === 'from my own account'),
      ['from my own account'],
      'once in B',
    );
    assert.deepEqual(
      bodies(roomA, ghostId(b.bob.id)).filter((t) => t === 'from my own account'),
      [],
      'not echoed back to A',
    );
  });
});
