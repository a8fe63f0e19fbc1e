import { strict as assert } from 'node:assert';
import { HomeserverEmulator, TestUser } from '../../src/homeserver';
import { FakeAppservice, call, registration, waitFor } from './fake-appservice.spec-helper';

describe('homeserver emulator: going down and coming back like a Synapse restart', () => {
  let hs: HomeserverEmulator;
  let as: FakeAppservice;
  let alice: TestUser;

  beforeEach(async () => {
    as = await FakeAppservice.start();
    // Interested in every room, so the test's own rooms are pushed.
    const reg = registration('irc', as.url);
    hs = await HomeserverEmulator.start({
      registrations: [{ ...reg, namespaces: { ...reg.namespaces, rooms: [{ exclusive: false, regex: '.*' }] } }],
    });
    alice = await hs.registerUser('alice');
  });
  afterEach(async () => {
    await hs.stop();
    await as.stop();
  });

  it('refuses connections while down, keeps its rooms, and pushes what happened once it is back on the same URL', async () => {
    const roomId = await alice.createRoom({ preset: 'public_chat' });
    const url = hs.url;
    await hs.goDown();
    assert.equal(hs.isDown, true);
    const refused = await fetch(`${url}/_matrix/client/versions`).then(
      () => 'answered',
      (err: Error & { cause?: { code?: string } }) => err.cause?.code,
    );
    assert.equal(refused, 'ECONNREFUSED');
    await hs.comeBack();
    assert.equal(hs.url, url);
    assert.equal(hs.isDown, false);
    const r = await call(url, 'GET', '/_matrix/client/versions');
    assert.equal(r.status, 200);
    await alice.sendMessage(roomId, 'after the restart');
    await waitFor(() => as.events().some((e) => e.content?.body === 'after the restart'));
  });

  it('pushes nothing while down; what happened meanwhile is pushed once it is back', async () => {
    const roomId = await alice.createRoom({ preset: 'public_chat' });
    await waitFor(() => as.events().some((e) => e.type === 'm.room.create' && e.room_id === roomId));
    await hs.goDown();
    const pushedBefore = as.transactions().length;
    // Something the homeserver stored just as it went down (Synapse persists before it pushes).
    hs.rooms.send(hs.rooms.get(roomId)!, {
      type: 'm.room.message',
      sender: alice.userId,
      content: { msgtype: 'm.text', body: 'stored before the restart' },
    });
    assert.equal(hs.pusher.pending(), 1, 'queued for the appservice, not pushed');
    assert.equal(as.transactions().length, pushedBefore);
    await hs.comeBack();
    await waitFor(() => as.events().some((e) => e.content?.body === 'stored before the restart'));
  });
});
