import { strict as assert } from 'node:assert';
import { ADMIN_ROOMS_NAMESPACE, AdminRooms, isDirectInviteToBot } from '../../src/commands/admin-rooms';
import { CapturingLogger, MemoryKv } from './helpers';

const BOT = '@bridgebot:example.org';

describe('commands: admin rooms', () => {
  describe('isDirectInviteToBot', () => {
    const invite = (over: Record<string, unknown> = {}, content: Record<string, unknown> = {}) => ({
      type: 'm.room.member',
      sender: '@alice:example.org',
      state_key: BOT,
      content: { membership: 'invite', is_direct: true, ...content },
      ...over,
    });

    it('accepts a direct invite of the bot', () => {
      assert.ok(isDirectInviteToBot(invite(), BOT));
    });
    it('rejects invites of someone else, non-invites and self-invites', () => {
      assert.ok(!isDirectInviteToBot(invite({ state_key: '@other:example.org' }), BOT));
      assert.ok(!isDirectInviteToBot(invite({}, { membership: 'join' }), BOT));
      assert.ok(!isDirectInviteToBot(invite({ sender: BOT }), BOT));
      assert.ok(!isDirectInviteToBot(invite({ type: 'm.room.message' }), BOT));
    });
    it('needs is_direct to be exactly true', () => {
      assert.ok(!isDirectInviteToBot(invite({}, { is_direct: false }), BOT));
      assert.ok(!isDirectInviteToBot(invite({}, { is_direct: 'true' }), BOT));
    });
    it('accepts a non-direct invite into a room of only the inviter and the bot', () => {
      const ev = invite({}, { is_direct: undefined });
      assert.ok(!isDirectInviteToBot(ev, BOT));
      assert.ok(isDirectInviteToBot(ev, BOT, { members: ['@alice:example.org', BOT] }));
      assert.ok(isDirectInviteToBot(ev, BOT, { members: ['@alice:example.org'] }));
      assert.ok(!isDirectInviteToBot(ev, BOT, { members: ['@alice:example.org', BOT, '@carol:example.org'] }));
      assert.ok(!isDirectInviteToBot(ev, BOT, { members: [BOT] }));
      assert.ok(!isDirectInviteToBot(ev, BOT, { members: [] }));
    });
  });

  describe('AdminRooms', () => {
    let kv: MemoryKv;
    let rooms: AdminRooms;
    beforeEach(() => {
      kv = new MemoryKv();
      rooms = new AdminRooms(kv, { logger: new CapturingLogger() });
    });

    it('remembers both directions in the admin-rooms namespace', async () => {
      assert.equal(await rooms.isAdminRoom('!r1:example.org'), false);
      await rooms.remember('@alice:example.org', '!r1:example.org');
      assert.equal(await rooms.isAdminRoom('!r1:example.org'), true);
      assert.equal(await rooms.adminRoomFor('@alice:example.org'), '!r1:example.org');
      assert.equal(await rooms.ownerOf('!r1:example.org'), '@alice:example.org');
      assert.equal(await kv.get(ADMIN_ROOMS_NAMESPACE, '@alice:example.org'), '!r1:example.org');
      assert.equal(await kv.get(ADMIN_ROOMS_NAMESPACE, '!r1:example.org'), '@alice:example.org');
      assert.deepEqual(await rooms.list(), [{ userId: '@alice:example.org', roomId: '!r1:example.org' }]);
    });

    it('persists across instances', async () => {
      await rooms.remember('@alice:example.org', '!r1:example.org');
      const again = new AdminRooms(kv, { logger: new CapturingLogger() });
      assert.equal(await again.isAdminRoom('!r1:example.org'), true);
      assert.equal(await again.adminRoomFor('@alice:example.org'), '!r1:example.org');
    });

    it("replaces a user's previous admin room", async () => {
      await rooms.remember('@alice:example.org', '!r1:example.org');
      await rooms.remember('@alice:example.org', '!r2:example.org');
      assert.equal(await rooms.isAdminRoom('!r1:example.org'), false);
      assert.equal(await rooms.adminRoomFor('@alice:example.org'), '!r2:example.org');
      assert.equal(await kv.get(ADMIN_ROOMS_NAMESPACE, '!r1:example.org'), undefined);
    });

    it('gives a room to its latest owner only', async () => {
      await rooms.remember('@alice:example.org', '!r1:example.org');
      await rooms.remember('@bob:example.org', '!r1:example.org');
      assert.equal(await rooms.ownerOf('!r1:example.org'), '@bob:example.org');
      assert.equal(await rooms.adminRoomFor('@alice:example.org'), undefined);
    });

    it('forgets a room', async () => {
      await rooms.remember('@alice:example.org', '!r1:example.org');
      assert.equal(await rooms.forget('!r1:example.org'), '@alice:example.org');
      assert.equal(await rooms.isAdminRoom('!r1:example.org'), false);
      assert.equal(await rooms.adminRoomFor('@alice:example.org'), undefined);
      assert.equal(kv.data.get(ADMIN_ROOMS_NAMESPACE)?.size ?? 0, 0);
      assert.equal(await rooms.forget('!r1:example.org'), undefined);
    });

    it('forgets the room when its owner leaves or is banned, not when others do', async () => {
      await rooms.remember('@alice:example.org', '!r1:example.org');
      assert.equal(await rooms.onMembership('!r1:example.org', '@carol:example.org', 'leave'), false);
      assert.equal(await rooms.onMembership('!r1:example.org', '@alice:example.org', 'join'), false);
      assert.equal(await rooms.isAdminRoom('!r1:example.org'), true);
      assert.equal(await rooms.onMembership('!r1:example.org', '@alice:example.org', 'leave'), true);
      assert.equal(await rooms.isAdminRoom('!r1:example.org'), false);
      await rooms.remember('@alice:example.org', '!r2:example.org');
      assert.equal(await rooms.onMembership('!r2:example.org', '@alice:example.org', 'ban'), true);
      assert.equal(await rooms.adminRoomFor('@alice:example.org'), undefined);
    });

    it('serialises concurrent writes', async () => {
      await Promise.all([
        rooms.remember('@alice:example.org', '!r1:example.org'),
        rooms.remember('@alice:example.org', '!r2:example.org'),
        rooms.remember('@bob:example.org', '!r1:example.org'),
      ]);
      const uncached = new AdminRooms(kv, { cache: false, logger: new CapturingLogger() });
      assert.equal(await uncached.adminRoomFor('@alice:example.org'), '!r2:example.org');
      assert.equal(await uncached.ownerOf('!r2:example.org'), '@alice:example.org');
      assert.equal(await uncached.ownerOf('!r1:example.org'), '@bob:example.org');
      assert.equal(await uncached.adminRoomFor('@bob:example.org'), '!r1:example.org');
    });

    it('rejects swapped arguments', async () => {
      await assert.rejects(rooms.remember('!r1:example.org', '@alice:example.org'));
    });

    it('keeps working with a tiny cache', async () => {
      const small = new AdminRooms(kv, { maxCacheEntries: 1, logger: new CapturingLogger() });
      await small.remember('@alice:example.org', '!r1:example.org');
      await small.remember('@bob:example.org', '!r2:example.org');
      assert.equal(await small.ownerOf('!r1:example.org'), '@alice:example.org');
      assert.equal(await small.adminRoomFor('@bob:example.org'), '!r2:example.org');
    });
  });
});
