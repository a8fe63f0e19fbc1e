import { strict as assert } from 'node:assert';
import { MemoryConnector } from '@causeway/testing/bridge';
import { startBridgeFixture, eventually, freePort, type BridgeFixture } from '@causeway/testing/bridge';
import type { TestUser } from '@causeway/testing';

const SECRET = 'provisioning-secret-for-tests-0123456789abcdef';

/** Parse the Prometheus text format into `name{labels}` → value. */
function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}
function value(m: Map<string, number>, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const [k, v] of m) {
    if (!k.startsWith(name + '{') && k !== name) continue;
    if (Object.entries(labels).every(([l, val]) => k.includes(`${l}="${val}"`))) total += v;
  }
  return total;
}

describe('bridge-core: metrics and provisioning on a running bridge', function () {
  this.timeout(30_000);
  let fx: BridgeFixture<{ network: string }>;
  let connector: MemoryConnector;
  let alice: TestUser;
  let bob: TestUser;

  beforeEach(async () => {
    fx = await startBridgeFixture({
      connector: () => (connector = new MemoryConnector()),
      configKey: 'mem',
      core: {
        metrics: { enabled: true, port: await freePort(), bearer_token: 'metrics-token-0123456789' },
        provisioning: { enabled: true, secret: SECRET, rate_limit: { enabled: true, per_user_per_minute: 5, per_ip_per_minute: 1000 } },
      },
    });
    alice = await fx.hs.registerUser('alice');
    bob = await fx.hs.registerUser('bob');
  });
  afterEach(async () => {
    await fx?.stop();
  });

  async function scrape(): Promise<Map<string, number>> {
    const res = await fetch(fx.bridge.metricsUrl!, { headers: { authorization: 'Bearer metrics-token-0123456789' } });
    assert.equal(res.status, 200);
    return parseMetrics(await res.text());
  }

  it('counts real traffic in /metrics, and gauges follow what they count', async () => {
    const roomId = await alice.join('#_mem_mem_metrics:localhost');
    await eventually(async () => (await fx.bridge.portals.getByRoom(roomId)) !== undefined, 'portal');
    for (let i = 0; i < 3; i++) await alice.sendMessage(roomId, `hi ${i}`);
    await eventually(() => connector.messages().length === 3, 'delivered');
    for (let i = 0; i < 4; i++) {
      await connector.ctx.remote.emit({
        type: 'message',
        portal: { network: 'mem', id: 'metrics' },
        sender: { ghost: { network: 'mem', id: 'zed' } },
        id: `z${i}`,
        content: { kind: 'text', body: 'yo' },
      });
    }
    await fx.hs.pusher.waitForIdle();
    await fx.bridge.idle();
    const m = await scrape();
    assert.equal(value(m, 'causeway_messages_relayed_total', { direction: 'matrix_to_remote', kind: 'message', outcome: 'ok' }), 3);
    assert.equal(value(m, 'causeway_messages_relayed_total', { direction: 'remote_to_matrix', kind: 'message', outcome: 'ok' }), 4);
    assert.ok(value(m, 'causeway_homeserver_events_received_total', { type: 'm.room.message' }) >= 3);
    assert.equal(
      value(m, 'causeway_homeserver_requests_total', { endpoint: '/rooms/{roomId}/send/{eventType}/{txnId}', status: '200' }),
      4,
    );
    assert.ok(value(m, 'causeway_transactions_total', { outcome: 'processed' }) >= 1);
    assert.equal(value(m, 'causeway_portals', { kind: 'portal' }), 1);
    assert.equal(value(m, 'causeway_ghosts'), 1);
    assert.equal(value(m, 'causeway_message_map_records'), 7, 'one record per relayed message, both directions');
    assert.equal(value(m, 'causeway_active_users', { window: '30d', kind: 'matrix' }), 1);
    assert.equal(value(m, 'causeway_active_users', { window: '30d', kind: 'remote' }), 1);
    assert.equal(value(m, 'causeway_delivery_queue_events'), 0);
    // Unlinking the only portal brings its gauge back to 0.
    await fx.bridge.portals.unlink(roomId, { actor: '@admin:localhost' });
    assert.equal(value(await scrape(), 'causeway_portals', { kind: 'portal' }), 0);
  });

  it('refuses /metrics without the bearer token', async () => {
    assert.equal((await fetch(fx.bridge.metricsUrl!)).status, 401);
    assert.equal((await fetch(fx.bridge.metricsUrl!, { headers: { authorization: 'Bearer nope' } })).status, 403);
  });

  it("authenticates a connector's custom appservice-port route with the hs_token unless declared public", async () => {
    const status = `${fx.asUrl}/_mem/status`;
    assert.equal((await fetch(status)).status, 401);
    assert.equal((await fetch(status, { headers: { authorization: 'Bearer wrong-token' } })).status, 403);
    const ok = await fetch(status, { headers: { authorization: `Bearer ${fx.registration.hs_token}` } });
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), { delivered: 0 });
    assert.equal((await fetch(`${fx.asUrl}/_mem/health`)).status, 200);
  });

  it('answers 403 M_AS_BRIDGE_NOT_IN_ROOM to link and list on a room the bot is not in, and links it once the bot is invited', async () => {
    const base = `${fx.asUrl}/_matrix/provision/v1`;
    const roomId = await alice.createRoom({ preset: 'public_chat' });
    const auth = { authorization: `Bearer ${SECRET}`, 'content-type': 'application/json' };
    const q = `user_id=${encodeURIComponent(alice.userId)}`;
    const link = () =>
      fetch(`${base}/link?${q}`, { method: 'POST', headers: auth, body: JSON.stringify({ room_id: roomId, channel: 'outside' }) });
    for (const res of [await link(), await fetch(`${base}/links/${encodeURIComponent(roomId)}?${q}`, { headers: auth })]) {
      assert.equal(res.status, 403);
      const body = (await res.json()) as { errcode: string; room_id: string };
      assert.equal(body.errcode, 'M_AS_BRIDGE_NOT_IN_ROOM');
      assert.equal(body.room_id, roomId);
    }
    await alice.invite(roomId, '@_mem_bot:localhost');
    await fx.hs.pusher.waitForIdle();
    await fx.bridge.idle();
    const ok = await link();
    assert.equal(ok.status, 200, await ok.clone().text());
  });

  it('links a room through provisioning on the appservice port, with auth and power checks', async () => {
    const base = `${fx.asUrl}/_matrix/provision/v1`;
    const roomId = await alice.createRoom({ preset: 'public_chat' });
    await bob.join(roomId);
    await alice.invite(roomId, '@_mem_bot:localhost');
    await fx.hs.pusher.waitForIdle();
    await fx.bridge.idle();
    const post = (token: string | undefined, user: string, body: unknown) =>
      fetch(`${base}/link?user_id=${encodeURIComponent(user)}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify(body),
      });
    const noToken = await post(undefined, alice.userId, { room_id: roomId, channel: 'plumbed' });
    assert.equal(noToken.status, 401);
    const wrong = await post('x'.repeat(48), alice.userId, { room_id: roomId, channel: 'plumbed' });
    assert.equal(wrong.status, 403);
    const powerless = await post(SECRET, bob.userId, { room_id: roomId, channel: 'plumbed' });
    assert.equal(powerless.status, 403, await powerless.text());
    const badBody = await post(SECRET, alice.userId, { room_id: roomId, channel: 'NOT VALID' });
    assert.equal(badBody.status, 400);
    assert.match(((await badBody.json()) as { error: string }).error, /channel/);
    const ok = await post(SECRET, alice.userId, { room_id: roomId, channel: 'plumbed' });
    assert.equal(ok.status, 200, await ok.clone().text());
    const portal = await fx.bridge.portals.getByRoom(roomId);
    assert.equal(portal?.kind, 'plumbed');
    assert.equal(fx.hs.membership(roomId, '@_mem_bot:localhost'), 'join');
    // Messages in the plumbed room now reach the remote side.
    await alice.sendMessage(roomId, 'plumbed hello');
    await eventually(() => connector.messages().some((m) => m.event.content.body === 'plumbed hello'), 'plumbed message');
  });
});
