/**
 * Issue 13 §1 as an operator met it: Synapse 1.67 on SQLite numbers its appservice transactions
 * from 1 again after a restart, and a bridge that took txnIds for identities dropped the new
 * transactions as duplicates. Here a real bridge runs against the emulator in that release's
 * profile, the homeserver restarts mid-conversation (twice, once with a transaction whose
 * acknowledgement it never got, and once after the bridge itself restarted), and every Matrix
 * message must reach the remote side exactly once.
 */
import { strict as assert } from 'node:assert';
import { HomeserverEmulator, type TestUser } from '@causeway/testing';
import { MemoryConnector, startBridgeFixture, eventually, type BridgeFixture } from '@causeway/testing/bridge';

describe('bridge-core: a homeserver that restarts its transaction numbering (Synapse 1.67, SQLite)', function () {
  this.timeout(60_000);
  let hs: HomeserverEmulator;
  let fx: BridgeFixture<{ network: string }>;
  const connectors: MemoryConnector[] = [];
  let alice: TestUser;

  /** Every message body the remote side got, over every bridge process. */
  const delivered = () => connectors.flatMap((c) => c.messages().map((m) => String(m.event.content.body)));
  const txnIdsOf = (eventId: string) =>
    hs.pusher
      .attempts()
      .filter((a) => a.eventIds.includes(eventId))
      .map((a) => a.txnId);

  before(async () => {
    // A retry backoff long enough for a restart to happen inside it.
    hs = await HomeserverEmulator.start({ serverName: 'localhost', profile: 'synapse-1.67', pushRetryBaseMs: 1500 });
    fx = await startBridgeFixture({
      hs,
      connector: () => {
        const c = new MemoryConnector();
        connectors.push(c);
        return c;
      },
      configKey: 'mem',
    });
    alice = await hs.registerUser('alice', { displayname: 'Alice' });
  });
  after(async () => {
    await fx?.stop();
    await hs?.stop();
  });

  it('delivers every message once across homeserver restarts that reuse txnIds, a lost acknowledgement and a bridge restart', async () => {
    const roomId = await alice.join('#_mem_mem_general:localhost');
    await eventually(async () => (await fx.bridge.portals.getByRoom(roomId)) !== undefined, 'portal');
    const expected: string[] = [];
    const send = async (body: string) => {
      expected.push(body);
      return alice.sendMessage(roomId, body);
    };
    const allDelivered = () =>
      eventually(() => delivered().length >= expected.length && hs.pusher.pending() === 0, `${expected.length} messages delivered`);

    for (let i = 1; i <= 10; i++) await send(`before the restart ${i}`);
    await allDelivered();
    const highest = Math.max(...hs.pusher.attempts().map((a) => Number(a.txnId)));
    assert.ok(highest >= 10, `the bridge has seen txnIds up to ${highest}`);

    // Restart 1, idle: every transaction was acknowledged, so the numbering starts again at 1.
    await hs.restart({ resetTxnIds: true });
    const first = await send('after the restart 1');
    for (let i = 2; i <= 13; i++) await send(`after the restart ${i}`);
    await allDelivered();
    assert.deepEqual(txnIdsOf(first), ['1'], 'txnId 1 again');

    // Restart 2 with a transaction the bridge acknowledged but the homeserver never heard back about.
    hs.pusher.loseNextResponse();
    const lost = await send('acknowledged, answer lost');
    await eventually(() => hs.pusher.attempts().some((a) => a.outcome === 'lost'), 'the lost acknowledgement');
    await hs.restart({ resetTxnIds: true });
    await allDelivered();
    const resent = txnIdsOf(lost);
    assert.ok(
      resent.length >= 2 && resent.every((t) => t === resent[0]),
      `resent under the same txnId after the restart: ${resent.join(',')}`,
    );
    await send('after the second restart');
    await allDelivered();

    // The bridge restarts too (what it remembers is on disk), then the homeserver, numbering from 1 once more.
    await fx.restart();
    await hs.restart({ resetTxnIds: true });
    for (let i = 1; i <= 3; i++) await send(`after both restarted ${i}`);
    await allDelivered();
    await hs.pusher.waitForIdle();
    await fx.bridge.idle();

    assert.deepEqual(delivered(), expected, 'every message once, in order');
  });
});
