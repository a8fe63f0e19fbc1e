// Intent / IntentFactory against the homeserver emulator: request counts prove
// the caches (one register, one join, then one request per message), fault
// injection proves retries without duplicates.
import { strict as assert } from 'node:assert';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NedbStore } from '../../src/store/nedb';
import { HomeserverEmulator } from '@causeway/testing';
import { MatrixHttpClient, MatrixTokenError } from '../../src/matrix/http-client';
import { IntentFactory } from '../../src/matrix/intent-factory';
import { MatrixError } from '../../src/util/matrix-error';
import { MemoryIntentRepository, FAST_BACKOFF, SILENT, startStub } from './helpers';

const SERVER = 'localhost';
const AS_TOKEN = 'as_token_for_intent_specs';
const BOT = `@_cw_bot:${SERVER}`;
const REGISTRATION = {
  id: 'causeway-test',
  url: null,
  as_token: AS_TOKEN,
  hs_token: 'hs_token_for_intent_specs',
  sender_localpart: '_cw_bot',
  rate_limited: false,
  namespaces: {
    users: [{ exclusive: true, regex: `@_cw_.*:${SERVER}` }],
    aliases: [{ exclusive: true, regex: `#_cw_.*:${SERVER}` }],
    rooms: [],
  },
};

const K = {
  register: 'POST /register',
  join: 'POST /join/{roomIdOrAlias}',
  send: 'PUT /rooms/{roomId}/send/{eventType}/{txnId}',
  invite: 'POST /rooms/{roomId}/invite',
  // The emulator keys every profile field on one route.
  displayname: 'PUT /profile/{userId}/{keyName}',
  whoami: 'GET /account/whoami',
};

