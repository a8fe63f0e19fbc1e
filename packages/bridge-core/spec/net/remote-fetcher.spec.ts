import { strict as assert } from 'node:assert';
import type * as dns from 'node:dns';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { RemoteFetcher } from '../../src/net/remote-fetcher';
import { RemoteFetchError, type RemoteFetchFailure } from '../../src/connector/remote-fetch';

/** A listener that records every request it gets; `handle` answers them. */
interface Listener {
  url: string;
  port: number;
  requests: http.IncomingMessage[];
  close(): Promise<void>;
}

async function listen(host: string, handle: (req: http.IncomingMessage, res: http.ServerResponse) => void): Promise<Listener> {
  const requests: http.IncomingMessage[] = [];
  const server = http.createServer((req, res) => {
    requests.push(req);
    handle(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const png = Buffer.from('89504e470d0a1a0a', 'hex');
const image = (_req: http.IncomingMessage, res: http.ServerResponse) => res.writeHead(200, { 'content-type': 'image/png; q=1' }).end(png);

/** A resolver with fixed answers, standing in for DNS. */
const fakeDns = (answers: Record<string, string>) =>
  ((host: string, _opts: unknown, cb: (err: NodeJS.ErrnoException | null, a: dns.LookupAddress[]) => void) => {
    const a = answers[host];
    if (!a) return cb(Object.assign(new Error(`ENOTFOUND ${host}`), { code: 'ENOTFOUND' }), []);
    cb(null, [{ address: a, family: a.includes(':') ? 6 : 4 }]);
  }) as unknown as typeof dns.lookup;

async function failure(p: Promise<unknown>): Promise<RemoteFetchError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof RemoteFetchError, String(err));
    return err;
  }
  assert.fail('the fetch succeeded');
}

async function failsWith(p: Promise<unknown>, reason: RemoteFetchFailure): Promise<RemoteFetchError> {
  const err = await failure(p);
  assert.equal(err.reason, reason, err.message);
  return err;
}

describe('net/remote-fetcher', function () {
  this.timeout(10_000);
  let local: Listener;
  let fetchers: RemoteFetcher[] = [];
  const fetcher = (opts: ConstructorParameters<typeof RemoteFetcher>[0] = {}) => {
    const f = new RemoteFetcher(opts);
    fetchers.push(f);
    return f;
  };

  beforeEach(async () => {
    local = await listen('127.0.0.1', image);
  });
  afterEach(async () => {
    await Promise.all(fetchers.map((f) => f.close()));
    fetchers = [];
    await local.close();
  });

  it('fetches from an allow-listed address: status, media type without parameters, bytes', async () => {
    const res = await fetcher({ allowedPrivateIps: ['127.0.0.1'] }).fetch(`${local.url}/a.png`, { maxBytes: 1024 });
    assert.equal(res.status, 200);
    assert.equal(res.mimetype, 'image/png');
    assert.deepEqual(res.data, png);
    assert.equal(res.url, `${local.url}/a.png`);
  });

  it('refuses a loopback listener that is not allow-listed, which sees no request', async () => {
    const err = await failsWith(fetcher().fetch(`${local.url}/a.png`, { maxBytes: 1024 }), 'forbidden_address');
    assert.match(err.message, /127\.0\.0\.1/);
    assert.match(err.message, /remote_fetch\.allowed_private_ips/);
    assert.equal(local.requests.length, 0);
  });

  it('refuses every special-purpose IPv4 and IPv6 literal, IPv4-mapped IPv6 included', async () => {
    const f = fetcher();
    for (const host of [
      '127.0.0.1',
      '10.1.2.3',
      '172.16.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '224.0.0.1',
      '255.255.255.255',
      '[::1]',
      '[::]',
      '[fe80::1]',
      '[fd00::1]',
      '[ff02::1]',
      '[::ffff:127.0.0.1]',
      '[::ffff:169.254.169.254]',
      '[64:ff9b::a00:1]',
    ]) {
      await failsWith(f.fetch(`http://${host}:${local.port}/`, { maxBytes: 1024, timeoutMs: 2000 }), 'forbidden_address');
    }
    assert.equal(local.requests.length, 0);
  });

  it('refuses a name whose DNS answer is private (loopback, metadata, IPv4-mapped), and fetches once it is allow-listed', async () => {
    const lookup = fakeDns({ 'evil.test': '127.0.0.1', 'metadata.test': '169.254.169.254', 'mapped.test': '::ffff:127.0.0.1' });
    const f = fetcher({ lookup });
    for (const host of ['evil.test', 'metadata.test', 'mapped.test']) {
      await failsWith(f.fetch(`http://${host}:${local.port}/a.png`, { maxBytes: 1024, timeoutMs: 2000 }), 'forbidden_address');
    }
    assert.equal(local.requests.length, 0);
    const res = await fetcher({ lookup, allowedPrivateIps: ['127.0.0.0/8'] }).fetch(`http://evil.test:${local.port}/a.png`, {
      maxBytes: 1024,
    });
    assert.deepEqual(res.data, png);
    assert.equal(local.requests[0].headers.host, `evil.test:${local.port}`);
  });

  it('refuses a redirect to a private address; the target sees no request', async () => {
    const target = await listen('127.0.0.2', image);
    try {
      const redirector = await listen('127.0.0.1', (req, res) => {
        const to = req.url === '/v6' ? `http://[::1]:${target.port}/x.png` : `${target.url}/x.png`;
        res.writeHead(302, { location: to }).end();
      });
      try {
        const f = fetcher({ allowedPrivateIps: ['127.0.0.1'] });
        await failsWith(f.fetch(`${redirector.url}/v4`, { maxBytes: 1024 }), 'forbidden_address');
        await failsWith(f.fetch(`${redirector.url}/v6`, { maxBytes: 1024 }), 'forbidden_address');
        assert.equal(redirector.requests.length, 2);
        assert.equal(target.requests.length, 0);
        // Allow-listed, the same redirect is followed.
        const res = await fetcher({ allowedPrivateIps: ['127.0.0.1', '127.0.0.2'] }).fetch(`${redirector.url}/v4`, { maxBytes: 1024 });
        assert.equal(res.url, `${target.url}/x.png`);
        assert.deepEqual(res.data, png);
      } finally {
        await redirector.close();
      }
    } finally {
      await target.close();
    }
  });

  it('follows at most maxRedirects; 0 refuses any redirect', async () => {
    const loop = await listen('127.0.0.1', (req, res) => {
      const n = Number(req.url?.slice(1)) || 0;
      if (n >= 3) return image(req, res);
      res.writeHead(301, { location: `/${n + 1}` }).end();
    });
    try {
      const f = fetcher({ allowedPrivateIps: ['127.0.0.1'] });
      assert.deepEqual((await f.fetch(`${loop.url}/0`, { maxBytes: 1024, maxRedirects: 3 })).data, png);
      await failsWith(f.fetch(`${loop.url}/0`, { maxBytes: 1024, maxRedirects: 2 }), 'redirect');
      await failsWith(f.fetch(`${loop.url}/0`, { maxBytes: 1024, maxRedirects: 0 }), 'redirect');
    } finally {
      await loop.close();
    }
  });

  it('keeps credentials on the same origin and drops them when a redirect leaves it', async () => {
    const other = await listen('127.0.0.1', image);
    try {
      const first = await listen('127.0.0.1', (req, res) => {
        if (req.url === '/same') return res.writeHead(302, { location: '/img' }).end();
        if (req.url === '/away') return res.writeHead(302, { location: `${other.url}/img` }).end();
        image(req, res);
      });
      try {
        const f = fetcher({ allowedPrivateIps: ['127.0.0.1'] });
        const headers = { authorization: 'Bearer secret', cookie: 'c=1', accept: 'image/*' };
        await f.fetch(`${first.url}/same`, { maxBytes: 1024, headers });
        assert.equal(first.requests[1].headers.authorization, 'Bearer secret');
        await f.fetch(`${first.url}/away`, { maxBytes: 1024, headers });
        assert.equal(other.requests.length, 1);
        assert.equal(other.requests[0].headers.authorization, undefined);
        assert.equal(other.requests[0].headers.cookie, undefined);
        assert.equal(other.requests[0].headers.accept, 'image/*');
      } finally {
        await first.close();
      }
    } finally {
      await other.close();
    }
  });

  it('caps the body, declared or streamed, with a clear error', async () => {
    const big = await listen('127.0.0.1', (req, res) => {
      if (req.url === '/declared') return res.writeHead(200, { 'content-length': '4096' }).end(Buffer.alloc(4096));
      res.writeHead(200); // chunked: no length announced
      res.write(Buffer.alloc(1000));
      res.end(Buffer.alloc(1000));
    });
    try {
      const f = fetcher({ allowedPrivateIps: ['127.0.0.1'] });
      const declared = await failsWith(f.fetch(`${big.url}/declared`, { maxBytes: 1024 }), 'too_large');
      assert.match(declared.message, /1024 bytes/);
      await failsWith(f.fetch(`${big.url}/streamed`, { maxBytes: 1500 }), 'too_large');
      assert.equal((await f.fetch(`${big.url}/streamed`, { maxBytes: 2000 })).data.length, 2000);
    } finally {
      await big.close();
    }
  });

  it('gives up on a host that does not answer in time', async () => {
    const silent = await listen('127.0.0.1', () => {
      /* never answers */
    });
    try {
      const started = Date.now();
      await failsWith(fetcher({ allowedPrivateIps: ['127.0.0.1'] }).fetch(`${silent.url}/`, { maxBytes: 1024, timeoutMs: 300 }), 'timeout');
      assert.ok(Date.now() - started < 3000);
    } finally {
      await silent.close();
    }
  });

  it('refuses non-http URLs, URLs with credentials and URLs the caller does not allow, before any request', async () => {
    const f = fetcher({ allowedPrivateIps: ['127.0.0.1'] });
    await failsWith(f.fetch('file:///etc/passwd', { maxBytes: 1024 }), 'bad_url');
    await failsWith(f.fetch('gopher://127.0.0.1/', { maxBytes: 1024 }), 'bad_url');
    await failsWith(f.fetch(`http://user:pw@127.0.0.1:${local.port}/`, { maxBytes: 1024 }), 'bad_url');
    await failsWith(f.fetch('not a url', { maxBytes: 1024 }), 'bad_url');
    await failsWith(f.fetch(`${local.url}/a.png`, { maxBytes: 1024, allowUrl: (u) => u.hostname === 'files.example' }), 'bad_url');
    assert.equal(local.requests.length, 0);
  });

  it('sends a POST body, and continues a 303 as a GET without it', async () => {
    const bodies: string[] = [];
    const sink = await listen('127.0.0.1', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        bodies.push(`${req.method} ${req.url} ${Buffer.concat(chunks).toString()}`);
        if (req.url === '/post') res.writeHead(303, { location: '/done' }).end();
        else res.writeHead(200, { 'content-type': 'text/plain' }).end('OK');
      });
    });
    try {
      const res = await fetcher({ allowedPrivateIps: ['127.0.0.1'] }).fetch(`${sink.url}/post`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: Buffer.from('hello'),
        maxBytes: 1024,
      });
      assert.equal(res.data.toString(), 'OK');
      assert.deepEqual(bodies, ['POST /post hello', 'GET /done ']);
    } finally {
      await sink.close();
    }
  });
});
