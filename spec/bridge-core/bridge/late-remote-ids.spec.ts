/**
 * Remote IDs a Matrix message gets after its handler returned (an IRC server's msgid on the echo
 * of each line): recorded by `ctx.remote.addRemoteIds`, they let remote replies find the event,
 * and Matrix replies see them in `replyTo.remoteIds`.
 */
import { strict as assert } from 'node:assert';
import { MemoryConnector } from '../../support/memory-connector';
import { startBridgeFixture, eventually, type BridgeFixture } from '../../support/bridge-fixture';
import type { TestUser } from '../../harness/homeserver';

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
  afterEach(async () => { await fx.stop(); });

  it('maps a remote reply to a late ID onto the Matrix event, keeps the handler\'s ID, and lists both to Matrix replies', async () => {
    const roomId = await alice.join('#_mem_mem_late:localhost');
    await eventually(async () => (await fx.bridge.portals.getByRoom(roomId)) !== undefined, 'portal');
    const original = await alice.sendMessage(roomId, 'two\nlines');
    const sent = await eventually(() => connector.messages().find((m) => m.event.eventId === original), 'delivered');
    // The network stamps an ID on each line once it has them (part 0 is the handler's ID).
    await connector.ctx.remote.addRemoteIds({ message: sent.event, remoteIds: ['line-1', 'line-2'], firstPart: 1 });

    for (const [id, target] of [['a1', 'line-2'], ['a2', sent.remoteId]]) {
      await connector.ctx.remote.emit({
        type: 'message', portal: portalKey, sender: { ghost: { network: 'mem', id: 'bob' } }, id, replyTo: target,
        content: { kind: 'text', body: `answer ${id}` },
      });
    }
    const answers = fx.hs.roomTimeline(roomId).filter((e) => e.type === 'm.room.message' && /^answer/.test(e.content.body));
    assert.equal(answers.length, 2);
    for (const a of answers) {
      assert.equal(a.content['m.relates_to']['m.in_reply_to'].event_id, original);
      assert.ok(a.content['m.mentions'].user_ids.includes('@alice:localhost'), 'the replied-to sender is mentioned');
    }

    await alice.sendMessage(roomId, { msgtype: 'm.text', body: 'me too', 'm.relates_to': { 'm.in_reply_to': { event_id: original } } });
    const reply = await eventually(() => connector.messages().find((m) => m.event.content.body === 'me too'), 'reply delivered');
    assert.equal(reply.event.replyTo?.remoteId, sent.remoteId);
    assert.deepEqual(reply.event.replyTo?.remoteIds, [sent.remoteId, 'line-1', 'line-2']);
  });
});
