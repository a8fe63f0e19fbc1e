/**
 * What a connector hands the core as a remote event, built from what its network sent: a
 * malformed one is refused with its reason (a rejected promise, never a throw that ends the
 * process), and the portal's next events still apply. A room's topic set by a remote user whose
 * ghost is not in the room is set by the bridge bot: the ghost is not brought in for it.
 */
import { strict as assert } from 'node:assert';
import { MemoryConnector, startBridgeFixture, eventually, type BridgeFixture } from '@causeway/testing/bridge';
import type { RemoteEvent } from '@causeway/bridge-core';

describe('bridge-core: remote events a connector gets wrong', function () {
  this.timeout(30_000);
  let fx: BridgeFixture<{ network: string }>;
  let connector: MemoryConnector;
  let roomId: string;
  const portal = { network: 'mem', id: 'safety' };
  const bob = { ghost: { network: 'mem', id: 'bob' } };

  before(async () => {
    fx = await startBridgeFixture({ connector: () => (connector = new MemoryConnector()), configKey: 'mem' });
    const alice = await fx.hs.registerUser('alice');
    roomId = await alice.join('#_mem_mem_safety:localhost');
    await eventually(async () => (await fx.bridge.portals.getByRoom(roomId)) !== undefined, 'portal');
  });
  after(async () => {
    await fx.stop();
  });

  it('refuses a malformed event with its reason, without throwing, and applies the next one', async () => {
    const bad: unknown[] = [
      null,
      { type: 'message' },
      { type: 'message', portal: undefined, sender: bob, id: 'x', content: { kind: 'text', body: 'x' } },
      { type: 'message', portal, sender: { ghost: { network: 'mem', id: '' } }, id: 'x', content: { kind: 'text', body: 'x' } },
      { type: 'message', portal, sender: bob, id: 'x', content: { kind: 'text' } },
      { type: 'membership', portal, sender: bob, membership: 'explode' },
      { type: 'telepathy', portal, sender: bob },
    ];
    for (const ev of bad) {
      let settled: Promise<void> | undefined;
      assert.doesNotThrow(
        () => {
          settled = connector.ctx.remote.emit(ev as RemoteEvent);
        },
        `emit(${JSON.stringify(ev)}) threw`,
      );
      await assert.rejects(settled!, /malformed remote event: \S/, JSON.stringify(ev));
    }
    await connector.ctx.remote.emit({ type: 'message', portal, sender: bob, id: 'fine', content: { kind: 'text', body: 'still fine' } });
    assert.ok(fx.hs.roomTimeline(roomId).some((e) => e.type === 'm.room.message' && e.content.body === 'still fine'));
  });

  it("sets a topic as the bot when the setter's ghost is not in the room, and as the ghost when it is", async () => {
    const carol = { ghost: { network: 'mem', id: 'carol' } };
    const carolId = '@_mem_mem_carol:localhost';
    await connector.ctx.remote.emit({ type: 'meta', portal, sender: carol, topic: 'from outside' });
    const t1 = fx.hs.stateEvent(roomId, 'm.room.topic');
    assert.equal(t1?.content.topic, 'from outside');
    assert.equal(t1?.sender, '@_mem_bot:localhost');
    assert.equal(fx.hs.membership(roomId, carolId), undefined, 'the ghost was not joined to set it');

    await connector.ctx.remote.emit({ type: 'membership', portal, sender: carol, membership: 'join' });
    // Power to set the topic (a ghost without it falls back to the bot anyway).
    await connector.ctx.remote.emit({ type: 'settings', portal, sender: { bot: true }, powerLevels: [{ ghost: carol.ghost, level: 50 }] });
    await connector.ctx.remote.emit({ type: 'meta', portal, sender: carol, topic: 'from inside' });
    const t2 = fx.hs.stateEvent(roomId, 'm.room.topic');
    assert.equal(t2?.content.topic, 'from inside');
    assert.equal(t2?.sender, carolId);
  });
});
