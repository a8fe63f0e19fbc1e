import { strict as assert } from 'node:assert';
import { MediaProxy } from '../../src/media/media-proxy';
import { getLogger } from '../../src/logging/logger';
import type { RouteContext } from '../../src/connector/routes';

describe('bridge-core: media proxy links', () => {
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
