/**
 * A remote user's avatar that cannot be fetched does not hold up their messages, and is not
 * fetched again for every message they send: the next try waits.
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
  const portal = { network: 'mem', id: 'avatars' };

  before(async () => {
    server = http.createServer((req, res) => {
      hits.set(req.url ?? '', (hits.get(req.url ?? '') ?? 0) + 1);
      if (req.url === '/good.png') {
        res.writeHead(200, { 'Content-Type': 'image/png' });
        res.end(Buffer.from('89504e470d0a1a0a', 'hex'));
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    fx = await startBridgeFixture({ connector: () => (connector = new MemoryConnector()), configKey: 'mem' });
    const alice = await fx.hs.registerUser('alice');
    roomId = await alice.join('#_mem_mem_avatars:localhost');
    await eventually(async () => (await fx.bridge.portals.getByRoom(roomId)) !== undefined, 'portal');
  });
  after(async () => {
    await fx?.stop();
    server?.close();
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
});
