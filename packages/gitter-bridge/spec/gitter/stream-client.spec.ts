import { strict as assert } from 'node:assert';
import { GitterEmulator, type GitterTestUser } from '@causeway/testing';
import { GitterHttpError } from '../../src/gitter/errors';
import { GitterRestClient } from '../../src/gitter/rest-client';
import { BEFORE_ALL_IDS, RoomStream, type RoomStreamOptions, type StreamState } from '../../src/gitter/stream-client';
import type { GitterMessage } from '../../src/gitter/types';
import { REST_RETRY, retryDelay } from '../../src/retry-delay';
import { gitterHttp } from '../../src/http';

describe('gitter-bridge: room stream against the Gitter emulator', () => {
  let emu: GitterEmulator;
  let bot: GitterTestUser;
  let alice: GitterTestUser;
  let roomId: string;
  let stream: RoomStream | undefined;
  let got: { id: string; v: number; text: string; source: string }[];
  let removed: string[];
  let states: StreamState[];
  let errors: Error[];
  let fatal: GitterHttpError | undefined;

  const rest = (token = bot.token) =>
    new GitterRestClient({ baseUrl: emu.restBaseUrl, http: gitterHttp, token, retryDelay: retryDelay(REST_RETRY) });
  function start(opts: Partial<RoomStreamOptions> = {}, token = bot.token): RoomStream {
    stream = new RoomStream({
      streamBaseUrl: emu.streamBaseUrl,
      roomId,
      rest: rest(token),
      reconnectDelay: retryDelay({ baseMs: 5, maxMs: 40 }),
      onMessage: (m: GitterMessage, source) => {
        got.push({ id: m.id, v: m.v ?? 1, text: m.text, source });
      },
      onRemove: (id) => {
        removed.push(id);
      },
      onState: (s) => states.push(s),
      onError: (e) => errors.push(e),
      onFatal: (e) => (fatal = e),
      ...opts,
    });
    stream.start();
    return stream;
  }
  const live = async () => eventually(() => stream!.state === 'live' && emu.streams.count({ roomId }) === 1, 'stream live');
  const texts = () => got.map((g) => g.text);

  beforeEach(async () => {
    got = [];
    removed = [];
    states = [];
    errors = [];
    fatal = undefined;
    emu = await GitterEmulator.start({ rateLimit: { enabled: false }, features: { deletes: true }, stream: { keepAliveMs: 20 } });
    bot = emu.createUser('causeway-bot');
    alice = emu.createUser('alice');
    roomId = emu.createRoom({ uri: 'acme/chat', admins: [alice.id], members: [bot.id] }).id;
  });
  afterEach(async () => {
    await stream?.stop();
    stream = undefined;
    await emu.stop();
  });

  it('passes on new messages, edits (newer v) and removals as they come, each once', async () => {
    emu.seedMessages(roomId, alice.id, ['from before']);
    start();
    await live();
    const m = await alice.post(roomId, 'hello');
    await alice.edit(roomId, m.id, 'hello, edited');
    const e = await alice.emote(roomId, 'waves');
    await alice.delete(roomId, e.id);
    await eventually(() => removed.length === 1, 'the removal');
    assert.deepEqual(
      got.map((g) => [g.text, g.v, g.source]),
      [
        ['hello', 1, 'stream'],
        ['hello, edited', 2, 'stream'],
        ['@alice waves', 1, 'stream'],
      ],
    );
    assert.deepEqual(removed, [e.id]);
    assert.equal(stream!.lastId, e.id);
    assert.deepEqual(errors, []);
  });

  it('reads records split across chunks and packed several to a chunk', async () => {
    start();
    await live();
    emu.streams.splitNext({ roomId }, 5);
    await alice.post(roomId, 'spl𝄞t ✂️ record');
    emu.streams.packNext({ roomId }, 3);
    for (const t of ['p1', 'p2', 'p3']) await alice.post(roomId, t);
    await eventually(() => got.length === 4, 'four messages');
    assert.deepEqual(texts(), ['spl𝄞t ✂️ record', 'p1', 'p2', 'p3']);
    assert.deepEqual(errors, []);
  });

  it('after a cut, reconnects and catches up on everything missed (paged), in order, once', async () => {
    start();
    await live();
    await alice.post(roomId, 'before');
    await eventually(() => got.length === 1, 'first message');
    emu.streams.refuse(503);
    emu.streams.cut({ roomId });
    await eventually(() => states.includes('waiting'), 'the stream noticed');
    const missed = emu.seedMessages(
      roomId,
      alice.id,
      Array.from({ length: 230 }, (_, i) => `missed ${i}`),
    );
    await alice.edit(roomId, missed[5].id, 'missed 5, edited while down');
    emu.resetCounters();
    emu.streams.refuse(null);
    await live();
    await alice.post(roomId, 'after');
    await eventually(() => texts().includes('after'), 'live again');
    const expected = ['before', ...missed.map((m, i) => (i === 5 ? 'missed 5, edited while down' : m.text)), 'after'];
    assert.deepEqual(texts(), expected);
    assert.ok(got.slice(1, -1).every((g) => g.source === 'catch-up'));
    // One page up to the last id (the recheck for edits and deletions), then pages of 100 after it.
    assert.equal(emu.requestCount(bot.token, 'GET /v1/rooms/{roomId}/chatMessages'), 4, 'the recheck, then pages of 100 after the last id');
    assert.ok(stream!.connects >= 2);
  });

  it('after a cut, re-reads the recent history: edits (newer v) and deletions made while down are passed on once', async () => {
    emu.setFeatures({ threads: true });
    start();
    await live();
    const [a, b, c] = [await alice.post(roomId, 'a'), await alice.post(roomId, 'b'), await alice.post(roomId, 'c')];
    const thread = await alice.post(roomId, 'thread reply', { parentId: a.id });
    await eventually(() => got.length === 4, 'four messages');
    emu.streams.refuse(503);
    emu.streams.cut({ roomId });
    await eventually(() => states.includes('waiting'), 'the stream noticed');
    await alice.edit(roomId, a.id, 'a, edited');
    await alice.edit(roomId, a.id, 'a, edited twice');
    await alice.delete(roomId, c.id);
    emu.streams.refuse(null);
    await eventually(() => removed.length === 1, 'the deletion');
    assert.deepEqual(
      got.slice(4).map((g) => [g.id, g.v, g.text, g.source]),
      [[a.id, 3, 'a, edited twice', 'recheck']],
    );
    assert.deepEqual(removed, [c.id], `not ${b.id} (unchanged) nor ${thread.id} (a thread reply)`);
    // A second reconnect finds nothing new.
    const connects = stream!.connects;
    emu.streams.cut({ roomId });
    await eventually(() => stream!.connects > connects && stream!.state === 'live', 'reconnected');
    await alice.post(roomId, 'live');
    await eventually(() => texts().includes('live'), 'live');
    assert.equal(got.length, 6);
    assert.deepEqual(removed, [c.id]);
  });

  it('after a restart, the saved versions (resumeSeen) let the recheck find what changed while down', async () => {
    const [a, b, c] = emu.seedMessages(roomId, alice.id, ['a', 'b', 'c']);
    await alice.edit(roomId, a.id, 'a, edited');
    await alice.delete(roomId, b.id);
    // Without saved versions nothing can be told apart: only what is new is passed on.
    start({ resumeAfterId: b.id });
    await live();
    assert.deepEqual(texts(), ['c']);
    assert.deepEqual(removed, []);
    await stream!.stop();

    got = [];
    const authors: (string | undefined)[] = [];
    start({
      resumeAfterId: c.id,
      resumeSeen: [
        { id: a.id, v: 1, by: 'alice' },
        { id: b.id, v: 1, by: 'alice' },
        { id: c.id, v: 1, by: 'alice' },
      ],
      onRemove: (id, author) => {
        removed.push(id);
        authors.push(author);
      },
    });
    await live();
    assert.deepEqual(
      got.map((g) => [g.id, g.v, g.source]),
      [[a.id, 2, 'recheck']],
    );
    assert.deepEqual(removed, [b.id]);
    assert.deepEqual(authors, ['alice']);
  });

  it('a message after the saved cursor that the saved versions know is passed on as an edit, not as new', async () => {
    const [a, b] = emu.seedMessages(roomId, alice.id, ['a', 'b']);
    await alice.edit(roomId, b.id, 'b, edited');
    start({ resumeAfterId: a.id, resumeSeen: [{ id: b.id, v: 1 }] });
    await live();
    assert.deepEqual(
      got.map((g) => [g.id, g.v, g.source]),
      [[b.id, 2, 'recheck']],
    );
  });

  it('a stalled stream (no data, not even keep-alives) is abandoned for a new one, losing nothing', async () => {
    start({ stallTimeoutMs: 150 });
    await live();
    emu.streams.stall({ roomId });
    await alice.post(roomId, 'sent into the void');
    await eventually(() => texts().includes('sent into the void'), 'caught up after the stall', 8000);
    assert.ok(stream!.connects >= 2);
    await alice.post(roomId, 'live');
    await eventually(() => texts().includes('live'), 'live');
    assert.deepEqual(texts(), ['sent into the void', 'live']);
  });

  it('keep-alives keep a quiet stream alive', async () => {
    start({ stallTimeoutMs: 400 });
    await live();
    // Quiet for several stall periods: only keep-alives (every 20 ms) arrive.
    const from = stream!.chunksReceived;
    await eventually(() => stream!.chunksReceived - from >= 60, 'sixty keep-alives');
    await alice.post(roomId, 'still here');
    await eventually(() => got.length === 1, 'the message');
    assert.equal(stream!.connects, 1);
  });

  it('what both the new stream and the catch-up carry is passed on once', async () => {
    const old = await alice.post(roomId, 'old');
    let injected = false;
    start({
      resumeAfterId: BEFORE_ALL_IDS,
      onState: (s) => {
        states.push(s);
        // The stream is open and catch-up has not read history yet: these reach both.
        if (s === 'catching_up' && !injected) {
          injected = true;
          emu.seedMessages(roomId, alice.id, ['overlap 1', 'overlap 2']);
          void alice.edit(roomId, old.id, 'old, edited');
        }
      },
    });
    await eventually(() => texts().includes('old, edited') && texts().includes('overlap 2'), 'all of it');
    await alice.post(roomId, 'later');
    await eventually(() => texts().includes('later'), 'later');
    const counts = new Map<string, number>();
    for (const g of got) counts.set(`${g.id}/${g.v}`, (counts.get(`${g.id}/${g.v}`) ?? 0) + 1);
    assert.ok(
      [...counts.values()].every((n) => n === 1),
      JSON.stringify(got),
    );
    const ids = got.filter((g) => g.text.startsWith('overlap')).map((g) => g.text);
    assert.deepEqual(ids, ['overlap 1', 'overlap 2']);
  });

  it('resumes after a saved id; a first start without one begins at the newest message', async () => {
    const seeded = emu.seedMessages(roomId, alice.id, ['m0', 'm1', 'm2', 'm3']);
    start({ resumeAfterId: seeded[1].id });
    await eventually(() => got.length === 2, 'two caught up');
    assert.deepEqual(texts(), ['m2', 'm3']);
    await stream!.stop();

    got = [];
    start();
    await live();
    assert.deepEqual(got, [], 'no history replayed on a fresh start');
    assert.equal(stream!.lastId, seeded[3].id);
  });

  it('in an empty room, messages posted while the first stream is down are not lost', async () => {
    start();
    await live();
    assert.equal(stream!.lastId, BEFORE_ALL_IDS);
    emu.streams.refuse(503);
    emu.streams.cut({ roomId });
    await eventually(() => states.includes('waiting'), 'down');
    await alice.post(roomId, 'first ever');
    emu.streams.refuse(null);
    await eventually(() => texts().includes('first ever'), 'caught up');
  });

  it('stops for good, telling the caller, when the token is refused', async () => {
    const token = emu.issueToken(bot.id);
    start({}, token);
    await live();
    emu.revokeToken(token);
    await eventually(() => fatal, 'fatal error');
    assert.equal(fatal!.kind, 'unauthorized');
    assert.equal(stream!.state, 'stopped');
    assert.ok(!String(fatal).includes(token));
  });
});

async function eventually<T>(check: () => T, what: string, timeoutMs = 5000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
