/**
 * What crosses the bridge besides plain messages: edits both ways (and the sender told when
 * Gitter's edit window has passed), deletions both ways where the server has the delete
 * extension, replies and threads ↔ `parentId`, mentions ↔ pills (`@username`, `@/all` ↔ room
 * mentions), and Matrix media as links through the core's media URL.
 */
import { strict as assert } from 'node:assert';
import type { GitterTestUser, TestUser } from '@causeway/testing';
import { adminRoom, botMessages, eventually, ghostId, linkedRoom, messages, startGitterBridge, type GitterBridge } from './support';

describe('gitter-bridge: edits, deletions, threads, mentions and media', function () {
  this.timeout(60_000);
  let b: GitterBridge;
  let alice: GitterTestUser;
  let bob: TestUser;
  let bobAdmin: Awaited<ReturnType<typeof adminRoom>>;
  let room: { id: string; uri: string };
  let roomId: string;

  const fromAlice = (body: string) =>
    eventually(() => messages(b.fx.hs, roomId, ghostId('alice')).find((e) => e.content.body === body), `"${body}" on Matrix`);
  const relayed = (pred: (text: string) => boolean, what: string) =>
    eventually(() => b.gitter.messagesBy(room.id, b.relay.id).find((m) => pred(m.text)), what);

  before(async () => {
    b = await startGitterBridge({
      emulator: { features: { deletes: true, threads: true } },
      core: (asUrl) => ({ media_proxy: { public_url: asUrl } }),
    });
    alice = b.gitter.createUser('alice', { displayName: 'Alice' });
    room = { ...b.gitter.createRoom({ uri: 'acme/chat', members: [alice.id] }), uri: 'acme/chat' };
    bob = await b.fx.hs.registerUser('bob', { displayname: 'Bob' });
    bobAdmin = await adminRoom(b.fx.hs, bob);
    roomId = await linkedRoom(b, bob, await adminRoom(b.fx.hs, await b.fx.hs.registerUser('admin')), room);
  });
  after(async () => {
    await b?.stop();
  });

  it('bridges a Gitter edit (v 2, editedAt) as m.replace of the bridged event', async () => {
    const m = await alice.post(room.id, 'teh typo');
    const original = await fromAlice('teh typo');
    await alice.edit(room.id, m.id, 'the typo');
    const edit = await eventually(
      () => b.fx.hs.roomTimeline(roomId).find((e) => e.content?.['m.relates_to']?.rel_type === 'm.replace'),
      'edit on Matrix',
    );
    assert.equal(edit.sender, ghostId('alice'));
    assert.equal(edit.content['m.relates_to']?.event_id, original.event_id);
    assert.equal(edit.content['m.new_content']?.body, 'the typo');
  });

  it('edits the Gitter message when a Matrix user edits theirs (PUT, v 2)', async () => {
    const eventId = await bob.sendMessage(roomId, 'hello wrold');
    const sent = await relayed((t) => t === '**Bob**: hello wrold', 'original on Gitter');
    await bob.sendEvent(roomId, 'm.room.message', {
      msgtype: 'm.text',
      body: '* hello world',
      'm.new_content': { msgtype: 'm.text', body: 'hello world' },
      'm.relates_to': { rel_type: 'm.replace', event_id: eventId },
    });
    await eventually(() => b.gitter.message(room.id, sent.id)?.text === '**Bob**: hello world', 'edited on Gitter');
    assert.equal(b.gitter.message(room.id, sent.id)?.v, 2);
    assert.equal(b.gitter.messagesBy(room.id, b.relay.id).filter((m) => m.text.includes('hello world')).length, 1);
  });

  it('past the edit window, sends the new text as a new message and tells the sender', async () => {
    const eventId = await bob.sendMessage(roomId, 'old news');
    const sent = await relayed((t) => t === '**Bob**: old news', 'original on Gitter');
    b.gitter.setEditWindowMs(0);
    try {
      const before = botMessages(b.fx.hs, bobAdmin.roomId).length;
      await bob.sendEvent(roomId, 'm.room.message', {
        msgtype: 'm.text',
        body: '* new news',
        'm.new_content': { msgtype: 'm.text', body: 'new news' },
        'm.relates_to': { rel_type: 'm.replace', event_id: eventId },
      });
      await relayed((t) => t === '**Bob**: new news _(edited)_', 'correction as a new message');
      assert.equal(b.gitter.message(room.id, sent.id)?.text, '**Bob**: old news');
      const notice = await eventually(() => botMessages(b.fx.hs, bobAdmin.roomId)[before], 'notice to the sender');
      assert.match(notice, /edit window for that message has passed/);
    } finally {
      b.gitter.setEditWindowMs(600_000);
    }
  });

  it('redacts the Matrix event when a Gitter message is deleted, and deletes on Gitter when a Matrix user redacts', async () => {
    const m = await alice.post(room.id, 'delete me');
    const e = await fromAlice('delete me');
    await alice.delete(room.id, m.id);
    await eventually(
      () => b.fx.hs.event(e.event_id)?.unsigned?.redacted_because || !b.fx.hs.event(e.event_id)?.content?.body,
      'redacted on Matrix',
    );

    const eventId = await bob.sendMessage(roomId, 'regret');
    const sent = await relayed((t) => t === '**Bob**: regret', 'on Gitter');
    await bob.redact(roomId, eventId);
    await eventually(() => b.gitter.message(room.id, sent.id) === undefined, 'deleted on Gitter');
  });

  it('tells the sender when the Gitter server cannot delete messages', async () => {
    b.gitter.setFeatures({ deletes: false });
    try {
      const eventId = await bob.sendMessage(roomId, 'sticky');
      await relayed((t) => t === '**Bob**: sticky', 'on Gitter');
      const before = botMessages(b.fx.hs, bobAdmin.roomId).length;
      await bob.redact(roomId, eventId);
      const notice = await eventually(() => botMessages(b.fx.hs, bobAdmin.roomId)[before], 'notice to the sender');
      assert.match(notice, /does not support deleting messages/);
    } finally {
      b.gitter.setFeatures({ deletes: true });
    }
  });

  it('maps Gitter threads (parentId) to Matrix threads and back', async () => {
    const root = await alice.post(room.id, 'thread root');
    const rootEvent = await fromAlice('thread root');
    await alice.reply(room.id, root.id, 'in the thread');
    const reply = await fromAlice('in the thread');
    assert.equal(reply.content['m.relates_to']?.rel_type, 'm.thread');
    assert.equal(reply.content['m.relates_to']?.event_id, rootEvent.event_id);

    await bob.sendMessage(roomId, {
      msgtype: 'm.text',
      body: 'answer in thread',
      'm.relates_to': { rel_type: 'm.thread', event_id: rootEvent.event_id },
    });
    await eventually(
      () => b.gitter.messages(room.id, { threads: true }).find((m) => m.text === '**Bob**: answer in thread')?.parentId === root.id,
      'thread reply on Gitter',
    );
    // A plain Matrix reply to a Gitter message becomes a reply in that message's thread.
    const other = await alice.post(room.id, 'reply to me');
    const otherEvent = await fromAlice('reply to me');
    await bob.sendMessage(roomId, {
      msgtype: 'm.text',
      body: 'replying',
      'm.relates_to': { 'm.in_reply_to': { event_id: otherEvent.event_id } },
    });
    await eventually(
      () => b.gitter.messages(room.id, { threads: true }).find((m) => m.text === '**Bob**: replying')?.parentId === other.id,
      'reply on Gitter',
    );
  });

  it('turns @username and @/all into pills and a room mention, and pills and room mentions into @username and @/all', async () => {
    b.gitter.createUser('carol', { displayName: 'Carol' });
    await alice.post(room.id, 'ping @carol and @/all');
    const e = await fromAlice('ping @carol and @/all');
    assert.match(
      String(e.content.formatted_body),
      new RegExp(`<a href="https://matrix.to/#/${encodeURIComponent(ghostId('carol')).replace(/%/g, '%')}">@carol</a>`),
    );
    assert.deepEqual(e.content['m.mentions'], { user_ids: [ghostId('carol')], room: true });

    await bob.sendMessage(roomId, {
      msgtype: 'm.text',
      body: 'Alice: look',
      format: 'org.matrix.custom.html',
      formatted_body: `<a href="https://matrix.to/#/${ghostId('alice')}">Alice</a>: look`,
      'm.mentions': { user_ids: [ghostId('alice')], room: true },
    });
    const posted = await relayed((t) => t.includes('look'), 'mention on Gitter');
    assert.equal(posted.text, '**Bob**: @/all @alice: look');
    assert.ok(posted.mentions?.some((m) => m.screenName === 'alice'));
  });

  it("sends Matrix images and files as links through the core's media URL", async () => {
    const mxc = await bob.upload(Buffer.from('not really a png'), 'image/png', 'cat.png');
    await bob.sendMessage(roomId, { msgtype: 'm.image', body: 'cat.png', url: mxc, info: { mimetype: 'image/png', size: 16 } });
    const posted = await relayed((t) => t.includes('cat.png'), 'image link on Gitter');
    const link = /\]\((http[^)]+)\)/.exec(posted.text)?.[1];
    if (!link?.startsWith(b.fx.asUrl)) assert.fail(posted.text);
    const res = await fetch(link);
    assert.equal(res.status, 200);
    assert.equal(Buffer.from(await res.arrayBuffer()).toString(), 'not really a png');
  });
});
