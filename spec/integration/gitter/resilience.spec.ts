/**
 * Resilience against the Gitter emulator: a stream cut mid-conversation catches up through REST
 * history (`afterId`, paged) and bridges every missed message once, in order; a storm of rate
 * limit refusals (429 and the legacy 403) delays Matrix → Gitter sends without losing or
 * reordering any; a message over Gitter's 4,096 characters is uploaded and sent as a link; and
 * the connector's metrics count what happened (API calls, rate-limit waits, reconnects,
 * catch-up).
 */
import { strict as assert } from 'node:assert';
import { freePort, type GitterTestUser, type TestUser } from '@causeway/testing';
import { adminRoom, eventually, ghostId, linkedRoom, messages, startGitterBridge, type GitterBridge } from './support';

const METRICS_TOKEN = 'gitter-metrics-token-0123456789';

describe('gitter-bridge: resilience', function () {
  this.timeout(90_000);
  let b: GitterBridge;
  let alice: GitterTestUser;
  let bob: TestUser;
  let room: { id: string; uri: string };
  let roomId: string;

  const bodiesFrom = (sender: string) => messages(b.fx.hs, roomId, sender).map((e) => String(e.content.body));
  const metrics = async () =>
    await (await fetch(b.fx.bridge.metricsUrl!, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
  const metric = (text: string, name: string, labels = '') => {
    const m = new RegExp(`^${name}\\{[^}]*${labels}[^}]*\\} (\\d+(?:\\.\\d+)?)$`, 'm').exec(text);
    return m ? Number(m[1]) : 0;
  };

  before(async () => {
    const metricsPort = await freePort();
    b = await startGitterBridge({
      core: (asUrl) => ({ media_proxy: { public_url: asUrl }, metrics: { enabled: true, port: metricsPort, bearer_token: METRICS_TOKEN } }),
    });
    alice = b.gitter.createUser('alice', { displayName: 'Alice' });
    room = { ...b.gitter.createRoom({ uri: 'acme/chat', members: [alice.id] }), uri: 'acme/chat' };
    bob = await b.fx.hs.registerUser('bob', { displayname: 'Bob' });
    roomId = await linkedRoom(b, bob, await adminRoom(b.fx.hs, await b.fx.hs.registerUser('admin')), room);
  });
  after(async () => {
    await b?.stop();
  });

  it('bridges every message missed while the stream was cut once, in order, paging the history', async () => {
    await alice.post(room.id, 'before 1');
    await alice.post(room.id, 'before 2');
    await eventually(() => bodiesFrom(ghostId('alice')).length === 2, 'first messages');
    const connects = b.gitter.requestCount(b.relay.token, 'STREAM /v1/rooms/{roomId}/chatMessages');
    // Cut the stream and keep it down while 150 messages are posted (more than one page of 100).
    b.gitter.streams.refuse(503);
    assert.equal(b.gitter.streams.cut({ roomId: room.id }), 1);
    const missed = Array.from({ length: 150 }, (_, i) => `missed ${i}`);
    b.gitter.seedMessages(room.id, alice.id, missed);
    await eventually(
      () => b.gitter.requestCount(b.relay.token, 'STREAM /v1/rooms/{roomId}/chatMessages') > connects,
      'a reconnect was tried',
    );
    b.gitter.streams.refuse(null);
    await eventually(() => bodiesFrom(ghostId('alice')).length >= 152, 'every missed message bridged', 60_000);
    await alice.post(room.id, 'after');
    await eventually(() => bodiesFrom(ghostId('alice')).includes('after'), 'live again');
    assert.deepEqual(bodiesFrom(ghostId('alice')), ['before 1', 'before 2', ...missed, 'after']);
    assert.ok(b.gitter.requestCount(b.relay.token, 'GET /v1/rooms/{roomId}/chatMessages') >= 2, 'history was paged');

    const text = await metrics();
    assert.ok(metric(text, 'causeway_gitter_stream_reconnects_total') >= 1, 'reconnects counted');
    assert.ok(metric(text, 'causeway_gitter_catch_up_messages_total') >= 150, 'catch-up counted');
  });

  it('delivers a burst through a storm of rate-limit refusals (429, then the legacy 403) in order, losing none', async () => {
    for (const refusal of ['429', 'legacy-403'] as const) {
      b.gitter.setRateLimit({ limit: 4, windowMs: 700, refusal });
      const texts = Array.from({ length: 12 }, (_, i) => `${refusal} burst ${i}`);
      for (const t of texts) await bob.sendMessage(roomId, t);
      await eventually(
        () => b.gitter.messagesBy(room.id, b.relay.id).filter((m) => m.text.includes(`${refusal} burst`)).length === texts.length,
        `burst delivered (${refusal})`,
        60_000,
      );
      assert.deepEqual(
        b.gitter
          .messagesBy(room.id, b.relay.id)
          .filter((m) => m.text.includes(`${refusal} burst`))
          .map((m) => m.text),
        texts.map((t) => `**Bob**: ${t}`),
      );
    }
    b.gitter.setRateLimit({ limit: 100, windowMs: 60_000 });
    const text = await metrics();
    assert.ok(metric(text, 'causeway_gitter_rate_limit_waits_total', 'account="relay"') >= 1, 'rate-limit waits counted');
    await eventually(
      async () => metric(await metrics(), 'causeway_gitter_api_calls_total', 'account="relay"') > 24,
      'API calls counted',
      10_000,
    );
  });

  it('finds a send whose answer was lost in history instead of posting it twice, and maps it', async () => {
    const POST = 'POST /v1/rooms/{roomId}/chatMessages';
    const posts = b.gitter.requestCount(b.relay.token, POST);
    b.gitter.loseAnswers(POST);
    const eventId = await bob.sendMessage(roomId, 'answer lost');
    const mine = () => b.gitter.messagesBy(room.id, b.relay.id).filter((m) => m.text.includes('answer lost'));
    await eventually(() => mine().length === 1, 'on Gitter');
    // The bridge looks in history, finds it, and carries on with the next message.
    await bob.sendMessage(roomId, 'next after lost');
    await eventually(() => b.gitter.messagesBy(room.id, b.relay.id).some((m) => m.text === '**Bob**: next after lost'), 'next message');
    assert.equal(mine().length, 1, 'posted once');
    assert.equal(b.gitter.requestCount(b.relay.token, POST) - posts, 2, 'one POST per message: the lost one was not sent again');
    // The recovered id is in the message map: an edit reaches the same Gitter message.
    await bob.sendEvent(roomId, 'm.room.message', {
      msgtype: 'm.text',
      body: '* answer found',
      'm.new_content': { msgtype: 'm.text', body: 'answer found' },
      'm.relates_to': { rel_type: 'm.replace', event_id: eventId },
    });
    const [found] = mine();
    await eventually(() => b.gitter.message(room.id, found.id)?.text === '**Bob**: answer found', 'the recovered message edited');
    assert.equal(b.gitter.message(room.id, found.id)?.v, 2);
  });

  it('uploads a message over 4,096 characters and sends a link to it', async () => {
    const long = `${'long text '.repeat(600)}the end`;
    await bob.sendMessage(roomId, long);
    const posted = await eventually(
      () => b.gitter.messagesBy(room.id, b.relay.id).find((m) => m.text.startsWith('**Bob**: long text')),
      'link posted',
    );
    assert.ok(posted.text.length < 1000, `short: ${posted.text.length}`);
    const url = /\[full message, 6007 characters\]\((http[^)]+)\)/.exec(posted.text)?.[1];
    if (!url?.startsWith(b.fx.asUrl)) assert.fail(posted.text);
    assert.equal(await (await fetch(url)).text(), long);
  });
});
