/**
 * Remote → Matrix while the homeserver is down (a Synapse restart: the emulator stops listening
 * and comes back on the same port). Events wait, in order, stored, for longer than the HTTP
 * client's own retries would last; one probe at a time asks whether it is back; after that every
 * event lands once, in order. Past `matrix_client.max_outage_wait_s` they are given up and the
 * connector is told. A restart of the bridge while they wait keeps them.
 */
import { strict as assert } from 'node:assert';
import { MemoryConnector, startBridgeFixture, eventually, type BridgeFixture } from '@causeway/testing/bridge';
import type { TestUser } from '@causeway/testing';

const SEND = 'PUT /rooms/{roomId}/send/{eventType}/{txnId}';
/** The client gives up on a request after this many retries (a budget of well under 2 s here). */
const MAX_RETRIES = 2;

describe('bridge-core: remote events while the homeserver is down', function () {
  this.timeout(60_000);
  let fx: BridgeFixture<{ network: string }>;
  let connector: MemoryConnector;
  let alice: TestUser;
  let roomId: string;
  const portal = { network: 'mem', id: 'outage' };
  const bob = { ghost: { network: 'mem', id: 'bob' }, displayName: 'bob' };

  async function start(core: Record<string, unknown> = {}): Promise<void> {
    fx = await startBridgeFixture({
      connector: () => (connector = new MemoryConnector()),
      configKey: 'mem',
      core: { matrix_client: { max_retries: MAX_RETRIES, ...core } },
    });
    alice = await fx.hs.registerUser('alice');
    roomId = await alice.join('#_mem_mem_outage:localhost');
    // The ghost is registered and joined before the outage: from then on a line is one request.
    await connector.ctx.remote.emit({ type: 'message', portal, sender: bob, id: 'warm-up', content: { kind: 'text', body: 'warm-up' } });
  }
  afterEach(async () => {
    await fx?.stop();
  });

  const bodies = () =>
    fx.hs
      .roomTimeline(roomId)
      .filter((e) => e.type === 'm.room.message' && e.sender.includes('bob'))
      .map((e) => String(e.content.body));
  /** Attempts the bridge's client made that got no answer, by endpoint (what the emulator cannot count while down). */
  async function unanswered(endpoint: string): Promise<number> {
    const text = await fx.bridge.metrics.metrics();
    const re = new RegExp(
      `^causeway_homeserver_requests_total\\{[^}]*endpoint="${endpoint.replace(/[{}/]/g, '\\$&')}"[^}]*status="0"[^}]*\\} (\\d+)`,
      'm',
    );
    return Number(re.exec(text)?.[1] ?? 0);
  }
  const line = (i: number) => ({
    type: 'message' as const,
    portal,
    sender: bob,
    id: `line-${i}`,
    timestamp: Date.now(),
    content: { kind: 'text' as const, body: `line ${i}` },
  });

  it("keeps every line that arrives while it is down, past the client's retry budget, and applies each once, in order, when it is back", async () => {
    await start();
    await fx.hs.goDown();
    const emitted: Array<Promise<void>> = [];
    for (let i = 0; i < 10; i++) emitted.push(connector.ctx.remote.emit(line(i)));
    // The first line's send has used up the client's retries: without waiting it would be dropped now.
    await eventually(
      async () => (await unanswered('/rooms/{roomId}/send/{eventType}/{txnId}')) >= MAX_RETRIES + 1,
      'the send retries used up',
      20_000,
    );
    await eventually(() => fx.bridge.remote.waiting === 10, 'every line stored while it waits');
    for (let i = 10; i < 20; i++) emitted.push(connector.ctx.remote.emit(line(i)));
    await eventually(() => fx.bridge.remote.waiting === 20, 'lines arriving later wait behind them');
    assert.equal(fx.bridge.gate.reachable, false);
    // No request storm: the lines queued behind the first were never tried while it was down.
    assert.equal(await unanswered('/rooms/{roomId}/send/{eventType}/{txnId}'), MAX_RETRIES + 1);
    assert.match(await fx.bridge.metrics.metrics(), /^causeway_homeserver_reachable\{[^}]*\} 0$/m);

    fx.hs.resetCounters();
    await fx.hs.comeBack();
    await Promise.all(emitted);
    assert.deepEqual(bodies(), ['warm-up', ...Array.from({ length: 20 }, (_, i) => `line ${i}`)]);
    assert.equal(fx.hs.requestCount(SEND), 20, 'one send per line once it is back');
    assert.equal(fx.bridge.remote.waiting, 0);
    assert.equal(connector.undeliverable.length, 0);
    assert.match(await fx.bridge.metrics.metrics(), /^causeway_homeserver_reachable\{[^}]*\} 1$/m);
  });

  it('gives up on what waited longer than max_outage_wait_s, tells the connector and counts it; what comes after still lands', async () => {
    await start({ max_outage_wait_s: 1 });
    await fx.hs.goDown();
    const outcomes = [0, 1, 2].map((i) =>
      connector.ctx.remote.emit(line(i)).then(
        () => 'applied',
        () => 'given up',
      ),
    );
    await eventually(() => connector.undeliverable.length === 3, 'all three given up', 20_000);
    assert.deepEqual(await Promise.all(outcomes), ['given up', 'given up', 'given up']);
    assert.deepEqual(
      connector.undeliverable.map((u) => (u.event as { id: string }).id),
      ['line-0', 'line-1', 'line-2'],
    );
    assert.match(connector.undeliverable[0].reason, /homeserver could not be reached/);
    assert.match(await fx.bridge.metrics.metrics(), /^causeway_remote_events_undeliverable_total\{[^}]*kind="message"[^}]*\} 3$/m);
    assert.equal(fx.bridge.remote.waiting, 0, 'nothing left stored');

    await fx.hs.comeBack();
    // The next probe (its delay has grown while the homeserver was down) sees it back.
    await eventually(() => fx.bridge.gate.reachable, 'the homeserver seen back', 40_000);
    await connector.ctx.remote.emit(line(3));
    assert.deepEqual(bodies(), ['warm-up', 'line 3']);
  });

  it('a restart of the bridge while lines wait keeps them: they land once, in order, after both are back', async () => {
    await start();
    await fx.hs.goDown();
    for (let i = 0; i < 5; i++) void connector.ctx.remote.emit(line(i)).catch(() => undefined);
    await eventually(() => fx.bridge.remote.waiting === 5, 'stored');
    await fx.restart(); // stopped and started again, the homeserver still down
    assert.equal(fx.bridge.remote.waiting, 5, 'restored from the store');
    const after = connector.ctx.remote.emit(line(5));
    await eventually(() => fx.bridge.remote.waiting === 6, 'a new line waits behind the restored ones');
    await fx.hs.comeBack();
    await after;
    assert.deepEqual(bodies(), ['warm-up', ...Array.from({ length: 6 }, (_, i) => `line ${i}`)]);
  });
});
