/**
 * Remote IDs a Matrix message gets after its handler returned (an IRC server's msgid on the echo
 * of each line): recorded by `ctx.remote.addRemoteIds`, they let remote replies find the event,
 * and Matrix replies see them in `replyTo.remoteIds`.
 */
import { strict as assert } from 'node:assert';
import { MemoryConnector } from '@causeway/testing/bridge';
import { startBridgeFixture, eventually, type BridgeFixture } from '@causeway/testing/bridge';
import type { TestUser } from '@causeway/testing';

describe('bridge-core: remote IDs added after a Matrix message was sent', function () {
  this.timeout(30_000);
  let fx: BridgeFixture<{ network: string }>;
  let connector: MemoryConnector;
  let alice: TestUser;
  const portalKey = { network: 'mem', id: 'late' };

  beforeEach(async () => {
    fx = await startBridgeFixture({ connector: () => (connector = new MemoryConnector()), configKey: 'mem' });
    alice = await fx.hs.registerUser('alice', { displayname: 'Alice' });
  });
  afterEach(async () => {
    await fx.stop();
  });

  it("maps a remote reply to a late ID onto the Matrix event, keeps the handler's ID, and lists both to Matrix replies", async () => {
    const roomId = await alice.join('#_mem_mem_late:localhost');
    await eventually(async () => (await fx.bridge.portals.getByRoom(roomId)) !== undefined, 'portal');
    const original = await alice.sendMessage(roomId, 'two\nlines');
    const sent = await eventually(() => connector.messages().find((m) => m.event.eventId === original), 'delivered');
    // The network stamps an ID on each line once it has them (part 0 is the handler's ID).
    await connector.ctx.remote.addRemoteIds({ message: sent.event, remoteIds: ['line-1', 'line-2'], firstPart: 1 });

    for (const [id, target] of [
      ['a1', 'line-2'],
      ['a2', sent.remoteId],
    ]) {
      await connector.ctx.remote.emit({
        type: 'message',
        portal: portalKey,
        sender: { ghost: { network: 'mem', id: 'bob' } },
        id,
        replyTo: target,
        content: { kind: 'text', body: `answer ${id}` },
      });
    }
    const answers = fx.hs.roomTimeline(roomId).filter((e) => e.type === 'm.room.message' && /^answer/.test(e.content.body ?? ''));
    assert.equal(answers.length, 2);
    for (const a of answers) {
      assert.equal(a.content['m.relates_to']?.['m.in_reply_to']?.event_id, original);
      assert.ok(a.content['m.mentions']?.user_ids?.includes('@alice:localhost'), 'the replied-to sender is mentioned');
    }

    await alice.sendMessage(roomId, { msgtype: 'm.text', body: 'me too', 'm.relates_to': { 'm.in_reply_to': { event_id: original } } });
    const reply = await eventually(() => connector.messages().find((m) => m.event.content.body === 'me too'), 'reply delivered');
    assert.equal(reply.event.replyTo?.remoteId, sent.remoteId);
    assert.deepEqual(reply.event.replyTo?.remoteIds, [sent.remoteId, 'line-1', 'line-2']);
  });

  it('maps remote replies to the lines of edits onto the edited event, after its own parts, one edit after another', async () => {
    const roomId = await alice.join('#_mem_mem_late:localhost');
    await eventually(async () => (await fx.bridge.portals.getByRoom(roomId)) !== undefined, 'portal');
    const original = await alice.sendMessage(roomId, 'first draft');
    const sent = await eventually(() => connector.messages().find((m) => m.event.eventId === original), 'delivered');
    await connector.ctx.remote.addRemoteIds({ message: sent.event, remoteIds: ['line-1'], firstPart: 1 });
    const editTo = (body: string) =>
      alice.sendMessage(roomId, {
        msgtype: 'm.text',
        body: `* ${body}`,
        'm.new_content': { msgtype: 'm.text', body },
        'm.relates_to': { rel_type: 'm.replace', event_id: original },
      });
    const edited = async (body: string) => {
      const id = await editTo(body);
      return eventually(() => connector.delivered.find((d) => d.kind === 'edit' && d.event.eventId === id), 'edit delivered');
    };
    const e1 = await edited('second draft');
    const e2 = await edited('final draft');
    assert.ok(e1.kind === 'edit' && e2.kind === 'edit');
    // Both edits' IDs reported at once: neither may take the other's part.
    await Promise.all([
      connector.ctx.remote.addRemoteIds({ edit: e1.event, remoteIds: ['edit-1a', 'edit-1b'] }),
      connector.ctx.remote.addRemoteIds({ edit: e2.event, remoteIds: ['edit-2'] }),
    ]);

    for (const target of ['edit-1a', 'edit-1b', 'edit-2', 'line-1', sent.remoteId]) {
      await connector.ctx.remote.emit({
        type: 'message',
        portal: portalKey,
        sender: { ghost: { network: 'mem', id: 'bob' } },
        id: `re-${target}`,
        replyTo: target,
        content: { kind: 'text', body: `answer to ${target}` },
      });
    }
    const answers = fx.hs.roomTimeline(roomId).filter((e) => e.type === 'm.room.message' && /^answer to/.test(e.content.body ?? ''));
    assert.equal(answers.length, 5);
    for (const a of answers) assert.equal(a.content['m.relates_to']?.['m.in_reply_to']?.event_id, original, a.content.body);

    // A Matrix reply to the message lists every ID, its own first.
    await alice.sendMessage(roomId, { msgtype: 'm.text', body: 'noted', 'm.relates_to': { 'm.in_reply_to': { event_id: original } } });
    const reply = await eventually(() => connector.messages().find((m) => m.event.content.body === 'noted'), 'reply delivered');
    assert.deepEqual(reply.event.replyTo?.remoteIds?.slice(0, 2), [sent.remoteId, 'line-1']);
    assert.deepEqual([...(reply.event.replyTo?.remoteIds ?? [])].sort(), ['edit-1a', 'edit-1b', 'edit-2', 'line-1', sent.remoteId].sort());
  });

  it('records nothing for an edit of a message that left the message map', async () => {
    const roomId = await alice.join('#_mem_mem_late:localhost');
    await eventually(async () => (await fx.bridge.portals.getByRoom(roomId)) !== undefined, 'portal');
    const original = await alice.sendMessage(roomId, 'soon gone');
    await eventually(() => connector.messages().find((m) => m.event.eventId === original), 'delivered');
    const editId = await alice.sendMessage(roomId, {
      msgtype: 'm.text',
      body: '* gone',
      'm.new_content': { msgtype: 'm.text', body: 'gone' },
      'm.relates_to': { rel_type: 'm.replace', event_id: original },
    });
    const edit = await eventually(() => connector.delivered.find((d) => d.kind === 'edit' && d.event.eventId === editId), 'edit delivered');
    assert.ok(edit.kind === 'edit');
    await alice.redact(roomId, original);
    await eventually(() => connector.delivered.some((d) => d.kind === 'redaction'), 'redaction delivered');
    await fx.bridge.idle();
    await connector.ctx.remote.addRemoteIds({ edit: edit.event, remoteIds: ['late-edit'] });
    await connector.ctx.remote.emit({
      type: 'message',
      portal: portalKey,
      sender: { ghost: { network: 'mem', id: 'bob' } },
      id: 're-late',
      replyTo: 'late-edit',
      content: { kind: 'text', body: 'answer to nothing' },
    });
    const answer = fx.hs.roomTimeline(roomId).find((e) => e.type === 'm.room.message' && e.content.body === 'answer to nothing');
    assert.ok(answer);
    assert.equal(answer.content['m.relates_to'], undefined);
  });
});
