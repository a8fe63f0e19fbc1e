/**
 * Edits and deletions made on Gitter while the bridge was not listening: the stream never replays
 * and `afterId` catch-up sees only newer messages, so catch-up re-reads the recent history too.
 * After a stream cut, and after a bridge restart (the versions passed on are saved), Matrix shows
 * each such edit once and each deletion as a redaction; a thread reply (history leaves those out)
 * is not taken for deleted.
 */
import { strict as assert } from 'node:assert';
import type { GitterTestUser, TestUser } from '@causeway/testing';
import { adminRoom, eventually, ghostId, linkedRoom, messages, startGitterBridge, type GitterBridge } from './support';

describe('gitter-bridge: edits and deletions made while the bridge was not listening', function () {
  this.timeout(90_000);
  let b: GitterBridge;
  let alice: GitterTestUser;
  let bob: TestUser;
  let room: { id: string; uri: string };
  let roomId: string;

  const fromAlice = (body: string) =>
    eventually(() => messages(b.fx.hs, roomId, ghostId('alice')).find((e) => e.content.body === body), `"${body}" on Matrix`);
  const editsOf = (eventId: string) =>
    b.fx.hs
      .roomTimeline(roomId)
      .filter((e) => e.content?.['m.relates_to']?.rel_type === 'm.replace' && e.content['m.relates_to']?.event_id === eventId);
  const redactionsOf = (eventId: string) =>
    b.fx.hs.roomTimeline(roomId).filter((e) => e.type === 'm.room.redaction' && (e.redacts ?? e.content?.redacts) === eventId);
  const STREAM = 'STREAM /v1/rooms/{roomId}/chatMessages';

  /** Cuts the relay's stream and keeps it refused until `reopen` (what the bridge sees meanwhile is nothing). */
  async function cut(): Promise<void> {
    const connects = b.gitter.requestCount(b.relay.token, STREAM);
    b.gitter.streams.refuse(503);
    assert.equal(b.gitter.streams.cut({ roomId: room.id }), 1);
    await eventually(() => b.gitter.requestCount(b.relay.token, STREAM) > connects, 'a reconnect was tried');
  }
  async function reopen(): Promise<void> {
    b.gitter.streams.refuse(null);
    await eventually(() => b.connector().streams.live(room.id), 'stream live again', 30_000);
  }
  /** A message posted now reaches Matrix: everything the catch-up passed on before it was applied. */
  async function synced(text: string): Promise<void> {
    await alice.post(room.id, text);
    await fromAlice(text);
  }

  beforeEach(async () => {
    b = await startGitterBridge({ emulator: { features: { deletes: true, threads: true } } });
    alice = b.gitter.createUser('alice', { displayName: 'Alice' });
    room = { ...b.gitter.createRoom({ uri: 'acme/chat', members: [alice.id] }), uri: 'acme/chat' };
    bob = await b.fx.hs.registerUser('bob', { displayname: 'Bob' });
    roomId = await linkedRoom(b, bob, await adminRoom(b.fx.hs, await b.fx.hs.registerUser('admin')), room);
  });
  afterEach(async () => {
    await b?.stop();
  });

  it('after a stream cut: an edit shows once, a deletion is redacted, a thread reply stays', async () => {
    const keep = await alice.post(room.id, 'keep me');
    const edited = await alice.post(room.id, 'teh typo');
    const gone = await alice.post(room.id, 'delete me');
    await alice.reply(room.id, keep.id, 'in a thread');
    const [keepEv, editedEv, goneEv, replyEv] = [
      await fromAlice('keep me'),
      await fromAlice('teh typo'),
      await fromAlice('delete me'),
      await fromAlice('in a thread'),
    ];

    await cut();
    await alice.edit(room.id, edited.id, 'the typo');
    await alice.delete(room.id, gone.id);
    await reopen();
    await synced('after the cut');

    await eventually(() => editsOf(editedEv.event_id).length === 1, 'the edit on Matrix');
    await eventually(() => redactionsOf(goneEv.event_id).length === 1, 'the deletion on Matrix');
    assert.equal(editsOf(editedEv.event_id)[0].content['m.new_content']?.body, 'the typo');
    assert.equal(editsOf(editedEv.event_id)[0].sender, ghostId('alice'));
    assert.equal(redactionsOf(keepEv.event_id).length, 0, 'an unchanged message stays');
    assert.equal(redactionsOf(replyEv.event_id).length, 0, 'a thread reply (not in history) stays');
    assert.equal(editsOf(keepEv.event_id).length, 0);

    // Another reconnect re-reads the same window: nothing is passed on twice.
    await cut();
    await reopen();
    await synced('after the second cut');
    assert.equal(editsOf(editedEv.event_id).length, 1, 'the edit once');
    assert.equal(redactionsOf(goneEv.event_id).length, 1, 'the redaction once');
    assert.equal(redactionsOf(replyEv.event_id).length, 0);
  });

  it('across a restart: edits and deletions made while the bridge was down reach Matrix once', async () => {
    const edited = await alice.post(room.id, 'first draft');
    const gone = await alice.post(room.id, 'short-lived');
    const stays = await alice.post(room.id, 'stays as it is');
    const [editedEv, goneEv, staysEv] = [await fromAlice('first draft'), await fromAlice('short-lived'), await fromAlice('stays as it is')];
    await alice.edit(room.id, stays.id, 'stays, edited live');
    await eventually(() => editsOf(staysEv.event_id).length === 1, 'a live edit');

    // The bridge stops hearing the room, then restarts while Gitter changes.
    await cut();
    await alice.edit(room.id, edited.id, 'second draft');
    await alice.edit(room.id, edited.id, 'final draft');
    await alice.delete(room.id, gone.id);
    await b.fx.restart();
    await reopen();
    await synced('after the restart');

    await eventually(() => editsOf(editedEv.event_id).length >= 1, 'the edit on Matrix');
    await eventually(() => redactionsOf(goneEv.event_id).length === 1, 'the deletion on Matrix');
    const edits = editsOf(editedEv.event_id);
    assert.equal(edits.length, 1, 'the two edits made while down show as one, the newest');
    assert.equal(edits[0].content['m.new_content']?.body, 'final draft');
    assert.equal(editsOf(staysEv.event_id).length, 1, 'the live edit is not passed on again');

    // A second restart has nothing new to pass on.
    await b.fx.restart();
    await eventually(() => b.connector().streams.live(room.id), 'stream live after the second restart', 30_000);
    await synced('after the second restart');
    assert.equal(editsOf(editedEv.event_id).length, 1);
    assert.equal(editsOf(staysEv.event_id).length, 1);
    assert.equal(redactionsOf(goneEv.event_id).length, 1);
  });
});
