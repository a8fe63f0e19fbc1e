import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MemoryConnector } from '@causeway/testing/bridge';
import { startBridgeFixture, eventually, type BridgeFixture } from '@causeway/testing/bridge';
import { asObject, asString, at, parseJson, roomWithBot, type JsonObject } from '@causeway/testing';
import type { TestUser } from '@causeway/testing';

const BOT = '@_mem_bot:localhost';
const TYPES = ['m.bridge', 'uk.half-shot.bridge'];
const STATE_PUT = 'PUT /rooms/{roomId}/state/{eventType}/{stateKey}';
const protocol = { id: 'mem', displayname: 'Memory' };
const channel = (id: string) => ({ id, displayname: `#${id}`, external_url: `https://mem.example/mem/${id}` });

describe('bridge-core: existing portal rooms get up-to-date bridge info on start', function () {
  this.timeout(30_000);
  let fx: BridgeFixture<{ network: string }>;
  let connector: MemoryConnector;
  let alice: TestUser;
  let logDir: string;
  /** How the next connector (after a restart) is set up, as the operator's config would set it. */
  let networkDisplayName: string | undefined;
  let describeFails: boolean;

  beforeEach(async () => {
    networkDisplayName = undefined;
    describeFails = false;
    logDir = mkdtempSync(path.join(tmpdir(), 'causeway-bridge-info-log-'));
    fx = await startBridgeFixture({
      connector: () => {
        connector = new MemoryConnector();
        connector.networkDisplayName = networkDisplayName;
        connector.describeFails = describeFails;
        return connector;
      },
      configKey: 'mem',
      core: { logging: { format: 'json', file: path.join(logDir, 'bridge.log') } },
    });
    alice = await fx.hs.registerUser('alice', { displayname: 'Alice' });
  });
  afterEach(async () => {
    await fx.stop();
    rmSync(logDir, { recursive: true, force: true });
  });

  /** Bridge-info events in a room, as a client reads them from its state. */
  const bridgeInfo = (roomId: string) => fx.hs.roomState(roomId).filter((e) => TYPES.includes(e.type));
  const networkNames = (roomId: string) => bridgeInfo(roomId).map((e) => at(e.content, 'network', 'displayname'));

  /** Restart the bridge and wait for its background bridge-info refresh to finish. */
  async function restart() {
    await fx.restart();
    const summary = await fx.bridge.bridgeInfoSync.done();
    assert.ok(summary, 'the refresh ran');
    return summary;
  }

  /** A portal created by the current bridge for an alias (it carries bridge info from creation). */
  async function createdPortal(id: string): Promise<string> {
    const roomId = await alice.join(`#_mem_mem_${id}:localhost`);
    await eventually(async () => (await fx.bridge.portals.getByRoom(roomId)) !== undefined, 'portal record');
    await fx.hs.pusher.waitForIdle();
    await fx.bridge.idle();
    return roomId;
  }

  /** Alice's room with the bot invited and, when `botPower` is given, allowed to send state. */
  const alicesRoom = (botPower?: number) => roomWithBot(fx.hs, alice, BOT, botPower);

  /** A room Alice links through the current bridge (it gets bridge info at link time). */
  async function linkedRoom(id: string): Promise<string> {
    const roomId = await alicesRoom(50);
    await connector.ctx.portals.link(roomId, { network: 'mem', id }, { actor: alice.userId });
    return roomId;
  }

  /**
   * A room linked by a bridge version that sent no bridge info: the bot joined it and the portal is
   * in the store, nothing more (written straight to the store, as that version left it).
   */
  async function legacyPlumbed(id: string, botPower?: number): Promise<string> {
    const roomId = await alicesRoom(botPower);
    await fx.bridge.intents.bot.ensureJoined(roomId);
    await fx.bridge.store.portals.put({ roomId, key: { network: 'mem', id }, kind: 'plumbed', createdAt: Date.now() });
    return roomId;
  }

  /** Likewise a portal room that version created for a channel: the bot made it, with no bridge info in it. */
  async function legacyCreated(id: string): Promise<string> {
    const roomId = await fx.bridge.intents.bot.createRoom({ preset: 'public_chat', name: `#${id}` });
    await fx.bridge.store.portals.put({ roomId, key: { network: 'mem', id }, kind: 'portal', createdAt: Date.now() });
    return roomId;
  }

  /** The JSON log lines the bridge wrote to its log file. */
  function logLines(): JsonObject[] {
    const file = path.join(logDir, 'bridge.log');
    if (!existsSync(file)) return [];
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l, i) => asObject(parseJson(l), `log line ${i + 1}`));
  }

  it('gives portals created and linked before bridge info existed their bridge info on the next start, DMs excepted', async () => {
    const created = await legacyCreated('old');
    const plumbed = await legacyPlumbed('older', 50);
    const dm = await alice.createRoom({ preset: 'trusted_private_chat', is_direct: true });
    await fx.bridge.store.portals.put({
      roomId: dm,
      key: { network: 'mem', id: 'fay' },
      kind: 'dm',
      dmUser: alice.userId,
      createdAt: Date.now(),
    });
    assert.deepEqual([...bridgeInfo(created), ...bridgeInfo(plumbed)], [], 'no bridge info before the upgrade');

    assert.deepEqual(await restart(), { updated: 2, current: 0, failed: 0, skipped: 0 });
    for (const [roomId, id] of [
      [created, 'old'],
      [plumbed, 'older'],
    ]) {
      const events = bridgeInfo(roomId);
      assert.deepEqual(events.map((e) => e.type).sort(), [...TYPES].sort());
      for (const e of events) {
        assert.equal(e.sender, BOT);
        assert.equal(e.state_key, `mem/mem/${id}`);
        assert.deepEqual(e.content, {
          bridgebot: BOT,
          protocol,
          network: { id: 'mem', displayname: 'Memory network mem' },
          channel: channel(id),
        });
      }
    }
    assert.deepEqual(bridgeInfo(dm), [], "a DM is one person's conversation, not a bridged channel");
    assert.equal(fx.hs.requestCount(STATE_PUT), 4);
  });

  it("sends nothing on a restart when no room's bridge info changed", async () => {
    const created = await createdPortal('general');
    const plumbed = await linkedRoom('team');
    const before = [...bridgeInfo(created), ...bridgeInfo(plumbed)].map((e) => e.event_id);
    assert.equal(before.length, 4);
    fx.hs.resetCounters();

    assert.deepEqual(await restart(), { updated: 0, current: 2, failed: 0, skipped: 0 });
    assert.equal(fx.hs.requestCount(STATE_PUT), 0, JSON.stringify(fx.hs.requestCounts()));
    assert.deepEqual(
      [...bridgeInfo(created), ...bridgeInfo(plumbed)].map((e) => e.event_id),
      before,
    );
  });

  it('resends bridge info once after the network is renamed, keeping who linked the room', async () => {
    const created = await createdPortal('general');
    const plumbed = await linkedRoom('team');
    fx.hs.resetCounters();
    networkDisplayName = 'Memory Net';

    assert.deepEqual(await restart(), { updated: 2, current: 0, failed: 0, skipped: 0 });
    assert.deepEqual(networkNames(created), ['Memory Net', 'Memory Net']);
    assert.deepEqual(networkNames(plumbed), ['Memory Net', 'Memory Net']);
    for (const e of bridgeInfo(plumbed)) assert.equal(e.content.creator, alice.userId);
    assert.equal(fx.hs.requestCount(STATE_PUT), 4);

    fx.hs.resetCounters();
    assert.deepEqual(await restart(), { updated: 0, current: 2, failed: 0, skipped: 0 });
    assert.equal(fx.hs.requestCount(STATE_PUT), 0);
  });

  it('logs a room where the bot may not send state once, updates the others, and retries it on the next start', async () => {
    const first = await legacyPlumbed('first', 50);
    const powerless = await legacyPlumbed('powerless');
    const last = await legacyPlumbed('last', 50);
    const level = process.env.CAUSEWAY_LOG_LEVEL;
    process.env.CAUSEWAY_LOG_LEVEL = 'warn';
    let summary;
    try {
      summary = await restart();
    } finally {
      process.env.CAUSEWAY_LOG_LEVEL = level;
    }
    assert.deepEqual(summary, { updated: 2, current: 0, failed: 1, skipped: 0 });
    assert.equal(bridgeInfo(first).length, 2);
    assert.equal(bridgeInfo(last).length, 2);
    assert.deepEqual(bridgeInfo(powerless), []);
    const line = 'bridge info: 2 rooms updated, 0 already current, 1 failed; failed rooms are tried again on the next start';
    await eventually(() => logLines().some((l) => l.message === line), 'summary in the log');
    const aboutPowerless = logLines().filter((l) => l.roomId === powerless);
    assert.equal(aboutPowerless.length, 1, JSON.stringify(aboutPowerless));
    assert.equal(aboutPowerless[0].level, 'warn');
    assert.match(asString(aboutPowerless[0].message, 'message'), /could not send bridge info.*power/);

    // The room's admin grants the power; the next start fixes the room and leaves the others alone.
    const pl = fx.hs.stateEvent(powerless, 'm.room.power_levels')!.content;
    await alice.sendState(powerless, 'm.room.power_levels', '', { ...pl, users: { ...pl.users, [BOT]: 50 } });
    assert.deepEqual(await restart(), { updated: 1, current: 2, failed: 0, skipped: 0 });
    assert.equal(bridgeInfo(powerless).length, 2);
  });

  it('leaves a room as it is when the connector cannot describe it, instead of replacing names with IDs', async () => {
    const roomId = await createdPortal('general');
    const before = bridgeInfo(roomId).map((e) => e.event_id);
    fx.hs.resetCounters();
    describeFails = true;
    assert.deepEqual(await restart(), { updated: 0, current: 0, failed: 1, skipped: 0 });
    assert.equal(fx.hs.requestCount(STATE_PUT), 0);
    assert.deepEqual(
      bridgeInfo(roomId).map((e) => e.event_id),
      before,
    );
    describeFails = false;
    assert.deepEqual(await restart(), { updated: 0, current: 1, failed: 0, skipped: 0 });
  });

  it('does not re-join a room the bot was kicked from just to put bridge info there', async () => {
    const roomId = await legacyPlumbed('gone', 50);
    await alice.kick(roomId, BOT);
    await eventually(async () => (await fx.bridge.intents.bot.cachedMembership(roomId)) === 'leave', 'kick seen by the bridge');
    fx.hs.resetCounters();
    assert.deepEqual(await restart(), { updated: 0, current: 0, failed: 0, skipped: 1 });
    assert.equal(fx.hs.membership(roomId, BOT), 'leave');
    assert.deepEqual(bridgeInfo(roomId), []);
    assert.equal(fx.hs.requestCount(STATE_PUT), 0);
  });

  it('answers and relays while the refresh is still sending', async () => {
    const roomId = await legacyPlumbed('busy', 50);
    await legacyPlumbed('busier', 50);
    // Slow state sends keep the refresh going while Alice talks.
    fx.hs.faults.setLatency(1500, STATE_PUT);
    await fx.restart();
    let refreshed = false;
    const done = fx.bridge.bridgeInfoSync.done().then((s) => {
      refreshed = true;
      return s;
    });
    await alice.sendMessage(roomId, 'during the refresh');
    await eventually(() => connector.messages().some((m) => m.event.content.body === 'during the refresh'), 'message relayed');
    assert.equal(refreshed, false, 'the message did not wait for the refresh');
    assert.deepEqual(await done, { updated: 2, current: 0, failed: 0, skipped: 0 });
    fx.hs.faults.setLatency(0, STATE_PUT);
  });

  it('forgets what an unlinked room was sent', async () => {
    const roomId = await linkedRoom('team');
    assert.ok(await fx.bridge.store.kv.get('bridge-info', roomId));
    await connector.ctx.portals.unlink(roomId, { actor: alice.userId });
    assert.equal(await fx.bridge.store.kv.get('bridge-info', roomId), undefined);
    assert.deepEqual(
      bridgeInfo(roomId).map((e) => e.content),
      [{}, {}],
    );
  });
});
