/**
 * Moving from matrix-appservice-irc keeps its rooms: MAI's links (NeDB rooms.db or its
 * PostgreSQL tables) become portals here, and a message in an imported room reaches IRC.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { createStore } from '@causeway/bridge-core';
import { maiLinksFromNedb, maiLinksFromPostgres, maiUsersFromPostgres, portalsFromMaiLinks, nedbDocuments } from '../../../packages/irc-bridge/src/migrate/mai-rooms';
import { migrateMaiRoomsCommand } from '../../../packages/irc-bridge/src/migrate/rooms-command';
import { startInspircd, type InspircdHandle } from '../../harness/inspircd';
import { connectObserver, type Observer } from '../../harness/inspircd/observer';
import { startIrcBridge, eventually, BOT, NET, type IrcBridge } from '../support';

const line = (doc: object) => JSON.stringify(doc);
/** rooms.db as MAI's NeDB store wrote it: index lines, links, a re-written link, a deleted one, a PM room. */
const ROOMS_DB = [
  line({ $$indexCreated: { fieldName: 'id', unique: true, sparse: false } }),
  line({ _id: 'a1', id: '!portal:example.org #Chan irc.example.net', matrix_id: '!portal:example.org', remote_id: 'irc.example.net #Chan', remote: { domain: 'irc.example.net', channel: '#Chan', type: 'channel' }, data: { origin: 'alias' } }),
  line({ _id: 'a2', id: '!plumbed:example.org #ops irc.example.net', matrix_id: '!plumbed:example.org', remote: { domain: 'irc.example.net', channel: '#ops', type: 'channel' }, data: { origin: 'join' } }),
  line({ _id: 'a2', id: '!plumbed:example.org #ops irc.example.net', matrix_id: '!plumbed:example.org', remote: { domain: 'irc.example.net', channel: '#ops', type: 'channel', modes: ['s'] }, data: { origin: 'provision' } }),
  line({ _id: 'a3', matrix_id: '!fromconfig:example.org', remote: { domain: 'irc.example.net', channel: '#cfg', type: 'channel' }, data: { origin: 'config' } }),
  line({ _id: 'a4', matrix_id: '!gone:example.org', remote: { domain: 'irc.example.net', channel: '#gone', type: 'channel' }, data: { origin: 'alias' } }),
  line({ $$deleted: true, _id: 'a4' }),
  line({ _id: 'a5', matrix_id: '!pm:example.org', remote: { domain: 'irc.example.net', channel: 'Olive', type: 'pm' }, data: { real_user_id: '@alice:example.org', virtual_user_id: '@irc_olive:example.org' } }),
  line({ _id: 'a6', matrix_id: '!other:example.org', remote: { domain: 'irc.elsewhere.org', channel: '#x', type: 'channel' }, data: { origin: 'alias' } }),
  '{"truncated": ',
].join('\n');

