import { strict as assert } from 'node:assert';
import { GitterEmulator, type GitterEmulatorOptions, type GitterTestUser } from '../../src/gitter';
import { eventually, RawStream } from './helpers';
import { at, parseJson } from '../../src/spec-json';

describe('testing: Gitter emulator streaming API', () => {
  let emu: GitterEmulator;
  let alice: GitterTestUser;
  let bob: GitterTestUser;
  let roomId: string;
  const open: RawStream[] = [];

  async function start(opts: GitterEmulatorOptions = {}): Promise<void> {
    emu = await GitterEmulator.start({ rateLimit: { enabled: false }, ...opts, stream: { keepAliveMs: 60_000, ...opts.stream } });
    alice = emu.createUser('alice');
    bob = emu.createUser('bob');
    roomId = emu.createRoom({ uri: 'acme/chat', admins: [alice.id], members: [bob.id] }).id;
  }
  async function stream(token: string | undefined, opts: { query?: string; room?: string } = {}): Promise<RawStream> {
    const s = new RawStream(`${emu.streamBaseUrl}/rooms/${opts.room ?? roomId}/chatMessages${opts.query ?? ''}`, token);
    open.push(s);
    await eventually(() => s.status, 'the stream answer');
    if (s.status === 200)
      await eventually(() => emu.streams.count({ token: token ?? tokenOf(opts.query) }) > 0, 'the stream to be registered');
    return s;
  }
  const tokenOf = (query?: string) => new URLSearchParams(query ?? '').get('access_token') ?? undefined;

  afterEach(async () => {
    for (const s of open.splice(0)) s.close();
    await emu.stop();
  });

  it('answers 200 application/json, chunked, and writes every new message and edit as one bare JSON line', async () => {
    await start();
    const s = await stream(bob.token);
    assert.equal(s.status, 200);
    assert.match(s.headers['content-type'], /^application\/json/);
    assert.equal(s.headers['transfer-encoding'], 'chunked');
    const msg = await alice.post(roomId, 'hello <b>world</b>');
    const edited = await alice.edit(roomId, msg.id, 'hello again');
    await eventually(() => s.records().length === 2, 'two records');
    const [created, update] = s.records();
    assert.equal(created.operation, undefined, 'a bare message, no wrapper');
    assert.deepEqual(created, msg);
    assert.equal(update.id, msg.id);
    assert.equal(update.v, 2);
    assert.equal(update.editedAt, edited.editedAt);
    assert.ok(s.text().endsWith('}\n'));
    assert.equal(s.closed, false, 'the response stays open');
  });

  it('fans every message out to all open streams of the room, and only that room', async () => {
    await start();
    const other = emu.createRoom({ uri: 'acme/other', members: [alice.id] }).id;
    const a = await stream(alice.token);
    const b = await stream(bob.token);
    const o = await stream(alice.token, { room: other });
    assert.equal(emu.streams.count({ roomId }), 2);
    await bob.post(roomId, 'to both');
    await eventually(() => a.records().length === 1 && b.records().length === 1, 'both streams');
    await alice.post(other, 'elsewhere');
    await eventually(() => o.records().length === 1, 'other room');
    assert.deepEqual(
      o.records().map((r) => r.text),
      ['elsewhere'],
    );
    assert.deepEqual(
      a.records().map((r) => r.text),
      ['to both'],
    );
  });

  it('accepts ?access_token=; refuses a missing or bad token with 401 and an unreadable room with 403', async () => {
    await start();
    const q = await stream(undefined, { query: `?access_token=${bob.token}` });
    assert.equal(q.status, 200);
    const none = await stream(undefined);
    assert.equal(none.status, 401);
    assert.equal(typeof at(parseJson(none.body().replace(/^[^{]*/, '')), 'error'), 'string');
    assert.equal((await stream('bad')).status, 401);
    const secret = emu.createRoom({ uri: 'acme/secret', security: 'PRIVATE', admins: [alice.id] }).id;
    assert.equal((await stream(bob.token, { room: secret })).status, 403);
  });

  it('can live under a path of the REST port instead of its own port', async () => {
    await start({ streamAt: 'path' });
    const rest = new URL(emu.restBaseUrl);
    const st = new URL(emu.streamBaseUrl);
    assert.equal(st.port, rest.port);
    assert.equal(st.pathname, '/stream/v1');
    const s = await stream(bob.token);
    await alice.post(roomId, 'via path');
    await eventually(() => s.records().length === 1, 'record');
  });

  it('writes " \\n" keep-alives at the configured interval; a separator of "\\r" is possible', async () => {
    await start({ stream: { keepAliveMs: 10, separator: '\r' } });
    const s = await stream(bob.token);
    await eventually(() => s.chunks.filter((c) => c.toString() === ' \n').length >= 2, 'keep-alives');
    await alice.post(roomId, 'cr');
    await eventually(() => s.text().includes('}\r'), 'a record ended by \\r');
    assert.deepEqual(
      s.records().map((r) => r.text),
      ['cr'],
    );
  });

  it('splitNext writes one record in several chunks (even inside a UTF-8 character); packNext puts several in one', async () => {
    await start();
    const s = await stream(bob.token);
    assert.equal(emu.streams.splitNext({ roomId }, 4), 1);
    await alice.post(roomId, 'ünïcödé 🎉🎉🎉🎉🎉🎉🎉🎉');
    await eventually(() => s.records().length === 1, 'the split record');
    assert.equal(s.chunks.length, 4);
    assert.ok(
      s.chunks.slice(0, 3).every((c) => !c.includes(0x0a)),
      'no piece but the last ends the record',
    );
    // Each piece alone is not valid UTF-8 / JSON: the reader has to join them.
    assert.throws(() => JSON.parse(s.chunks[0].toString()));
    emu.streams.packNext({ roomId }, 3);
    await alice.post(roomId, 'p1');
    await alice.post(roomId, 'p2');
    await alice.post(roomId, 'p3');
    await eventually(() => s.records().length === 4, 'the packed records');
    assert.equal(s.chunks.length, 5);
    assert.deepEqual(
      s.chunks[4]
        .toString()
        .split('\n')
        .filter(Boolean)
        .map((l) => at(parseJson(l), 'text')),
      ['p1', 'p2', 'p3'],
    );
  });

  it('cut ends matching streams; stall silences them; refuse answers new streams with an error', async () => {
    await start({ stream: { keepAliveMs: 10 } });
    const a = await stream(alice.token);
    const b = await stream(bob.token);
    assert.equal(emu.streams.cut({ token: alice.token }), 1);
    await eventually(() => a.closed, 'alice stream closed');
    assert.equal(emu.streams.count(), 1);
    emu.streams.stall({ roomId });
    const before = b.chunks.length;
    await alice.post(roomId, 'unheard');
    // A fresh stream gets the messages; the stalled one never does.
    const c = await stream(alice.token);
    await alice.post(roomId, 'heard');
    await eventually(() => c.records().length === 1, 'the fresh stream');
    assert.equal(b.chunks.length, before, 'nothing reached the stalled stream, not even keep-alives');
    emu.streams.refuse(503);
    const refused = await stream(alice.token);
    assert.equal(refused.status, 503);
    emu.streams.refuse(null);
    assert.equal((await stream(alice.token)).status, 200);
    emu.streams.cut({}, 'end');
    await eventually(() => b.ended && c.ended, 'a clean end of both bodies');
  });

  it('a revoked token loses its open streams', async () => {
    await start();
    const token = emu.issueToken(bob.id);
    const s = await stream(token);
    emu.revokeToken(token);
    await eventually(() => s.closed, 'closed');
    assert.equal((await stream(token)).status, 401);
  });

  it('with deletes on, a removal is a wrapped {operation:"remove",model:{id}} record', async () => {
    await start({ features: { deletes: true } });
    const s = await stream(alice.token);
    const msg = await bob.post(roomId, 'oops');
    await bob.delete(roomId, msg.id);
    await eventually(() => s.records().length === 2, 'two records');
    assert.deepEqual(s.records()[1], { operation: 'remove', model: { id: msg.id } });
  });

  it('stream connections count as requests and carry the rate-limit headers', async () => {
    await start();
    emu.setRateLimit({ enabled: true, limit: 1 });
    const token = emu.issueToken(bob.id);
    const s = await stream(token);
    assert.equal(s.headers['x-ratelimit-remaining'], '0');
    assert.equal(emu.requestCount(token, 'STREAM /v1/rooms/{roomId}/chatMessages'), 1);
    const refused = await stream(token);
    assert.equal(refused.status, 429);
  });
});
