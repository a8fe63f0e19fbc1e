/**
 * The store contract: every backend must pass these tests. A backend spec calls
 * `storeContract(name, factory)`; the factory gives each test its own fresh,
 * empty storage (a temp directory, a random PostgreSQL schema).
 */
import { strict as assert } from 'node:assert';
import type { Portal } from '../../src/connector/portal';
import { StoreClosedError } from '../../src/store/common';
import type { GhostRecord, MessageRecord, Store } from '../../src/store/store';

interface StoreBacking {
  /** A new, not yet initialised store over this test's storage. Every call sees the same data. */
  open(): Store;
  /** The schema version a fully migrated store reports. */
  latestVersion: number;
  /** Remove the storage (called after the stores were closed). */
  dispose(): Promise<void>;
}

export type StoreFactory = () => Promise<StoreBacking>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function storeContract(name: string, factory: StoreFactory): void {
  describe(`Store contract: ${name}`, function () {
    let backing: StoreBacking;
    let store: Store;
    const opened: Store[] = [];

    /** Open (and init) another store over the same storage; closed automatically after the test. */
    async function reopen(): Promise<Store> {
      const s = backing.open();
      opened.push(s);
      await s.init();
      return s;
    }

    beforeEach(async () => {
      backing = await factory();
      store = await reopen();
    });

    afterEach(async () => {
      for (const s of opened.splice(0)) await s.close().catch(() => undefined);
      await backing.dispose();
    });

    const portal = (over: Partial<Portal> = {}): Portal => ({
      roomId: '!room:example.org',
      key: { network: 'libera', id: '#causeway' },
      kind: 'portal',
      createdAt: 1_700_000_000_000,
      ...over,
    });

    describe('lifecycle', () => {
      it('reports the latest schema version after init', async () => {
        assert.equal(await store.schemaVersion(), backing.latestVersion);
      });

      it('init() twice is harmless', async () => {
        await store.init();
        assert.equal(await store.schemaVersion(), backing.latestVersion);
      });

      it("keeps every repository's data across close() and re-open (restart), migrations not re-applied", async () => {
        await store.portals.put(portal({ data: { key: 'secret' } }));
        await store.ghosts.put({ key: { network: 'libera', id: 'alice' }, userId: '@irc_alice:example.org', displayName: 'alice' });
        await store.messages.put({
          roomId: '!room:example.org',
          eventId: '$e1',
          portal: { network: 'libera', id: '#causeway' },
          remoteId: 'r1',
          part: 0,
          sender: '@bob:example.org',
          timestamp: 5,
          body: 'hi',
        });
        await store.intents.put({ userId: '@bot:example.org', registered: true, displayName: 'Bot' });
        await store.intents.setMembership('!room:example.org', '@bot:example.org', 'join');
        await store.kv.put('ns', 'k', { a: [1, 2, 3] });
        await store.kv.put('ns', 'gone', 1, { expiresAt: Date.now() - 1 });
        await store.close();

        const again = await reopen();
        assert.equal(await again.schemaVersion(), backing.latestVersion);
        assert.deepEqual(await again.portals.getByRoom('!room:example.org'), portal({ data: { key: 'secret' } }));
        assert.deepEqual(await again.ghosts.getByUserId('@irc_alice:example.org'), {
          key: { network: 'libera', id: 'alice' },
          userId: '@irc_alice:example.org',
          displayName: 'alice',
        });
        assert.equal((await again.messages.getByEvent('!room:example.org', '$e1')).length, 1);
        assert.deepEqual(await again.intents.get('@bot:example.org'), { userId: '@bot:example.org', registered: true, displayName: 'Bot' });
        assert.deepEqual(await again.intents.joinedRooms('@bot:example.org'), ['!room:example.org']);
        assert.deepEqual(await again.kv.get('ns', 'k'), { a: [1, 2, 3] });
        assert.equal(await again.kv.get('ns', 'gone'), undefined);
        // Indexes/uniqueness still in force after re-open.
        await again.portals.put(portal({ kind: 'plumbed' }));
        assert.equal(await again.portals.count(), 1);
      });

      it('rejects calls after close() with StoreClosedError', async () => {
        await store.close();
        await assert.rejects(() => store.portals.getByRoom('!x:y'), StoreClosedError);
        await assert.rejects(() => store.kv.put('a', 'b', 1), StoreClosedError);
        await store.close(); // idempotent
      });
    });

    describe('portals', () => {
      it('round-trips every field, and returns undefined for an unknown room', async () => {
        const p = portal({
          kind: 'dm',
          dmUser: '@alice:example.org',
          key: { network: 'libera', id: 'bob', receiver: '@alice:example.org' },
          data: { nested: { list: [1, 'two', null, true] }, 'dotted.key': 1, $dollar: 'x' },
        });
        await store.portals.put(p);
        assert.deepEqual(await store.portals.getByRoom(p.roomId), p);
        assert.equal(await store.portals.getByRoom('!nope:example.org'), undefined);
      });

      it('put is idempotent and replaces the record (absent optional fields are cleared)', async () => {
        await store.portals.put(portal({ data: { a: 1 }, dmUser: '@x:y' }));
        await store.portals.put(portal({ data: { a: 1 }, dmUser: '@x:y' }));
        assert.equal(await store.portals.count(), 1);
        await store.portals.put(portal({ kind: 'plumbed', key: { network: 'oftc', id: '#other' } }));
        assert.equal(await store.portals.count(), 1);
        assert.deepEqual(
          await store.portals.getByRoom('!room:example.org'),
          portal({ kind: 'plumbed', key: { network: 'oftc', id: '#other' } }),
        );
        assert.deepEqual(await store.portals.getByKey({ network: 'libera', id: '#causeway' }), []);
      });

      it('getByKey matches the exact key: with a receiver only that receiver, without one only receiver-less portals', async () => {
        const chan1 = portal({ roomId: '!a:x', createdAt: 2 });
        const chan2 = portal({ roomId: '!b:x', createdAt: 1 }); // a second room for the same channel
        const dmAlice = portal({ roomId: '!c:x', kind: 'dm', key: { network: 'libera', id: 'bob', receiver: '@alice:x' } });
        const dmCarol = portal({ roomId: '!d:x', kind: 'dm', key: { network: 'libera', id: 'bob', receiver: '@carol:x' } });
        const plainBob = portal({ roomId: '!e:x', key: { network: 'libera', id: 'bob' } });
        const otherNet = portal({ roomId: '!f:x', key: { network: 'oftc', id: '#causeway' } });
        for (const p of [chan1, chan2, dmAlice, dmCarol, plainBob, otherNet]) await store.portals.put(p);

        assert.deepEqual(await store.portals.getByKey({ network: 'libera', id: '#causeway' }), [chan2, chan1]);
        assert.deepEqual(await store.portals.getByKey({ network: 'libera', id: 'bob', receiver: '@alice:x' }), [dmAlice]);
        assert.deepEqual(await store.portals.getByKey({ network: 'libera', id: 'bob', receiver: '@carol:x' }), [dmCarol]);
        assert.deepEqual(await store.portals.getByKey({ network: 'libera', id: 'bob' }), [plainBob]);
        assert.deepEqual(await store.portals.getByKey({ network: 'libera', id: 'bob', receiver: '@nobody:x' }), []);
        assert.deepEqual(await store.portals.getByKey({ network: 'oftc', id: '#causeway' }), [otherNet]);
      });

      it('list filters by network, kind, both, or nothing', async () => {
        const a = portal({ roomId: '!a:x', createdAt: 1 });
        const b = portal({ roomId: '!b:x', createdAt: 2, kind: 'plumbed' });
        const c = portal({ roomId: '!c:x', createdAt: 3, kind: 'dm', key: { network: 'oftc', id: 'bob', receiver: '@u:x' } });
        const d = portal({ roomId: '!d:x', createdAt: 4, kind: 'plumbed', key: { network: 'oftc', id: '#x' } });
        for (const p of [d, c, b, a]) await store.portals.put(p);
        assert.deepEqual(await store.portals.list(), [a, b, c, d]);
        assert.deepEqual(await store.portals.list({}), [a, b, c, d]);
        assert.deepEqual(await store.portals.list({ network: 'oftc' }), [c, d]);
        assert.deepEqual(await store.portals.list({ kind: 'plumbed' }), [b, d]);
        assert.deepEqual(await store.portals.list({ network: 'libera', kind: 'plumbed' }), [b]);
        assert.deepEqual(await store.portals.list({ network: 'nowhere' }), []);
      });

      it('delete reports whether something went; count follows', async () => {
        await store.portals.put(portal({ roomId: '!a:x' }));
        await store.portals.put(portal({ roomId: '!b:x' }));
        assert.equal(await store.portals.count(), 2);
        assert.equal(await store.portals.delete('!a:x'), true);
        assert.equal(await store.portals.delete('!a:x'), false);
        assert.equal(await store.portals.getByRoom('!a:x'), undefined);
        assert.equal(await store.portals.count(), 1);
      });

      it('concurrent puts of one room end in one record holding one of the values', async () => {
        await Promise.all(Array.from({ length: 25 }, (_, i) => store.portals.put(portal({ data: { i } }))));
        assert.equal(await store.portals.count(), 1);
        const got = await store.portals.getByRoom('!room:example.org');
        assert.ok(got && typeof got.data?.i === 'number');
      });
    });

    describe('ghosts', () => {
      const ghost: GhostRecord = {
        key: { network: 'libera', id: 'alice' },
        userId: '@irc_alice:example.org',
        displayName: 'alice (IRC)',
        avatarMxc: 'mxc://example.org/abc',
        avatarSource: 'sha256:00ff',
        data: { host: 'a.b.c', 'x.y': [1] },
      };

      it('round-trips by key and by user ID', async () => {
        await store.ghosts.put(ghost);
        assert.deepEqual(await store.ghosts.get({ network: 'libera', id: 'alice' }), ghost);
        assert.deepEqual(await store.ghosts.getByUserId('@irc_alice:example.org'), ghost);
        assert.equal(await store.ghosts.get({ network: 'oftc', id: 'alice' }), undefined);
        assert.equal(await store.ghosts.getByUserId('@irc_bob:example.org'), undefined);
      });

      it('put is idempotent and replaces (including a changed user ID)', async () => {
        await store.ghosts.put(ghost);
        await store.ghosts.put(ghost);
        assert.equal(await store.ghosts.count(), 1);
        const minimal = { key: ghost.key, userId: '@irc_alice_:example.org' };
        await store.ghosts.put(minimal);
        assert.equal(await store.ghosts.count(), 1);
        assert.deepEqual(await store.ghosts.get(ghost.key), minimal);
        assert.equal(await store.ghosts.getByUserId(ghost.userId), undefined);
        assert.deepEqual(await store.ghosts.getByUserId('@irc_alice_:example.org'), minimal);
      });

      it('a user ID belongs to one remote user: a second key claiming it is rejected', async () => {
        await store.ghosts.put(ghost);
        await assert.rejects(() => store.ghosts.put({ key: { network: 'libera', id: 'mallory' }, userId: ghost.userId }));
        assert.equal(await store.ghosts.count(), 1);
        assert.deepEqual(await store.ghosts.getByUserId(ghost.userId), ghost);
      });

      it('concurrent puts of one key end in one record', async () => {
        await Promise.all(Array.from({ length: 25 }, (_, i) => store.ghosts.put({ ...ghost, displayName: `n${i}` })));
        assert.equal(await store.ghosts.count(), 1);
      });
    });

    describe('messages', () => {
      const msg = (over: Partial<MessageRecord> = {}): MessageRecord => ({
        roomId: '!room:x',
        eventId: '$ev1',
        portal: { network: 'libera', id: '#causeway' },
        remoteId: 'irc-1',
        part: 0,
        sender: '@alice:x',
        timestamp: 1000,
        body: 'hello',
        ...over,
      });

      it('stores the parts of an event and returns them in part order', async () => {
        await store.messages.put(msg({ part: 2, remoteId: 'irc-3', body: 'c' }));
        await store.messages.put(msg({ part: 0, remoteId: 'irc-1', body: 'a' }));
        await store.messages.put(msg({ part: 1, remoteId: 'irc-2' }));
        await store.messages.put(msg({ eventId: '$other', part: 0, remoteId: 'irc-9' }));
        const got = await store.messages.getByEvent('!room:x', '$ev1');
        assert.deepEqual(
          got.map((m) => m.part),
          [0, 1, 2],
        );
        assert.deepEqual(got[0], msg({ part: 0, remoteId: 'irc-1', body: 'a' }));
        assert.deepEqual(await store.messages.getByEvent('!other:x', '$ev1'), []);
      });

      it('put of the same (roomId, eventId, part) replaces it', async () => {
        await store.messages.put(msg());
        await store.messages.put(msg());
        const noBody = msg({ remoteId: 'irc-2', timestamp: 2000 });
        delete noBody.body;
        await store.messages.put(noBody);
        assert.deepEqual(await store.messages.getByEvent('!room:x', '$ev1'), [noBody]);
        assert.deepEqual(await store.messages.getByRemote(noBody.portal, 'irc-1'), []);
      });

      it('getByRemote matches portal key (receiver included) and remote ID', async () => {
        const dmA = msg({ roomId: '!dm-a:x', eventId: '$a', portal: { network: 'libera', id: 'bob', receiver: '@a:x' }, remoteId: 'same' });
        const dmB = msg({ roomId: '!dm-b:x', eventId: '$b', portal: { network: 'libera', id: 'bob', receiver: '@b:x' }, remoteId: 'same' });
        const chan = msg({ eventId: '$c', portal: { network: 'libera', id: 'bob' }, remoteId: 'same' });
        const split1 = msg({ eventId: '$d', remoteId: 'multi', part: 1 });
        const split0 = msg({ eventId: '$e', remoteId: 'multi', part: 0 });
        for (const m of [dmA, dmB, chan, split1, split0]) await store.messages.put(m);
        assert.deepEqual(await store.messages.getByRemote({ network: 'libera', id: 'bob', receiver: '@a:x' }, 'same'), [dmA]);
        assert.deepEqual(await store.messages.getByRemote({ network: 'libera', id: 'bob', receiver: '@b:x' }, 'same'), [dmB]);
        assert.deepEqual(await store.messages.getByRemote({ network: 'libera', id: 'bob' }, 'same'), [chan]);
        assert.deepEqual(await store.messages.getByRemote({ network: 'libera', id: '#causeway' }, 'multi'), [split0, split1]);
        assert.deepEqual(await store.messages.getByRemote({ network: 'oftc', id: '#causeway' }, 'multi'), []);
      });

      it('deleteByEvent removes every part of that event only', async () => {
        await store.messages.put(msg({ part: 0 }));
        await store.messages.put(msg({ part: 1, remoteId: 'irc-2' }));
        await store.messages.put(msg({ eventId: '$keep', remoteId: 'irc-3' }));
        await store.messages.deleteByEvent('!room:x', '$ev1');
        await store.messages.deleteByEvent('!room:x', '$never'); // no-op
        assert.deepEqual(await store.messages.getByEvent('!room:x', '$ev1'), []);
        assert.equal((await store.messages.getByEvent('!room:x', '$keep')).length, 1);
      });

      it('prune drops records strictly older than the cut-off and says how many', async () => {
        for (let i = 0; i < 5; i++) await store.messages.put(msg({ eventId: `$e${i}`, remoteId: `r${i}`, timestamp: 1000 + i }));
        assert.equal(await store.messages.prune(1003), 3);
        assert.equal(await store.messages.prune(1003), 0);
        assert.deepEqual(
          (await store.messages.getByEvent('!room:x', '$e3')).map((m) => m.timestamp),
          [1003],
        );
        assert.equal((await store.messages.getByEvent('!room:x', '$e4')).length, 1);
        assert.deepEqual(await store.messages.getByEvent('!room:x', '$e0'), []);
      });

      it('concurrent puts of one (roomId, eventId, part) end in one record', async () => {
        await Promise.all(Array.from({ length: 25 }, (_, i) => store.messages.put(msg({ timestamp: i }))));
        assert.equal((await store.messages.getByEvent('!room:x', '$ev1')).length, 1);
        assert.equal(await store.messages.count(), 1);
      });

      it('count follows puts, replacements, deletes and prunes', async () => {
        assert.equal(await store.messages.count(), 0);
        await store.messages.put(msg({ part: 0, timestamp: 1 }));
        await store.messages.put(msg({ part: 1, remoteId: 'irc-2', timestamp: 1 }));
        await store.messages.put(msg({ roomId: '!second:x', timestamp: 5 })); // the same remote message in another room
        await store.messages.put(msg({ part: 1, remoteId: 'irc-2b', timestamp: 1 })); // replaces a part
        assert.equal(await store.messages.count(), 3);
        await store.messages.deleteByEvent('!room:x', '$ev1');
        assert.equal(await store.messages.count(), 1);
        await store.messages.prune(10);
        assert.equal(await store.messages.count(), 0);
      });
    });

    describe('intents and memberships', () => {
      it('get/put intent records, replacing on put', async () => {
        assert.equal(await store.intents.get('@bot:x'), undefined);
        await store.intents.put({ userId: '@bot:x', registered: false });
        assert.deepEqual(await store.intents.get('@bot:x'), { userId: '@bot:x', registered: false });
        await store.intents.put({ userId: '@bot:x', registered: true, displayName: 'Bot', avatarUrl: 'mxc://x/y' });
        assert.deepEqual(await store.intents.get('@bot:x'), {
          userId: '@bot:x',
          registered: true,
          displayName: 'Bot',
          avatarUrl: 'mxc://x/y',
        });
        await store.intents.put({ userId: '@bot:x', registered: true });
        assert.deepEqual(await store.intents.get('@bot:x'), { userId: '@bot:x', registered: true });
      });

      it('set/get membership, overwriting', async () => {
        assert.equal(await store.intents.getMembership('!r:x', '@u:x'), undefined);
        await store.intents.setMembership('!r:x', '@u:x', 'invite');
        assert.equal(await store.intents.getMembership('!r:x', '@u:x'), 'invite');
        await store.intents.setMembership('!r:x', '@u:x', 'join');
        assert.equal(await store.intents.getMembership('!r:x', '@u:x'), 'join');
        await store.intents.setMembership('!r:x', '@u:x', 'ban');
        assert.equal(await store.intents.getMembership('!r:x', '@u:x'), 'ban');
        assert.equal(await store.intents.getMembership('!r:x', '@other:x'), undefined);
      });

      it('joinedRooms lists only rooms the user is joined to, sorted', async () => {
        await store.intents.setMembership('!c:x', '@u:x', 'join');
        await store.intents.setMembership('!a:x', '@u:x', 'join');
        await store.intents.setMembership('!b:x', '@u:x', 'invite');
        await store.intents.setMembership('!d:x', '@u:x', 'join');
        await store.intents.setMembership('!d:x', '@u:x', 'leave');
        await store.intents.setMembership('!e:x', '@other:x', 'join');
        assert.deepEqual(await store.intents.joinedRooms('@u:x'), ['!a:x', '!c:x']);
        assert.deepEqual(await store.intents.joinedRooms('@nobody:x'), []);
      });

      it('forgetRoom drops every membership in that room and nothing else', async () => {
        await store.intents.setMembership('!a:x', '@u:x', 'join');
        await store.intents.setMembership('!a:x', '@v:x', 'invite');
        await store.intents.setMembership('!b:x', '@u:x', 'join');
        await store.intents.put({ userId: '@u:x', registered: true });
        await store.intents.forgetRoom('!a:x');
        assert.equal(await store.intents.getMembership('!a:x', '@u:x'), undefined);
        assert.equal(await store.intents.getMembership('!a:x', '@v:x'), undefined);
        assert.deepEqual(await store.intents.joinedRooms('@u:x'), ['!b:x']);
        assert.deepEqual(await store.intents.get('@u:x'), { userId: '@u:x', registered: true });
      });

      it('concurrent membership writes for one (room, user) end in one record', async () => {
        const ms = ['join', 'invite', 'leave', 'ban'] as const;
        await Promise.all(Array.from({ length: 20 }, (_, i) => store.intents.setMembership('!r:x', '@u:x', ms[i % 4])));
        await store.intents.setMembership('!r:x', '@u:x', 'join');
        assert.deepEqual(await store.intents.joinedRooms('@u:x'), ['!r:x']);
      });
    });

    describe('kv', () => {
      it('round-trips JSON values and keeps namespaces apart', async () => {
        const values: unknown[] = [
          { 'm.relates_to': { $ref: 1 }, list: [1, { a: null }] },
          [1, 'a', false],
          'text',
          42.5,
          0,
          true,
          null,
          '',
        ];
        for (const [i, v] of values.entries()) await store.kv.put('ns', `k${i}`, v);
        for (const [i, v] of values.entries()) assert.deepEqual(await store.kv.get('ns', `k${i}`), v);
        assert.equal(await store.kv.get('other', 'k0'), undefined);
        assert.equal(await store.kv.get('ns', 'missing'), undefined);
      });

      it('put replaces; delete reports whether a value went', async () => {
        await store.kv.put('ns', 'k', { v: 1 });
        await store.kv.put('ns', 'k', { v: 2 });
        assert.deepEqual(await store.kv.get('ns', 'k'), { v: 2 });
        assert.equal(await store.kv.delete('ns', 'k'), true);
        assert.equal(await store.kv.delete('ns', 'k'), false);
        assert.equal(await store.kv.get('ns', 'k'), undefined);
      });

      it('takes any string as a key, NUL separators included (PostgreSQL text cannot hold U+0000)', async () => {
        // Connectors join key parts with NUL (the IRC bridge's stored passwords and topics).
        const keys = ['libera\u0000@alice:example.org', 'libera\u0000@bob:example.org', 'odd\uE000key', 'odd\uE0000', 'libera'];
        for (const k of keys) await store.kv.put('nul', k, k.length);
        for (const k of keys) assert.equal(await store.kv.get('nul', k), k.length, JSON.stringify(k));
        assert.deepEqual((await store.kv.list('nul', { prefix: 'libera\u0000' })).map((e) => e.key).sort(), [
          'libera\u0000@alice:example.org',
          'libera\u0000@bob:example.org',
        ]);
        assert.equal(await store.kv.delete('nul', 'libera\u0000@bob:example.org'), true);
        assert.equal(await store.kv.get('nul', 'libera\u0000@bob:example.org'), undefined);
        assert.equal(await store.kv.get('nul', 'libera'), 6);
      });

      it('rejects a value that is not JSON-serialisable', async () => {
        await assert.rejects(() => store.kv.put('ns', 'k', undefined), TypeError);
      });

      it('list returns the namespace sorted by key, filtered by prefix, limited', async () => {
        for (const k of ['b/2', 'a/1', 'b/1', 'c', 'b/10', 'b%x', 'b_y']) await store.kv.put('ns', k, k.toUpperCase());
        await store.kv.put('elsewhere', 'b/3', 'no');
        assert.deepEqual(
          (await store.kv.list('ns')).map((e) => e.key),
          ['a/1', 'b%x', 'b/1', 'b/10', 'b/2', 'b_y', 'c'],
        );
        assert.deepEqual(await store.kv.list('ns', { prefix: 'b/' }), [
          { key: 'b/1', value: 'B/1' },
          { key: 'b/10', value: 'B/10' },
          { key: 'b/2', value: 'B/2' },
        ]);
        assert.deepEqual(
          (await store.kv.list('ns', { prefix: 'b/', limit: 2 })).map((e) => e.key),
          ['b/1', 'b/10'],
        );
        assert.deepEqual(await store.kv.list('ns', { limit: 0 }), []);
        // LIKE metacharacters in a prefix are literal.
        assert.deepEqual(
          (await store.kv.list('ns', { prefix: 'b%' })).map((e) => e.key),
          ['b%x'],
        );
        assert.deepEqual(
          (await store.kv.list('ns', { prefix: 'b_' })).map((e) => e.key),
          ['b_y'],
        );
        assert.deepEqual(await store.kv.list('ns', { prefix: 'zzz' }), []);
        assert.deepEqual(await store.kv.list('empty'), []);
      });

      it('honours expiresAt on get, list and delete; a put without it clears the expiry', async () => {
        const now = Date.now();
        await store.kv.put('ns', 'past', 1, { expiresAt: now - 1000 });
        await store.kv.put('ns', 'future', 2, { expiresAt: now + 60_000 });
        await store.kv.put('ns', 'soon', 3, { expiresAt: now + 150 });
        assert.equal(await store.kv.get('ns', 'past'), undefined);
        assert.equal(await store.kv.get('ns', 'future'), 2);
        assert.equal(await store.kv.get('ns', 'soon'), 3);
        assert.deepEqual(
          (await store.kv.list('ns')).map((e) => e.key),
          ['future', 'soon'],
        );
        await sleep(200);
        assert.equal(await store.kv.get('ns', 'soon'), undefined);
        assert.deepEqual(
          (await store.kv.list('ns')).map((e) => e.key),
          ['future'],
        );
        assert.deepEqual(
          (await store.kv.list('ns', { limit: 1 })).map((e) => e.key),
          ['future'],
        );
        assert.equal(await store.kv.delete('ns', 'soon'), false);
        await store.kv.put('ns', 'past', 'back');
        assert.equal(await store.kv.get('ns', 'past'), 'back');
        await sleep(10);
        assert.equal(await store.kv.get('ns', 'past'), 'back');
      });

      it('concurrent puts of one key end in one entry', async () => {
        await Promise.all(Array.from({ length: 25 }, (_, i) => store.kv.put('ns', 'k', i)));
        const all = await store.kv.list('ns');
        assert.equal(all.length, 1);
        assert.equal(typeof all[0].value, 'number');
      });
    });

    describe('queues', () => {
      const values = (recs: Array<{ value: unknown }>) => recs.map((r) => r.value);

      it("appends in order per key; seqs grow across keys and calls; list gives a key's queue or the whole queue in append order", async () => {
        const a1 = await store.queues.append('lines', 'alice', ['a1', 'a2'], 1000);
        const b1 = await store.queues.append('lines', 'bob', ['b1']);
        const a2 = await store.queues.append('lines', 'alice', ['a3']);
        assert.deepEqual(
          a1.map((r) => ({ ...r, seq: 0 })),
          [
            { queue: 'lines', key: 'alice', seq: 0, value: 'a1', createdAt: 1000, attempted: false },
            { queue: 'lines', key: 'alice', seq: 0, value: 'a2', createdAt: 1000, attempted: false },
          ],
        );
        const seqs = [...a1, ...b1, ...a2].map((r) => r.seq);
        assert.deepEqual(
          [...seqs].sort((x, y) => x - y),
          seqs,
          'seqs follow the appends',
        );
        assert.equal(new Set(seqs).size, 4);
        assert.ok(Math.abs(b1[0].createdAt - Date.now()) < 60_000, 'createdAt defaults to now');
        assert.deepEqual(values(await store.queues.list('lines', { key: 'alice' })), ['a1', 'a2', 'a3']);
        assert.deepEqual(values(await store.queues.list('lines')), ['a1', 'a2', 'b1', 'a3']);
        assert.deepEqual(values(await store.queues.list('lines', { limit: 2 })), ['a1', 'a2']);
        assert.deepEqual(values(await store.queues.list('lines', { key: 'alice', limit: 0 })), []);
        assert.deepEqual(await store.queues.list('lines', { key: 'carol' }), []);
        assert.deepEqual(await store.queues.list('nothing'), []);
        assert.deepEqual(await store.queues.append('lines', 'alice', []), []);
      });

      it('round-trips JSON values and any string as queue name and key (NUL included); queues are kept apart', async () => {
        const odd: unknown[] = [
          { 'm.relates_to': { $ref: 1 }, text: 'nul \u0000 inside', list: [1, null, 'é☃'] },
          0,
          '',
          false,
          null,
          [[]],
        ];
        const key = 'libera\u0000@alice:example.org';
        const queue = 'connector.irc\u0000lines\uE000';
        await store.queues.append(queue, key, odd);
        await store.queues.append('other', key, ['elsewhere']);
        const got = await store.queues.list(queue, { key });
        assert.deepEqual(values(got), odd);
        assert.deepEqual(
          got.map((r) => [r.queue, r.key]),
          odd.map(() => [queue, key]),
        );
        assert.deepEqual(values(await store.queues.list('other')), ['elsewhere']);
        assert.equal(await store.queues.count(queue), odd.length);
        assert.equal(await store.queues.count('other'), 1);
        assert.equal(await store.queues.count(), odd.length + 1);
      });

      it('rejects a value that is not JSON-serialisable, appending nothing', async () => {
        await assert.rejects(() => store.queues.append('q', 'k', ['fine', undefined]), TypeError);
        assert.equal(await store.queues.count('q'), 0);
      });

      it('markAttempted flags records; remove takes them out and says how many; unknown seqs are ignored', async () => {
        const recs = await store.queues.append('q', 'k', ['x', 'y', 'z']);
        await store.queues.markAttempted('q', [recs[0].seq, 987_654_321]);
        await store.queues.markAttempted('other', [recs[1].seq]); // another queue's seq space is not this one
        assert.deepEqual(
          (await store.queues.list('q')).map((r) => [r.value, r.attempted]),
          [
            ['x', true],
            ['y', false],
            ['z', false],
          ],
        );
        assert.equal(await store.queues.remove('q', [recs[0].seq, recs[2].seq, 987_654_321]), 2);
        assert.equal(await store.queues.remove('q', [recs[0].seq]), 0);
        assert.equal(await store.queues.remove('other', [recs[1].seq]), 0);
        assert.deepEqual(values(await store.queues.list('q')), ['y']);
        await store.queues.markAttempted('q', []);
        assert.equal(await store.queues.remove('q', []), 0);
      });

      it('keeps every record, its flag and the order across a restart; seqs keep growing and are never reused', async () => {
        const first = await store.queues.append('q', 'k', ['one', 'two', 'three'], 5);
        await store.queues.markAttempted('q', [first[1].seq]);
        await store.queues.remove('q', [first[0].seq]);
        const last = await store.queues.append('q', 'k', ['four']);
        await store.queues.remove('q', [last[0].seq]); // the highest seq is gone before the restart
        await store.close();
        const again = await reopen();
        assert.deepEqual(
          (await again.queues.list('q')).map((r) => [r.value, r.attempted, r.createdAt, r.seq]),
          [
            ['two', true, 5, first[1].seq],
            ['three', false, 5, first[2].seq],
          ],
        );
        const next = await again.queues.append('q', 'k', ['five']);
        assert.ok(next[0].seq > last[0].seq, `seq ${next[0].seq} after ${last[0].seq}`);
        assert.deepEqual(values(await again.queues.list('q', { key: 'k' })), ['two', 'three', 'five']);
      });

      it('concurrent appends to different keys all land, each key in its own order', async () => {
        await Promise.all(Array.from({ length: 20 }, (_, i) => store.queues.append('q', `k${i % 4}`, [i, i + 100])));
        assert.equal(await store.queues.count('q'), 40);
        for (let k = 0; k < 4; k++) {
          const vs = values(await store.queues.list('q', { key: `k${k}` })) as number[];
          assert.equal(vs.length, 10);
          for (let i = 0; i < vs.length; i += 2) assert.equal(vs[i + 1], vs[i] + 100, "one append's values stay together, in order");
        }
      });

      it('rejects calls after close() with StoreClosedError', async () => {
        await store.close();
        await assert.rejects(() => store.queues.append('q', 'k', [1]), StoreClosedError);
        await assert.rejects(() => store.queues.list('q'), StoreClosedError);
      });
    });
  });
}
