/**
 * Gitter joins and leaves as ghost joins and leaves, found by reading the room's member list
 * (`gitter.membership.poll_interval_s`): the first read only records who is there; later reads
 * turn who appeared and who left into joins and leaves; the relay account is never mirrored.
 */
import { strict as assert } from 'node:assert';
import type { GitterTestUser } from '@causeway/testing';
import { adminRoom, eventually, ghostId, linkedRoom, startGitterBridge, type GitterBridge } from './support';

describe('gitter-bridge: Gitter joins and leaves', function () {
  this.timeout(60_000);
  let b: GitterBridge;
  let alice: GitterTestUser;
  let carol: GitterTestUser;
  let room: { id: string; uri: string };
  let roomId: string;
  const reads = () => b.gitter.requestCount(b.relay.token, 'GET /v1/rooms/{roomId}/users');

  before(async () => {
    b = await startGitterBridge({ gitter: { membership: { poll_interval_s: 1 } } });
    alice = b.gitter.createUser('alice', { displayName: 'Alice' });
    carol = b.gitter.createUser('carol', { displayName: 'Carol' });
    room = { ...b.gitter.createRoom({ uri: 'acme/chat', members: [alice.id] }), uri: 'acme/chat' };
    const bob = await b.fx.hs.registerUser('bob', { displayname: 'Bob' });
    roomId = await linkedRoom(b, bob, await adminRoom(b.fx.hs, await b.fx.hs.registerUser('admin')), room);
    await eventually(() => reads() >= 1, 'first member read');
  });
  after(async () => {
    await b?.stop();
  });

  it('makes a Gitter user who joins the room join as a ghost, with their name', async () => {
    assert.equal(b.fx.hs.membership(roomId, ghostId('alice')), undefined, 'the first read only records who is there');
    await carol.joinByUri('acme/chat');
    await eventually(() => b.fx.hs.membership(roomId, ghostId('carol')) === 'join', 'carol joined on Matrix');
    assert.equal(b.fx.hs.profile(ghostId('carol'))?.displayname, 'Carol');
    assert.equal(b.fx.hs.membership(roomId, ghostId('causeway-bot')), undefined, 'the relay is not mirrored');
  });

  it('makes a ghost leave when its Gitter user leaves the room', async () => {
    await alice.post(room.id, 'bye');
    await eventually(() => b.fx.hs.membership(roomId, ghostId('alice')) === 'join', 'alice joined by speaking');
    await alice.leave(room.id);
    await eventually(() => b.fx.hs.membership(roomId, ghostId('alice')) === 'leave', 'alice left on Matrix');
    assert.equal(b.fx.hs.membership(roomId, ghostId('carol')), 'join');
  });
});
