import { strict as assert } from 'node:assert';
import { Client } from 'pg';
import { maiLinksFromPostgres, maiUsersFromPostgres, portalsFromMaiLinks } from '../../src/migrate/mai-rooms';

describe("irc-bridge: reading matrix-appservice-irc's PostgreSQL tables", () => {
  it("reads MAI's PostgreSQL tables (rooms, pm_rooms, admin_rooms, client_config, user_features)", async function () {
    const url = process.env.CAUSEWAY_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
    const c = new Client({ connectionString: url });
    try {
      await c.connect();
    } catch {
      this.skip();
    }
    const schema = `mai_import_${process.pid}`;
    try {
      await c.query(`CREATE SCHEMA "${schema}"; SET search_path TO "${schema}";
        CREATE TABLE rooms (origin TEXT NOT NULL, room_id TEXT NOT NULL, type TEXT NOT NULL, irc_domain TEXT NOT NULL, irc_channel TEXT NOT NULL, irc_json JSON NOT NULL, matrix_json JSON NOT NULL);
        CREATE TABLE pm_rooms (room_id TEXT UNIQUE, irc_domain TEXT NOT NULL, irc_nick TEXT NOT NULL, matrix_user_id TEXT, virtual_user_id TEXT);
        INSERT INTO rooms VALUES ('provision', '!p:example.org', 'channel', 'irc.example.net', '#Ops', '{}', '{}'), ('alias', '!a:example.org', 'channel', 'irc.example.net', '#chan', '{}', '{}');
        INSERT INTO pm_rooms VALUES ('!pm:example.org', 'irc.example.net', 'Olive', '@alice:example.org', '@irc_olive:example.org');
        CREATE TABLE admin_rooms (room_id TEXT UNIQUE, user_id TEXT);
        INSERT INTO admin_rooms VALUES ('!admin:example.org', '@alice:example.org');
        CREATE TABLE client_config (user_id TEXT, domain TEXT NOT NULL, config JSON, password TEXT);
        INSERT INTO client_config VALUES ('@alice:example.org', 'irc.example.net', '{"nick": "AliceMAI", "username": "alicem"}', 'sealed');
        CREATE TABLE user_features (user_id TEXT UNIQUE, features JSON);
        INSERT INTO user_features VALUES ('@alice:example.org', '{"mentions": false}');`);
      const query = async (sql: string) => (await c.query<Record<string, unknown>>(sql)).rows;
      const links = await maiLinksFromPostgres(query);
      assert.deepEqual(links.adminRooms, [{ roomId: '!admin:example.org', userId: '@alice:example.org' }]);
      assert.deepEqual(await maiUsersFromPostgres(query), [
        { userId: '@alice:example.org', clients: [{ domain: 'irc.example.net', nick: 'AliceMAI', username: 'alicem' }], mentions: false },
      ]);
      const plan = portalsFromMaiLinks(links, () => 'net', 1);
      assert.deepEqual(
        plan.portals.map((p) => [p.roomId, p.kind, p.key.id, p.dmUser]),
        [
          ['!p:example.org', 'plumbed', '#ops', undefined],
          ['!a:example.org', 'portal', '#chan', undefined],
          ['!pm:example.org', 'dm', 'olive', '@alice:example.org'],
        ],
      );
    } finally {
      await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
      await c.end();
    }
  });
});
