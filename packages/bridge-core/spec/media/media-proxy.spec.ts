import { strict as assert } from 'node:assert';
import { createHmac } from 'node:crypto';
import { MediaProxy } from '../../src/media/media-proxy';
import { getLogger } from '../../src/logging/logger';
import type { RouteContext } from '../../src/connector/routes';

describe('bridge-core: media proxy links', () => {
  it('expires links when a lifetime is configured', async () => {
    let now = 1_700_000_000_000;
    const store = new Map<string, unknown>();
    const kv = {
      get: async (ns: string, k: string) => store.get(`${ns}/${k}`),
      put: async (ns: string, k: string, v: unknown) => {
        store.set(`${ns}/${k}`, v);
      },
      delete: async () => true,
      list: async () => [],
    };
    const media = { download: async () => ({ data: Buffer.from('x'), mimetype: 'text/plain' }) };
    const proxy = new MediaProxy({
      publicUrl: 'http://bridge',
      linkLifetimeSeconds: 60,
      maxBytes: 10,
      kv: kv as never,
      media: media as never,
      log: getLogger('test'),
      now: () => now,
    });
    await proxy.init();
    const url = new URL(proxy.publicUrl('mxc://hs/abc', 'x.txt')!);
    const [, , , , server, mediaId, expiry, sig, name] = url.pathname.split('/');
    let route: ((ctx: RouteContext) => Promise<void>) | undefined;
    proxy.register({
      addRoute: (_m: string, _p: string, h: (ctx: RouteContext) => Promise<void>) => {
        route = h;
      },
    } as never);
    const call = async () => {
      let status = 0;
      const ctx = {
        params: { server: decodeURIComponent(server), mediaId, expiry, sig, name },
        res: {
          writeHead: (s: number) => {
            status = s;
          },
          end: () => undefined,
        },
        log: getLogger('test'),
      } as unknown as RouteContext;
      try {
        await route!(ctx);
      } catch (err) {
        return (err as { status: number }).status;
      }
      return status;
    };
    assert.equal(await call(), 200);
    now += 61_000;
    assert.equal(await call(), 410);
  });

  it('still opens links signed before the name was, under the name the homeserver has for the file', async () => {
    const store = new Map<string, unknown>();
    const kv = {
      get: async (ns: string, k: string) => store.get(`${ns}/${k}`),
      put: async (ns: string, k: string, v: unknown) => {
        store.set(`${ns}/${k}`, v);
      },
      delete: async () => true,
      list: async () => [],
    };
    const media = { download: async () => ({ data: Buffer.from('x'), mimetype: 'application/pdf', filename: 'report.pdf' }) };
    const proxy = new MediaProxy({
      publicUrl: 'http://bridge',
      linkLifetimeSeconds: 0,
      maxBytes: 10,
      kv: kv as never,
      media: media as never,
      log: getLogger('test'),
    });
    await proxy.init();
    // How the previous version signed a link: server, media ID and expiry, not the name.
    const key = Buffer.from(store.get('media-proxy/signing-key') as string, 'base64');
    const legacySig = createHmac('sha256', key).update('hs\u0000abc\u00000').digest('base64url').slice(0, 32);
    let route: ((ctx: RouteContext) => Promise<void>) | undefined;
    proxy.register({
      addRoute: (_m: string, _p: string, h: (ctx: RouteContext) => Promise<void>) => {
        route = h;
      },
    } as never);
    const open = async (sig: string, name: string) => {
      const out: { status?: number; headers?: Record<string, string> } = {};
      const ctx = {
        params: { server: 'hs', mediaId: 'abc', expiry: '0', sig, name },
        res: {
          writeHead: (s: number, h: Record<string, string>) => {
            out.status = s;
            out.headers = h;
          },
          end: () => undefined,
        },
        log: getLogger('test'),
      } as unknown as RouteContext;
      try {
        await route!(ctx);
      } catch (err) {
        out.status = (err as { status: number }).status;
      }
      return out;
    };
    const old = await open(legacySig, 'invoice.exe');
    assert.equal(old.status, 200);
    assert.match(old.headers!['Content-Disposition'], /filename="report\.pdf"/);
    assert.equal((await open('A'.repeat(32), 'report.pdf')).status, 404);
  });
});
