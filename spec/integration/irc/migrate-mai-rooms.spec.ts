/**
 * Moving from matrix-appservice-irc keeps its rooms: MAI's links (NeDB rooms.db or its
 * PostgreSQL tables) become portals here, and a message in an imported room reaches IRC.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createStore } from '@causeway/bridge-core/tools';
import { migrateMaiRoomsCommand } from '@causeway/irc-bridge';
import { startInspircd, type InspircdHandle } from '@causeway/testing';
import { connectObserver, type Observer } from '@causeway/testing';
import { startIrcBridge, eventually, BOT, NET, type IrcBridge } from './support';

const line = (doc: object) => JSON.stringify(doc);

describe("irc-bridge: importing matrix-appservice-irc's rooms", function () {
  this.timeout(60_000);

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

    it("a room MAI had plumbed is bridged again after the import, with the user's MAI nick and admin room; a second run changes nothing", async () => {
      const alice = await b.fx.hs.registerUser('alice', { displayname: 'alice' });
      // The rooms as MAI left them: the bridge bot is in them (same bot user).
      const roomId = await alice.createRoom({ preset: 'public_chat' });
      await b.fx.bridge.intents.bot.ensureJoined(roomId);
      const adminRoom = await alice.createRoom({ preset: 'public_chat' });
      await b.fx.bridge.intents.bot.ensureJoined(adminRoom);
      olive = await connectObserver(ircd, 'olive');
      await olive.join('#migrated');
      const maiDb = path.join(dir, 'rooms.db');
      writeFileSync(
        maiDb,
        [
          line({
            _id: 'x',
            matrix_id: roomId,
            remote: { domain: ircd.host, channel: '#migrated', type: 'channel' },
            data: { origin: 'provision' },
          }),
          line({ _id: 'y', id: `ADMIN_${alice.userId}`, matrix_id: adminRoom, matrix: { extras: { admin_id: alice.userId } }, data: {} }),
        ].join('\n') + '\n',
      );
      // users.db: the nick alice chose with MAI's !nick (server domain with dots as underscores), and her features.
      writeFileSync(
        path.join(dir, 'users.db'),
        line({
          _id: 'u1',
          type: 'matrix',
          id: alice.userId,
          data: {
            localpart: 'alice',
            client_config: { [ircd.host.replace(/\./g, '_')]: { nick: 'AliceMAI', username: 'alicem' } },
            features: { mentions: false },
          },
        }) + '\n',
      );
      // The bridge's own config, with the network's address as MAI knew it.
      const config = path.join(dir, 'config.yaml');
      writeFileSync(
        config,
        [
          `homeserver: {url: "${b.fx.hs.url}", domain: localhost}`,
          `database: {engine: nedb, nedb: {directory: "${path.join(b.fx.dataDir, 'db')}"}}`,
          `irc: {servers: {${NET}: {address: "${ircd.host}", port: ${ircd.port}}}}`,
        ].join('\n'),
      );
      await b.fx.bridge.stop();
      const out: string[] = [];
      const io = {
        stdout: (t: string) => {
          out.push(t);
        },
        stderr: (t: string) => {
          out.push(t);
        },
      };
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
      await eventually(
        () => b.fx.hs.roomTimeline(adminRoom).some((e) => e.sender === BOT && /mentions is off\./.test(String(e.content?.body))),
        'the admin room answers, with her MAI choice',
      );
    });
  });
});
