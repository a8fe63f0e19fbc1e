import { strict as assert } from 'node:assert';
import { HomeserverEmulator, TestUser } from '../../src/homeserver';
import { FakeAppservice, call, registration, transaction, waitFor } from './fake-appservice.spec-helper';

const txnIdOf = (path: string) => path.split('/').pop()!;

describe('homeserver emulator: restart and older releases', () => {
  let hs: HomeserverEmulator;
  let fake: FakeAppservice;
  let alice: TestUser;
  let roomId: string;

  async function start(opts: Parameters<typeof HomeserverEmulator.start>[0] = {}) {
    fake = await FakeAppservice.start();
    hs = await HomeserverEmulator.start({ registrations: [registration('slack', fake.url)], pushRetryBaseMs: 10, ...opts });
    alice = await hs.registerUser('alice');
    roomId = await alice.createRoom({ preset: 'public_chat' });
    await call(hs.url, 'POST', `/join/${encodeURIComponent(roomId)}`, { token: 'as_slack', body: {} });
    await hs.pusher.waitForIdle();
    fake.requests.length = 0;
    hs.pusher.clearAttempts();
  }
  afterEach(async () => {
    await hs?.stop();
    await fake?.stop();
  });

  describe('restart', () => {
    it('comes back on the same URL with users, rooms and tokens kept', async () => {
      await start();
      const url = hs.url;
      const before = await alice.sendMessage(roomId, 'before');
      await hs.restart();
      assert.equal(hs.url, url);
      const after = await alice.sendMessage(roomId, 'after');
      await hs.pusher.waitForIdle();
      assert.deepEqual(
        fake.events().map((e) => e.event_id),
        [before, after],
      );
    });

    it('SQLite (resetTxnIds): numbers transactions from 1 again once every earlier one was acknowledged', async () => {
      await start();
      for (const body of ['a', 'b', 'c']) await alice.sendMessage(roomId, body);
      await hs.pusher.waitForIdle();
      // Transaction 1 was the bot's join, in start().
      assert.ok(fake.transactions().every((t) => Number(txnIdOf(t.path)) > 1));
      await hs.restart({ resetTxnIds: true });
      const again = await alice.sendMessage(roomId, 'after the restart');
      await hs.pusher.waitForIdle();
      const last = fake.transactions().at(-1)!;
      assert.equal(txnIdOf(last.path), '1');
      assert.deepEqual(
        transaction(last).events.map((e) => e.event_id),
        [again],
      );
    });

    it('PostgreSQL (default): the numbering continues', async () => {
      await start();
      await alice.sendMessage(roomId, 'a');
      await hs.pusher.waitForIdle();
      const before = Number(txnIdOf(fake.transactions().at(-1)!.path));
      await hs.restart();
      await alice.sendMessage(roomId, 'b');
      await hs.pusher.waitForIdle();
      assert.equal(Number(txnIdOf(fake.transactions().at(-1)!.path)), before + 1);
    });

    it('sends a transaction that was never acknowledged again, same txnId and events, serialised anew; numbering goes on after it', async () => {
      await start();
      fake.answer = () => ({ status: 500, body: { errcode: 'M_UNKNOWN' } });
      const pending = await alice.sendMessage(roomId, 'not acknowledged');
      await waitFor(() => fake.transactions().length >= 1);
      await new Promise((r) => setTimeout(r, 20)); // its first push has an unsigned.age the resend must not share
      await hs.restart({ resetTxnIds: true });
      fake.answer = () => ({ status: 200, body: {} });
      await hs.pusher.waitForIdle();
      const t = fake.transactions();
      const sent = t.filter((x) => transaction(x).events.some((e) => e.event_id === pending));
      assert.ok(sent.length >= 2);
      assert.ok(
        sent.every((x) => x.path === sent[0].path),
        'the same txnId after the restart',
      );
      assert.notEqual(sent.at(-1)!.body, sent[0].body, 'serialised again: a new unsigned.age');
      assert.deepEqual(
        transaction(sent.at(-1)!).events.map((e) => e.event_id),
        [pending],
      );
      const next = await alice.sendMessage(roomId, 'next');
      await hs.pusher.waitForIdle();
      const last = fake.transactions().at(-1)!;
      assert.deepEqual(
        transaction(last).events.map((e) => e.event_id),
        [next],
      );
      assert.equal(Number(txnIdOf(last.path)), Number(txnIdOf(sent[0].path)) + 1);
    });

    it('loses the events queued behind a transaction in flight, as Synapse does (its stream position had moved on)', async () => {
      await start();
      fake.answer = () => 'hang';
      const inFlight = await alice.sendMessage(roomId, 'in flight');
      await waitFor(() => fake.transactions().length === 1);
      const queued = await alice.sendMessage(roomId, 'queued behind it');
      await hs.restart();
      fake.answer = () => ({ status: 200, body: {} });
      await hs.pusher.waitForIdle();
      const ids = fake.transactions().flatMap((t) => transaction(t).events.map((e) => e.event_id));
      assert.ok(ids.includes(inFlight));
      assert.ok(!ids.includes(queued));
    });

    it('forgets the transaction IDs of appservice sends: a retry after the restart makes a second event', async () => {
      await start();
      const send = () =>
        call(hs.url, 'PUT', `/rooms/${encodeURIComponent(roomId)}/send/m.room.message/retry-1`, {
          token: 'as_slack',
          body: { msgtype: 'm.text', body: 'once?' },
        });
      const a = await send();
      assert.equal((await send()).body.event_id, a.body.event_id);
      await hs.restart();
      const b = await send();
      assert.notEqual(b.body.event_id, a.body.event_id);
    });

    it('refuses connections while it is down and cuts requests in flight', async () => {
      await start();
      hs.faults.timeout('GET /account/whoami', { times: 1 });
      const held = call(hs.url, 'GET', '/account/whoami', { token: 'as_slack' }).then(
        () => 'answered',
        () => 'cut',
      );
      await waitFor(() => hs.inFlight('GET /account/whoami') === 1);
      const restarting = hs.restart({ downtimeMs: 300 });
      assert.equal(await held, 'cut');
      await assert.rejects(call(hs.url, 'GET', '/account/whoami', { token: 'as_slack' }));
      await restarting;
      assert.equal((await call(hs.url, 'GET', '/account/whoami', { token: 'as_slack' })).status, 200);
    });
  });

  describe("profile 'synapse-1.67'", () => {
    it('answers unknown endpoints and methods 400 M_UNRECOGNIZED, and has no appservice ping', async () => {
      await start({ profile: 'synapse-1.67' });
      const ping = await call(hs.url, 'POST', '/_matrix/client/v1/appservice/slack/ping', { token: 'as_slack', body: {} });
      assert.equal(ping.status, 400);
      assert.equal(ping.body.errcode, 'M_UNRECOGNIZED');
      const unknown = await call(hs.url, 'GET', '/_matrix/client/v3/no/such/thing', { token: 'as_slack' });
      assert.deepEqual([unknown.status, unknown.body.errcode], [400, 'M_UNRECOGNIZED']);
      const method = await call(hs.url, 'DELETE', '/account/whoami', { token: 'as_slack' });
      assert.deepEqual([method.status, method.body.errcode], [400, 'M_UNRECOGNIZED']);
      assert.equal((await call(hs.url, 'GET', '/account/whoami', { token: 'as_slack' })).status, 200);
    });

    it('pushes to the legacy /transactions path with the hs_token in the query only', async () => {
      await start({ profile: 'synapse-1.67' });
      await alice.sendMessage(roomId, 'x');
      await hs.pusher.waitForIdle();
      const t = fake.transactions();
      assert.ok(t.length >= 1);
      for (const x of t) {
        assert.match(x.path, /^\/transactions\/\d+$/);
        assert.equal(x.query.get('access_token'), 'hs_slack');
        assert.equal(x.authorization, undefined);
      }
    });

    it("today's release answers the same requests 404 / 405", async () => {
      await start();
      const unknown = await call(hs.url, 'GET', '/_matrix/client/v3/no/such/thing', { token: 'as_slack' });
      assert.deepEqual([unknown.status, unknown.body.errcode], [404, 'M_UNRECOGNIZED']);
      const method = await call(hs.url, 'DELETE', '/account/whoami', { token: 'as_slack' });
      assert.equal(method.status, 405);
    });
  });
});
