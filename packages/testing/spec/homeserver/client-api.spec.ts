import { strict as assert } from 'node:assert';
import { HomeserverEmulator, TestUser, asObject, asObjects, asString, at } from '../../src/homeserver/index';
import type { JsonObject, RegistrationLike } from '../../src/homeserver/index';
import { FakeAppservice, call, registration } from './fake-appservice.spec-helper';

const AS = 'as_slack';

describe('homeserver emulator: client-server API', () => {
  let hs: HomeserverEmulator;
  let fake: FakeAppservice;
  let alice: TestUser;
  let bob: TestUser;

  const register = (username: string, token = AS) =>
    call(hs.url, 'POST', '/register', { token, body: { type: 'm.login.application_service', username, inhibit_login: true } });

  beforeEach(async () => {
    fake = await FakeAppservice.start();
    hs = await HomeserverEmulator.start({
      registrations: [registration('slack', fake.url), registration('gitter', null)],
    });
    alice = await hs.registerUser('alice', { displayname: 'Alice' });
    bob = await hs.registerUser('bob');
  });
  afterEach(async () => {
    await hs.stop();
    await fake.stop();
  });

  describe('registration file', () => {
    it('rejects missing keys, bad regexes and duplicate id/as_token', () => {
      // registration files are YAML a person wrote: the emulator must reject ones the type would not allow
      const noHsToken: unknown = { ...registration('x', null), hs_token: undefined };
      assert.throws(() => hs.addRegistration(noHsToken as RegistrationLike), /hs_token/);
      assert.throws(
        () => hs.addRegistration({ ...registration('y', null), namespaces: { users: [{ exclusive: true, regex: '(' }] } }),
        /invalid regex/,
      );
      const noExclusive: unknown = { ...registration('z', null), namespaces: { users: [{ regex: '@a' }] } };
      assert.throws(() => hs.addRegistration(noExclusive as RegistrationLike), /exclusive/);
      assert.throws(() => hs.addRegistration(registration('slack', null)), /duplicate/);
      assert.throws(() => hs.addRegistration({ ...registration('w', null), as_token: AS }), /as_token/);
      const { url: _u, ...noUrl } = registration('v', null);
      assert.throws(() => hs.addRegistration(noUrl as RegistrationLike), /url/);
    });
  });

  describe('auth and namespaces', () => {
    it('missing token → 401 M_MISSING_TOKEN, bad token → 401 M_UNKNOWN_TOKEN', async () => {
      let r: { status: number; body: JsonObject } = await call(hs.url, 'GET', '/account/whoami');
      assert.equal(r.status, 401);
      assert.equal(r.body.errcode, 'M_MISSING_TOKEN');
      r = await call(hs.url, 'GET', '/account/whoami', { token: 'nope' });
      assert.equal(r.status, 401);
      assert.equal(r.body.errcode, 'M_UNKNOWN_TOKEN');
      r = await call(hs.url, 'GET', '/account/whoami', { query: { access_token: AS } });
      assert.deepEqual(r.body, { user_id: '@_slack_bot:localhost', is_guest: false });
    });

    it('registers ghosts inside the namespace only, with Synapse errcodes', async () => {
      assert.equal((await register('_slack_u1')).body.user_id, '@_slack_u1:localhost');
      assert.equal((await register('_slack_u1')).body.errcode, 'M_USER_IN_USE');
      const outside = await register('random');
      assert.equal(outside.status, 400);
      assert.equal(outside.body.errcode, 'M_EXCLUSIVE');
      assert.equal((await register('_gitter_u1')).body.errcode, 'M_EXCLUSIVE');
      assert.equal((await register('_slack_U1')).body.errcode, 'M_INVALID_USERNAME');
      assert.equal((await register('_slack_bad name')).body.errcode, 'M_INVALID_USERNAME');
      assert.equal((await register('_slack_x', 'bogus')).body.errcode, 'M_UNKNOWN_TOKEN');
      const noTok = await call(hs.url, 'POST', '/register', { body: { type: 'm.login.application_service', username: '_slack_q' } });
      assert.equal(noTok.body.errcode, 'M_MISSING_TOKEN');
    });

    it('ordinary users cannot register inside an exclusive namespace', async () => {
      const uia = await call(hs.url, 'POST', '/register', { body: { username: 'carol', password: 'p' } });
      assert.equal(uia.status, 401);
      assert.ok(uia.body.flows);
      const ok = await call(hs.url, 'POST', '/register', { body: { username: 'carol', password: 'p', auth: { type: 'm.login.dummy' } } });
      assert.equal(ok.status, 200);
      assert.ok(ok.body.access_token);
      const r = await call(hs.url, 'POST', '/register', { body: { username: '_slack_evil', auth: { type: 'm.login.dummy' } } });
      assert.equal(r.body.errcode, 'M_EXCLUSIVE');
      await assert.rejects(hs.registerUser('_gitter_x'), /exclusive/);
    });

    it('identity assertion: user_id must be namespaced and registered', async () => {
      let r: { status: number; body: JsonObject } = await call(hs.url, 'GET', '/account/whoami', {
        token: AS,
        query: { user_id: '@_slack_u2:localhost' },
      });
      assert.equal(r.status, 403);
      assert.equal(r.body.errcode, 'M_FORBIDDEN');
      await register('_slack_u2');
      r = await call(hs.url, 'GET', '/account/whoami', { token: AS, query: { user_id: '@_slack_u2:localhost' } });
      assert.equal(r.body.user_id, '@_slack_u2:localhost');
      r = await call(hs.url, 'GET', '/account/whoami', { token: AS, query: { user_id: '@alice:localhost' } });
      assert.equal(r.status, 403);
      r = await call(hs.url, 'GET', '/account/whoami', { token: AS, query: { user_id: '@_slack_u2:localhost', device_id: 'NOPE' } });
      assert.equal(r.body.errcode, 'M_UNKNOWN_DEVICE');
      // appservice login creates a device the AS may then assert
      const login = await call(hs.url, 'POST', '/login', {
        token: AS,
        body: { type: 'm.login.application_service', identifier: { type: 'm.id.user', user: '_slack_u2' }, device_id: 'DEV1' },
      });
      assert.equal(login.status, 200);
      assert.equal(login.body.device_id, 'DEV1');
      r = await call(hs.url, 'GET', '/account/whoami', { token: AS, query: { user_id: '@_slack_u2:localhost', device_id: 'DEV1' } });
      assert.deepEqual(r.body, { user_id: '@_slack_u2:localhost', is_guest: false, device_id: 'DEV1' });
      // registration authenticates the AS itself; a stray user_id does not matter
      r = await call(hs.url, 'POST', '/register', {
        token: AS,
        query: { user_id: '@_slack_u3:localhost' },
        body: { type: 'm.login.application_service', username: '_slack_u3', inhibit_login: true },
      });
      assert.equal(r.body.user_id, '@_slack_u3:localhost');
    });

    it('errors: unknown path 404 M_UNRECOGNIZED, wrong method 405, bad JSON 400 M_NOT_JSON', async () => {
      let r: { status: number; body: JsonObject } = await call(hs.url, 'GET', '/no/such/thing', { token: AS });
      assert.equal(r.status, 404);
      assert.equal(r.body.errcode, 'M_UNRECOGNIZED');
      r = await call(hs.url, 'DELETE', '/createRoom', { token: AS });
      assert.equal(r.status, 405);
      assert.equal(r.body.errcode, 'M_UNRECOGNIZED');
      r = await call(hs.url, 'POST', '/createRoom', { token: AS, body: '{not json' });
      assert.equal(r.status, 400);
      assert.equal(r.body.errcode, 'M_NOT_JSON');
      r = await call(hs.url, 'POST', '/createRoom', { token: AS, body: '[1]' });
      assert.equal(r.body.errcode, 'M_BAD_JSON');
      r = await call(hs.url, 'GET', '/account/whoami', { token: AS });
      assert.equal(r.status, 200);
      r = await call(hs.url, 'GET', '/_matrix/client/r0/account/whoami', { token: AS });
      assert.equal(r.status, 200, 'r0 prefix accepted');
    });
  });

  describe('rooms', () => {
    it('createRoom emits the real initial events in order', async () => {
      const roomId = await alice.createRoom({
        name: 'N',
        topic: 'T',
        room_alias_name: 'lobby',
        preset: 'public_chat',
        invite: ['@bob:localhost'],
        initial_state: [{ type: 'm.room.avatar', content: { url: 'mxc://x/y' } }],
      });
      const types = hs.roomTimeline(roomId).map((e) => `${e.type}|${e.state_key ?? ''}`);
      assert.deepEqual(types, [
        'm.room.create|',
        'm.room.member|@alice:localhost',
        'm.room.power_levels|',
        'm.room.canonical_alias|',
        'm.room.join_rules|',
        'm.room.history_visibility|',
        'm.room.avatar|',
        'm.room.name|',
        'm.room.topic|',
        'm.room.member|@bob:localhost',
      ]);
      const tl = hs.roomTimeline(roomId);
      assert.match(tl[0].event_id, /^\$[A-Za-z0-9_-]{43}$/);
      assert.equal(tl[0].content.room_version, '10');
      assert.equal(tl[1].content.displayname, 'Alice');
      assert.equal(hs.resolveAlias('#lobby:localhost'), roomId);
      assert.equal(hs.membership(roomId, '@bob:localhost'), 'invite');
      const dup = await alice.request('POST', '/createRoom', { room_alias_name: 'lobby' });
      assert.equal(dup.body.errcode, 'M_ROOM_IN_USE');
      const excl = await alice.request('POST', '/createRoom', { room_alias_name: '_slack_mine' });
      assert.equal(excl.body.errcode, 'M_EXCLUSIVE');
      const ver = await alice.request('POST', '/createRoom', { room_version: '99' });
      assert.equal(ver.body.errcode, 'M_UNSUPPORTED_ROOM_VERSION');
    });

    it('presets, is_direct, power_level_content_override', async () => {
      const dm = await alice.createRoom({ preset: 'trusted_private_chat', is_direct: true, invite: [bob.userId] });
      assert.equal(hs.stateEvent(dm, 'm.room.join_rules')!.content.join_rule, 'invite');
      assert.equal(hs.stateEvent(dm, 'm.room.power_levels')!.content.users?.[bob.userId], 100);
      assert.equal(hs.stateEvent(dm, 'm.room.member', bob.userId)!.content.is_direct, true);
      assert.equal(hs.stateEvent(dm, 'm.room.guest_access')!.content.guest_access, 'can_join');
      const pub = await alice.createRoom({
        visibility: 'public',
        name: 'Pub',
        power_level_content_override: { users: { [alice.userId]: 50 }, invite: 0 },
      });
      assert.equal(hs.stateEvent(pub, 'm.room.join_rules')!.content.join_rule, 'public');
      const pl = hs.stateEvent(pub, 'm.room.power_levels')!.content;
      assert.deepEqual(pl.users, { [alice.userId]: 50 });
      assert.equal(pl.invite, 0);
      assert.equal(hs.stateEvent(pub, 'm.room.name')!.content.name, 'Pub');
      const list = await bob.request('GET', '/publicRooms');
      assert.ok(asObjects(list.body.chunk, 'chunk').some((r) => r.room_id === pub && r.name === 'Pub'));
    });

    it('membership rules: invite-only join, bans, kick/ban power levels', async () => {
      const roomId = await alice.createRoom({ preset: 'private_chat' });
      let r: { status: number; body: JsonObject } = await bob.request('POST', `/join/${encodeURIComponent(roomId)}`, {});
      assert.equal(r.status, 403);
      assert.equal(r.body.errcode, 'M_FORBIDDEN');
      // bob cannot invite while not joined
      r = await bob.request('POST', `/rooms/${encodeURIComponent(roomId)}/invite`, { user_id: '@alice:localhost' });
      assert.equal(r.status, 403);
      await alice.invite(roomId, bob.userId);
      await alice.invite(roomId, bob.userId); // idempotent
      await bob.join(roomId);
      assert.equal(hs.membership(roomId, bob.userId), 'join');
      // default invite level is 50: bob (0) may not invite
      const carol = await hs.registerUser('carol');
      r = await bob.request('POST', `/rooms/${encodeURIComponent(roomId)}/invite`, { user_id: carol.userId });
      assert.equal(r.status, 403);
      // bob (0) cannot kick alice (100)
      r = await bob.request('POST', `/rooms/${encodeURIComponent(roomId)}/kick`, { user_id: alice.userId });
      assert.equal(r.status, 403);
      await alice.ban(roomId, bob.userId, 'spam');
      assert.equal(hs.membership(roomId, bob.userId), 'ban');
      r = await bob.request('POST', `/rooms/${encodeURIComponent(roomId)}/join`, {});
      assert.equal(r.status, 403);
      assert.match(asString(r.body.error, 'error'), /banned/);
      await alice.unban(roomId, bob.userId);
      assert.equal(hs.membership(roomId, bob.userId), 'leave');
      // left users keep read access to state as of their leave only
      await alice.sendState(roomId, 'm.room.topic', '', { topic: 'after' });
      const st = await bob.request('GET', `/rooms/${encodeURIComponent(roomId)}/state`);
      assert.equal(st.status, 200);
      assert.ok(!asObjects(st.json, 'state').some((e) => e.type === 'm.room.topic'));
      r = await carol.request('GET', `/rooms/${encodeURIComponent(roomId)}/state`);
      assert.equal(r.status, 403);
    });

    it('power levels gate state and messages; nobody grants above their own level', async () => {
      const roomId = await alice.createRoom({ preset: 'public_chat' });
      await bob.join(roomId);
      let r: { status: number; body: JsonObject } = await bob.request('PUT', `/rooms/${encodeURIComponent(roomId)}/state/m.room.name`, {
        name: 'x',
      });
      assert.equal(r.status, 403);
      await alice.sendState(roomId, 'm.room.power_levels', '', {
        ...hs.stateEvent(roomId, 'm.room.power_levels')!.content,
        users: { [alice.userId]: 100, [bob.userId]: 50 },
      });
      r = await bob.request('PUT', `/rooms/${encodeURIComponent(roomId)}/state/m.room.name/`, { name: 'x' });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const pl = hs.stateEvent(roomId, 'm.room.power_levels')!.content;
      r = await bob.request('PUT', `/rooms/${encodeURIComponent(roomId)}/state/m.room.power_levels/`, {
        ...pl,
        users: { ...pl.users, [bob.userId]: 100 },
      });
      assert.equal(r.status, 403);
      await alice.sendState(roomId, 'm.room.power_levels', '', { ...pl, events_default: 10 });
      r = await (await hs.registerUser('dave')).request('POST', `/join/${encodeURIComponent(roomId)}`, {});
      assert.equal(r.status, 200);
      const dave = r;
      void dave;
    });

    it('send is idempotent per user+txnId; ?ts= works for appservices only', async () => {
      await register('_slack_u1');
      const roomId = await alice.createRoom({ preset: 'public_chat' });
      const q = { user_id: '@_slack_u1:localhost' };
      assert.equal((await call(hs.url, 'POST', `/join/${encodeURIComponent(roomId)}`, { token: AS, query: q, body: {} })).status, 200);
      const path = `/rooms/${encodeURIComponent(roomId)}/send/m.room.message/txn1`;
      const a = await call(hs.url, 'PUT', path, { token: AS, query: { ...q, ts: '1234' }, body: { msgtype: 'm.text', body: 'hi' } });
      const b = await call(hs.url, 'PUT', path, { token: AS, query: { ...q, ts: '1234' }, body: { msgtype: 'm.text', body: 'hi' } });
      assert.equal(a.status, 200);
      assert.equal(a.body.event_id, b.body.event_id);
      const msgs = hs.roomTimeline(roomId).filter((e) => e.type === 'm.room.message');
      assert.equal(msgs.length, 1);
      assert.equal(msgs[0].origin_server_ts, 1234);
      // same txnId from another user is a different transaction
      await bob.join(roomId);
      const c = await bob.request('PUT', path, { msgtype: 'm.text', body: 'hi' });
      assert.notEqual(c.body.event_id, a.body.event_id);
      const d = await bob.request('PUT', `${path}?ts=5`, { msgtype: 'm.text', body: 'x' });
      assert.equal(d.body.event_id, c.body.event_id);
      // not joined → 403; empty body → M_NOT_JSON
      const carol = await hs.registerUser('carol');
      assert.equal((await carol.request('PUT', path, { body: 'x' })).status, 403);
      const empty = await call(hs.url, 'PUT', `/rooms/${encodeURIComponent(roomId)}/send/m.room.message/t2`, { token: AS, query: q });
      assert.equal(empty.body.errcode, 'M_NOT_JSON');
    });

    it('state read/write, format=event, members filters, joined_members, joined_rooms', async () => {
      const roomId = await alice.createRoom({ preset: 'public_chat', name: 'Room' });
      await bob.join(roomId);
      const id1 = await alice.sendState(roomId, 'org.example', 'k', { a: 1 });
      const id2 = await alice.sendState(roomId, 'org.example', 'k', { a: 1 });
      assert.equal(id1, id2, 'identical state is de-duplicated');
      assert.deepEqual(await bob.getState(roomId, 'org.example', 'k'), { a: 1 });
      const ev = await bob.request('GET', `/rooms/${encodeURIComponent(roomId)}/state/m.room.name/?format=event`);
      assert.equal(at(ev.body, 'content', 'name'), 'Room');
      assert.equal(typeof at(ev.body, 'unsigned', 'age'), 'number');
      assert.equal((await bob.request('GET', `/rooms/${encodeURIComponent(roomId)}/state/m.nope/`)).body.errcode, 'M_NOT_FOUND');
      await alice.kick(roomId, bob.userId, 'bye');
      const members = await alice.request('GET', `/rooms/${encodeURIComponent(roomId)}/members?membership=leave`);
      assert.deepEqual(
        asObjects(members.body.chunk, 'chunk').map((e) => e.state_key),
        [bob.userId],
      );
      const jm = await alice.request('GET', `/rooms/${encodeURIComponent(roomId)}/joined_members`);
      assert.deepEqual(Object.keys(asObject(jm.body.joined, 'joined')), [alice.userId]);
      assert.equal(at(jm.body, 'joined', alice.userId, 'display_name'), 'Alice');
      assert.deepEqual((await alice.request('GET', '/joined_rooms')).body.joined_rooms, [roomId]);
      assert.deepEqual((await bob.request('GET', '/joined_rooms')).body.joined_rooms, []);
    });

    it('redaction prunes content and needs power for others’ events', async () => {
      const roomId = await alice.createRoom({ preset: 'public_chat' });
      await bob.join(roomId);
      const mine = await alice.sendMessage(roomId, 'secret');
      const r = await bob.request('PUT', `/rooms/${encodeURIComponent(roomId)}/redact/${encodeURIComponent(mine)}/t1`, {});
      assert.equal(r.status, 403);
      const bobs = await bob.sendMessage(roomId, 'oops');
      await bob.redact(roomId, bobs, 'typo');
      await alice.redact(roomId, mine);
      assert.deepEqual(hs.event(mine)!.content, {});
      assert.ok(hs.event(bobs)!.unsigned.redacted_because);
    });

    it('aliases: exclusivity, 409, delete permissions; profile set/get and propagation', async () => {
      const roomId = await alice.createRoom({ preset: 'public_chat' });
      await alice.createAlias('#pub:localhost', roomId);
      let r: { status: number; body: JsonObject } = await alice.request('PUT', '/directory/room/%23pub%3Alocalhost', { room_id: roomId });
      assert.equal(r.status, 409);
      r = await alice.request('PUT', '/directory/room/%23_slack_x%3Alocalhost', { room_id: roomId });
      assert.equal(r.body.errcode, 'M_EXCLUSIVE');
      r = await call(hs.url, 'PUT', '/directory/room/%23other%3Alocalhost', { token: AS, body: { room_id: roomId } });
      assert.equal(r.body.errcode, 'M_EXCLUSIVE', 'AS may only create aliases in its namespace');
      r = await bob.request('DELETE', '/directory/room/%23pub%3Alocalhost');
      assert.equal(r.status, 403);
      r = await bob.request('GET', '/directory/room/%23pub%3Alocalhost');
      assert.deepEqual(r.body, { room_id: roomId, servers: ['localhost'] });
      assert.equal((await alice.request('DELETE', '/directory/room/%23pub%3Alocalhost')).status, 200);
      assert.equal((await bob.request('GET', '/directory/room/%23pub%3Alocalhost')).body.errcode, 'M_NOT_FOUND');

      await alice.setDisplayName('Alice 2');
      assert.equal((await bob.request('GET', `/profile/${encodeURIComponent(alice.userId)}`)).body.displayname, 'Alice 2');
      assert.equal(hs.stateEvent(roomId, 'm.room.member', alice.userId)!.content.displayname, 'Alice 2');
      r = await bob.request('PUT', `/profile/${encodeURIComponent(alice.userId)}/displayname`, { displayname: 'x' });
      assert.equal(r.status, 403);
      assert.equal((await bob.request('GET', '/profile/%40nobody%3Alocalhost')).status, 404);
    });

    it('openid token round trip through federation userinfo', async () => {
      const t = await alice.request('POST', `/user/${encodeURIComponent(alice.userId)}/openid/request_token`, {});
      assert.equal(t.body.token_type, 'Bearer');
      assert.equal(t.body.matrix_server_name, 'localhost');
      const ok = await call(hs.url, 'GET', '/_matrix/federation/v1/openid/userinfo', {
        query: { access_token: asString(t.body.access_token, 'access_token') },
      });
      assert.deepEqual(ok.body, { sub: alice.userId });
      const bad = await call(hs.url, 'GET', '/_matrix/federation/v1/openid/userinfo', { query: { access_token: 'nope' } });
      assert.equal(bad.status, 401);
      assert.equal(bad.body.errcode, 'M_UNKNOWN_TOKEN');
      const other = await bob.request('POST', `/user/${encodeURIComponent(alice.userId)}/openid/request_token`, {});
      assert.equal(other.status, 403);
    });

    it('appservice room directory and typing/receipt validation', async () => {
      const roomId = await alice.createRoom({});
      let r: { status: number; body: JsonObject } = await call(
        hs.url,
        'PUT',
        `/directory/list/appservice/net1/${encodeURIComponent(roomId)}`,
        {
          token: AS,
          body: { visibility: 'public' },
        },
      );
      assert.equal(r.status, 200);
      r = await alice.request('PUT', `/directory/list/appservice/net1/${encodeURIComponent(roomId)}`, { visibility: 'public' });
      assert.equal(r.status, 403);
      r = await bob.request('PUT', `/rooms/${encodeURIComponent(roomId)}/typing/${encodeURIComponent(bob.userId)}`, { typing: true });
      assert.equal(r.status, 403);
      r = await alice.request('PUT', `/rooms/${encodeURIComponent(roomId)}/typing/${encodeURIComponent(bob.userId)}`, { typing: true });
      assert.equal(r.status, 403);
      await alice.typing(roomId, true);
    });
  });
});
