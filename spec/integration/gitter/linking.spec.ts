/**
 * Linking Matrix rooms to Gitter rooms: admin-room commands (`!link`, `!unlink`, `!list`) with
 * IRC's permission rule (bridge admins, or moderators of the room), the core's provisioning
 * routes (authenticated, power-level checked), one Gitter room linked to several Matrix rooms,
 * and portal rooms reached by alias (`#gitter_<uri>:domain`).
 */
import { strict as assert } from 'node:assert';
import type { GitterTestUser, TestUser } from '@causeway/testing';
import { adminRoom, BOT, eventually, ghostId, messages, startGitterBridge, type GitterBridge } from './support';

const SECRET = 'gitter-provisioning-secret-0123456789abcdef';

describe('gitter-bridge: linking rooms', function () {
  this.timeout(60_000);
  let b: GitterBridge;
  let alice: GitterTestUser;
  let bob: TestUser;
  let eve: TestUser;
  let admin: Awaited<ReturnType<typeof adminRoom>>;
  let bobAdmin: Awaited<ReturnType<typeof adminRoom>>;
  let eveAdmin: Awaited<ReturnType<typeof adminRoom>>;
  let chat: { id: string };
  let dev: { id: string };

  const provision = async (method: string, path: string, user: string, body?: unknown, token: string | null = SECRET) => {
    const sep = path.includes('?') ? '&' : '?';
    const res = await fetch(`${b.fx.asUrl}/_matrix/provision${path}${sep}user_id=${encodeURIComponent(user)}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
  };
  const streamsOf = (roomId: string) => b.gitter.streams.count({ roomId, token: b.relay.token });

  before(async () => {
    b = await startGitterBridge({
      core: {
        provisioning: { enabled: true, secret: SECRET, rate_limit: { enabled: true, per_user_per_minute: 1000, per_ip_per_minute: 1000 } },
      },
    });
    alice = b.gitter.createUser('alice', { displayName: 'Alice' });
    chat = b.gitter.createRoom({ uri: 'acme/chat', members: [alice.id] });
    dev = b.gitter.createRoom({ uri: 'acme/dev', members: [alice.id] });
    b.gitter.createRoom({ uri: 'acme/secret', security: 'PRIVATE', members: [alice.id] });
    bob = await b.fx.hs.registerUser('bob', { displayname: 'Bob' });
    eve = await b.fx.hs.registerUser('eve', { displayname: 'Eve' });
    admin = await adminRoom(b.fx.hs, await b.fx.hs.registerUser('admin'));
    bobAdmin = await adminRoom(b.fx.hs, bob);
    eveAdmin = await adminRoom(b.fx.hs, eve);
  });
  after(async () => {
    await b?.stop();
  });

  it('lets a room moderator link with !link, refuses others, and bridges both ways once linked', async () => {
    const roomId = await bob.createRoom({ preset: 'public_chat', invite: [BOT] });
    await eve.join(roomId);
    assert.match(
      await eveAdmin.command(`!link ${roomId} acme/chat`),
      /Only a bridge admin or a moderator of .* \(power level 100; you have 0\) may link it/,
    );
    assert.equal(await b.fx.bridge.portals.getByRoom(roomId), undefined);
    assert.match(await bobAdmin.command(`!link ${roomId} acme/chat`), /^Linked .* ↔ acme\/chat \([0-9a-f]{24}\)\.$/);
    await eventually(() => streamsOf(chat.id) === 1 && b.connector().streams.live(chat.id), 'stream open');
    await alice.post(chat.id, 'linked!');
    await eventually(() => messages(b.fx.hs, roomId, ghostId('alice')).some((e) => e.content.body === 'linked!'), 'Gitter → Matrix');
    await bob.sendMessage(roomId, 'hello Gitter');
    await eventually(() => b.gitter.messagesBy(chat.id, b.relay.id).some((m) => m.text === '**Bob**: hello Gitter'), 'Matrix → Gitter');
  });

  it('names a Gitter room the relay cannot join, and links nothing', async () => {
    const roomId = await bob.createRoom({ preset: 'public_chat', invite: [BOT] });
    assert.match(await bobAdmin.command(`!link ${roomId} acme/nope`), /cannot join acme\/nope: there is no such room/);
    assert.match(await bobAdmin.command(`!link ${roomId} acme/secret`), /cannot join acme\/secret/);
    assert.match(await bobAdmin.command(`!link ${roomId} not a uri`), /Usage|Too many|not a Gitter room/i);
    assert.equal(await b.fx.bridge.portals.getByRoom(roomId), undefined);
  });

  it('links one Gitter room to several Matrix rooms: each gets its messages, over one stream', async () => {
    const first = await bob.createRoom({ preset: 'public_chat', invite: [BOT] });
    const second = await bob.createRoom({ preset: 'public_chat', invite: [BOT] });
    assert.match(await admin.command(`!link ${first} acme/dev`), /^Linked/);
    assert.match(await admin.command(`!link ${second} ${dev.id}`), /^Linked .* ↔ acme\/dev/);
    await eventually(() => b.connector().streams.live(dev.id), 'stream live');
    assert.equal(streamsOf(dev.id), 1);
    await alice.post(dev.id, 'to both');
    for (const r of [first, second])
      await eventually(() => messages(b.fx.hs, r, ghostId('alice')).some((e) => e.content.body === 'to both'), `message in ${r}`);
    assert.match(
      await admin.command('!list'),
      new RegExp(`${first.replace(/[!]/g, '\\!')} ↔ acme/dev[\\s\\S]*${second.replace(/[!]/g, '\\!')} ↔ acme/dev`),
    );
    assert.match(await eveAdmin.command('!list'), /only bridge admins may list every link/);
    assert.match(await bobAdmin.command(`!list ${first}`), /^Linked: .* ↔ acme\/dev/);

    // Unlinking one keeps the stream for the other; unlinking the last closes it.
    assert.match(await eveAdmin.command(`!unlink ${first}`), /Only a bridge admin or a moderator/);
    assert.match(await bobAdmin.command(`!unlink ${first}`), /^Unlinked/);
    await alice.post(dev.id, 'only second');
    await eventually(
      () => messages(b.fx.hs, second, ghostId('alice')).some((e) => e.content.body === 'only second'),
      'still bridged to second',
    );
    assert.equal(
      messages(b.fx.hs, first, ghostId('alice')).some((e) => e.content.body === 'only second'),
      false,
    );
    assert.match(await admin.command(`!unlink ${second}`), /^Unlinked/);
    await eventually(() => streamsOf(dev.id) === 0, 'stream closed');
  });

  it("links and unlinks through the provisioning API with the core's auth and power check", async () => {
    const roomId = await bob.createRoom({ preset: 'public_chat', invite: [BOT] });
    await eve.join(roomId);
    assert.equal((await provision('POST', '/v1/link', bob.userId, { room_id: roomId, gitter_room: 'acme/dev' }, 'wrong')).status, 403);
    const weak = await provision('POST', '/v1/link', eve.userId, { room_id: roomId, gitter_room: 'acme/dev' });
    assert.equal(weak.status, 403);
    assert.equal((await provision('POST', '/v1/link', bob.userId, { room_id: roomId })).status, 400);
    const missing = await provision('POST', '/v1/link', bob.userId, { room_id: roomId, gitter_room: 'acme/nope' });
    assert.equal(missing.status, 400);
    assert.match(String(missing.body?.error), /no such room/);

    const ok = await provision('POST', '/v1/link', bob.userId, { room_id: roomId, gitter_room: 'acme/dev' });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body?.gitter_room_id, dev.id);
    const listed = await provision('GET', `/v1/links/${encodeURIComponent(roomId)}`, eve.userId);
    assert.deepEqual(listed.body, { links: [{ gitter_room_id: dev.id, gitter_room: 'acme/dev', kind: 'plumbed' }] });
    await eventually(() => b.connector().streams.live(dev.id), 'stream live');
    await alice.post(dev.id, 'provisioned');
    await eventually(() => messages(b.fx.hs, roomId, ghostId('alice')).some((e) => e.content.body === 'provisioned'), 'bridged');

    assert.equal((await provision('POST', '/v1/unlink', eve.userId, { room_id: roomId })).status, 403);
    assert.equal((await provision('POST', '/v1/unlink', bob.userId, { room_id: roomId })).status, 200);
    assert.equal(await b.fx.bridge.portals.getByRoom(roomId), undefined);
  });

  it("creates a portal room for #gitter_<uri>:domain, escaped as the core's alias template does", async () => {
    const roomId = await bob.join('#gitter_acme/chat:localhost');
    const portal = await b.fx.bridge.portals.getByRoom(roomId);
    assert.equal(portal?.kind, 'portal');
    assert.equal(portal?.key.id, chat.id);
    await alice.post(chat.id, 'to the portal');
    await eventually(
      () => messages(b.fx.hs, roomId, ghostId('alice')).some((e) => e.content.body === 'to the portal'),
      'bridged to the portal',
    );
    await assert.rejects(bob.join('#gitter_acme/nope:localhost'));
  });
});
