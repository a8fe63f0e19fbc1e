import { strict as assert } from 'node:assert';
import type * as http from 'node:http';
import type * as dns from 'node:dns';
import { OpenIdError, OpenIdVerifier, type OpenIdVerifierOptions } from '../../src/provisioning/openid';
import { call, captureLogger, fakeServer, startApi, type LogLine } from './helpers';
import { asNumber, asString } from '@causeway/testing';

const USERINFO = '/_matrix/federation/v1/openid/userinfo';

/** A fake homeserver federation API: `respond` decides each answer. */
async function fakeHomeserver(respond: (req: http.IncomingMessage, res: http.ServerResponse, token: string | null) => void) {
  return fakeServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    if (u.pathname !== USERINFO) {
      res.writeHead(404);
      res.end();
      return;
    }
    respond(req, res, u.searchParams.get('access_token'));
  });
}

function json(res: http.ServerResponse, status: number, body: unknown) {
  const payload = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) });
  res.end(payload);
}

/** Fake DNS: the given names resolve to 127.0.0.1. */
function loopbackDns(...names: string[]): typeof dns.lookup {
  return ((host: string, _opts: unknown, cb: (err: NodeJS.ErrnoException | null, a: dns.LookupAddress[]) => void) => {
    if (names.includes(host)) return cb(null, [{ address: '127.0.0.1', family: 4 }]);
    cb(Object.assign(new Error(`ENOTFOUND ${host}`), { code: 'ENOTFOUND' }), []);
  }) as unknown as typeof dns.lookup;
}

async function reason(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof OpenIdError, String(err));
    return err.reason;
  }
  assert.fail('expected an OpenIdError');
}