describe('matrix/Intent (emulator)', function () {
  this.timeout(30_000);
  let hs: HomeserverEmulator;
  let clients: MatrixHttpClient[] = [];
  let repo: MemoryIntentRepository;

  function newFactory(opts: { maxIntents?: number; timeoutMs?: number } = {}) {
    const client = new MatrixHttpClient({
      baseUrl: hs.url,
      asToken: AS_TOKEN,
      backoff: FAST_BACKOFF,
      connections: 8,
      timeoutMs: opts.timeoutMs,
    });
    clients.push(client);
    return new IntentFactory({ client, botUserId: BOT, store: repo, isBridgeUser: (u) => u.startsWith('@_cw_'), ...opts });
  }

  const counts = () => ({
    register: hs.requestCount(K.register),
    join: hs.requestCount(K.join),
    send: hs.requestCount(K.send),
    invite: hs.requestCount(K.invite),
  });
  const delta = (before: ReturnType<typeof counts>) => {
    const now = counts();
    return {
      register: now.register - before.register,
      join: now.join - before.join,
      send: now.send - before.send,
      invite: now.invite - before.invite,
    };
  };

  async function roomBodies(factory: IntentFactory, roomId: string): Promise<string[]> {
    const res = await factory.client.request<{ chunk: Array<{ type: string; content: { body?: string } }> }>(
      'GET',
      `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/messages`,
      { query: { dir: 'b', limit: 1000 } },
    );
    return res.chunk
      .filter((e) => e.type === 'm.room.message')
      .map((e) => e.content.body ?? '')
      .reverse();
  }

  beforeEach(async () => {
    hs = await HomeserverEmulator.start({ serverName: SERVER, registrations: [REGISTRATION] });
    repo = new MemoryIntentRepository();
  });
  afterEach(async () => {
    await Promise.all(clients.map((c) => c.close()));
    clients = [];
    await hs.stop();
  });

  it('registers and joins a ghost once across 100 messages (one request per message after that)', async () => {
    const f = newFactory();
    const roomId = await f.bot.createRoom({ preset: 'public_chat' });
    const before = counts();
    const ghost = f.ghost(`@_cw_alice:${SERVER}`);
    for (let i = 0; i < 100; i++) await ghost.sendMessage(roomId, { msgtype: 'm.text', body: `m${i}` });
    assert.deepEqual(delta(before), { register: 1, join: 1, send: 100, invite: 0 });
    assert.equal(hs.requestCount(K.whoami), 0);
    const bodies = await roomBodies(f, roomId);
    assert.equal(bodies.length, 100);
    assert.equal(bodies[99], 'm99');
  });

  it('8 concurrent senders for a new ghost cause one register and one join', async () => {
    const f = newFactory();
    const roomId = await f.bot.createRoom({ preset: 'public_chat' });
    const before = counts();
    const userId = `@_cw_bob:${SERVER}`;
    await Promise.all(Array.from({ length: 8 }, (_, i) => f.ghost(userId).sendMessage(roomId, { msgtype: 'm.text', body: `c${i}` })));
    assert.deepEqual(delta(before), { register: 1, join: 1, send: 8, invite: 0 });
  });

  it('survives a 429 with retry_after_ms without duplicating the message', async () => {
    const f = newFactory();
    const roomId = await f.bot.createRoom({ preset: 'public_chat' });
    const ghost = f.ghost(`@_cw_carol:${SERVER}`);
    await ghost.ensureJoined(roomId);
    hs.faults.rateLimit(K.send, { retryAfterMs: 100, omitHeader: true, times: 2 });
    const before = counts();
    const eventId = await ghost.sendMessage(roomId, { msgtype: 'm.text', body: 'once' }, { txnKey: 'remote:1' });
    assert.equal(delta(before).send, 3);
    // A retry after a restart with the same key gets the same event back, not a copy.
    const again = await newFactory().ghost(ghost.userId).sendMessage(roomId, { msgtype: 'm.text', body: 'once' }, { txnKey: 'remote:1' });
    assert.equal(again, eventId);
    assert.deepEqual(await roomBodies(f, roomId), ['once']);
  });

  it('retries a send whose answer was lost (client timeout) with the same txnId: one event', async () => {
    const f = newFactory({ timeoutMs: 150 });
    const roomId = await f.bot.createRoom({ preset: 'public_chat' });
    const ghost = f.ghost(`@_cw_lost:${SERVER}`);
    await ghost.ensureJoined(roomId);
    // The first attempt is held 400 ms and then processed anyway; the client gives up after 150 ms and retries.
    hs.faults.setLatency(400, K.send);
    setTimeout(() => hs.faults.setLatency(0, K.send), 50);
    const before = counts();
    const eventId = await ghost.sendMessage(roomId, { msgtype: 'm.text', body: 'exactly once' });
    assert.ok(delta(before).send >= 2);
    await new Promise((r) => setTimeout(r, 450));
    assert.deepEqual(await roomBodies(f, roomId), ['exactly once']);
    assert.equal(hs.roomTimeline(roomId).filter((e) => e.type === 'm.room.message')[0].event_id, eventId);
  });

  it('retries a 5xx on send and then succeeds, once', async () => {
    const f = newFactory();
    const roomId = await f.bot.createRoom({ preset: 'public_chat' });
    const ghost = f.ghost(`@_cw_dave:${SERVER}`);
    await ghost.ensureJoined(roomId);
    hs.faults.serverError(K.send, { status: 502, times: 2 });
    await ghost.sendMessage(roomId, { msgtype: 'm.text', body: 'after 5xx' });
    assert.deepEqual(await roomBodies(f, roomId), ['after 5xx']);
  });

  it('treats M_USER_IN_USE as success and remembers the registration', async () => {
    const f1 = newFactory();
    await f1.ghost(`@_cw_erin:${SERVER}`).ensureRegistered();
    repo.records.clear();
    const f2 = newFactory();
    const before = counts();
    await f2.ghost(`@_cw_erin:${SERVER}`).ensureRegistered();
    assert.equal(delta(before).register, 1);
    assert.equal(repo.records.get(`@_cw_erin:${SERVER}`)?.registered, true);
    await f2.ghost(`@_cw_erin:${SERVER}`).ensureRegistered();
    assert.equal(delta(before).register, 1);
  });

  it('a restart (new factory over the same store) does not re-register or re-join', async () => {
    const f1 = newFactory();
    const roomId = await f1.bot.createRoom({ preset: 'public_chat' });
    const userId = `@_cw_frank:${SERVER}`;
    await f1.ghost(userId).sendMessage(roomId, { msgtype: 'm.text', body: 'before' });
    await f1.ghost(userId).setDisplayName('Frank');
    const f2 = newFactory();
    const before = counts();
    const dn = hs.requestCount(K.displayname);
    await f2.ghost(userId).setDisplayName('Frank');
    await f2.ghost(userId).sendMessage(roomId, { msgtype: 'm.text', body: 'after' });
    await f2.bot.sendMessage(roomId, { msgtype: 'm.notice', body: 'bot after' });
    assert.deepEqual(delta(before), { register: 0, join: 0, send: 2, invite: 0 });
    assert.equal(hs.requestCount(K.displayname), dn);
  });

  it('a restart over the NeDB store does not re-register or re-join', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'cw-intent-'));
    try {
      const userId = `@_cw_nedb:${SERVER}`;
      let roomId: string;
      {
        const store = new NedbStore({ directory: dir });
        await store.init();
        const client = new MatrixHttpClient({ baseUrl: hs.url, asToken: AS_TOKEN, backoff: FAST_BACKOFF });
        clients.push(client);
        const f = new IntentFactory({ client, botUserId: BOT, store: store.intents });
        roomId = await f.bot.createRoom({ preset: 'public_chat' });
        await f.ghost(userId).sendMessage(roomId, { msgtype: 'm.text', body: 'first run' });
        await f.ghost(userId).setDisplayName('Nedb Ghost');
        await f.flush();
        await store.close();
      }
      const store = new NedbStore({ directory: dir });
      await store.init();
      try {
        const client = new MatrixHttpClient({ baseUrl: hs.url, asToken: AS_TOKEN, backoff: FAST_BACKOFF });
        clients.push(client);
        const f = new IntentFactory({ client, botUserId: BOT, store: store.intents });
        const before = counts();
        const dn = hs.requestCount(K.displayname);
        await f.ghost(userId).setDisplayName('Nedb Ghost');
        await f.ghost(userId).sendMessage(roomId, { msgtype: 'm.text', body: 'second run' });
        assert.deepEqual(delta(before), { register: 0, join: 0, send: 1, invite: 0 });
        assert.equal(hs.requestCount(K.displayname), dn);
      } finally {
        await store.close();
      }
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('an evicted ghost intent is rebuilt from the store without homeserver requests', async () => {
    const f = newFactory({ maxIntents: 2 });
    const roomId = await f.bot.createRoom({ preset: 'public_chat' });
    for (const n of ['g1', 'g2', 'g3']) await f.ghost(`@_cw_${n}:${SERVER}`).sendMessage(roomId, { msgtype: 'm.text', body: n });
    assert.equal(f.size, 2);
    const before = counts();
    await f.ghost(`@_cw_g1:${SERVER}`).sendMessage(roomId, { msgtype: 'm.text', body: 'g1 again' });
    assert.deepEqual(delta(before), { register: 0, join: 0, send: 1, invite: 0 });
  });

  it('has the bot invite a ghost into an invite-only room', async () => {
    const f = newFactory();
    const roomId = await f.bot.createRoom({ preset: 'private_chat' });
    const before = counts();
    await f.ghost(`@_cw_gina:${SERVER}`).sendMessage(roomId, { msgtype: 'm.text', body: 'hi' });
    assert.deepEqual(delta(before), { register: 1, join: 2, send: 1, invite: 1 });
  });

  it('8 concurrent senders into an invite-only room: one register, one invite, two joins', async () => {
    const f = newFactory();
    const roomId = await f.bot.createRoom({ preset: 'private_chat' });
    const before = counts();
    await Promise.all(
      Array.from({ length: 8 }, (_, i) => f.ghost(`@_cw_lou:${SERVER}`).sendMessage(roomId, { msgtype: 'm.text', body: `p${i}` })),
    );
    assert.deepEqual(delta(before), { register: 1, join: 2, send: 8, invite: 1 });
  });

  it('onMembershipEvent follows bridge users only and ignores knocks', async () => {
    const f = newFactory();
    await f.onMembershipEvent('!room:localhost', `@alice:${SERVER}`, 'join');
    await f.onMembershipEvent('!room:localhost', `@_cw_ned:${SERVER}`, 'knock');
    assert.equal(repo.memberships.size, 0);
    await f.onMembershipEvent('!room:localhost', `@_cw_ned:${SERVER}`, 'ban');
    await f.onMembershipEvent('!room:localhost', BOT, 'join');
    assert.equal(await repo.getMembership('!room:localhost', `@_cw_ned:${SERVER}`), 'ban');
    assert.equal(await f.ghost(`@_cw_ned:${SERVER}`).cachedMembership('!room:localhost'), 'ban');
    assert.equal(await f.bot.cachedMembership('!room:localhost'), 'join');
    await f.forgetRoom('!room:localhost');
    assert.equal(await f.bot.cachedMembership('!room:localhost'), undefined);
    assert.equal(repo.memberships.size, 0);
  });

  it('re-joins a kicked ghost: via the membership event, or via the "not in room" error', async () => {
    const f = newFactory();
    const roomId = await f.bot.createRoom({ preset: 'public_chat' });
    const ghost = f.ghost(`@_cw_hank:${SERVER}`);
    await ghost.sendMessage(roomId, { msgtype: 'm.text', body: '1' });

    // Kick behind the factory's back (as a Matrix user would), then tell it via the router hook.
    await f.client.request('POST', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/kick`, { body: { user_id: ghost.userId } });
    await f.onMembershipEvent(roomId, ghost.userId, 'leave');
    assert.equal(await repo.getMembership(roomId, ghost.userId), 'leave');
    let before = counts();
    await ghost.sendMessage(roomId, { msgtype: 'm.text', body: '2' });
    assert.deepEqual(delta(before), { register: 0, join: 1, send: 1, invite: 0 });

    // Kick again without telling: the send fails with "not in room", the intent re-joins and resends once.
    await f.client.request('POST', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/kick`, { body: { user_id: ghost.userId } });
    before = counts();
    await ghost.sendMessage(roomId, { msgtype: 'm.text', body: '3' });
    assert.deepEqual(delta(before), { register: 0, join: 1, send: 2, invite: 0 });
    assert.deepEqual(await roomBodies(f, roomId), ['1', '2', '3']);
  });

  it('sets the display name only when it changes', async () => {
    const f = newFactory();
    const ghost = f.ghost(`@_cw_ivy:${SERVER}`);
    const dn0 = hs.requestCount(K.displayname);
    await ghost.setDisplayName('Ivy');
    await ghost.setDisplayName('Ivy');
    assert.equal(hs.requestCount(K.displayname) - dn0, 1);
    await ghost.setDisplayName('Ivy (remote)');
    assert.equal(hs.requestCount(K.displayname) - dn0, 2);
    assert.equal((await ghost.getProfile()).displayname, 'Ivy (remote)');
    assert.equal(repo.records.get(ghost.userId)?.displayName, 'Ivy (remote)');
  });

  it('asserts identity with user_id for ghosts and not for the bot', async () => {
    const f = newFactory();
    assert.equal((await f.bot.whoami()).user_id, BOT);
    const ghost = f.ghost(`@_cw_jay:${SERVER}`);
    await ghost.ensureRegistered();
    assert.equal((await ghost.whoami()).user_id, ghost.userId);
  });

  it('covers state, redaction, aliases, members and joined rooms', async () => {
    const f = newFactory();
    const roomId = await f.bot.createRoom({ preset: 'public_chat', name: 'Portal' });
    const ghost = f.ghost(`@_cw_kim:${SERVER}`);
    const ev = await ghost.sendMessage(roomId, { msgtype: 'm.text', body: 'oops' });
    const red1 = await ghost.redact(roomId, ev, 'typo', { txnKey: 'redact:1' });
    const red2 = await ghost.redact(roomId, ev, 'typo', { txnKey: 'redact:1' });
    assert.equal(red1, red2);
    await f.bot.sendState(roomId, 'm.room.topic', '', { topic: 'hello' });
    assert.deepEqual(await f.bot.getStateEvent(roomId, 'm.room.topic'), { topic: 'hello' });
    assert.equal(await f.bot.getStateEvent(roomId, 'm.room.nope'), undefined);
    assert.ok((await f.bot.getRoomState(roomId)).some((e) => e.type === 'm.room.name'));
    assert.deepEqual(Object.keys(await f.bot.getJoinedMembers(roomId)).sort(), [BOT, ghost.userId].sort());
    assert.deepEqual(await ghost.getJoinedRooms(), [roomId]);
    await f.bot.createAlias(`#_cw_portal:${SERVER}`, roomId);
    assert.equal((await f.bot.resolveAlias(`#_cw_portal:${SERVER}`))?.roomId, roomId);
    assert.equal(await f.bot.resolveAlias(`#_cw_none:${SERVER}`), undefined);
    await f.bot.setDirectoryVisibility(roomId, 'public');
    const dir = await f.client.request<{ visibility: string }>(
      'GET',
      `/_matrix/client/v3/directory/list/room/${encodeURIComponent(roomId)}`,
    );
    assert.equal(dir.visibility, 'public');
    await ghost.setTyping(roomId, true);
    await ghost.sendReadReceipt(roomId, ev);
    await ghost.leave(roomId);
    assert.equal(await repo.getMembership(roomId, ghost.userId), 'leave');
  });

  it('a wrong as_token is a fatal MatrixTokenError', async () => {
    const client = new MatrixHttpClient({ baseUrl: hs.url, asToken: 'not_the_right_token', backoff: FAST_BACKOFF, logger: SILENT });
    clients.push(client);
    const f = new IntentFactory({ client, botUserId: BOT, store: repo });
    await assert.rejects(
      f.ghost(`@_cw_x:${SERVER}`).ensureRegistered(),
      (e: unknown) => e instanceof MatrixTokenError && e.errcode === 'M_UNKNOWN_TOKEN',
    );
    assert.equal(hs.requestCount(K.register), 1);
  });

  it('pings the appservice through the homeserver', async () => {
    const as = await startStub(() => ({ status: 200, json: {} }));
    try {
      hs.addRegistration({
        ...REGISTRATION,
        id: 'pingable',
        url: as.url,
        as_token: 'as_token_pingable',
        hs_token: 'hs_token_pingable',
        sender_localpart: '_pg_bot',
        namespaces: { users: [{ exclusive: true, regex: `@_pg_.*:${SERVER}` }] },
      });
      const client = new MatrixHttpClient({ baseUrl: hs.url, asToken: 'as_token_pingable', backoff: FAST_BACKOFF });
      clients.push(client);
      const f = new IntentFactory({ client, botUserId: `@_pg_bot:${SERVER}`, store: repo });
      const res = await f.bot.ping('pingable', 'txn-1');
      assert.equal(typeof res.duration_ms, 'number');
      const seen = as.requests.find((r) => r.url.pathname === '/_matrix/app/v1/ping');
      assert.ok(seen);
      assert.deepEqual(JSON.parse(seen.body.toString()), { transaction_id: 'txn-1' });
    } finally {
      await as.close();
    }
  });

  it('ping without an AS URL surfaces M_URL_NOT_SET', async () => {
    const f = newFactory();
    await assert.rejects(f.bot.ping(REGISTRATION.id), (e: unknown) => e instanceof MatrixError && e.errcode === 'M_URL_NOT_SET');
  });
});
