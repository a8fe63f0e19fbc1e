import { strict as assert } from 'node:assert';
import { MemoryConnector } from '../../support/memory-connector';
import { startBridgeFixture, type BridgeFixture } from '../../support/bridge-fixture';
import { MediaProxy } from '../../../packages/bridge-core/src/media/media-proxy';
import { getLogger } from '../../../packages/bridge-core/src/logging/logger';
import type { RouteContext } from '../../../packages/bridge-core/src/appservice/http-server';

describe('bridge-core: media proxy for remote users', function () {
  this.timeout(30_000);
  let fx: BridgeFixture<{ network: string }>;
  let connector: MemoryConnector;

  before(async () => {
    fx = await startBridgeFixture({
      connector: () => (connector = new MemoryConnector()),
      configKey: 'mem',
      core: (asUrl) => ({ media_proxy: { public_url: asUrl } }),
    });
  });
  after(async () => { await fx.stop(); });

  it('serves authenticated homeserver media through a signed link, without any token', async () => {
    const alice = await fx.hs.registerUser('alice');
    const png = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
    const mxc = await alice.upload(png, 'image/png', 'cat.png');
    // The homeserver's own unauthenticated route is frozen: a raw URL would not work for remote users.
    const [, server, id] = /^mxc:\/\/([^/]+)\/(.+)$/.exec(mxc)!;
    assert.equal((await fetch(`${fx.hs.url}/_matrix/media/v3/download/${server}/${id}`)).status, 404);
    const url = connector.ctx.media.publicUrl(mxc, 'cat.png')!;
    assert.ok(url.startsWith(fx.asUrl + '/_causeway/media/v1/'), url);
    const res = await fetch(url);
    assert.equal(res.status, 200);
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), png);
    assert.equal(res.headers.get('content-type'), 'image/png');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.match(res.headers.get('content-security-policy') ?? '', /sandbox/);
  });

  it('refuses forged and retargeted links', async () => {
    const alice = await fx.hs.registerUser('alice2');
    const a = await alice.upload(Buffer.from('a'), 'text/plain', 'a.txt');
    const b = await alice.upload(Buffer.from('b'), 'text/plain', 'b.txt');
    const urlA = connector.ctx.media.publicUrl(a, 'a.txt')!;
    const idA = a.split('/').pop()!;
    const idB = b.split('/').pop()!;
    assert.equal((await fetch(urlA.replace(idA, idB))).status, 404, 'signature bound to the media ID');
    const forged = urlA.replace(/\/([A-Za-z0-9_-]{32})\//, '/' + 'A'.repeat(32) + '/');
    assert.equal((await fetch(forged)).status, 404, 'forged signature');
  });

  it('never serves active content inline', async () => {
    const alice = await fx.hs.registerUser('alice3');
    const mxc = await alice.upload(Buffer.from('<script>alert(1)</script>'), 'text/html', 'x.html');
    const res = await fetch(connector.ctx.media.publicUrl(mxc, 'x.html')!);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/octet-stream');
    assert.match(res.headers.get('content-disposition') ?? '', /^attachment/);
  });

  it('expires links when a lifetime is configured', async () => {
    let now = 1_700_000_000_000;
    const store = new Map<string, unknown>();
    const kv = {
      get: async (ns: string, k: string) => store.get(`${ns}/${k}`),
      put: async (ns: string, k: string, v: unknown) => { store.set(`${ns}/${k}`, v); },
      delete: async () => true, list: async () => [],
    };
    const media = { download: async () => ({ data: Buffer.from('x'), mimetype: 'text/plain' }) };
    const proxy = new MediaProxy({ publicUrl: 'http://bridge', linkLifetimeSeconds: 60, maxBytes: 10, kv: kv as never, media: media as never, log: getLogger('test'), now: () => now });
    await proxy.init();
    const url = new URL(proxy.publicUrl('mxc://hs/abc', 'x.txt')!);
    const [, , , , server, mediaId, expiry, sig, name] = url.pathname.split('/');
    let route: ((ctx: RouteContext) => Promise<void>) | undefined;
    proxy.register({ addRoute: (_m: string, _p: string, h: (ctx: RouteContext) => Promise<void>) => { route = h; } } as never);
    const call = async () => {
      let status = 0;
      const ctx = {
        params: { server: decodeURIComponent(server), mediaId, expiry, sig, name },
        res: { writeHead: (s: number) => { status = s; }, end: () => undefined },
        log: getLogger('test'),
      } as unknown as RouteContext;
      try { await route!(ctx); } catch (err) { return (err as { status: number }).status; }
      return status;
    };
    assert.equal(await call(), 200);
    now += 61_000;
    assert.equal(await call(), 410);
  });
});
