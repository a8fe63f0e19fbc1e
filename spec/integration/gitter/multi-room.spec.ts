/**
 * One Gitter room linked to two Matrix rooms: what a Matrix user does in one reaches the other too
 * (the bridge drops Gitter's echo of its own posts, so it shows it there itself), once, from the
 * ghost of the Gitter account that posted it (the relay, whose text names the sender, or the
 * puppeted user's account), never back in the room it came from. Its Gitter id is mapped in both
 * rooms, so edits, deletions and replies in either room, and Gitter threads, follow.
 */
import { strict as assert } from 'node:assert';
import type { GitterTestUser, TestUser } from '@causeway/testing';
import { adminRoom, eventually, ghostId, linkedRoom, messages, startGitterBridge, type GitterBridge } from './support';

describe('gitter-bridge: a Gitter room linked to several Matrix rooms', function () {
  this.timeout(60_000);
  let b: GitterBridge;
  let alice: GitterTestUser;
  let bob: TestUser;
  let carol: TestUser;
  let room: { id: string; uri: string };
  let roomA: string;
  let roomB: string;
  const RELAY = ghostId('causeway-bot');

  const bodies = (roomId: string, sender?: string) => messages(b.fx.hs, roomId, sender).map((e) => String(e.content.body));
  const relayed = (text: string) =>
    eventually(() => b.gitter.messagesBy(room.id, b.relay.id).find((m) => m.text === text), `"${text}" on Gitter`);
  const shown = (roomId: string, sender: string, body: string) =>
    eventually(() => messages(b.fx.hs, roomId, sender).find((e) => e.content.body === body), `"${body}" in ${roomId}`);
  /** Bridged Gitter message `text` reached both rooms (everything bridged before it was applied too). */
  async function synced(text: string): Promise<void> {
    await alice.post(room.id, text);
    await shown(roomA, ghostId('alice'), text);
    await shown(roomB, ghostId('alice'), text);
  }

  before(async () => {
    b = await startGitterBridge({
      emulator: { features: { deletes: true, threads: true } },
      gitter: { puppeting: { enabled: true } },
    });
    alice = b.gitter.createUser('alice', { displayName: 'Alice' });
    room = { ...b.gitter.createRoom({ uri: 'acme/chat', members: [alice.id] }), uri: 'acme/chat' };
    bob = await b.fx.hs.registerUser('bob', { displayname: 'Bob' });
    carol = await b.fx.hs.registerUser('carol', { displayname: 'Carol' });
    const admin = await adminRoom(b.fx.hs, await b.fx.hs.registerUser('admin'));
    roomA = await linkedRoom(b, bob, admin, room);
    roomB = await linkedRoom(b, carol, admin, room);
  });
  after(async () => {
    await b?.stop();
  });

  it("shows a Matrix user's message in the other linked room once, from the relay's ghost, and not again in its own", async () => {
    const eventId = await bob.sendMessage(roomA, 'hello from A');
    const sent = await relayed('**Bob**: hello from A');
    const mirror = await shown(roomB, RELAY, '**Bob**: hello from A');
    assert.match(String(mirror.content.formatted_body), /<strong>Bob<\/strong>: hello from A/);

    await carol.sendMessage(roomB, 'hello from B');
    await relayed('**Carol**: hello from B');
    await shown(roomA, RELAY, '**Carol**: hello from B');
    await synced('sync 1');
    assert.deepEqual(bodies(roomB, RELAY), ['**Bob**: hello from A'], 'once in B');
    assert.deepEqual(bodies(roomA, RELAY), ['**Carol**: hello from B'], 'once in A, and A does not get its own back');
    assert.deepEqual(bodies(roomA, bob.userId), ['hello from A']);

    // Both rooms map the Gitter id: a Gitter thread reply to it lands in each room's thread.
    await alice.reply(room.id, sent.id, 'answer in the thread');
    const inA = await shown(roomA, ghostId('alice'), 'answer in the thread');
    const inB = await shown(roomB, ghostId('alice'), 'answer in the thread');
    assert.equal(inA.content['m.relates_to']?.event_id, eventId);
    assert.equal(inB.content['m.relates_to']?.event_id, mirror.event_id);
  });

  it('follows edits, replies and redactions of the message from either room', async () => {
    const eventId = await bob.sendMessage(roomA, 'teh typo');
    const sent = await relayed('**Bob**: teh typo');
    const mirror = await shown(roomB, RELAY, '**Bob**: teh typo');

    // An edit in A: Gitter edits the message, B shows the edit of its copy.
    await bob.sendEvent(roomA, 'm.room.message', {
      msgtype: 'm.text',
      body: '* the typo',
      'm.new_content': { msgtype: 'm.text', body: 'the typo' },
      'm.relates_to': { rel_type: 'm.replace', event_id: eventId },
    });
    await eventually(() => b.gitter.message(room.id, sent.id)?.v === 2, 'edited on Gitter');
    const edit = await eventually(
      () => b.fx.hs.roomTimeline(roomB).find((e) => e.content?.['m.relates_to']?.rel_type === 'm.replace'),
      'the edit in B',
    );
    assert.equal(edit.content['m.relates_to']?.event_id, mirror.event_id);
    assert.equal(edit.content['m.new_content']?.body, '**Bob**: the typo');
    assert.equal(edit.sender, RELAY);

    // A reply in B to the copy: on Gitter it is a reply to the message.
    await carol.sendMessage(roomB, {
      msgtype: 'm.text',
      body: 'typos happen',
      'm.relates_to': { 'm.in_reply_to': { event_id: mirror.event_id } },
    });
    await eventually(
      () => b.gitter.messages(room.id, { threads: true }).find((m) => m.text === '**Carol**: typos happen')?.parentId === sent.id,
      'the reply on Gitter',
    );

    // A redaction in A: deleted on Gitter, and the copy in B is redacted.
    await bob.redact(roomA, eventId);
    await eventually(() => b.gitter.message(room.id, sent.id) === undefined, 'deleted on Gitter');
    await eventually(() => b.fx.hs.event(mirror.event_id)?.unsigned?.redacted_because, 'the copy redacted in B');
    await synced('sync 2');
    assert.equal(
      b.fx.hs.roomTimeline(roomB).filter((e) => e.content?.['m.relates_to']?.rel_type === 'm.replace').length,
      1,
      'the edit once',
    );
  });

  it("shows a puppeted user's message in the other room from their Gitter account's ghost", async () => {
    const daveGitter = b.gitter.createUser('daveg', { displayName: 'Dave G' });
    const dave = await b.fx.hs.registerUser('dave', { displayname: 'Dave' });
    const daveAdmin = await adminRoom(b.fx.hs, dave);
    assert.match(await daveAdmin.command(`!settoken ${daveGitter.token}`), /your messages now come from Gitter user @daveg/);
    await dave.join(roomA);
    await dave.sendMessage(roomA, 'from my own account');
    await eventually(() => b.gitter.messagesBy(room.id, daveGitter.id).some((m) => m.text === 'from my own account'), 'on Gitter');
    await shown(roomB, ghostId('daveg'), 'from my own account');
    await synced('sync 3');
    assert.deepEqual(bodies(roomB, ghostId('daveg')), ['from my own account'], 'once in B');
    assert.deepEqual(bodies(roomA, ghostId('daveg')), [], 'not echoed back to A');
  });
});