describe('irc-bridge: importing matrix-appservice-irc\'s rooms', function () {
  this.timeout(60_000);

  it('reads rooms.db as NeDB does: last write wins, deletions apply, index and broken lines are skipped', () => {
    assert.deepEqual(nedbDocuments(ROOMS_DB).map((d) => d._id), ['a1', 'a2', 'a3', 'a5', 'a6']);
    const plan = portalsFromMaiLinks(maiLinksFromNedb(ROOMS_DB), (d) => (d === 'irc.example.net' ? 'irc.example.net' : undefined), 1000);
    assert.deepEqual(plan.portals, [
      { roomId: '!portal:example.org', key: { network: 'irc.example.net', id: '#chan' }, kind: 'portal', createdAt: 1000 },
      { roomId: '!plumbed:example.org', key: { network: 'irc.example.net', id: '#ops' }, kind: 'plumbed', createdAt: 1000 },
      { roomId: '!pm:example.org', key: { network: 'irc.example.net', id: 'olive' }, kind: 'dm', dmUser: '@alice:example.org', createdAt: 1000 },
    ]);
    assert.deepEqual(plan.skipped, ['!other:example.org: #x on irc.elsewhere.org: no network here has the address irc.elsewhere.org']);
  });

  it('reads MAI\'s PostgreSQL tables (rooms, pm_rooms, admin_rooms, client_config, user_features)', async function () {
    const url = process.env.CAUSEWAY_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
    const c = new Client({ connectionString: url });
    try { await c.connect(); } catch { this.skip(); }
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
      const query = async (sql: string) => (await c.query(sql)).rows;
      const links = await maiLinksFromPostgres(query);
      assert.deepEqual(links.adminRooms, [{ roomId: '!admin:example.org', userId: '@alice:example.org' }]);
      assert.deepEqual(await maiUsersFromPostgres(query), [
        { userId: '@alice:example.org', clients: [{ domain: 'irc.example.net', nick: 'AliceMAI', username: 'alicem' }], mentions: false },
      ]);
      const plan = portalsFromMaiLinks(links, () => 'net', 1);
      assert.deepEqual(plan.portals.map((p) => [p.roomId, p.kind, p.key.id, p.dmUser]), [
        ['!p:example.org', 'plumbed', '#ops', undefined], ['!a:example.org', 'portal', '#chan', undefined], ['!pm:example.org', 'dm', 'olive', '@alice:example.org'],
      ]);
    } finally {
      await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
      await c.end();
    }
  });

  describe('through the bridge', () => {
    let ircd: InspircdHandle;
    let b: IrcBridge;
    let olive: Observer;
    let dir: string;
    before(async () => {
      ircd = await startInspircd();
      b = await startIrcBridge(ircd);
      dir = mkdtempSync(path.join(tmpdir(), 'causeway-mai-rooms-'));
    });
    after(async () => {
      await olive?.close().catch(() => undefined);
      await b?.fx.stop();
      await ircd?.dispose();
      rmSync(dir, { recursive: true, force: true });
    });

    it('a room MAI had plumbed is bridged again after the import, with the user\'s MAI nick and admin room; a second run changes nothing', async () => {
      const alice = await b.fx.hs.registerUser('alice', { displayname: 'alice' });
      // The rooms as MAI left them: the bridge bot is in them (same bot user).
      const roomId = await alice.createRoom({ preset: 'public_chat' });
      await b.fx.bridge.intents.bot.ensureJoined(roomId);
      const adminRoom = await alice.createRoom({ preset: 'public_chat' });
      await b.fx.bridge.intents.bot.ensureJoined(adminRoom);
      olive = await connectObserver(ircd, 'olive');
      await olive.join('#migrated');
      const maiDb = path.join(dir, 'rooms.db');
      writeFileSync(maiDb, [
        line({ _id: 'x', matrix_id: roomId, remote: { domain: ircd.host, channel: '#migrated', type: 'channel' }, data: { origin: 'provision' } }),
        line({ _id: 'y', id: `ADMIN_${alice.userId}`, matrix_id: adminRoom, matrix: { extras: { admin_id: alice.userId } }, data: {} }),
      ].join('\n') + '\n');
      // users.db: the nick alice chose with MAI's !nick (server domain with dots as underscores), and her features.
      writeFileSync(path.join(dir, 'users.db'), line({
        _id: 'u1', type: 'matrix', id: alice.userId,
        data: { localpart: 'alice', client_config: { [ircd.host.replace(/\./g, '_')]: { nick: 'AliceMAI', username: 'alicem' } }, features: { mentions: false } },
      }) + '\n');
      // The bridge's own config, with the network's address as MAI knew it.
      const config = path.join(dir, 'config.yaml');
      writeFileSync(config, [
        `homeserver: {url: "${b.fx.hs.url}", domain: localhost}`,
        `database: {engine: nedb, nedb: {directory: "${path.join(b.fx.dataDir, 'db')}"}}`,
        `irc: {servers: {${NET}: {address: "${ircd.host}", port: ${ircd.port}}}}`,
      ].join('\n'));
      await b.fx.bridge.stop();
      const out: string[] = [];
      const io = { stdout: (t: string) => { out.push(t); }, stderr: (t: string) => { out.push(t); } };
      assert.equal(await migrateMaiRoomsCommand.run(['--nedb', maiDb, '-c', config, '--dry-run'], io), 0);
      assert.match(out.join('\n'), /Would import 1 room\(s\) \(0 portal, 1 plumbed, 0 PM rooms/);
      const store = createStore({ engine: 'nedb', directory: path.join(b.fx.dataDir, 'db') });
      await store.init();
      assert.equal(await store.portals.getByRoom(roomId), undefined, 'a dry run writes nothing');
      await store.close();
      assert.equal(await migrateMaiRoomsCommand.run(['--nedb', maiDb, '-c', config], io), 0);
      assert.match(out.join('\n'), /Imported 1 room\(s\).*Kept 1 admin room\(s\), 1 nick\(s\), 1 username\(s\) and 1 mention choice\(s\)/);
      assert.equal(await migrateMaiRoomsCommand.run(['--nedb', maiDb, '-c', config], io), 0);
      assert.match(out.at(-1)!, /Imported 0 room\(s\) .*1 already known here/);

      await b.fx.restart();
      const from = olive.lines.length;
      await alice.sendMessage(roomId, 'still bridged after the move');
      // Her MAI nick and username, not the template's alice[m].
      await olive.waitFor((l) => /:AliceMAI!~?alicem@\S+ PRIVMSG #migrated :still bridged after the move$/.test(l), 20_000, from);
      assert.equal((await b.fx.bridge.portals.getByRoom(roomId))?.kind, 'plumbed');
      // Her MAI admin room answers commands.
      await alice.sendMessage(adminRoom, '!feature mentions');
      await eventually(() => b.fx.hs.roomTimeline(adminRoom).some((e) => e.sender === BOT && /mentions is off\./.test(String(e.content?.body))), 'the admin room answers, with her MAI choice');
    });
  });
});
