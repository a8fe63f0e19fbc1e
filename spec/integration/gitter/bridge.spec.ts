/**
 * Messages both ways through the relay account, against the Gitter emulator and the homeserver
 * emulator: text, emotes, Markdown ↔ HTML (through the allow-lists), no echo of the relay's own
 * posts, and Gitter users as ghosts whose name and avatar follow their profile.
 */
import { strict as assert } from 'node:assert';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { HomeserverEmulator, type GitterTestUser, type TestUser } from '@causeway/testing';
import { startBridgeFixture } from '@causeway/testing/bridge';
import { ConfigError } from '@causeway/bridge-core';
import { GitterConnector, type GitterConfig } from '@causeway/gitter-bridge';
import { adminRoom, eventually, ghostId, linkedRoom, messages, startGitterBridge, type GitterBridge } from './support';

describe('gitter-bridge: messages through the relay', function () {
  this.timeout(60_000);
  let b: GitterBridge;
  let alice: GitterTestUser;
  let bob: TestUser;
  let room: { id: string; uri: string };
  let roomId: string;

  before(async () => {
    b = await startGitterBridge();
    alice = b.gitter.createUser('alice', { displayName: 'Alice' });
    room = { ...b.gitter.createRoom({ uri: 'acme/chat', members: [alice.id] }), uri: 'acme/chat' };
    bob = await b.fx.hs.registerUser('bob', { displayname: 'Bob' });
    const admin = await adminRoom(b.fx.hs, await b.fx.hs.registerUser('admin'));
    roomId = await linkedRoom(b, bob, admin, room);
  });
  after(async () => {
    await b?.stop();
  });

  it("bridges a Gitter message as the sender's ghost, Markdown rendered to Matrix HTML", async () => {
    await alice.post(room.id, 'hello **Matrix**, see https://example.org');
    const e = await eventually(() => messages(b.fx.hs, roomId, ghostId('alice'))[0], 'ghost message');
    assert.equal(e.content.msgtype, 'm.text');
    assert.equal(e.content.body, 'hello **Matrix**, see https://example.org');
    assert.match(
      String(e.content.formatted_body),
      /hello <strong>Matrix<\/strong>, see <a href="https:\/\/example.org">https:\/\/example.org<\/a>/,
    );
    assert.equal(b.fx.hs.profile(ghostId('alice'))?.displayname, 'Alice');
  });

  it('shows raw HTML a Gitter user typed as text, never as markup', async () => {
    await alice.post(room.id, 'try <img src=x onerror=alert(1)> and <script>alert(2)</script>');
    const e = await eventually(
      () => messages(b.fx.hs, roomId, ghostId('alice')).find((m) => String(m.content.body).startsWith('try')),
      'html message',
    );
    const html = String(e.content.formatted_body ?? '');
    assert.doesNotMatch(html, /<img|<script/);
    if (html) assert.match(html, /&lt;img/);
  });

  it('turns a Gitter emote (status: true) into m.emote without the @username prefix', async () => {
    await alice.emote(room.id, 'waves');
    const e = await eventually(() => messages(b.fx.hs, roomId, ghostId('alice')).find((m) => m.content.msgtype === 'm.emote'), 'emote');
    assert.equal(e.content.body, 'waves');
  });

  it("posts a Matrix message through the relay with the sender's name, HTML as Markdown, and does not echo it back", async () => {
    const before = messages(b.fx.hs, roomId).length;
    await bob.sendMessage(roomId, {
      msgtype: 'm.text',
      body: 'hi there *literally*',
      format: 'org.matrix.custom.html',
      formatted_body: 'hi <b>there</b> *literally*',
    });
    const posted = await eventually(() => b.gitter.messagesBy(room.id, b.relay.id)[0], 'relayed to Gitter');
    assert.equal(posted.text, '**Bob**: hi **there** \\*literally\\*');
    assert.equal(posted.status, false);
    await alice.post(room.id, 'after');
    await eventually(() => messages(b.fx.hs, roomId, ghostId('alice')).some((m) => m.content.body === 'after'), 'later Gitter message');
    // Bob's own message plus Alice's: the relay's copy of Bob's never came back as a ghost message.
    assert.equal(messages(b.fx.hs, roomId).length, before + 2);
  });

  it('posts a Matrix emote as a status message', async () => {
    await bob.sendMessage(roomId, { msgtype: 'm.emote', body: 'dances' });
    const posted = await eventually(() => b.gitter.messagesBy(room.id, b.relay.id).find((m) => m.status), 'emote relayed');
    assert.equal(posted.text, '**Bob** dances');
  });

  it('refuses to start with a relay token Gitter does not accept, naming the key', async () => {
    const hs = await HomeserverEmulator.start({ serverName: 'localhost' });
    try {
      await assert.rejects(
        startBridgeFixture<GitterConfig>({
          connector: () => new GitterConnector(),
          configKey: 'gitter',
          hs,
          connectorConfig: {
            rest_base_url: b.gitter.restBaseUrl,
            stream_base_url: b.gitter.streamBaseUrl,
            relay: { token: 'not-a-token' },
          },
        }),
        (err: unknown) =>
          err instanceof ConfigError && err.problems.some((p) => p.startsWith('gitter.relay.token: Gitter refused it (401)')),
      );
    } finally {
      await hs.stop();
    }
  });

  it("updates the ghost's display name and avatar when the Gitter profile changes", async () => {
    const png = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');
    const server = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'image/png' }).end(png));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/alice.png`;
      b.gitter.setProfile(alice.id, { displayName: 'Alice Liddell', avatarUrl: url });
      await alice.post(room.id, 'new look');
      await eventually(() => b.fx.hs.profile(ghostId('alice'))?.displayname === 'Alice Liddell', 'display name updated');
      const mxc = await eventually(() => b.fx.hs.profile(ghostId('alice'))?.avatar_url, 'avatar set');
      assert.deepEqual(b.fx.hs.mediaBytes(mxc), png);
    } finally {
      server.close();
    }
  });

  it('does not try a broken avatar again on every message (each try could cost a timeout)', async () => {
    let hits = 0;
    const server = http.createServer((_req, res) => {
      hits++;
      res.writeHead(500).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const dave = b.gitter.createUser('dave', { displayName: 'Dave' });
      b.gitter.addMember(room.id, dave.id);
      b.gitter.setProfile(dave.id, { avatarUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/dave.png` });
      for (let i = 0; i < 5; i++) await dave.post(room.id, `broken avatar ${i}`);
      await eventually(() => messages(b.fx.hs, roomId, ghostId('dave')).length === 5, 'all five bridged');
      assert.equal(hits, 1);
      assert.equal(b.fx.hs.profile(ghostId('dave'))?.displayname, 'Dave');
    } finally {
      server.close();
    }
  });

  it('never fetches an avatar on a private address that is not allow-listed (127.0.0.2 here): the ghost posts without one', async () => {
    const requests: string[] = [];
    const server = http.createServer((req, res) => {
      requests.push(req.url ?? '');
      res.writeHead(200, { 'content-type': 'image/png' }).end(Buffer.from('89504e470d0a1a0a', 'hex'));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.2', resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      for (const [name, avatarUrl] of [
        ['erin', `http://127.0.0.2:${port}/erin.png`],
        ['frank', `http://[::ffff:127.0.0.2]:${port}/frank.png`],
      ]) {
        const user = b.gitter.createUser(name, { displayName: name });
        b.gitter.addMember(room.id, user.id);
        b.gitter.setProfile(user.id, { avatarUrl });
        await user.post(room.id, `hello from ${name}`);
        await eventually(() => messages(b.fx.hs, roomId, ghostId(name)).some((e) => e.content.body === `hello from ${name}`), name);
        assert.equal(b.fx.hs.profile(ghostId(name))?.displayname, name);
        assert.equal(b.fx.hs.profile(ghostId(name))?.avatar_url, undefined);
      }
      assert.deepEqual(requests, []);
    } finally {
      server.close();
    }
  });
});
