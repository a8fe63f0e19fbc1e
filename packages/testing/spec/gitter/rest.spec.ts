import { strict as assert } from 'node:assert';
import { GitterEmulator, type GitterMessageJson, type GitterRoomJson, type GitterTestUser, type GitterUserJson } from '../../src/gitter';
import { asArray, asObject, asObjects, asString, at } from '../../src/spec-json';
import { api, ManualClock } from './helpers';

describe('testing: Gitter emulator REST API', () => {
  let clock: ManualClock;
  let emu: GitterEmulator;
  let alice: GitterTestUser;
  let bob: GitterTestUser;
  let roomId: string;
  const base = () => emu.restBaseUrl;

  beforeEach(async () => {
    clock = new ManualClock();
    emu = await GitterEmulator.start({ now: clock.now, rateLimit: { enabled: false } });
    alice = emu.createUser('alice', { displayName: 'Alice A.' });
    bob = emu.createUser('bob');
    roomId = emu.createRoom({ uri: 'acme/chat', topic: 'Acme chat', admins: [alice.id], members: [bob.id] }).id;
  });
  afterEach(() => emu.stop());

  describe('hosts and auth', () => {
    it('serves REST under /v1 and answers 401 {"error"} without a valid Bearer token', async () => {
      assert.match(base(), /^http:\/\/127\.0\.0\.1:\d+\/v1$/);
      assert.notEqual(new URL(emu.streamBaseUrl).port, new URL(base()).port, 'stream on its own port by default');
      const none = await api(base(), undefined, 'GET', '/user');
      assert.equal(none.status, 401);
      assert.equal(typeof at(none.body, 'error'), 'string');
      assert.equal((await api(base(), 'not-a-token', 'GET', '/user')).status, 401);
      // The query-string token is for the stream only.
      assert.equal((await api(base(), undefined, 'GET', `/user?access_token=${alice.token}`)).status, 401);
      const me = await api(base(), alice.token, 'GET', '/user');
      assert.equal(me.status, 200);
      assert.deepEqual(
        asObjects(me.body, 'users').map((u) => [u.id, u.username, u.displayName, u.url]),
        [[alice.id, 'alice', 'Alice A.', '/alice']],
      );
      assert.equal(at(me.body, 0, 'role'), undefined);
    });

    it('a revoked token gets 401 from then on', async () => {
      const token = emu.issueToken(bob.id);
      assert.equal((await api(base(), token, 'GET', '/user')).status, 200);
      assert.equal(emu.revokeToken(token), true);
      assert.equal((await api(base(), token, 'GET', '/user')).status, 401);
      assert.equal((await api(base(), bob.token, 'GET', '/user')).status, 200, 'other tokens of the user still work');
    });

    it('unknown paths and unknown rooms are 404 with an error body', async () => {
      const r = await api(base(), alice.token, 'GET', '/nope');
      assert.equal(r.status, 404);
      assert.equal(typeof at(r.body, 'error'), 'string');
      assert.equal((await api(base(), alice.token, 'GET', '/rooms/0123456789abcdef01234567/chatMessages')).status, 404);
    });
  });

  describe('ids and message shape', () => {
    it('ids are 24 hex digits whose first 8 encode the creation time, ascending', async () => {
      const first = await alice.post(roomId, 'one');
      clock.advance(5_000);
      const second = await alice.post(roomId, 'two');
      for (const id of [first.id, second.id, roomId, alice.id]) assert.match(id, /^[0-9a-f]{24}$/);
      assert.equal(parseInt(first.id.slice(0, 8), 16), Math.floor((clock.ms - 5_000) / 1000));
      assert.equal(parseInt(second.id.slice(0, 8), 16), Math.floor(clock.ms / 1000));
      assert.ok(first.id < second.id);
      // Same second: still ascending.
      const a = await alice.post(roomId, 'a');
      const b = await alice.post(roomId, 'b');
      assert.ok(a.id < b.id);
    });

    it('POST creates v:1 with ISO sent, server-rendered html, mentions, urls and issues', async () => {
      const msg = await alice.post(roomId, 'hi @bob and @ghost, see #11 at https://example.com/a?b=1&c=2. <script>x</script> **bold**');
      assert.equal(msg.v, 1);
      assert.equal(msg.editedAt, null);
      assert.equal(msg.sent, new Date(clock.ms).toISOString());
      assert.equal(msg.status, false);
      assert.equal(msg.fromUser.id, alice.id);
      assert.deepEqual(msg.mentions, [{ screenName: 'bob', userId: bob.id }, { screenName: 'ghost' }]);
      assert.deepEqual(msg.urls, [{ url: 'https://example.com/a?b=1&c=2' }]);
      assert.deepEqual(msg.issues, [{ number: '11' }]);
      assert.ok(!msg.html.includes('<script>'), msg.html);
      assert.ok(msg.html.includes('&lt;script&gt;x&lt;/script&gt;'), msg.html);
      assert.ok(msg.html.includes('<a href="https://example.com/a?b=1&amp;c=2"'), msg.html);
      assert.ok(msg.html.includes('</a>.'), 'the sentence dot is not part of the link');
      assert.ok(msg.html.includes('class="mention">@bob</span>'), msg.html);
      assert.ok(msg.html.includes('data-issue="11"'), msg.html);
      assert.ok(msg.html.includes('<strong>bold</strong>'), msg.html);
      const again = await api(base(), bob.token, 'GET', `/rooms/${roomId}/chatMessages/${msg.id}`);
      assert.deepEqual({ ...asObject(again.body, 'message'), unread: false }, { ...msg, unread: false });
    });

    it('nothing is rendered inside code, and @/all is an announcement', async () => {
      const msg = await alice.post(roomId, '`<b>@bob</b>` @/all\n```\nhttps://x.test @bob\n```');
      assert.ok(msg.html.includes('<code>&lt;b&gt;@bob&lt;/b&gt;</code>'), msg.html);
      assert.ok(msg.html.includes('<pre><code>https://x.test @bob</code></pre>'), msg.html);
      assert.deepEqual(msg.mentions, [{ screenName: '/all', announcement: true }]);
      assert.deepEqual(msg.urls, []);
    });

    it('status:true (emote) round-trips', async () => {
      const msg = await bob.emote(roomId, 'waves');
      assert.equal(msg.status, true);
      assert.equal(msg.text, '@bob waves');
      const [hist] = await alice.history(roomId);
      assert.equal(hist.status, true);
    });

    it('empty, blank or over-4096-character text is a 400', async () => {
      for (const text of ['', '   ', 'x'.repeat(4097)]) {
        const r = await api(base(), alice.token, 'POST', `/rooms/${roomId}/chatMessages`, { text });
        assert.equal(r.status, 400, JSON.stringify(text.slice(0, 10)));
        assert.equal(typeof at(r.body, 'error'), 'string');
      }
      assert.equal((await api(base(), alice.token, 'POST', `/rooms/${roomId}/chatMessages`, {})).status, 400);
      const max = await alice.post(roomId, 'y'.repeat(4096));
      assert.equal(max.text.length, 4096);
      assert.equal(emu.messages(roomId).length, 1);
    });
  });

  describe('edits', () => {
    it('PUT bumps v and sets editedAt; only the author may edit', async () => {
      const msg = await alice.post(roomId, 'helo');
      clock.advance(30_000);
      const edited = await alice.edit(roomId, msg.id, 'hello @bob');
      assert.equal(edited.v, 2);
      assert.equal(edited.editedAt, new Date(clock.ms).toISOString());
      assert.equal(edited.sent, msg.sent);
      assert.deepEqual(edited.mentions, [{ screenName: 'bob', userId: bob.id }]);
      const byBob = await api(base(), bob.token, 'PUT', `/rooms/${roomId}/chatMessages/${msg.id}`, { text: 'hijack' });
      assert.equal(byBob.status, 403);
      assert.equal(emu.message(roomId, msg.id)!.text, 'hello @bob');
      assert.equal((await alice.edit(roomId, msg.id, 'third')).v, 3);
      assert.equal((await api(base(), alice.token, 'PUT', `/rooms/${roomId}/chatMessages/${msg.id}`, { text: '' })).status, 400);
    });

    it('edits after the edit window (600 s, configurable) are a 400', async () => {
      const msg = await alice.post(roomId, 'v1');
      clock.advance(600_000);
      assert.equal((await alice.edit(roomId, msg.id, 'v2')).v, 2, 'at exactly 600 s still allowed');
      clock.advance(1);
      const late = await api(base(), alice.token, 'PUT', `/rooms/${roomId}/chatMessages/${msg.id}`, { text: 'v3' });
      assert.equal(late.status, 400);
      assert.match(asString(at(late.body, 'error'), 'error'), /no longer edit/);
      assert.equal(emu.message(roomId, msg.id)!.v, 2);
      emu.setEditWindowMs(300_000);
      const other = await alice.post(roomId, 'short');
      clock.advance(300_001);
      assert.equal((await api(base(), alice.token, 'PUT', `/rooms/${roomId}/chatMessages/${other.id}`, { text: 'x' })).status, 400);
    });
  });

  describe('history', () => {
    let all: string[];
    beforeEach(() => {
      all = emu
        .seedMessages(
          roomId,
          bob.id,
          Array.from({ length: 120 }, (_, i) => `m${i}`),
        )
        .map((m) => m.id);
    });
    const texts = (list: unknown) => asObjects(list, 'messages').map((m) => m.text);
    const get = async (qs: string) => (await api(base(), alice.token, 'GET', `/rooms/${roomId}/chatMessages${qs}`)).body;

    it('defaults to the newest 50, oldest first; limit is capped at 100', async () => {
      const page = await get('');
      assert.deepEqual(
        texts(page),
        Array.from({ length: 50 }, (_, i) => `m${70 + i}`),
      );
      assert.equal(asArray(await get('?limit=500'), 'messages').length, 100);
      assert.equal(asArray(await get('?limit=3'), 'messages').length, 3);
    });

    it('paging backwards with beforeId visits every message once', async () => {
      const seen: string[] = [];
      let page = asObjects(await get('?limit=50'), 'page');
      for (;;) {
        seen.unshift(...page.map((m) => asString(m.id, 'id')));
        if (page.length < 50) break;
        page = asObjects(await get(`?limit=50&beforeId=${asString(page[0].id, 'id')}`), 'page');
      }
      assert.deepEqual(seen, all);
    });

    it('afterId returns the messages right after the id; aroundId centres on it; skip skips the newest', async () => {
      assert.deepEqual(texts(await get(`?afterId=${all[9]}&limit=3`)), ['m10', 'm11', 'm12']);
      assert.deepEqual(texts(await get(`?afterId=${all[118]}`)), ['m119']);
      assert.deepEqual(texts(await get(`?afterId=${all[119]}`)), []);
      assert.deepEqual(texts(await get(`?aroundId=${all[60]}&limit=5`)), ['m58', 'm59', 'm60', 'm61', 'm62']);
      assert.deepEqual(texts(await get('?skip=10&limit=2')), ['m108', 'm109']);
      assert.deepEqual(texts(await get('?q=m11')), ['m11', 'm110', 'm111', 'm112', 'm113', 'm114', 'm115', 'm116', 'm117', 'm118', 'm119']);
    });

    it('skip above 5000 and malformed ids are a 400', async () => {
      assert.equal((await api(base(), alice.token, 'GET', `/rooms/${roomId}/chatMessages?skip=5001`)).status, 400);
      assert.equal((await api(base(), alice.token, 'GET', `/rooms/${roomId}/chatMessages?skip=5000`)).status, 200);
      assert.equal((await api(base(), alice.token, 'GET', `/rooms/${roomId}/chatMessages?afterId=zzz`)).status, 400);
    });
  });

  describe('threads (flag)', () => {
    it('replies carry parentId, are left out of history, counted on the parent and listed per thread', async () => {
      emu.setFeatures({ threads: true });
      const root = await alice.post(roomId, 'root');
      const reply = await bob.reply(roomId, root.id, 'in thread');
      await alice.post(roomId, 'after');
      assert.equal(reply.parentId, root.id);
      assert.deepEqual(texts(await alice.history(roomId)), ['root', 'after']);
      assert.equal((await alice.history(roomId))[0].threadMessageCount, 1);
      const thread = await alice.request<GitterMessageJson[]>('GET', `/rooms/${roomId}/chatMessages/${root.id}/thread`);
      assert.deepEqual(texts(thread), ['in thread']);
      const nested = await api(base(), alice.token, 'POST', `/rooms/${roomId}/chatMessages`, { text: 'x', parentId: reply.id });
      assert.equal(nested.status, 400);
    });

    it('without the flag parentId is ignored, as by servers that predate threads', async () => {
      const root = await alice.post(roomId, 'root');
      const reply = await bob.reply(roomId, root.id, 'plain');
      assert.equal(reply.parentId, undefined);
      assert.equal(reply.threadMessageCount, undefined);
      assert.deepEqual(texts(await alice.history(roomId)), ['root', 'plain']);
    });
    const texts = (list: GitterMessageJson[]) => list.map((m) => m.text);
  });

  describe('deletes (flag)', () => {
    it('off by default: DELETE is an unknown route', async () => {
      const msg = await alice.post(roomId, 'keep');
      assert.equal((await api(base(), alice.token, 'DELETE', `/rooms/${roomId}/chatMessages/${msg.id}`)).status, 404);
      assert.ok(emu.message(roomId, msg.id));
    });

    it('on: the author or a room admin gets 204, others 403, unknown ids 404; deleted messages are gone', async () => {
      emu.setFeatures({ deletes: true });
      const mine = await bob.post(roomId, 'mine');
      const other = await alice.post(roomId, 'admin');
      assert.equal((await api(base(), bob.token, 'DELETE', `/rooms/${roomId}/chatMessages/${other.id}`)).status, 403);
      const del = await api(base(), bob.token, 'DELETE', `/rooms/${roomId}/chatMessages/${mine.id}`);
      assert.equal(del.status, 204);
      assert.equal((await api(base(), bob.token, 'GET', `/rooms/${roomId}/chatMessages/${mine.id}`)).status, 404);
      assert.deepEqual(
        (await alice.history(roomId)).map((m) => m.text),
        ['admin'],
      );
      assert.equal((await api(base(), bob.token, 'DELETE', `/rooms/${roomId}/chatMessages/${mine.id}`)).status, 404);
      const bobs = await bob.post(roomId, 'moderated');
      assert.equal((await api(base(), alice.token, 'DELETE', `/rooms/${roomId}/chatMessages/${bobs.id}`)).status, 204, 'admin');
    });
  });

  describe('virtualUser (flag)', () => {
    const vu = { type: 'matrix', externalId: '@carol:example.org', displayName: 'Carol' };
    it('round-trips when on, is ignored when off, and must be well-formed', async () => {
      assert.equal((await alice.post(roomId, 'a', { virtualUser: vu })).virtualUser, undefined);
      emu.setFeatures({ virtualUsers: true });
      const msg = await alice.post(roomId, 'b', { virtualUser: vu });
      assert.deepEqual(msg.virtualUser, vu);
      assert.deepEqual((await alice.history(roomId)).at(-1)!.virtualUser, vu);
      const bad = await api(base(), alice.token, 'POST', `/rooms/${roomId}/chatMessages`, { text: 'c', virtualUser: { type: 'matrix' } });
      assert.equal(bad.status, 400);
    });
  });

  describe('rooms and membership', () => {
    it('join by URI or id, list rooms, leave', async () => {
      const carol = emu.createUser('carol');
      const byUri = await carol.joinByUri('acme/chat');
      assert.equal(byUri.id, roomId);
      assert.equal(byUri.uri, 'acme/chat');
      assert.equal(byUri.userCount, 3);
      const other = emu.createRoom({ uri: 'acme/other', admins: [alice.id] }).id;
      assert.equal((await carol.joinById(other)).id, other);
      const rooms = await carol.request<GitterRoomJson[]>('GET', `/user/${carol.id}/rooms`);
      assert.deepEqual(rooms.map((r) => r.uri).sort(), ['acme/chat', 'acme/other']);
      assert.equal((await carol.request<GitterRoomJson[]>('GET', '/rooms?q=other')).length, 1);
      await carol.leave(other);
      assert.deepEqual(
        (await carol.request<GitterRoomJson[]>('GET', '/rooms')).map((r) => r.id),
        [roomId],
      );
      assert.equal((await api(base(), carol.token, 'POST', '/rooms', { uri: 'acme/missing' })).status, 404);
      assert.equal((await api(base(), carol.token, 'GET', `/user/${bob.id}/rooms`)).status, 403);
    });

    it('private rooms cannot be joined, read or posted to by outsiders', async () => {
      const secret = emu.createRoom({ uri: 'acme/secret', security: 'PRIVATE', admins: [alice.id] }).id;
      const carol = emu.createUser('carol');
      assert.equal((await api(base(), carol.token, 'POST', '/rooms', { uri: 'acme/secret' })).status, 403);
      assert.equal((await api(base(), carol.token, 'GET', `/rooms/${secret}/chatMessages`)).status, 403);
      assert.equal((await api(base(), carol.token, 'POST', `/rooms/${roomId}/chatMessages`, { text: 'not joined' })).status, 403);
      emu.addMember(secret, carol.id);
      assert.equal((await api(base(), carol.token, 'GET', `/rooms/${secret}/chatMessages`)).status, 200);
    });

    it('member lists mark admins with role; only admins remove others or change the topic', async () => {
      const members = await bob.members(roomId);
      assert.deepEqual(members.map((u) => [u.username, u.role]).sort(), [
        ['alice', 'admin'],
        ['bob', undefined],
      ]);
      assert.deepEqual(
        (await bob.request<GitterUserJson[]>('GET', `/rooms/${roomId}/users?q=ali`)).map((u) => u.username),
        ['alice'],
      );
      assert.equal((await api(base(), bob.token, 'DELETE', `/rooms/${roomId}/users/${alice.id}`)).status, 403);
      assert.equal((await api(base(), bob.token, 'PUT', `/rooms/${roomId}`, { topic: 'mine' })).status, 403);
      const room = await alice.setTopic(roomId, 'New topic');
      assert.equal(room.topic, 'New topic');
      assert.equal(room.v, 2);
      const removed = await api(base(), alice.token, 'DELETE', `/rooms/${roomId}/users/${bob.id}`);
      assert.deepEqual([removed.status, removed.body], [200, { success: true }]);
      assert.deepEqual(emu.members(roomId), [alice.id]);
    });

    it('unread items are listed per user and can be marked read', async () => {
      const m1 = await alice.post(roomId, 'hey @bob');
      const m2 = await alice.post(roomId, 'plain');
      const unread = await bob.request<unknown>('GET', `/user/${bob.id}/rooms/${roomId}/unreadItems`);
      assert.deepEqual(unread, { chat: [m1.id, m2.id], mention: [m1.id] });
      await bob.request('POST', `/user/${bob.id}/rooms/${roomId}/unreadItems`, { chat: [m1.id] });
      assert.deepEqual(await bob.request('GET', `/user/${bob.id}/rooms/${roomId}/unreadItems`), { chat: [m2.id], mention: [] });
      assert.equal((await bob.request<GitterRoomJson[]>('GET', '/rooms'))[0].unreadItems, 1);
    });

    it('one-to-one rooms carry the other user instead of a uri', async () => {
      const dm = emu.createOneToOne(alice.id, bob.id);
      const [room] = (await bob.request<GitterRoomJson[]>('GET', '/rooms')).filter((r) => r.id === dm);
      assert.equal(room.oneToOne, true);
      assert.equal(room.githubType, 'ONETOONE');
      assert.equal(room.uri, undefined);
      assert.equal(room.user?.username, 'alice');
      assert.equal(room.name, 'Alice A.');
    });
  });

  describe('rate limit', () => {
    it('100 requests per 60 s per token by default, with X-RateLimit-* (reset in epoch ms) on every answer', async () => {
      emu.setRateLimit({ enabled: true });
      const token = emu.issueToken(alice.id);
      const first = await api(base(), token, 'GET', '/user');
      assert.equal(first.headers.get('x-ratelimit-limit'), '100');
      assert.equal(first.headers.get('x-ratelimit-remaining'), '99');
      assert.equal(first.headers.get('x-ratelimit-reset'), String(clock.ms + 60_000));
      const bad = await api(base(), 'wrong', 'GET', '/user');
      assert.equal(bad.status, 401);
      assert.equal(bad.headers.get('x-ratelimit-remaining'), '99', 'even refusals carry the headers');
    });

    it('refuses with 429 once exhausted, per token, until the window ends; legacy mode answers 403', async () => {
      emu.setRateLimit({ enabled: true, limit: 3, windowMs: 60_000 });
      const token = emu.issueToken(alice.id);
      const start = clock.ms;
      for (const left of ['2', '1', '0']) {
        const r = await api(base(), token, 'GET', '/user');
        assert.equal(r.status, 200);
        assert.equal(r.headers.get('x-ratelimit-remaining'), left);
        clock.advance(1_000);
      }
      const refused = await api(base(), token, 'POST', `/rooms/${roomId}/chatMessages`, { text: 'lost?' });
      assert.deepEqual([refused.status, refused.body], [429, { error: 'rate limit exceeded' }]);
      assert.equal(refused.headers.get('x-ratelimit-reset'), String(start + 60_000));
      assert.equal(emu.messages(roomId).length, 0, 'a refused request does nothing');
      assert.equal((await api(base(), emu.issueToken(bob.id), 'GET', '/user')).status, 200, 'another token has its own window');
      emu.setRateLimit({ refusal: 'legacy-403' });
      for (let i = 0; i < 3; i++) await api(base(), token, 'GET', '/user');
      const legacy = await api(base(), token, 'GET', '/user');
      assert.deepEqual([legacy.status, legacy.body], [403, { error: 'rate limit exceeded' }]);
      clock.advance(60_000);
      assert.equal((await api(base(), token, 'GET', '/user')).status, 200, 'a new window');
    });

    it('switched off: nothing is refused and no headers are sent', async () => {
      emu.setRateLimit({ enabled: false, limit: 1 });
      const token = emu.issueToken(alice.id);
      for (let i = 0; i < 5; i++) {
        const r = await api(base(), token, 'GET', '/user');
        assert.equal(r.status, 200);
        assert.equal(r.headers.get('x-ratelimit-remaining'), null);
      }
    });

    it('test users are exempt; requests are counted per token and endpoint', async () => {
      emu.setRateLimit({ enabled: true, limit: 2 });
      for (let i = 0; i < 5; i++) await alice.post(roomId, `t${i}`);
      assert.equal(emu.requestCount(alice.token), 0, 'test-client traffic is not counted');
      const token = emu.issueToken(bob.id);
      await api(base(), token, 'GET', '/user');
      await api(base(), token, 'POST', `/rooms/${roomId}/chatMessages`, { text: 'x' });
      await api(base(), token, 'POST', `/rooms/${roomId}/chatMessages`, { text: 'y' });
      assert.equal(emu.requestCount(token), 3);
      assert.equal(emu.requestCount(token, 'POST /v1/rooms/{roomId}/chatMessages'), 2);
      assert.deepEqual(emu.requestCounts(token), { 'GET /v1/user': 1, 'POST /v1/rooms/{roomId}/chatMessages': 2 });
      emu.resetCounters();
      assert.equal(emu.requestCount(token), 0);
    });
  });
});