describe('provisioning/openid', () => {
  const verifiers: OpenIdVerifier[] = [];
  const verifier = (opts: OpenIdVerifierOptions) => {
    const v = new OpenIdVerifier({ allowHttp: true, log: captureLogger(), ...opts });
    verifiers.push(v);
    return v;
  };
  afterEach(async () => {
    await Promise.all(verifiers.splice(0).map((v) => v.close()));
  });

  it('returns the user of a token on exactly the named server', async () => {
    const hs = await fakeHomeserver((_req, res, token) =>
      token === 'tok+/=' ? json(res, 200, { sub: '@alice:example.org' }) : json(res, 401, { errcode: 'M_UNKNOWN_TOKEN' }),
    );
    try {
      const v = verifier({ allowedIps: ['127.0.0.1/32'], resolveBaseUrl: () => hs.url });
      assert.equal(await v.verify('example.org', 'tok+/='), '@alice:example.org');
      assert.equal(await reason(v.verify('example.org', 'other')), 'token_rejected');
      assert.equal(await reason(v.verify('evil.org', 'tok+/=')), 'foreign_user');
      assert.equal(await reason(v.verify('example.org:8448', 'tok+/=')), 'foreign_user');
      assert.equal(await reason(v.verify('example.org/x', 'tok')), 'bad_server_name');
      assert.equal(await reason(v.verify('', 'tok')), 'bad_server_name');
    } finally {
      await hs.close();
    }
  });

  it('rejects a `sub` on another server, or no valid `sub`', async () => {
    let answer: unknown = { sub: '@mallory:evil.org' };
    const hs = await fakeHomeserver((_req, res) => json(res, 200, answer));
    try {
      const v = verifier({ allowedIps: ['127.0.0.1'], resolveBaseUrl: () => hs.url });
      assert.equal(await reason(v.verify('example.org', 't')), 'foreign_user');
      answer = { sub: '@alice:example.org.evil.org' };
      assert.equal(await reason(v.verify('example.org', 't')), 'foreign_user');
      answer = { sub: 'alice' };
      assert.equal(await reason(v.verify('example.org', 't')), 'bad_response');
      answer = [1];
      assert.equal(await reason(v.verify('example.org', 't')), 'bad_response');
    } finally {
      await hs.close();
    }
  });

  it('does not follow redirects', async () => {
    const target = await fakeHomeserver((_req, res) => json(res, 200, { sub: '@alice:example.org' }));
    const hs = await fakeHomeserver((_req, res) => {
      res.writeHead(302, { Location: `${target.url}${USERINFO}?access_token=t` });
      res.end();
    });
    try {
      const v = verifier({ allowedIps: ['127.0.0.1/32'], resolveBaseUrl: () => hs.url });
      assert.equal(await reason(v.verify('example.org', 't')), 'redirect');
      assert.equal(target.requests.length, 0);
      assert.equal(hs.requests.length, 1);
    } finally {
      await hs.close();
      await target.close();
    }
  });

  it('refuses a hostname that resolves to 127.0.0.1 at connect time, and connects once it is allow-listed', async () => {
    const hs = await fakeHomeserver((_req, res) => json(res, 200, { sub: '@alice:hs.example.test' }));
    try {
      // No pre-check happens anywhere else: the resolver hands back a name, the guard sits in the socket's lookup.
      const opts = { resolveBaseUrl: () => `http://hs.example.test:${hs.port}`, lookup: loopbackDns('hs.example.test') };
      assert.equal(await reason(verifier(opts).verify('hs.example.test', 't')), 'forbidden_address');
      assert.equal(hs.connections, 0, 'no TCP connection was made');
      assert.equal(await verifier({ ...opts, allowedIps: ['127.0.0.1/32'] }).verify('hs.example.test', 't'), '@alice:hs.example.test');
      assert.equal(hs.connections, 1);
    } finally {
      await hs.close();
    }
  });

  it('refuses IP-literal and `localhost` servers without the allow-list (real DNS)', async () => {
    const hs = await fakeHomeserver((_req, res) => json(res, 200, { sub: `@alice:localhost:${Number(_req.headers.host?.split(':')[1])}` }));
    try {
      const v = verifier({});
      assert.equal(await reason(v.verify(`localhost:${hs.port}`, 't')), 'forbidden_address');
      assert.equal(await reason(v.verify(`127.0.0.1:${hs.port}`, 't')), 'forbidden_address');
      assert.equal(await reason(v.verify(`[::1]:${hs.port}`, 't')), 'forbidden_address');
      assert.equal(
        await reason(verifier({ resolveBaseUrl: () => `http://[::ffff:127.0.0.1]:${hs.port}` }).verify('x.org', 't')),
        'forbidden_address',
      );
      assert.equal(await reason(verifier({ resolveBaseUrl: () => `http://0.0.0.0:${hs.port}` }).verify('x.org', 't')), 'forbidden_address');
      assert.equal(hs.connections, 0);
      const allowed = verifier({ allowedIps: ['127.0.0.1/32'] });
      assert.equal(await allowed.verify(`localhost:${hs.port}`, 't'), `@alice:localhost:${hs.port}`);
    } finally {
      await hs.close();
    }
  });

  it('refuses http unless allowed, and URLs with credentials', async () => {
    const v = new OpenIdVerifier({ resolveBaseUrl: () => 'http://93.184.216.34', log: captureLogger() });
    verifiers.push(v);
    assert.equal(await reason(v.verify('example.org', 't')), 'bad_server_name');
    assert.equal(
      await reason(verifier({ resolveBaseUrl: () => 'http://u:p@93.184.216.34' }).verify('example.org', 't')),
      'bad_server_name',
    );
    assert.equal(await reason(verifier({ resolveBaseUrl: () => 'file:///etc/passwd' }).verify('example.org', 't')), 'bad_server_name');
  });

  it('caps the response size (declared and streamed)', async () => {
    let chunked = false;
    const hs = await fakeHomeserver((_req, res) => {
      const big = JSON.stringify({ sub: '@alice:example.org', pad: 'x'.repeat(10_000) });
      if (chunked) {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.write(big.slice(0, 5000));
        res.end(big.slice(5000));
      } else json(res, 200, JSON.parse(big));
    });
    try {
      const v = verifier({ allowedIps: ['127.0.0.1/32'], resolveBaseUrl: () => hs.url, maxResponseBytes: 1024 });
      assert.equal(await reason(v.verify('example.org', 't')), 'too_large');
      chunked = true;
      assert.equal(await reason(v.verify('example.org', 't')), 'too_large');
    } finally {
      await hs.close();
    }
  });

  it('times out a homeserver that does not answer', async () => {
    const hs = await fakeHomeserver(() => {
      /* never answers */
    });
    try {
      const v = verifier({ allowedIps: ['127.0.0.1/32'], resolveBaseUrl: () => hs.url, timeoutMs: 300 });
      const t0 = Date.now();
      assert.equal(await reason(v.verify('example.org', 't')), 'timeout');
      assert.ok(Date.now() - t0 < 3000);
    } finally {
      await hs.close();
    }
  });

  describe('POST /v1/exchange_openid', () => {
    it('creates a session usable as Bearer token; the OpenID token is never logged', async () => {
      const lines: LogLine[] = [];
      const hs = await fakeHomeserver((_req, res, token) =>
        token === 'openid-token-123456' ? json(res, 200, { sub: '@alice:example.org' }) : json(res, 401, {}),
      );
      const a = await startApi({
        openId: { allowHttp: true, allowedIps: ['127.0.0.1/32'], resolveBaseUrl: () => hs.url },
        log: captureLogger(lines),
        auditLog: captureLogger(lines),
      });
      try {
        let r = await call(a.base, 'POST', '/v1/exchange_openid', {
          body: { matrixServer: 'example.org', openIdToken: 'openid-token-123456' },
        });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.equal(r.body.user_id, '@alice:example.org');
        assert.ok(asNumber(r.body.expires_at, 'expires_at') > Date.now());
        const token = asString(r.body.token, 'token');
        assert.ok(Buffer.from(token.slice(5), 'base64url').length >= 32);
        r = await call(a.base, 'GET', '/v1/whoami', { token });
        assert.deepEqual([r.status, r.body.user_id, r.body.auth], [200, '@alice:example.org', 'session']);

        r = await call(a.base, 'POST', '/v1/exchange_openid', { body: { matrixServer: 'example.org', openIdToken: 'wrong-token-999999' } });
        assert.deepEqual([r.status, r.body.errcode], [403, 'M_UNKNOWN_TOKEN']);
        r = await call(a.base, 'POST', '/v1/exchange_openid', { body: { matrixServer: 'evil.org', openIdToken: 'openid-token-123456' } });
        assert.deepEqual([r.status, r.body.errcode], [403, 'M_FORBIDDEN']);
        assert.equal(r.body.token, undefined);

        const text = JSON.stringify(lines);
        assert.ok(lines.some((l) => /session created/.test(l.msg)));
        for (const secret of ['openid-token-123456', 'wrong-token-999999', token])
          assert.ok(!text.includes(secret), `${secret} leaked into logs`);
      } finally {
        await a.close();
        await hs.close();
      }
    });

    it('rejects a foreign sub, a redirect and a loopback server through the API', async () => {
      let mode: 'foreign' | 'redirect' | 'ok' = 'foreign';
      const hs = await fakeHomeserver((req, res) => {
        if (mode === 'foreign') return json(res, 200, { sub: '@admin:matrix.org' });
        if (mode === 'redirect') {
          res.writeHead(307, { Location: 'http://127.0.0.1:1/' });
          return res.end();
        }
        json(res, 200, { sub: `@alice:${req.headers.host}` });
      });
      const a = await startApi({ openId: { allowHttp: true }, log: captureLogger() });
      const b = await startApi({ openId: { allowHttp: true, allowedIps: ['127.0.0.1/32'] }, log: captureLogger() });
      try {
        const server = `localhost:${hs.port}`;
        const body = { matrixServer: server, openIdToken: 'tok' };
        // Without the allow-list, localhost (→ 127.0.0.1) is refused before any connection.
        mode = 'ok';
        let r = await call(a.base, 'POST', '/v1/exchange_openid', { body });
        assert.deepEqual([r.status, r.body.errcode], [403, 'M_FORBIDDEN']);
        assert.match(asString(r.body.error, 'error'), /address is not allowed/);
        assert.equal(hs.connections, 0);
        r = await call(b.base, 'POST', '/v1/exchange_openid', { body });
        assert.equal(r.status, 200);
        assert.equal(r.body.user_id, `@alice:${server}`);
        mode = 'foreign';
        r = await call(b.base, 'POST', '/v1/exchange_openid', { body });
        assert.deepEqual([r.status, r.body.errcode], [403, 'M_FORBIDDEN']);
        mode = 'redirect';
        r = await call(b.base, 'POST', '/v1/exchange_openid', { body });
        assert.equal(r.status, 502);
        assert.match(asString(r.body.error, 'error'), /redirect/);
      } finally {
        await a.close();
        await b.close();
        await hs.close();
      }
    });

    it('validates the body, naming the field', async () => {
      const a = await startApi({ openId: { allowHttp: true }, log: captureLogger() });
      try {
        let r = await call(a.base, 'POST', '/v1/exchange_openid', { body: { matrixServer: 'example.org' } });
        assert.deepEqual([r.status, r.body.errcode], [400, 'M_MISSING_PARAM']);
        assert.match(asString(r.body.error, 'error'), /openIdToken/);
        r = await call(a.base, 'POST', '/v1/exchange_openid', { body: { matrixServer: 'example.org/../x', openIdToken: 't' } });
        assert.deepEqual([r.status, r.body.errcode], [400, 'M_INVALID_PARAM']);
        assert.match(asString(r.body.error, 'error'), /matrixServer/);
        r = await call(a.base, 'POST', '/v1/exchange_openid', { rawBody: 'nope' });
        assert.deepEqual([r.status, r.body.errcode], [400, 'M_BAD_JSON']);
      } finally {
        await a.close();
      }
    });

    it('is absent when OpenID is disabled', async () => {
      const a = await startApi({ openId: false });
      try {
        const r = await call(a.base, 'POST', '/v1/exchange_openid', { body: { matrixServer: 'example.org', openIdToken: 't' } });
        assert.equal(r.status, 401);
      } finally {
        await a.close();
      }
    });
  });
});
