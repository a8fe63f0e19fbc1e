/**
 * Puppeting: a Matrix user's own Gitter token, set in their admin room. The token is stored
 * sealed (nothing on disk holds it) and never repeated; their messages then come from their own
 * Gitter account, without the relay's name prefix, and are not echoed back; they join and leave
 * the Gitter room with the Matrix room; and a token Gitter stops accepting is told to them, the
 * message going out through the relay instead of being dropped.
 */
import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { GitterTestUser, TestUser } from '@causeway/testing';
import { adminRoom, botMessages, eventually, ghostId, linkedRoom, messages, startGitterBridge, type GitterBridge } from './support';

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

describe('gitter-bridge: puppeting with per-user tokens', function () {
  this.timeout(60_000);
  let b: GitterBridge;
  let alice: GitterTestUser;
  let bobGitter: GitterTestUser;
  let bob: TestUser;
  let bobAdmin: Awaited<ReturnType<typeof adminRoom>>;
  let room: { id: string; uri: string };
  let roomId: string;

  before(async () => {
    b = await startGitterBridge({ gitter: { puppeting: { enabled: true } } });
    alice = b.gitter.createUser('alice', { displayName: 'Alice' });
    bobGitter = b.gitter.createUser('bobg', { displayName: 'Bob G' });
    room = { ...b.gitter.createRoom({ uri: 'acme/chat', members: [alice.id] }), uri: 'acme/chat' };
    bob = await b.fx.hs.registerUser('bob', { displayname: 'Bob' });
    bobAdmin = await adminRoom(b.fx.hs, bob);
    roomId = await linkedRoom(b, bob, await adminRoom(b.fx.hs, await b.fx.hs.registerUser('admin')), room);
  });
  after(async () => {
    await b?.stop();
  });

  it('refuses a token Gitter does not accept, storing nothing', async () => {
    assert.match(
      await bobAdmin.command('!settoken 0123456789abcdef0123456789abcdef01234567'),
      /Gitter refused that token \(401\)\. Nothing was stored/,
    );
    assert.equal(b.connector().puppets.accountOf(bob.userId), undefined);
  });

  it('!settoken stores the token sealed: nothing on disk holds it and the bot never repeats it', async () => {
    assert.match(await bobAdmin.command(`!settoken ${bobGitter.token}`), /stored encrypted: your messages now come from Gitter user @bobg/);
    await b.fx.bridge.idle();
    for (const file of filesUnder(b.fx.dataDir)) assert.ok(!readFileSync(file).includes(bobGitter.token), `${file} contains the token`);
    assert.ok(!botMessages(b.fx.hs, bobAdmin.roomId).some((m) => m.includes(bobGitter.token)));
  });

  it("sends a puppeted user's messages from their own Gitter account, without echoing them back", async () => {
    await bob.sendMessage(roomId, 'from my own account');
    const posted = await eventually(
      () => b.gitter.messagesBy(room.id, bobGitter.id).find((m) => m.text === 'from my own account'),
      'posted as bobg',
    );
    assert.equal(posted.fromUser.username, 'bobg');
    await bob.sendMessage(roomId, { msgtype: 'm.emote', body: 'waves' });
    await eventually(() => b.gitter.messagesBy(room.id, bobGitter.id).some((m) => m.status && m.text === '@bobg waves'), 'emote as bobg');
    await alice.post(room.id, 'marker');
    await eventually(() => messages(b.fx.hs, roomId, ghostId('alice')).some((e) => e.content.body === 'marker'), 'later message');
    assert.deepEqual(messages(b.fx.hs, roomId, ghostId('bobg')), [], "no echo of the puppet's own messages");
    assert.equal(b.gitter.messagesBy(room.id, b.relay.id).length, 0);
    // A pill of the puppeted user from Gitter points at the Matrix user.
    await alice.post(room.id, 'thanks @bobg');
    const e = await eventually(() => messages(b.fx.hs, roomId, ghostId('alice')).find((m) => m.content.body === 'thanks @bobg'), 'mention');
    assert.deepEqual(e.content['m.mentions']?.user_ids, [bob.userId]);
  });

  it('leaves and joins the Gitter room as the puppeted user leaves and joins the Matrix room', async () => {
    assert.ok(b.gitter.members(room.id).includes(bobGitter.id), 'bobg joined by posting');
    const other = await b.fx.hs.registerUser('carl');
    await other.join(roomId);
    await bob.leave(roomId);
    await eventually(() => !b.gitter.members(room.id).includes(bobGitter.id), 'left on Gitter');
    await bob.join(roomId);
    await eventually(() => b.gitter.members(room.id).includes(bobGitter.id), 'joined on Gitter');
  });

  it('tells the user when Gitter stops accepting their token, and sends through the relay instead of dropping', async () => {
    b.gitter.revokeToken(bobGitter.token);
    const before = botMessages(b.fx.hs, bobAdmin.roomId).length;
    await bob.sendMessage(roomId, 'after revocation');
    await eventually(
      () => b.gitter.messagesBy(room.id, b.relay.id).some((m) => m.text === '**Bob**: after revocation'),
      'sent through the relay',
    );
    const notice = await eventually(
      () =>
        botMessages(b.fx.hs, bobAdmin.roomId)
          .slice(before)
          .find((m) => /refused your token/.test(m)),
      'notice',
    );
    assert.match(notice, /!settoken/);
    assert.equal(b.gitter.messagesBy(room.id, bobGitter.id).filter((m) => m.text === 'after revocation').length, 0);
    assert.equal(b.connector().puppets.accountOf(bob.userId), undefined);
    await bob.sendMessage(roomId, 'next one');
    await eventually(() => b.gitter.messagesBy(room.id, b.relay.id).some((m) => m.text === '**Bob**: next one'), 'relay from now on');
  });
});
