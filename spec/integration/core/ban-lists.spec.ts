/**
 * Ban lists (bridge.ban_lists, MAI banLists): users an `m.ban` rule of a followed policy room
 * matches may not use the bridge, from start-up on and as rules are added or removed.
 */
import { strict as assert } from 'node:assert';
import { HomeserverEmulator, type TestUser } from '@causeway/testing';
import { startBridgeFixture, eventually, type BridgeFixture } from '@causeway/testing/bridge';
import { MemoryConnector } from '@causeway/testing/bridge';

describe('bridge-core: ban lists (policy rooms)', function () {
  this.timeout(30_000);
  let hs: HomeserverEmulator;
  let fx: BridgeFixture<{ network: string }>;
  let connector: MemoryConnector;
  let mod: TestUser;
  let policy: string;

  const rule = (key: string, content: Record<string, unknown>) => mod.sendState(policy, 'm.policy.rule.user', key, content);
  const settle = async () => {
    await hs.pusher.waitForIdle();
    await fx.bridge.idle();
  };
  const relayed = () => connector.messages().map((m) => `${m.event.sender.userId}: ${m.event.content.body}`);

  before(async () => {
    hs = await HomeserverEmulator.start({ serverName: 'localhost' });
    mod = await hs.registerUser('mod');
    policy = await mod.createRoom({ preset: 'public_chat', name: 'Ban list' });
    await rule('spam', { entity: '@spam*:localhost', recommendation: 'm.ban', reason: 'spamming' });
    await rule('admin', { entity: '@admin:localhost', recommendation: 'm.ban', reason: 'a list may be wrong' });
    await rule('case', { entity: '@Shouty:LOCALHOST', recommendation: 'org.matrix.mjolnir.ban' });
    await rule('other', { entity: '@nobody:localhost', recommendation: 'org.example.mute' });
    fx = await startBridgeFixture({
      hs,
      connector: () => (connector = new MemoryConnector()),
      configKey: 'mem',
      // A list that cannot be read is logged and retried; it does not stop the bridge or the others.
      core: { bridge: { admins: ['@admin:localhost'], ban_lists: { rooms: ['!missing:localhost', policy] } } },
    });
  });
  after(async () => {
    await fx?.stop();
    await hs?.stop();
  });

  it("from start-up: a banned user's messages are not relayed and they are told; others and admins are", async () => {
    assert.equal(fx.bridge.banLists?.size, 3, 'the three ban rules; the mute rule is not a ban');
    assert.equal(fx.bridge.permissions.mayUseBridge('@Shouty:localhost'), false, 'server names compare case-insensitively');
    assert.equal(fx.bridge.permissions.mayUseBridge('@shouty:localhost'), true, 'localparts do not');
    const alice = await hs.registerUser('alice');
    const spammer = await hs.registerUser('spammer9');
    const admin = await hs.registerUser('admin');
    const roomId = await alice.join('#_mem_mem_general:localhost');
    await spammer.join(roomId);
    await admin.join(roomId);
    await spammer.sendMessage(roomId, 'buy now');
    await alice.sendMessage(roomId, 'hello');
    await admin.sendMessage(roomId, 'admins are exempt');
    await settle();
    assert.deepEqual(relayed(), ['@alice:localhost: hello', '@admin:localhost: admins are exempt']);
    assert.equal(fx.bridge.permissions.mayUseBridge(spammer.userId), false);
    const bot = fx.bridge.intents.bot.userId;
    assert.ok(
      hs
        .roomTimeline(roomId)
        .some((e) => e.sender === bot && String(e.content?.body).startsWith(`${spammer.userId}: Your messages are not bridged`)),
      'the banned user is told in the room',
    );
  });

  it('a rule added while running bans at once and tells the connector; removing it lifts the ban', async () => {
    const alice = await hs.registerUser('alice2');
    const roomId = await alice.join('#_mem_mem_general:localhost');
    const before = connector.permissionsChanged;
    await rule('alice2', { entity: alice.userId, recommendation: 'm.ban', reason: 'test' });
    await settle();
    assert.equal(connector.permissionsChanged, before + 1, 'the connector heard, to close connections');
    await alice.sendMessage(roomId, 'while banned');
    await settle();
    assert.ok(!relayed().some((m) => m.includes('while banned')));
    await rule('alice2', {});
    await settle();
    await alice.sendMessage(roomId, 'unbanned');
    await eventually(() => relayed().some((m) => m.includes('unbanned')), 'relayed again after the rule was removed');
  });
});
