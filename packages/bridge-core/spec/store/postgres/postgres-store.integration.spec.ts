/**
 * PostgreSQL backend: the shared contract plus migration behaviour. Needs a
 * server; CAUSEWAY_TEST_PG overrides the default connection string. Every test
 * gets its own random schema, dropped afterwards. Without a reachable server
 * the suite is skipped (and says so).
 */
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { createStore } from '../../../src/store/create-store';
import { PG_MIGRATIONS, PostgresStore, type PgMigration, type PostgresStoreOptions } from '../../../src/store/postgres';
import { storeContract } from '../contract';

const CONNECTION = process.env.CAUSEWAY_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const RUN_PREFIX = `causeway_test_${randomBytes(4).toString('hex')}`;
const LATEST = Math.max(...PG_MIGRATIONS.map((m) => m.version));
let counter = 0;
let available: boolean | undefined;

async function admin<T>(fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: CONNECTION });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

async function pgAvailable(): Promise<boolean> {
  if (available === undefined) {
    available = await admin(async (c) => {
      await c.query('SELECT 1');
      return true;
    }).catch((e: Error) => {
      console.warn(`PostgreSQL store tests skipped: cannot connect to ${CONNECTION} (${e.message})`);
      return false;
    });
  }
  return available;
}

const freshSchema = () => `${RUN_PREFIX}_${++counter}`;
const dropSchema = (schema: string) => admin((c) => c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`));

async function tablesIn(schema: string): Promise<string[]> {
  const { rows } = await admin((c) =>
    c.query<{ t: string }>('SELECT table_name AS t FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1', [schema]),
  );
  return rows.map((r) => r.t);
}

async function versionsIn(schema: string): Promise<number[]> {
  const { rows } = await admin((c) => c.query<{ version: number }>(`SELECT version FROM "${schema}".schema_version ORDER BY version`));
  return rows.map((r) => r.version);
}

describe('PostgreSQL store', function () {
  before(async function () {
    if (!(await pgAvailable())) this.skip();
  });

  after(async () => {
    if (!available) return;
    // Belt and braces: drop anything this run left behind.
    const { rows } = await admin((c) =>
      c.query<{ s: string }>('SELECT nspname AS s FROM pg_namespace WHERE nspname LIKE $1', [`${RUN_PREFIX}%`]),
    );
    for (const r of rows) await dropSchema(r.s);
  });

  storeContract('postgres', async () => {
    const schema = freshSchema();
    return {
      open: () => createStore({ engine: 'postgres', connectionString: CONNECTION, schema, maxConnections: 4 }),
      latestVersion: LATEST,
      dispose: () => dropSchema(schema).then(() => undefined),
    };
  });

  describe('migrations and concurrency', () => {
    let schema: string;
    const stores: PostgresStore[] = [];
    const make = (opts: Partial<PostgresStoreOptions> = {}) => {
      const s = new PostgresStore({ connectionString: CONNECTION, schema, maxConnections: 4, ...opts });
      stores.push(s);
      return s;
    };

    beforeEach(() => {
      schema = freshSchema();
    });
    afterEach(async () => {
      for (const s of stores.splice(0)) await s.close().catch(() => undefined);
      await dropSchema(schema);
    });

    it('creates its schema and records every migration once in schema_version', async () => {
      const s = make();
      await s.init();
      await s.close();
      await make().init();
      assert.deepEqual(
        await versionsIn(schema),
        PG_MIGRATIONS.map((m) => m.version),
      );
      assert.deepEqual(await tablesIn(schema), [
        'ghosts',
        'intents',
        'kv',
        'memberships',
        'messages',
        'portals',
        'queue_entries',
        'schema_version',
      ]);
    });

    it('a failing migration rolls back completely and init() rejects; the next start retries it', async () => {
      let fail = true;
      const broken: PgMigration = {
        version: LATEST + 1,
        name: 'half-done',
        async up(c) {
          await c.query('CREATE TABLE half_done (x integer)');
          await c.query('ALTER TABLE portals ADD COLUMN extra text');
          if (fail) throw new Error('boom');
        },
      };
      const s1 = make({ migrations: [...PG_MIGRATIONS, broken] });
      await assert.rejects(() => s1.init(), /boom/);
      assert.ok(!(await tablesIn(schema)).includes('half_done'), 'no table from the failed step');
      const { rows } = await admin((c) =>
        c.query(`SELECT 1 FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'portals' AND column_name = 'extra'`, [
          schema,
        ]),
      );
      assert.equal(rows.length, 0, 'no column from the failed step');
      assert.deepEqual(
        await versionsIn(schema),
        PG_MIGRATIONS.map((m) => m.version),
      );

      fail = false;
      const s2 = make({ migrations: [...PG_MIGRATIONS, broken] });
      await s2.init();
      assert.equal(await s2.schemaVersion(), LATEST + 1);
      assert.ok((await tablesIn(schema)).includes('half_done'));
    });

    it('a failing first migration leaves no partial schema behind', async () => {
      const broken: PgMigration = {
        version: 1,
        name: 'broken-initial',
        async up(c) {
          await c.query('CREATE TABLE portals (room_id text PRIMARY KEY)');
          throw new Error('boom');
        },
      };
      await assert.rejects(() => make({ migrations: [broken] }).init(), /boom/);
      assert.deepEqual(await tablesIn(schema), ['schema_version']);
      assert.deepEqual(await versionsIn(schema), []);
    });

    it('bridges starting at the same time apply each migration exactly once', async () => {
      let runs = 0;
      const slow: PgMigration = {
        version: LATEST + 1,
        name: 'slow',
        async up(c) {
          runs++;
          await c.query('CREATE TABLE slow_marker (x integer)');
          await new Promise((r) => setTimeout(r, 200));
        },
      };
      const all = [...PG_MIGRATIONS, slow];
      const group = Array.from({ length: 4 }, () => make({ migrations: all }));
      await Promise.all(group.map((s) => s.init()));
      assert.equal(runs, 1);
      assert.deepEqual(
        await versionsIn(schema),
        all.map((m) => m.version),
      );
      for (const s of group) assert.equal(await s.schemaVersion(), LATEST + 1);
    });

    it('concurrent puts of one key from two bridges end in one row', async () => {
      const a = make();
      const b = make();
      await Promise.all([a.init(), b.init()]);
      await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 ? a : b).kv.put('ns', 'k', i)));
      await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          (i % 2 ? a : b).portals.put({
            roomId: '!r:x',
            key: { network: 'n', id: '#c' },
            kind: 'portal',
            createdAt: i,
          }),
        ),
      );
      assert.equal((await a.kv.list('ns')).length, 1);
      assert.equal(await b.portals.count(), 1);
    });

    it('rejects a schema name that is not a plain identifier', () => {
      assert.throws(() => new PostgresStore({ connectionString: CONNECTION, schema: 'x"; DROP TABLE y; --' }), TypeError);
    });

    it("counts a large message map from the planner's estimate instead of scanning it", async () => {
      const s = make();
      await s.init();
      await admin(async (c) => {
        await c.query(`INSERT INTO "${schema}".messages (room_id, event_id, part, network, remote_channel, receiver, remote_id, sender, ts)
          SELECT '!r:x', '$e' || i, 0, 'n', '#c', '', 'r' || i, '@u:x', 1 FROM generate_series(1, 120000) AS i`);
        await c.query(`ANALYZE "${schema}".messages`);
      });
      // Rows added after the ANALYZE are not in the estimate: the answer is the estimate, not a count.
      for (let i = 0; i < 5; i++) {
        await s.messages.put({
          roomId: '!r:x',
          eventId: `$late${i}`,
          part: 0,
          portal: { network: 'n', id: '#c' },
          remoteId: `late${i}`,
          sender: '@u:x',
          timestamp: 2,
        });
      }
      const n = await s.messages.count();
      assert.ok(Math.abs(n - 120_000) < 2_400, `estimate ${n} is near 120,000`);
      assert.notEqual(n, 120_005);
    });

    it('uses the indexes it declares (kv prefix scan, message lookups)', async () => {
      const s = make();
      await s.init();
      const plan = await admin(async (c) => {
        await c.query(`SET search_path TO "${schema}"`);
        await c.query('SET enable_seqscan = off');
        const q = async (sql: string) =>
          (await c.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql}`)).rows.map((r) => r['QUERY PLAN']).join('\n');
        return {
          kv: await q(`SELECT key FROM kv WHERE namespace = 'ns' AND key LIKE 'ab%' ORDER BY key`),
          remote: await q(`SELECT * FROM messages WHERE network = 'n' AND remote_channel = '#c' AND receiver = '' AND remote_id = 'x'`),
          joined: await q(`SELECT room_id FROM memberships WHERE user_id = '@u:x' AND membership = 'join'`),
          queueKey: await q(`SELECT * FROM queue_entries WHERE queue = 'q' AND key = 'k' ORDER BY seq`),
          queueAll: await q(`SELECT * FROM queue_entries WHERE queue = 'q' ORDER BY seq LIMIT 10`),
        };
      });
      assert.match(plan.kv, /kv_pkey/);
      assert.match(plan.kv, /key >= 'ab'/);
      assert.match(plan.remote, /messages_remote_idx/);
      assert.match(plan.joined, /memberships_joined_idx/);
      assert.match(plan.queueKey, /queue_entries_queue_idx/);
      assert.doesNotMatch(plan.queueKey, /Sort/);
      assert.match(plan.queueAll, /queue_entries_order_idx/);
    });
  });
});
