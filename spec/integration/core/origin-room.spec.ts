/**
 * `originRoomId` on a remote event: a connector mirrors what a Matrix user did in one room of a
 * portal (as the remote network shows it) and the core applies it to the portal's other rooms,
 * never to the room it came from; edits and deletions that follow find the mirrored message by its
 * remote id in each room. With no other room the event is a no-op.
 */
import { strict as assert } from 'node:assert';
import { MemoryConnector, startBridgeFixture, eventually, type BridgeFixture } from '@causeway/testing/bridge';
import { roomWithBot, type TestUser } from '@causeway/testing';

const BOT = '@_mem_bot:localhost';

describe('bridge-core: remote events mirrored from one room of a portal (originRoomId)', function () {
  this.timeout(30_000);
  let fx: BridgeFixture<{ network: string }>;
  let connector: MemoryConnector;
  let alice: TestUser;
  const relay = { ghost: { network: 'mem', id: 'relay' }, displayName: 'Relay' };
  const bodies = (roomId: string) =>
    fx.hs
      .roomTimeline(roomId)
      .filter((e) => e.type === 'm.room.message')
      .map((e) => String(e.content.body));

  before(async () => {
    fx = await startBridgeFixture({ connector: () => (connector = new MemoryConnector()), configKey: 'mem' });
    alice = await fx.hs.registerUser('alice');
  });
  after(async () => {
    await fx.stop();
  });

  async function linked(id: string): Promise<string> {
    const roomId = await roomWithBot(fx.hs, alice, BOT, 50);
    await connector.ctx.portals.link(roomId, { network: 'mem', id }, { actor: alice.userId });
    return roomId;
  }

  it('applies a mirrored message, its edit and its deletion to the other rooms only', async () => {
    const portal = { network: 'mem', id: 'shared' };
    const [a, b, c] = [await linked('shared'), await linked('shared'), await linked('shared')];
    await connector.ctx.remote.emit({
      type: 'message',
      portal,
      sender: relay,
      id: 'r1',
      content: { kind: 'text', body: 'Alice: hi' },
      originRoomId: a,
    });
    assert.deepEqual(bodies(a), []);
    assert.deepEqual(bodies(b), ['Alice: hi']);
    assert.deepEqual(bodies(c), ['Alice: hi']);

    await connector.ctx.remote.emit({
      type: 'edit',
      portal,
      sender: relay,
      targetId: 'r1',
      id: 'r1.v2',
      content: { kind: 'text', body: 'Alice: hello' },
      originRoomId: a,
    });
    assert.deepEqual(bodies(a), []);
    for (const room of [b, c]) assert.deepEqual(bodies(room), ['Alice: hi', '* Alice: hello']);

    const original = fx.hs.roomTimeline(b).find((e) => e.content.body === 'Alice: hi')!;
    await connector.ctx.remote.emit({ type: 'delete', portal, sender: relay, targetId: 'r1', originRoomId: a });
    await eventually(() => fx.hs.event(original.event_id)?.unsigned?.redacted_because, 'redacted in b');
    assert.deepEqual(
      fx.hs.roomTimeline(a).filter((e) => e.type === 'm.room.redaction'),
      [],
    );
  });

  it('is a no-op for a portal with only the room it came from, and refuses a non-string originRoomId', async () => {
    const only = await linked('single');
    await connector.ctx.remote.emit({
      type: 'message',
      portal: { network: 'mem', id: 'single' },
      sender: relay,
      id: 's1',
      content: { kind: 'text', body: 'mirrored nowhere' },
      originRoomId: only,
    });
    assert.deepEqual(bodies(only), []);
    await assert.rejects(
      connector.ctx.remote.emit({
        type: 'message',
        portal: { network: 'mem', id: 'single' },
        sender: relay,
        id: 's2',
        content: { kind: 'text', body: 'x' },
        originRoomId: 42 as unknown as string,
      }),
      /originRoomId is not a string/,
    );
  });
});
