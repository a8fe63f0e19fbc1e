import { strict as assert } from 'node:assert';
import { HomeserverEmulator, TestUser, asArray, at } from '../../src/homeserver/index';
import { FakeAppservice, call, registration, transaction, waitFor } from './fake-appservice.spec-helper';

describe('homeserver emulator: appservice pusher', () => {
  let hs: HomeserverEmulator;
  let fake: FakeAppservice;
  let alice: TestUser;
  let roomId: string;

  async function start(extra: Parameters<typeof registration>[2] = {}, opts: Parameters<typeof HomeserverEmulator.start>[0] = {}) {
    fake = await FakeAppservice.start();
    hs = await HomeserverEmulator.start({ registrations: [registration('slack', fake.url, extra)], pushRetryBaseMs: 10, ...opts });
    alice = await hs.registerUser('alice');
    roomId = await alice.createRoom({ preset: 'public_chat' });
    // the bot joins so the AS becomes interested in the room
    await call(hs.url, 'POST', `/join/${encodeURIComponent(roomId)}`, { token: 'as_slack', body: {} });
    await hs.pusher.waitForIdle();
    fake.requests.length = 0;
    hs.pusher.clearAttempts();
  }
  afterEach(async () => {
    await hs?.stop();
    await fake?.stop();
  });

  it('pushes with Bearer hs_token to /_matrix/app/v1/transactions, including the AS’s own echoes', async () => {
    await start();
    const id = await alice.sendMessage(roomId, 'hello');
    const botMsg = await call(hs.url, 'PUT', `/rooms/${encodeURIComponent(roomId)}/send/m.room.message/b1`, {
      token: 'as_slack',
      body: { msgtype: 'm.text', body: 'echo' },
    });
    await hs.pusher.waitForIdle();
    const t = fake.transactions();
    assert.ok(t.length >= 1);
    assert.equal(t[0].authorization, 'Bearer hs_slack');
    assert.match(t[0].path, /^\/_matrix\/app\/v1\/transactions\/\d+$/);
    const ids = fake.events().map((e) => e.event_id);
    assert.deepEqual(ids, [id, botMsg.body.event_id]);
    const ev = fake.events()[0];
    assert.equal(ev.room_id, roomId);
    assert.equal(typeof ev.origin_server_ts, 'number');
    assert.equal(typeof ev.unsigned.age, 'number');
    assert.equal(hs.pusher.delivered('slack') >= 2, true);
  });

  it('a room the AS has no stake in is not pushed', async () => {
    await start();
    const other = await alice.createRoom({});
    await alice.sendMessage(other, 'private');
    await hs.pusher.waitForIdle();
    assert.equal(fake.events().filter((e) => e.room_id === other).length, 0);
  });

  it('after a 500 it resends the same txnId with an identical body, then moves on in order', async () => {
    await start();
    let failures = 2;
    fake.answer = () => (failures-- > 0 ? { status: 500, body: { errcode: 'M_UNKNOWN' } } : { status: 200, body: {} });
    const first = await alice.sendMessage(roomId, 'one');
    await waitFor(() => fake.transactions().length >= 1);
    const second = await alice.sendMessage(roomId, 'two'); // arrives while txn 1 is failing
    await hs.pusher.waitForIdle();
    const t = fake.transactions();
    assert.equal(t[0].path, t[1].path);
    assert.equal(t[0].body, t[1].body);
    assert.equal(t[1].path, t[2].path);
    assert.equal(t[2].body, t[0].body, 'no new events mixed into a retried transaction');
    assert.deepEqual(
      transaction(t[0]).events.map((e) => e.event_id),
      [first],
    );
    assert.notEqual(t[3].path, t[0].path);
    assert.deepEqual(
      transaction(t[3]).events.map((e) => e.event_id),
      [second],
    );
    assert.deepEqual(
      fake.events().map((e) => e.event_id),
      [first, second],
    );
  });

  it('loseNextResponse: AS gets the txn, HS resends the same txnId and body', async () => {
    await start();
    hs.pusher.loseNextResponse('slack');
    await alice.sendMessage(roomId, 'x');
    await hs.pusher.waitForIdle();
    const t = fake.transactions();
    assert.equal(t.length, 2);
    assert.equal(t[0].path, t[1].path);
    assert.equal(t[0].body, t[1].body);
    assert.deepEqual(
      hs.pusher.attempts('slack').map((a) => a.outcome),
      ['lost', 200],
    );
  });

  it('retries connection refused and timeouts with backoff, preserving order', async () => {
    await start({}, { pushTimeoutMs: 100 });
    let n = 0;
    fake.answer = () => (n++ === 0 ? 'hang' : n === 2 ? 'reset' : { status: 200, body: {} });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await alice.sendMessage(roomId, `m${i}`));
    await hs.pusher.waitForIdle();
    assert.deepEqual(
      fake.events().map((e) => e.event_id),
      ids,
    );
    const outcomes = hs.pusher.attempts('slack').map((a) => a.outcome);
    assert.equal(outcomes[0], 'timeout');
    assert.equal(outcomes[1], 'connection');
  });

  it('batches events accumulated while paused, up to maxEventsPerTxn', async () => {
    await start({}, { maxEventsPerTxn: 4 });
    hs.pusher.pause();
    for (let i = 0; i < 10; i++) await alice.sendMessage(roomId, `m${i}`);
    assert.equal(hs.pusher.pending('slack'), 10);
    await assert.rejects(hs.pusher.waitForIdle(50), /not idle/);
    hs.pusher.resume();
    await hs.pusher.waitForIdle();
    assert.deepEqual(
      fake.transactions().map((t) => transaction(t).events.length),
      [4, 4, 2],
    );
    assert.equal(hs.pusher.pending('slack'), 0);
  });

  it('falls back to the legacy /transactions path on 404 M_UNRECOGNIZED', async () => {
    await start();
    fake.answer = (r) =>
      r.path.startsWith('/_matrix/app/v1/') ? { status: 404, body: { errcode: 'M_UNRECOGNIZED' } } : { status: 200, body: {} };
    await alice.sendMessage(roomId, 'x');
    await hs.pusher.waitForIdle();
    const paths = fake.transactions().map((t) => t.path);
    assert.match(paths[0], /^\/_matrix\/app\/v1\/transactions\/\d+$/);
    assert.match(paths[1], /^\/transactions\/\d+$/);
  });

  it('ephemeral events only when asked, under the right key', async () => {
    await start({ receive_ephemeral: true });
    await alice.typing(roomId, true);
    const id = await alice.sendMessage(roomId, 'x');
    await alice.sendReceipt(roomId, id);
    await hs.pusher.waitForIdle();
    const eph = fake.transactions().flatMap((t) => transaction(t).ephemeral ?? []);
    assert.ok(
      eph.some(
        (e) => e.type === 'm.typing' && e.room_id === roomId && asArray(at(e, 'content', 'user_ids'), 'user_ids').includes(alice.userId),
      ),
    );
    assert.ok(
      eph.some((e) => {
        const ts = at(e, 'content', id, 'm.read', alice.userId, 'ts');
        return e.type === 'm.receipt' && typeof ts === 'number' && ts > 0;
      }),
    );
    await hs.stop();
    await fake.stop();

    await start({ 'de.sorunome.msc2409.push_ephemeral': true });
    await alice.typing(roomId, true);
    await hs.pusher.waitForIdle();
    const t = fake.transactions();
    assert.ok(t.some((x) => transaction(x)['de.sorunome.msc2409.ephemeral']?.length));
    assert.ok(t.every((x) => transaction(x).ephemeral === undefined));
    await hs.stop();
    await fake.stop();

    await start();
    await alice.typing(roomId, true);
    await alice.sendMessage(roomId, 'y');
    await hs.pusher.waitForIdle();
    assert.ok(
      fake
        .transactions()
        .every((x) => transaction(x).ephemeral === undefined && transaction(x)['de.sorunome.msc2409.ephemeral'] === undefined),
    );
  });

  it('interest via the rooms namespace, via aliases, and via a ghost target', async () => {
    await start();
    const byAlias = await alice.createRoom({});
    const resp = await call(hs.url, 'PUT', '/directory/room/%23_slack_a%3Alocalhost', { token: 'as_slack', body: { room_id: byAlias } });
    assert.equal(resp.status, 200, JSON.stringify(resp.body));
    const m1 = await alice.sendMessage(byAlias, 'via alias');
    await call(hs.url, 'POST', '/register', {
      token: 'as_slack',
      body: { type: 'm.login.application_service', username: '_slack_g', inhibit_login: true },
    });
    const other = await alice.createRoom({});
    await alice.invite(other, '@_slack_g:localhost');
    await hs.pusher.waitForIdle();
    const evs = fake.events();
    assert.ok(evs.some((e) => e.event_id === m1));
    assert.ok(evs.some((e) => e.room_id === other && e.type === 'm.room.member' && e.state_key === '@_slack_g:localhost'));
    assert.ok(!evs.some((e) => e.room_id === other && e.type === 'm.room.create'));
  });
});
