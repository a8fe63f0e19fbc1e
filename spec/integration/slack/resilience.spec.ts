/**
 * Exactly once and nothing lost, in-process: Events API signatures (forged and stale requests are
 * refused, `url_verification` answered only when signed), redeliveries (Events API retries, Socket
 * Mode re-sends, a redelivery after a restart) bridged once, Socket Mode disconnects mid-burst,
 * and a 429 storm with every message delivered in order.
 */
import { strict as assert } from 'node:assert';
import { slackSignedHeaders } from '@causeway/testing';
import { startSlackBridge, linkedRoom, ghostId, messages, eventually, WS, type SlackBridge } from './support';

const bodies = (b: SlackBridge, roomId: string, sender: string) => messages(b, roomId, sender).map((e) => String(e.content.body));

describe('slack-bridge: Events API signatures and redeliveries', function () {
  this.timeout(60_000);
  let b: SlackBridge;
  let roomId: string;
  let url: string;

  const eventBody = (eventId: string, text: string, ts: string) =>
    JSON.stringify({
      token: 'legacy',
      team_id: b.team.id,
      api_app_id: b.app.id,
      type: 'event_callback',
      event_id: eventId,
      event_time: Math.floor(Date.now() / 1000),
      authorizations: [{ team_id: b.team.id, user_id: b.botUserId, is_bot: true }],
      event: { type: 'message', channel: b.general.id, channel_type: 'channel', user: b.alice.id, text, ts, event_ts: ts },
    });
  const post = (body: string, headers: Record<string, string>) =>
    fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

  before(async () => {
    b = await startSlackBridge('http');
    roomId = await linkedRoom(b);
    url = `${b.fx.asUrl}/slack/events/${WS}`;
  });
  after(async () => {
    await b?.stop();
  });

  it('refuses forged, stale and unsigned requests, and bridges nothing from them', async () => {
    const body = eventBody('EvForged1', 'forged message', '1700000000.000100');
    const forged = await post(body, slackSignedHeaders('not-the-secret', body));
    assert.equal(forged.status, 401);
    assert.equal(((await forged.json()) as { errcode: string }).errcode, 'M_UNAUTHORIZED');
    const stale = await post(body, slackSignedHeaders(b.app.signingSecret, body, Math.floor(Date.now() / 1000) - 301));
    assert.equal(stale.status, 401);
    assert.equal((await post(body, {})).status, 401);
    // A body changed after signing.
    const h = slackSignedHeaders(b.app.signingSecret, body);
    assert.equal((await post(body.replace('forged message', 'tampered'), h)).status, 401);
    // The emulator's own faults: a bad signature and a stale timestamp on a real delivery.
    b.slack.faults.badSignature({ appId: b.app.id, times: 1 });
    b.slack.faults.staleTimestamp({ appId: b.app.id, times: 1 });
    b.alice.post(b.general, 'after the faults');
    await eventually(() => messages(b, roomId).find((e) => e.content.body === 'after the faults'), 'the retried delivery');
    const d = b.slack.deliveries(b.app).find((x) => JSON.stringify(x.payload).includes('after the faults'))!;
    assert.ok(d.attempts.length >= 2, 'the faulty attempts were refused and retried');
    assert.ok(!messages(b, roomId).some((e) => e.content.body === 'forged message' || e.content.body === 'tampered'));
  });

  it('answers url_verification only when signed', async () => {
    const ok = await b.slack.verifyRequestUrl(b.app, { challenge: 'c-123' });
    assert.equal(ok.verified, true);
    const bad = await b.slack.verifyRequestUrl(b.app, { challenge: 'c-456', badSignature: true });
    assert.equal(bad.verified, false);
  });

  it('bridges a redelivered event (X-Slack-Retry-Num) once, also after a restart of the bridge and the homeserver', async () => {
    const body = eventBody('EvRedeliver1', 'said once', `${Math.floor(Date.now() / 1000)}.000700`);
    assert.equal((await post(body, slackSignedHeaders(b.app.signingSecret, body))).status, 200);
    await eventually(() => messages(b, roomId).find((e) => e.content.body === 'said once'), 'first delivery');
    assert.equal(
      (
        await post(body, {
          ...slackSignedHeaders(b.app.signingSecret, body),
          'x-slack-retry-num': '1',
          'x-slack-retry-reason': 'http_timeout',
        })
      ).status,
      200,
    );
    await b.connector().idle();
    // The homeserver forgets appservice transaction IDs on a restart: only the bridge's own record prevents a second event.
    await b.fx.hs.restart();
    await b.fx.restart();
    await b.fx.hs.pusher.waitForIdle();
    assert.equal(
      (
        await post(body, {
          ...slackSignedHeaders(b.app.signingSecret, body),
          'x-slack-retry-num': '2',
          'x-slack-retry-reason': 'http_timeout',
        })
      ).status,
      200,
    );
    b.alice.post(b.general, 'marker after restart');
    await eventually(() => messages(b, roomId).find((e) => e.content.body === 'marker after restart'), 'marker');
    await b.connector().idle();
    assert.equal(bodies(b, roomId, ghostId(b.alice.id)).filter((t) => t === 'said once').length, 1);
  });
});

