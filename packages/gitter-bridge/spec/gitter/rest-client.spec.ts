import { strict as assert } from 'node:assert';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { GitterEmulator, type GitterTestUser } from '@causeway/testing';
import { GitterEditWindowError, GitterHttpError, GitterNetworkError } from '../../src/gitter/errors';
import { findSentMessage } from '../../src/gitter/find-sent';
import { RateLimitTracker } from '../../src/gitter/rate-limit';
import { GitterRestClient } from '../../src/gitter/rest-client';
import { GitterTextError } from '../../src/gitter/text-limit';
import { REST_RETRY, retryDelay } from '../../src/retry-delay';
import { gitterHttp } from '../../src/http';

/** A clock the emulator and the client share; the client's waits move it instead of passing time. */
class Clock {
  ms = Date.UTC(2024, 0, 15, 12);
  readonly now = () => this.ms;
  readonly sleep = async (ms: number) => {
    this.ms += ms;
  };
}

describe('gitter-bridge: REST client against the Gitter emulator', () => {
  let clock: Clock;
  let emu: GitterEmulator;
  let bot: GitterTestUser;
  let alice: GitterTestUser;
  let roomId: string;
  let logged: string[];

  const client = (token = bot.token, extra: Partial<ConstructorParameters<typeof GitterRestClient>[0]> = {}) =>
    new GitterRestClient({
      baseUrl: emu.restBaseUrl,
      http: gitterHttp,
      token,
      rateLimit: new RateLimitTracker({ now: clock.now, sleep: clock.sleep }),
      retryDelay: retryDelay(REST_RETRY),
      sleep: clock.sleep,
      log: {
        debug: (m, f) => logged.push(m + JSON.stringify(f ?? {})),
        warn: (m, f) => logged.push(m + JSON.stringify(f ?? {})),
      },
      ...extra,
    });

  beforeEach(async () => {
    clock = new Clock();
    logged = [];
    emu = await GitterEmulator.start({ now: clock.now });
    bot = emu.createUser('causeway-bot');
    alice = emu.createUser('alice');
    roomId = emu.createRoom({ uri: 'acme/chat', admins: [alice.id], members: [bot.id] }).id;
  });
  afterEach(() => emu.stop());

  it('sends Bearer on every call and reads users, rooms, members and messages', async () => {
    const c = client();
    assert.equal((await c.currentUser()).id, bot.id);
    assert.deepEqual(
      (await c.rooms()).map((r) => r.id),
      [roomId],
    );
    const other = emu.createRoom({ uri: 'acme/other' }).id;
    assert.equal((await c.joinRoomByUri('acme/other')).id, other);
    assert.equal((await c.joinRoomById(bot.id, other)).id, other);
    await c.removeUser(other, bot.id);
    assert.deepEqual(
      (await c.userRooms(bot.id)).map((r) => r.id),
      [roomId],
    );
    const members = await c.allMembers(roomId);
    assert.deepEqual(members.map((m) => [m.username, m.role]).sort(), [
      ['alice', 'admin'],
      ['causeway-bot', undefined],
    ]);
    const sent = await c.sendMessage(roomId, { text: 'hello *there*' });
    assert.equal(sent.v, 1);
    const emote = await c.sendMessage(roomId, { text: '@causeway-bot waves', status: true });
    assert.equal((await c.message(roomId, emote.id)).status, true);
    assert.deepEqual(
      (await c.messages(roomId)).map((m) => m.text),
      ['hello *there*', '@causeway-bot waves'],
    );
    const edited = await c.editMessage(roomId, sent.id, 'hello again');
    assert.equal(edited.v, 2);
    assert.equal(emu.requestCount(bot.token), c.requests, 'every request reached the server with the token');
  });

  it('pages everything after an id with afterId, 100 at a time', async () => {
    const seeded = emu.seedMessages(
      roomId,
      alice.id,
      Array.from({ length: 250 }, (_, i) => `m${i}`),
    );
    const c = client();
    emu.resetCounters();
    const pages: number[] = [];
    const texts: string[] = [];
    for await (const page of c.messagesAfter(roomId, seeded[9].id)) {
      pages.push(page.length);
      texts.push(...page.map((m) => m.text));
    }
    assert.deepEqual(pages, [100, 100, 40]);
    assert.deepEqual(
      texts,
      Array.from({ length: 240 }, (_, i) => `m${i + 10}`),
    );
    assert.equal(emu.requestCount(bot.token, 'GET /v1/rooms/{roomId}/chatMessages'), 3);
  });

  it('types errors by status: 401, 403, 404, 400, and the edit window', async () => {
    await assert.rejects(
      client('wrong-token').currentUser(),
      (e: unknown) => e instanceof GitterHttpError && e.kind === 'unauthorized' && e.status === 401,
    );
    const mine = await alice.post(roomId, 'alice wrote this');
    await assert.rejects(
      client().editMessage(roomId, mine.id, 'hijack'),
      (e: unknown) => e instanceof GitterHttpError && e.kind === 'forbidden',
    );
    await assert.rejects(
      client().message(roomId, '0123456789abcdef01234567'),
      (e: unknown) => e instanceof GitterHttpError && e.kind === 'not_found',
    );
    await assert.rejects(
      client().messages(roomId, { skip: 6000 }),
      (e: unknown) => e instanceof GitterHttpError && e.kind === 'bad_request',
    );
    const c = client();
    const sent = await c.sendMessage(roomId, { text: 'typo' });
    clock.ms += 600_001;
    await assert.rejects(
      c.editMessage(roomId, sent.id, 'fixed'),
      (e: unknown) => e instanceof GitterEditWindowError && e.kind === 'edit_window' && e.status === 400,
    );
    assert.equal(emu.message(roomId, sent.id)!.text, 'typo');
  });

  it('checks text before sending: empty or over 4096 characters never costs a request', async () => {
    const c = client();
    await assert.rejects(c.sendMessage(roomId, { text: ' ' }), GitterTextError);
    await assert.rejects(c.sendMessage(roomId, { text: 'x'.repeat(4097) }), GitterTextError);
    assert.equal(c.requests, 0);
  });

  it('never shows the token: not in errors, logs, or the inspected client', async () => {
    const token = emu.issueToken(bot.id);
    const c = client(token);
    await c.sendMessage(roomId, { text: 'x' });
    emu.revokeToken(token);
    const err = await c.currentUser().catch((e: Error) => e);
    assert.ok(err instanceof GitterHttpError);
    emu.setRateLimit({ limit: 1 });
    await client(emu.issueToken(bot.id)).currentUser();
    for (const text of [inspect(c, { depth: 5 }), JSON.stringify(c), String(err), inspect(err), err.stack ?? '', ...logged]) {
      assert.ok(!text.includes(token), `token leaked in: ${text.slice(0, 200)}`);
    }
  });

  it('waits for the rate-limit window instead of failing, and keeps the order of sends', async () => {
    emu.setRateLimit({ limit: 3, windowMs: 60_000 });
    const c = client();
    const start = clock.ms;
    for (let i = 0; i < 7; i++) await c.sendMessage(roomId, { text: `n${i}` });
    assert.deepEqual(
      emu.messagesBy(roomId, bot.id).map((m) => m.text),
      ['n0', 'n1', 'n2', 'n3', 'n4', 'n5', 'n6'],
    );
    assert.ok(c.rateLimit.waits >= 2, 'it waited for two window ends');
    assert.ok(clock.ms - start >= 120_000, 'seven requests at three a minute span two window ends');
    assert.equal(emu.requestCount(bot.token), 7, 'no request was refused: the headers said when to wait');
  });

  for (const refusal of ['429', 'legacy-403'] as const) {
    it(`a refusal (${refusal}) is waited out and the same call retried, never surfaced`, async () => {
      emu.setRateLimit({ limit: 2, windowMs: 60_000, refusal });
      // Another process uses the same token: this client's view of the window is stale.
      const other = client();
      await other.currentUser();
      await other.currentUser();
      const c = client();
      const msg = await c.sendMessage(roomId, { text: 'after the wait' });
      assert.equal(msg.text, 'after the wait');
      assert.equal(emu.requestCount(bot.token, 'POST /v1/rooms/{roomId}/chatMessages'), 2, 'refused once, then sent');
      assert.equal(emu.messagesBy(roomId, bot.id).length, 1);
      assert.ok(
        logged.some((l) => l.includes('rate limit')),
        'the wait is logged',
      );
    });
  }

  it('retries reads on 5xx; a POST that got no answer is a GitterNetworkError saying whether it may have been processed', async () => {
    let calls = 0;
    const flaky = http.createServer((req, res) => {
      calls++;
      if (req.method === 'GET' && calls < 3) {
        res.writeHead(502, { 'Content-Type': 'application/json' }).end('{"error":"Bad Gateway"}');
        return;
      }
      if (req.method === 'POST') {
        req.socket.destroy();
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('[{"id":"u","username":"x","displayName":"x"}]');
    });
    await new Promise<void>((r) => flaky.listen(0, '127.0.0.1', () => r()));
    const base = `http://127.0.0.1:${(flaky.address() as AddressInfo).port}/v1`;
    try {
      const c = client(bot.token, { baseUrl: base, retryDelay: retryDelay({ baseMs: 1, maxMs: 2 }) });
      assert.equal((await c.currentUser()).id, 'u');
      assert.equal(calls, 3);
      await assert.rejects(c.sendMessage('r', { text: 'x' }), (e: unknown) => e instanceof GitterNetworkError && e.maybeProcessed);
      assert.equal(calls, 4, 'a POST is not retried blindly');
    } finally {
      flaky.close();
      flaky.closeAllConnections();
    }
    // A port nothing listens on: refused, so certainly not processed.
    const probe = http.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    const closedPort = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const dead = client(bot.token, { baseUrl: `http://127.0.0.1:${closedPort}/v1`, retries: 0 });
    await assert.rejects(dead.sendMessage('r', { text: 'x' }), (e: unknown) => e instanceof GitterNetworkError && !e.maybeProcessed);
  });

  it('refuses a base URL that is not http(s) or carries credentials, naming it', () => {
    assert.throws(
      () => new GitterRestClient({ baseUrl: 'ftp://x/v1', http: gitterHttp, token: 't', retryDelay: retryDelay(REST_RETRY) }),
      /ftp:\/\/x\/v1/,
    );
    assert.throws(
      () =>
        new GitterRestClient({
          baseUrl: 'https://u:p@x/v1',
          http: gitterHttp,
          token: 't',
          retryDelay: retryDelay(REST_RETRY),
        }),
      /credentials/,
    );
    assert.throws(
      () => new GitterRestClient({ baseUrl: 'https://x/v1', http: gitterHttp, token: '', retryDelay: retryDelay(REST_RETRY) }),
      /token/,
    );
  });

  describe('findSentMessage (a send whose answer was lost)', () => {
    it("finds our message by text and time, not someone else's nor one already accounted for", async () => {
      const c = client();
      const queuedAt = clock.ms;
      await alice.post(roomId, 'same words');
      const first = await c.sendMessage(roomId, { text: 'same words' });
      clock.ms += 1000;
      const second = await c.sendMessage(roomId, { text: 'same words' });
      emu.seedMessages(
        roomId,
        alice.id,
        Array.from({ length: 150 }, (_, i) => `noise ${i}`),
      );
      const lookup = { roomId, userId: bot.id, text: 'same words', notBefore: queuedAt };
      assert.equal((await findSentMessage(c, lookup))?.id, first.id, 'the oldest match, across pages');
      assert.equal((await findSentMessage(c, { ...lookup, exclude: new Set([first.id]) }))?.id, second.id);
      assert.equal(await findSentMessage(c, { ...lookup, afterId: second.id }), undefined);
      assert.equal(await findSentMessage(c, { ...lookup, text: 'never sent' }), undefined);
      assert.equal(await findSentMessage(c, { ...lookup, status: true }), undefined, 'an emote is another message');
      clock.ms += 3_600_000;
      assert.equal(await findSentMessage(c, { ...lookup, notBefore: clock.ms }), undefined, 'too old to be this send');
    });

    it('looks in the thread for a thread reply', async () => {
      emu.setFeatures({ threads: true });
      const c = client();
      const root = await alice.post(roomId, 'root');
      const reply = await c.sendMessage(roomId, { text: 'in thread', parentId: root.id });
      const found = await findSentMessage(c, { roomId, userId: bot.id, text: 'in thread', parentId: root.id, notBefore: clock.ms });
      assert.equal(found?.id, reply.id);
      assert.equal(
        await findSentMessage(c, { roomId, userId: bot.id, text: 'in thread', notBefore: clock.ms }),
        undefined,
        'not in the main history',
      );
    });
  });
});
