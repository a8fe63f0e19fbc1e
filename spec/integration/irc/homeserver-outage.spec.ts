/**
 * IRC → Matrix across a homeserver restart (issue 13, point 3): the emulator stops listening,
 * as Synapse does while it restarts, for longer than the bridge's HTTP client keeps retrying,
 * while an IRC user goes on talking. Every line reaches the room once, in order, after it is
 * back; a line that waits past `matrix_client.max_outage_wait_s` is given up and its sender
 * gets a NOTICE saying so.
 */
import { strict as assert } from 'node:assert';
import { startInspircd, connectObserver, type InspircdHandle, type Observer } from '@causeway/testing';
import { startIrcBridge, alias, ghostId, messages, eventually, type IrcBridge } from './support';

/** The client gives up on one request after this many retries (under 2 s with its backoff). */
const MAX_RETRIES = 2;

describe('irc-bridge: IRC lines while the homeserver restarts', function () {
  this.timeout(90_000);
  let ircd: InspircdHandle;
  let b: IrcBridge | undefined;
  const observers: Observer[] = [];

  before(async () => {
    ircd = await startInspircd();
  });
  afterEach(async () => {
    await Promise.all(observers.splice(0).map((o) => o.close().catch(() => undefined)));
    await b?.fx.stop();
    b = undefined;
  });
  after(async () => {
    await ircd?.dispose();
  });

  async function setup(channel: string, nick: string, maxOutageWaitS?: number) {
    b = await startIrcBridge(
      ircd,
      {},
      { core: { matrix_client: { max_retries: MAX_RETRIES, ...(maxOutageWaitS ? { max_outage_wait_s: maxOutageWaitS } : {}) } } },
    );
    const alice = await b.fx.hs.registerUser('alice', { displayname: 'Alice' });
    const roomId = await alice.join(alias(channel));
    const dave = await connectObserver(ircd, nick);
    observers.push(dave);
    await dave.join(channel);
    dave.raw(`PRIVMSG ${channel} :warm-up`);
    await eventually(() => messages(b!.fx.hs, roomId, ghostId(nick)).length === 1, 'the warm-up line in the room', 20_000);
    return { roomId, dave };
  }

  /** Attempts the bridge made that got no answer at all, for one endpoint (the emulator cannot count them while down). */
  async function unansweredSends(): Promise<number> {
    const text = await b!.fx.bridge.metrics.metrics();
    return Number(
      /^causeway_homeserver_requests_total\{[^}]*endpoint="\/rooms\/\{roomId\}\/send\/\{eventType\}\/\{txnId\}"[^}]*status="0"[^}]*\} (\d+)/m.exec(
        text,
      )?.[1] ?? 0,
    );
  }

  it('every line said while it is down reaches the room once, in order, after it is back', async () => {
    const { roomId, dave } = await setup('#restart', 'dave');
    await b!.fx.hs.goDown();
    for (let i = 0; i < 8; i++) dave.raw(`PRIVMSG #restart :during ${i}`);
    // The first line's send has used up the client's retries: without waiting it would have been dropped here.
    await eventually(async () => (await unansweredSends()) >= MAX_RETRIES + 1, "the client's retries used up", 20_000);
    for (let i = 8; i < 15; i++) dave.raw(`PRIVMSG #restart :during ${i}`);
    await eventually(() => b!.fx.bridge.remote.waiting === 15, 'every line stored while it waits', 20_000);

    await b!.fx.hs.comeBack();
    const expected = ['warm-up', ...Array.from({ length: 15 }, (_, i) => `during ${i}`)];
    await eventually(() => messages(b!.fx.hs, roomId, ghostId('dave')).length >= expected.length, 'every line in the room', 30_000);
    await b!.fx.bridge.idle();
    assert.deepEqual(
      messages(b!.fx.hs, roomId, ghostId('dave')).map((e) => e.content.body),
      expected,
    );
  });

  it('a line that waits past max_outage_wait_s is given up, and its IRC sender is told with a NOTICE', async () => {
    const { roomId, dave } = await setup('#gone', 'erin', 1);
    await b!.fx.hs.goDown();
    const from = dave.lines.length;
    dave.raw('PRIVMSG #gone :lost in the outage');
    const notice = await dave.waitFor((l) => / NOTICE erin :/.test(l), 20_000, from);
    assert.match(
      notice,
      /Your message to #gone did not reach Matrix \(the Matrix homeserver could not be reached for \d+ seconds\): "lost in the outage"/,
    );
    assert.match(await b!.fx.bridge.metrics.metrics(), /^causeway_remote_events_undeliverable_total\{[^}]*kind="message"[^}]*\} 1$/m);
    await b!.fx.hs.comeBack();
    // The next probe (its delay has grown while the homeserver was down) sees it back.
    await eventually(() => b!.fx.bridge.gate.reachable, 'the homeserver seen back', 40_000);
    dave.raw('PRIVMSG #gone :after the outage');
    await eventually(
      () => messages(b!.fx.hs, roomId, ghostId('erin')).some((e) => e.content.body === 'after the outage'),
      'a later line crosses',
      20_000,
    );
    assert.deepEqual(
      messages(b!.fx.hs, roomId, ghostId('erin')).map((e) => e.content.body),
      ['warm-up', 'after the outage'],
    );
  });
});