describe('slack-bridge: Socket Mode re-sends, disconnects and rate limits', function () {
  this.timeout(90_000);
  let b: SlackBridge;
  let roomId: string;

  before(async () => {
    b = await startSlackBridge('socket', { emulator: { socketMode: { ackTimeoutMs: 500 } } });
    roomId = await linkedRoom(b);
  });
  after(async () => {
    await b?.stop();
  });

  it('an envelope Slack sends again (ack lost) is bridged once', async () => {
    b.slack.faults.dropAcks({ appId: b.app.id, times: 1 });
    b.alice.post(b.general, 'ack lost');
    await eventually(
      () =>
        b.slack
          .deliveries(b.app)
          .find((d) => JSON.stringify(d.payload).includes('ack lost') && d.attempts.length >= 2 && d.state === 'acked'),
      're-sent and acked',
    );
    await b.connector().idle();
    assert.equal(bodies(b, roomId, ghostId(b.alice.id)).filter((t) => t === 'ack lost').length, 1);
  });

  it('a burst survives disconnects of every kind, each message once and in order', async () => {
    const sent: string[] = [];
    const kinds = { 8: 'warning', 16: 'refresh_requested', 24: 'link_disabled' } as const;
    for (let i = 0; i < 30; i++) {
      const text = `burst ${i}`;
      b.alice.post(b.general, text);
      sent.push(text);
      const kind = kinds[i as keyof typeof kinds];
      if (kind) {
        // Each disconnect hits a live connection; what is posted meanwhile waits for the next one.
        await eventually(() => b.slack.socketConnections(b.app) === 1, 'a live connection', 20_000);
        assert.equal(b.slack.disconnectSocket(b.app, kind), 1);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    await eventually(
      () => bodies(b, roomId, ghostId(b.alice.id)).filter((t) => t.startsWith('burst ')).length >= 30,
      'the whole burst',
      60_000,
    );
    await b.slack.waitForDeliveries(b.app, 30_000);
    await b.connector().idle();
    assert.deepEqual(
      bodies(b, roomId, ghostId(b.alice.id)).filter((t) => t.startsWith('burst ')),
      sent,
    );
    assert.ok(
      b.slack.socketMode.stats(b.app.id).opened >= 4,
      `reconnected after each disconnect: ${JSON.stringify(b.slack.socketMode.stats(b.app.id))}`,
    );
  });

  it('a 429 storm on chat.postMessage: every Matrix message arrives once, in order', async () => {
    const storm = b.slack.faults.rateLimit('chat.postMessage', { times: 6, retryAfter: 1 });
    const sent: string[] = [];
    for (let i = 0; i < 12; i++) {
      sent.push(`storm ${i}`);
      await b.matrixAlice.sendMessage(roomId, `storm ${i}`);
    }
    await eventually(() => b.slack.posted(b.app, b.general).filter((m) => m.text.startsWith('storm ')).length >= 12, 'all posted', 60_000);
    storm.cancel();
    assert.deepEqual(
      b.slack
        .posted(b.app, b.general)
        .map((m) => m.text)
        .filter((t) => t.startsWith('storm ')),
      sent,
    );
    assert.ok(b.slack.calls('chat.postMessage').filter((c) => c.status === 429).length >= 6, 'Slack did answer 429');
  });

  it('a post whose answer was lost (Slack took it, the connection dropped) is found by its metadata, not posted twice', async () => {
    b.slack.faults.lostAnswer('chat.postMessage', { times: 1 });
    const eventId = await b.matrixAlice.sendMessage(roomId, 'answer lost');
    await eventually(() => b.slack.calls('chat.postMessage').some((c) => c.error === 'connection_reset_after_effect'), 'the lost answer');
    await b.connector().idle();
    await b.fx.bridge.idle();
    assert.equal(b.slack.posted(b.app, b.general).filter((m) => m.text === 'answer lost').length, 1);
    assert.ok(b.slack.calls('conversations.history').length >= 1, 'looked for it');
    // The message map knows the Slack message: a reaction to it on Slack reaches the Matrix event.
    const post = b.slack.posted(b.app, b.general).find((m) => m.text === 'answer lost')!;
    b.alice.react(b.general, post.ts, 'eyes');
    await eventually(
      () => b.fx.hs.roomTimeline(roomId).find((e) => e.type === 'm.reaction' && e.content['m.relates_to']?.event_id === eventId),
      'reaction on the Matrix event',
    );
  });
});

describe('slack-bridge: a Slack message the homeserver never took', function () {
  this.timeout(60_000);
  let b: SlackBridge;
  let roomId: string;

  before(async () => {
    b = await startSlackBridge('socket', { core: { matrix_client: { max_outage_wait_s: 1 } } });
    roomId = await linkedRoom(b);
  });
  after(async () => {
    await b?.fx.hs.comeBack().catch(() => undefined);
    await b?.stop();
  });

  it('is told to its author on Slack, in the channel, only to them', async () => {
    b.alice.post(b.general, 'warm-up');
    await eventually(() => messages(b, roomId).find((e) => e.content.body === 'warm-up'), 'warm-up');
    await b.fx.hs.goDown();
    b.alice.post(b.general, 'lost in the outage');
    const note = await eventually(
      () => b.slack.ephemeral.find((e) => e.user === b.alice.id && e.text.includes('lost in the outage')),
      'ephemeral notice',
      30_000,
    );
    assert.equal(note.channel, b.general.id);
    assert.match(note.text, /did not reach Matrix/);
  });
});
