/**
 * A remote user's avatar that cannot be fetched does not hold up their messages, and is not
 * fetched again for every message they send: the next try waits. An avatar URL pointing into the
 * operator's network (a private or loopback address not in `remote_fetch.allowed_private_ips`)
 * is never requested, directly or through a redirect: the ghost simply has no avatar.
 */
import { strict as assert } from 'node:assert';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { MemoryConnector, startBridgeFixture, eventually, type BridgeFixture } from '@causeway/testing/bridge';

describe('bridge-core: ghost avatars', function () {
  this.timeout(30_000);
  let fx: BridgeFixture<{ network: string }>;
  let connector: MemoryConnector;
  let roomId: string;
  let server: http.Server;
  let base: string;
  const hits = new Map<string, number>();
  // The operator's network, as far as the guard is concerned: 127.0.0.2 is not allow-listed.
  let internal: http.Server;
  let internalBase: string;
  const internalHits: string[] = [];
  const portal = { network: 'mem', id: 'avatars' };

  before(async () => {
    server = http.createServer((req, res) => {
      hits.set(req.url ?? '', (hits.get(req.url ?? '') ?? 0) + 1);
      if (req.url === '/good.png') {
        res.writeHead(200, { 'Content-Type': 'image/png' });
        res.end(Buffer.from('89504e470d0a1a0a', 'hex'));
      } else if (req.url === '/to-internal.png') {
        res.writeHead(302, { location: `${internalBase}/secret.png` });
        res.end();
      } else if (req.url === '/page.html') {
        res.writeHead(200, { 'Content-Type': 'text/html' });
        res.end('<html>an admin page</html>');
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    internal = http.createServer((req, res) => {
      internalHits.push(req.url ?? '');
      res.writeHead(200, { 'Content-Type': 'image/png' });
      res.end(Buffer.from('89504e470d0a1a0a', 'hex'));
    });
    await new Promise<void>((resolve) => internal.listen(0, '127.0.0.2', resolve));
    internalBase = `http://127.0.0.2:${(internal.address() as AddressInfo).port}`;
    fx = await startBridgeFixture({
      connector: () => (connector = new MemoryConnector()),
      configKey: 'mem',
      // The spec's avatar host on 127.0.0.1 is allowed, as an operator would allow a media host on the LAN.
      core: { remote_fetch: { allowed_private_ips: ['127.0.0.1'] } },
    });
    const alice = await fx.hs.registerUser('alice');
    roomId = await alice.join('#_mem_mem_avatars:localhost');
    await eventually(async () => (await fx.bridge.portals.getByRoom(roomId)) !== undefined, 'portal');
  });
  after(async () => {
    await fx?.stop();
    server?.close();
    internal?.close();
  });

  it('relays every message of a user whose avatar is broken, fetching it once', async () => {
    const sender = { ghost: { network: 'mem', id: 'dave' }, displayName: 'Dave', avatarUrl: `${base}/missing.png` };
    for (let i = 0; i < 5; i++) {
      await connector.ctx.remote.emit({ type: 'message', portal, sender, id: `d${i}`, content: { kind: 'text', body: `dave ${i}` } });
    }
    const bodies = fx.hs
      .roomTimeline(roomId)
      .filter((e) => e.sender === '@_mem_mem_dave:localhost' && e.type === 'm.room.message')
      .map((e) => e.content.body);
    assert.deepEqual(
      bodies,
      [0, 1, 2, 3, 4].map((i) => `dave ${i}`),
    );
    assert.equal(hits.get('/missing.png'), 1);
  });

  it('tries a new avatar URL at once, even after the old one failed', async () => {
    const sender = { ghost: { network: 'mem', id: 'dave' }, displayName: 'Dave', avatarUrl: `${base}/good.png` };
    await connector.ctx.remote.emit({ type: 'message', portal, sender, id: 'd5', content: { kind: 'text', body: 'dave 5' } });
    assert.equal(hits.get('/good.png'), 1);
    const profile = fx.hs.profile('@_mem_mem_dave:localhost');
    assert.match(String(profile?.avatar_url), /^mxc:\/\//);
  });

  it('never fetches an avatar on a private address that is not allow-listed; the ghost posts without one', async () => {
    for (const [id, avatarUrl] of [
      ['erin', `${internalBase}/secret.png`],
      ['frank', `${base}/to-internal.png`],
      ['grace', `http://169.254.169.254/latest/meta-data/`],
      ['heidi', `http://[::1]:${(internal.address() as AddressInfo).port}/secret.png`],
    ]) {
      const sender = { ghost: { network: 'mem', id }, displayName: id, avatarUrl };
      await connector.ctx.remote.emit({
        type: 'message',
        portal,
        sender,
        id: `${id}1`,
        content: { kind: 'text', body: `hello from ${id}` },
      });
      const ghost = `@_mem_mem_${id}:localhost`;
      const bodies = fx.hs
        .roomTimeline(roomId)
        .filter((e) => e.sender === ghost && e.type === 'm.room.message')
        .map((e) => e.content.body);
      assert.deepEqual(bodies, [`hello from ${id}`]);
      assert.equal(fx.hs.profile(ghost)?.displayname, id);
      assert.equal(fx.hs.profile(ghost)?.avatar_url, undefined, `${id} got an avatar`);
    }
    // The redirect was asked for once, its private target never.
    assert.equal(hits.get('/to-internal.png'), 1);
    assert.deepEqual(internalHits, []);
  });

  it('does not take a page that is not an image as an avatar', async () => {
    const sender = { ghost: { network: 'mem', id: 'ivan' }, displayName: 'Ivan', avatarUrl: `${base}/page.html` };
    await connector.ctx.remote.emit({ type: 'message', portal, sender, id: 'i1', content: { kind: 'text', body: 'ivan' } });
    assert.equal(hits.get('/page.html'), 1);
    assert.equal(fx.hs.profile('@_mem_mem_ivan:localhost')?.avatar_url, undefined);
  });
});
