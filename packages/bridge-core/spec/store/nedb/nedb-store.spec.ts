import { strict as assert } from 'node:assert';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { portalKeyString } from '../../../src/connector/ids';
import { createStore } from '../../../src/store/create-store';
import { NEDB_MIGRATIONS, NedbStore, type NedbMigration } from '../../../src/store/nedb';
import Datastore from 'nedb-promises';
import { storeContract } from '../contract';

async function tempDir(): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), 'causeway-nedb-'));
}

const LATEST = Math.max(...NEDB_MIGRATIONS.map((m) => m.version));

storeContract('nedb', async () => {
  const root = await tempDir();
  const directory = path.join(root, 'nested', 'data'); // created by init()
  return {
    open: () => createStore({ engine: 'nedb', directory }),
    latestVersion: LATEST,
    dispose: () => fs.rm(root, { recursive: true, force: true }),
  };
});

describe('NeDB store specifics', () => {
  let root: string;
  const open: NedbStore[] = [];
  const make = (opts: Partial<ConstructorParameters<typeof NedbStore>[0]> = {}) => {
    const s = new NedbStore({ directory: root, ...opts });
    open.push(s);
    return s;
  };

  beforeEach(async () => {
    root = await tempDir();
  });
  afterEach(async () => {
    for (const s of open.splice(0)) await s.close().catch(() => undefined);
    await fs.rm(root, { recursive: true, force: true });
  });

  it('keeps one datafile per repository in the data directory', async () => {
    const s = make();
    await s.init();
    await s.kv.put('a', 'b', 1);
    await s.close();
    const files = (await fs.readdir(root)).sort();
    for (const f of ['ghosts.db', 'intents.db', 'kv.db', 'memberships.db', 'messages.db', 'meta.db', 'portals.db', 'queues.db']) {
      assert.ok(files.includes(f), `${f} missing from ${files.join(', ')}`);
    }
    assert.ok(!files.includes('LOCK'), 'lock released on close');
  });

  it('records each migration once and runs new ones exactly once across restarts', async () => {
    let runs = 0;
    const extra: NedbMigration = {
      version: 2,
      name: 'count',
      async up() {
        runs++;
      },
    };
    const s1 = make({ migrations: [...NEDB_MIGRATIONS, extra] });
    await s1.init();
    assert.equal(await s1.schemaVersion(), 2);
    await s1.close();
    const s2 = make({ migrations: [...NEDB_MIGRATIONS, extra] });
    await s2.init();
    assert.equal(runs, 1);
    assert.equal(await s2.schemaVersion(), 2);
    await s2.close();
    const meta = (await fs.readFile(path.join(root, 'meta.db'), 'utf8')).trim().split('\n');
    assert.equal(meta.length, 2, meta.join('\n'));
  });

  it('a failing migration makes init() reject and is retried on the next start', async () => {
    let fail = true;
    const flaky: NedbMigration = {
      version: 2,
      name: 'flaky',
      async up() {
        if (fail) throw new Error('boom');
      },
    };
    const s1 = make({ migrations: [...NEDB_MIGRATIONS, flaky] });
    await assert.rejects(() => s1.init(), /boom/);
    fail = false;
    const s2 = make({ migrations: [...NEDB_MIGRATIONS, flaky] });
    await s2.init();
    assert.equal(await s2.schemaVersion(), 2);
  });

  it('survives a torn last line (a write cut off by kill -9), losing only that write', async () => {
    const s1 = make();
    await s1.init();
    await s1.portals.put({ roomId: '!a:x', key: { network: 'n', id: '#a' }, kind: 'portal', createdAt: 1 });
    await s1.close();
    // A small file: one torn line would exceed NeDB's 10% corruption threshold without the repair.
    await fs.appendFile(path.join(root, 'portals.db'), '{"_id":"!b:x","k":"n\\u0000#b","netw');
    const s2 = make();
    await s2.init();
    assert.equal(await s2.portals.count(), 1);
    assert.ok(await s2.portals.getByRoom('!a:x'));
    await s2.portals.put({ roomId: '!b:x', key: { network: 'n', id: '#b' }, kind: 'portal', createdAt: 2 });
    await s2.close();
    const s3 = make();
    await s3.init();
    assert.equal(await s3.portals.count(), 2);
  });

  it('refuses a data directory another live store holds, and takes over a stale lock', async () => {
    const s1 = make();
    await s1.init();
    await assert.rejects(() => make().init(), /in use/);
    await s1.close();
    // A lock left by a process that no longer exists.
    await fs.writeFile(path.join(root, 'LOCK'), '2147483646');
    const s3 = make();
    await s3.init();
    assert.equal(await s3.schemaVersion(), LATEST);
  });

  it('compacts on close: rewritten records leave one line each', async () => {
    const s = make({ compactionIntervalMs: 0 });
    await s.init();
    for (let i = 0; i < 20; i++) await s.kv.put('ns', 'k', i);
    await s.close();
    const lines = (await fs.readFile(path.join(root, 'kv.db'), 'utf8')).split('\n').filter((l) => l.includes('"value"'));
    assert.equal(lines.length, 1);
    assert.ok(lines[0].includes('"value":"19"'));
  });

  describe('message map (messages.db, kept by its own log)', () => {
    const msg = (eventId: string, part = 0, extra: Record<string, unknown> = {}) => ({
      roomId: '!r:x',
      eventId,
      portal: { network: 'libera', id: '#c' },
      remoteId: `irc-${eventId}-${part}`,
      part,
      sender: '@u:x',
      timestamp: 1000,
      ...extra,
    });
    const file = () => path.join(root, 'messages.db');

    it('reads a messages.db that NeDB wrote (index lines, replaced and deleted documents): nothing to migrate', async () => {
      // As a Causeway before the message log left it: a NeDB datastore with the old indexes.
      const ds = Datastore.create({ filename: file(), autoload: false });
      await ds.load();
      for (const f of ['ev', 'rk', 'timestamp']) await ds.ensureIndex({ fieldName: f });
      const doc = (eventId: string, body: string) => ({
        _id: `!r:x\u0000${eventId}\u00000`,
        ev: `!r:x\u0000${eventId}`,
        rk: `libera\u0000#c\u0000irc-${eventId}`,
        roomId: '!r:x',
        eventId,
        portal: { network: 'libera', id: '#c' },
        remoteId: `irc-${eventId}`,
        part: 0,
        sender: '@u:x',
        timestamp: 1000,
        body,
      });
      await ds.insert(doc('$a', 'first'));
      await ds.update({ _id: '!r:x\u0000$a\u00000' }, doc('$a', 'edited'), {});
      await ds.insert(doc('$gone', 'x'));
      await ds.remove({ eventId: '$gone' }, {});
      assert.equal(portalKeyString({ network: 'libera', id: '#c' }), 'libera\u0000#c', 'the test writes the rk the store computes');

      const s = make();
      await s.init();
      assert.deepEqual(
        (await s.messages.getByEvent('!r:x', '$a')).map((m) => m.body),
        ['edited'],
      );
      assert.deepEqual(
        (await s.messages.getByRemote({ network: 'libera', id: '#c' }, 'irc-$a')).map((m) => m.eventId),
        ['$a'],
      );
      assert.deepEqual(await s.messages.getByEvent('!r:x', '$gone'), []);
      await s.messages.put(msg('$b'));
      await s.close();
      // Compacted at close: the index definitions survive, each record is one line.
      const lines = (await fs.readFile(file(), 'utf8')).split('\n').filter(Boolean);
      assert.equal(lines.filter((l) => l.includes('$$indexCreated')).length, 3, lines.join('\n'));
      assert.equal(lines.length, 5, lines.join('\n'));
    });

    it('compacts to one line per record, in a file NeDB itself still loads', async () => {
      const s = make({ compactionIntervalMs: 0 });
      await s.init();
      for (let i = 0; i < 20; i++) await s.messages.put(msg('$e', 0, { body: `v${i}` }));
      await s.messages.put(msg('$e', 1, { body: 'second part' }));
      await s.messages.put(msg('$del'));
      await s.messages.deleteByEvent('!r:x', '$del');
      await s.close();

      const lines = (await fs.readFile(file(), 'utf8')).split('\n').filter(Boolean);
      assert.equal(lines.length, 2, lines.join('\n'));
      // NeDB (an older Causeway, or an operator's script) reads what the log wrote.
      const ds = Datastore.create({ filename: file(), autoload: false });
      await ds.load();
      const docs = await ds.find<{ part: number; body: string }>({ eventId: '$e' }).sort({ part: 1 });
      assert.deepEqual(
        docs.map((d) => d.body),
        ['v19', 'second part'],
      );
      assert.equal(await ds.count({ eventId: '$del' }), 0);
    });

    it('a put is visible to lookups at once and on disk when its promise settles; a restart reads it back', async () => {
      const s = make({ compactionIntervalMs: 0 });
      await s.init();
      const written = s.messages.put(msg('$now', 0, { body: 'hello' }));
      assert.deepEqual(
        (await s.messages.getByEvent('!r:x', '$now')).map((m) => m.body),
        ['hello'],
      );
      await written;
      assert.match(await fs.readFile(file(), 'utf8'), /"body":"hello"/);
      const pruned = await s.messages.prune(1001);
      assert.equal(pruned, 1);
      await s.messages.put(msg('$later', 0, { timestamp: 2000 }));
      await s.close();
      const again = make();
      await again.init();
      assert.deepEqual(await again.messages.getByEvent('!r:x', '$now'), []);
      assert.equal((await again.messages.getByEvent('!r:x', '$later')).length, 1);
    });

    it('a put waits for its own write only, not for a batching timer: puts awaited one after another, as a portal relays, are not paced', async () => {
      // The remote event applier answers a connector's emit once the event's mapping is written; a
      // 10 ms batching window made every such put take 10 ms or more, 500 ms for these 50.
      const s = make({ compactionIntervalMs: 0 });
      await s.init();
      const started = performance.now();
      for (let i = 0; i < 50; i++) await s.messages.put(msg(`$seq${i}`, 0, { body: `line ${i}` }));
      const elapsed = performance.now() - started;
      assert.ok(elapsed < 400, `50 puts in a row took ${elapsed.toFixed(0)} ms`);
      // And those made in one go while a write is on its way all land (they share the next write).
      await Promise.all(Array.from({ length: 200 }, (_, i) => s.messages.put(msg(`$burst${i}`, 0))));
      const lines = (await fs.readFile(file(), 'utf8')).split('\n').filter(Boolean);
      assert.equal(lines.length, 250);
      await s.close();
      const again = make();
      await again.init();
      assert.equal(await again.messages.count(), 250);
    });

    it('a remote message in several rooms and an event in several parts: removing some keeps the rest, before and after a restart', async () => {
      const s = make({ compactionIntervalMs: 0 });
      await s.init();
      const portal = { network: 'libera', id: '#c' };
      // One IRC line relayed to three rooms; one Matrix event split into three IRC lines.
      for (const roomId of ['!a:x', '!b:x', '!c:x']) await s.messages.put({ ...msg('$in-' + roomId), roomId, remoteId: 'line-1' });
      for (const part of [0, 1, 2]) await s.messages.put(msg('$split', part));
      await s.messages.deleteByEvent('!b:x', '$in-!b:x');
      await s.messages.put(msg('$split', 1, { remoteId: 'irc-replaced' })); // same part again: replaces it
      const check = async (store: typeof s) => {
        assert.deepEqual(
          (await store.messages.getByRemote(portal, 'line-1')).map((m) => m.roomId),
          ['!a:x', '!c:x'],
        );
        assert.deepEqual(
          (await store.messages.getByEvent('!r:x', '$split')).map((m) => m.remoteId),
          ['irc-$split-0', 'irc-replaced', 'irc-$split-2'],
        );
        assert.deepEqual(await store.messages.getByRemote(portal, 'irc-$split-1'), []);
      };
      await check(s);
      assert.equal(await s.messages.prune(1001), 5);
      assert.deepEqual(await s.messages.getByRemote(portal, 'line-1'), []);
      await s.messages.put({ ...msg('$in-!a:x'), roomId: '!a:x', remoteId: 'line-1', timestamp: 2000 });
      await s.messages.put({ ...msg('$in-!c:x'), roomId: '!c:x', remoteId: 'line-1', timestamp: 2000 });
      for (const part of [0, 2]) await s.messages.put(msg('$split', part, { timestamp: 2000 }));
      await s.messages.put(msg('$split', 1, { remoteId: 'irc-replaced', timestamp: 2000 }));
      await check(s);
      await s.close();
      const again = make();
      await again.init();
      await check(again);
      await again.close();
    });

    it('cuts a torn last line, and refuses (naming the file) one that is mostly unreadable', async () => {
      const s1 = make();
      await s1.init();
      await s1.messages.put(msg('$ok'));
      await s1.close();
      await fs.appendFile(file(), '{"_id":"!r:x\\u0000$torn');
      const s2 = make();
      await s2.init();
      assert.equal((await s2.messages.getByEvent('!r:x', '$ok')).length, 1);
      await s2.close();
      await fs.appendFile(file(), 'not json\nnor this\n');
      await assert.rejects(
        () => make().init(),
        (e: Error) => e.message.includes('messages.db') && /2 of 3 lines/.test(e.message),
      );
    });
  });

  describe('key-value store (kv.db, kept by its own log)', () => {
    const file = () => path.join(root, 'kv.db');
    const lines = async () => (await fs.readFile(file(), 'utf8')).split('\n').filter(Boolean);

    it('reads a kv.db that NeDB wrote (index lines, replaced, deleted and expired entries): nothing to migrate', async () => {
      // As a Causeway before the kv log left it: a NeDB datastore with migration 001's indexes.
      const ds = Datastore.create({ filename: file(), autoload: false });
      await ds.load();
      await ds.ensureIndex({ fieldName: 'ns' });
      await ds.ensureIndex({ fieldName: 'expiresAt', sparse: true });
      const doc = (key: string, value: unknown, expiresAt?: number) => ({
        _id: `irc\u0000${key}`,
        ns: 'irc',
        key,
        value: JSON.stringify(value),
        ...(expiresAt !== undefined ? { expiresAt } : {}),
      });
      await ds.insert(doc('nick', 'alice'));
      await ds.update({ _id: 'irc\u0000nick' }, doc('nick', 'alice2'), {});
      await ds.insert(doc('gone', 1));
      await ds.remove({ _id: 'irc\u0000gone' }, {});
      await ds.insert(doc('old', 1, Date.now() - 1000));

      const s = make({ expirySweepIntervalMs: 0 });
      await s.init();
      assert.equal(await s.kv.get('irc', 'nick'), 'alice2');
      assert.equal(await s.kv.get('irc', 'gone'), undefined);
      assert.equal(await s.kv.get('irc', 'old'), undefined, 'expired entries stay invisible');
      assert.equal(await s.sweepExpired(), 1);
      await s.kv.put('irc', 'new', { a: 1 });
      await s.close();
      // Compacted at close: the index definitions survive, each live entry is one line, and NeDB still loads it.
      const after = await lines();
      assert.equal(after.filter((l) => l.includes('$$indexCreated')).length, 2, after.join('\n'));
      assert.equal(after.length, 4, after.join('\n'));
      const nedb = Datastore.create({ filename: file(), autoload: false });
      await nedb.load();
      const docs = await nedb.find<{ key: string; value: string }>({ ns: 'irc' });
      assert.deepEqual(docs.map((d) => [d.key, JSON.parse(d.value) as unknown]).sort(), [
        ['new', { a: 1 }],
        ['nick', 'alice2'],
      ]);
    });

    it('a put is visible at once and on disk when its promise settles; deletes and sweeps are written too, and a restart reads the result', async () => {
      const s = make({ expirySweepIntervalMs: 0, compactionIntervalMs: 0 });
      await s.init();
      const put = s.kv.put('slack', 'ev1', 1);
      assert.equal(await s.kv.get('slack', 'ev1'), 1, 'seen before its line is written');
      await put;
      assert.ok(
        (await lines()).some((l) => l.includes('ev1')),
        'on disk once the put settled',
      );
      await s.kv.put('slack', 'ev2', 2, { expiresAt: Date.now() + 50 });
      await s.kv.put('slack', 'ev3', 3);
      assert.equal(await s.kv.delete('slack', 'ev3'), true);
      await new Promise((r) => setTimeout(r, 60));
      assert.equal(await s.sweepExpired(), 1);
      // Killed without close: what was written is what the next start reads (no compaction ran).
      const written = await lines();
      assert.ok(
        written.some((l) => l.includes('$$deleted') && l.includes('ev3')),
        written.join('\n'),
      );
      assert.ok(
        written.some((l) => l.includes('$$deleted') && l.includes('ev2')),
        written.join('\n'),
      );
      const copy = path.join(root, 'copy');
      await fs.mkdir(copy);
      await fs.writeFile(path.join(copy, 'kv.db'), written.join('\n') + '\n');
      const again = new NedbStore({ directory: copy });
      open.push(again);
      await again.init();
      assert.deepEqual(await again.kv.list('slack'), [{ key: 'ev1', value: 1 }]);
    });

    it('refuses (naming the file) a kv.db that is mostly unreadable', async () => {
      await fs.writeFile(file(), '{"_id":"a\u0000b","ns":"a","key":"b","value":"1"}\nnot json\n{"no":"kv"}\n');
      await assert.rejects(
        () => make().init(),
        (e: Error) => e.message.includes(file()) && /corrupt/.test(e.message),
      );
    });
  });

  describe('durable queues (queues.db, an operation log)', () => {
    const file = () => path.join(root, 'queues.db');

    it('an append cut off by a crash is lost whole, never in part; what was written before it stays', async () => {
      const s1 = make();
      await s1.init();
      await s1.queues.append('q', 'k', ['kept']);
      await s1.queues.markAttempted(
        'q',
        (await s1.queues.list('q')).map((r) => r.seq),
      );
      // Kill the process mid-write: no close, no compaction. The next append line is torn half-way.
      const written = await fs.readFile(file(), 'utf8');
      const line = JSON.stringify({ a: 'q', k: 'k', s: 2, t: 1, v: ['lost 1', 'lost 2'] });
      await s1.close();
      await fs.writeFile(file(), written + line.slice(0, line.length - 7));
      const s2 = make();
      await s2.init();
      assert.deepEqual(
        (await s2.queues.list('q')).map((r) => [r.value, r.attempted]),
        [['kept', true]],
      );
    });

    it('compacts at close to one line per live record, and still never reuses a seq', async () => {
      const s = make();
      await s.init();
      const recs = await s.queues.append(
        'q',
        'k',
        Array.from({ length: 50 }, (_, i) => i),
      );
      for (const r of recs.slice(0, 49)) await s.queues.remove('q', [r.seq]);
      const newest = await s.queues.append('q', 'k', ['newest']);
      await s.queues.remove('q', [newest[0].seq]);
      await s.close();
      const lines = (await fs.readFile(file(), 'utf8')).split('\n').filter(Boolean);
      assert.equal(lines.length, 2, lines.join('\n'));
      const again = make();
      await again.init();
      assert.deepEqual(
        (await again.queues.list('q')).map((r) => r.value),
        [49],
      );
      assert.ok((await again.queues.append('q', 'k', ['next']))[0].seq > newest[0].seq);
    });
  });

  it('sweeps expired kv entries', async () => {
    const s = make({ expirySweepIntervalMs: 0 });
    await s.init();
    await s.kv.put('ns', 'old', 1, { expiresAt: Date.now() - 1 });
    await s.kv.put('ns', 'new', 2, { expiresAt: Date.now() + 60_000 });
    await s.kv.put('ns', 'forever', 3);
    assert.equal(await s.sweepExpired(), 1);
    assert.equal(await s.sweepExpired(), 0);
    assert.deepEqual(
      (await s.kv.list('ns')).map((e) => e.key),
      ['forever', 'new'],
    );
  });
});
