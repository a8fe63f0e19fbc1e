import { strict as assert } from 'node:assert';
import type { MatrixEvent } from '../../src/matrix/event';
import { call, ev, HS_TOKEN, rawRequest, startHarness, txn, type Harness } from './helpers';
import { MatrixError } from '../../src/util/matrix-error';
import { MatrixConnectionError } from '../../src/matrix/http-client';
import { at, parseJson, RawConnection, requestBytes } from '@causeway/testing';

describe('appservice HTTP listener', () => {
  let h: Harness;
  let seen: MatrixEvent[];
  let port: number;
  const pings: Array<string | undefined> = [];

  beforeEach(async () => {
    seen = [];
    h = await startHarness(
      {
        handler: async (e) => {
          seen.push(e);
        },
      },
      { maxBodyBytes: 4096 },
      {
        onUserQuery: async (u) => {
          // The homeserver unreachable while registering the ghost: the bridge's client throws status 0.
          if (u === '@_x_down:hs') throw new MatrixConnectionError('M_CONNECTION_TIMEOUT', 'POST /register timed out');
          return u === '@_x_bob:hs';
        },
        onAliasQuery: async (a) => a === '#_x_room:hs',
        onPing: (id) => {
          pings.push(id);
        },
        thirdParty: {
          protocol: async (p) =>
            p === 'x' ? { user_fields: ['nick'], location_fields: ['channel'], icon: '', field_types: {}, instances: [] } : undefined,
          locations: async (p, f) => (p === 'x' && f.channel === 'c1' ? [{ alias: '#_x_c1:hs', protocol: 'x', fields: f }] : []),
          users: async (p, f) => (p === 'x' && f.nick === 'bob' ? [{ userid: '@_x_bob:hs', protocol: 'x', fields: f }] : []),
          locationsByAlias: async (a) => (a === '#_x_c1:hs' ? [{ alias: a, protocol: 'x', fields: { channel: 'c1' } }] : []),
          usersByUserId: async (u) => (u === '@_x_bob:hs' ? [{ userid: u, protocol: 'x', fields: { nick: 'bob' } }] : []),
        },
      },
    );
    port = Number(new URL(h.base).port);
  });
  afterEach(() => h.close());

  describe('routes', () => {
    it('accepts transactions on the v1 and the legacy path', async () => {
      assert.equal((await txn(h.base, 't1', [ev('!a:hs', '$1')])).status, 200);
      const legacy = await call(h.base, 'PUT', '/transactions/t2', { body: { events: [ev('!a:hs', '$2')] } });
      assert.equal(legacy.status, 200);
      assert.deepEqual(legacy.json, {});
      // The plain answer has a fixed length: no chunked framing.
      assert.equal(legacy.headers.get('content-length'), '2');
      assert.equal(legacy.headers.get('transfer-encoding'), null);
      await h.pipeline.idle();
      assert.deepEqual(
        seen.map((e) => e.event_id),
        ['$1', '$2'],
      );
    });

    it('answers user queries (v1 and legacy), 404 for unknown users', async () => {
      for (const prefix of ['/_matrix/app/v1', '']) {
        assert.equal((await call(h.base, 'GET', `${prefix}/users/${encodeURIComponent('@_x_bob:hs')}`)).status, 200);
        const miss = await call(h.base, 'GET', `${prefix}/users/${encodeURIComponent('@_x_nobody:hs')}`);
        assert.equal(miss.status, 404);
        assert.equal(miss.body.errcode, 'M_NOT_FOUND');
      }
    });

    it('answers 502 when the homeserver cannot be reached during a query, and keeps serving', async () => {
      const r = await call(h.base, 'GET', `/_matrix/app/v1/users/${encodeURIComponent('@_x_down:hs')}`);
      assert.equal(r.status, 502);
      assert.equal(r.body.errcode, 'M_UNKNOWN');
      assert.equal((await call(h.base, 'GET', `/_matrix/app/v1/users/${encodeURIComponent('@_x_bob:hs')}`)).status, 200);
    });

    it('answers alias queries (v1 and legacy)', async () => {
      for (const prefix of ['/_matrix/app/v1', '']) {
        assert.equal((await call(h.base, 'GET', `${prefix}/rooms/${encodeURIComponent('#_x_room:hs')}`)).status, 200);
        assert.equal((await call(h.base, 'GET', `${prefix}/rooms/${encodeURIComponent('#_x_other:hs')}`)).status, 404);
      }
    });

    it('answers ping with the transaction_id passed on', async () => {
      const r = await call(h.base, 'POST', '/_matrix/app/v1/ping', { body: { transaction_id: 'p1' } });
      assert.equal(r.status, 200);
      assert.deepEqual(r.json, {});
      assert.equal(pings.at(-1), 'p1');
      assert.equal((await call(h.base, 'POST', '/_matrix/app/v1/ping')).status, 200);
    });

    it('serves third-party lookups on v1 and unstable prefixes', async () => {
      for (const prefix of ['/_matrix/app/v1', '/_matrix/app/unstable']) {
        const proto = await call(h.base, 'GET', `${prefix}/thirdparty/protocol/x`);
        assert.equal(proto.status, 200);
        assert.deepEqual(proto.body.user_fields, ['nick']);
        assert.equal((await call(h.base, 'GET', `${prefix}/thirdparty/protocol/nope`)).status, 404);
        const loc = await call(h.base, 'GET', `${prefix}/thirdparty/location/x?channel=c1`);
        assert.equal(loc.status, 200);
        assert.deepEqual(loc.json, [{ alias: '#_x_c1:hs', protocol: 'x', fields: { channel: 'c1' } }]);
        assert.equal((await call(h.base, 'GET', `${prefix}/thirdparty/location/x?channel=zz`)).status, 404);
        const user = await call(h.base, 'GET', `${prefix}/thirdparty/user/x?nick=bob`);
        assert.equal(at(user.json, 0, 'userid'), '@_x_bob:hs');
        const byAlias = await call(h.base, 'GET', `${prefix}/thirdparty/location?alias=${encodeURIComponent('#_x_c1:hs')}`);
        assert.equal(byAlias.status, 200);
        assert.equal(at(byAlias.json, 0, 'fields', 'channel'), 'c1');
        const byUser = await call(h.base, 'GET', `${prefix}/thirdparty/user?userid=${encodeURIComponent('@_x_bob:hs')}`);
        assert.equal(at(byUser.json, 0, 'fields', 'nick'), 'bob');
        assert.equal((await call(h.base, 'GET', `${prefix}/thirdparty/user`)).status, 400);
      }
    });

    it('does not pass the access_token query parameter on as a third-party field', async () => {
      const r = await call(h.base, 'GET', `/_matrix/app/v1/thirdparty/location/x?channel=c1&access_token=${HS_TOKEN}`, { token: null });
      assert.equal(r.status, 200);
      assert.deepEqual(at(r.json, 0, 'fields'), { channel: 'c1' });
    });

    it('answers 404 M_UNRECOGNIZED for unknown paths and 405 for wrong methods', async () => {
      const nf = await call(h.base, 'GET', '/_matrix/app/v1/nothing');
      assert.equal(nf.status, 404);
      assert.equal(nf.body.errcode, 'M_UNRECOGNIZED');
      assert.equal((await call(h.base, 'GET', '/_matrix/app/v1/transactions')).status, 404);
      const wm = await call(h.base, 'GET', '/_matrix/app/v1/transactions/t1');
      assert.equal(wm.status, 405);
      assert.equal(wm.body.errcode, 'M_UNRECOGNIZED');
      assert.equal(wm.headers.get('allow'), 'PUT');
      assert.equal((await call(h.base, 'POST', '/_matrix/app/v1/users/%40a%3Ahs')).status, 405);
    });
  });

  describe('hs_token', () => {
    const paths: Array<[string, string]> = [
      ['PUT', '/_matrix/app/v1/transactions/auth1'],
      ['PUT', '/transactions/auth1'],
      ['GET', '/_matrix/app/v1/users/%40_x_bob%3Ahs'],
      ['GET', '/users/%40_x_bob%3Ahs'],
      ['GET', '/_matrix/app/v1/rooms/%23_x_room%3Ahs'],
      ['GET', '/rooms/%23_x_room%3Ahs'],
      ['POST', '/_matrix/app/v1/ping'],
      ['GET', '/_matrix/app/v1/thirdparty/protocol/x'],
      ['GET', '/_matrix/app/unstable/thirdparty/protocol/x'],
      ['GET', '/_matrix/app/v1/thirdparty/user?userid=x'],
      ['GET', '/_matrix/app/v1/unknown'],
    ];
    const body = { events: [ev('!a:hs', '$auth')] };

    it('401 M_UNAUTHORIZED without a token, on every route', async () => {
      for (const [m, p] of paths) {
        const r = await call(h.base, m, p, { token: null, body: m === 'GET' ? undefined : body });
        assert.equal(r.status, 401, `${m} ${p}`);
        assert.equal(r.body.errcode, 'M_UNAUTHORIZED');
      }
      assert.equal(seen.length, 0);
    });

    it('403 M_FORBIDDEN with a wrong token, on every route', async () => {
      for (const [m, p] of paths) {
        const r = await call(h.base, m, p, { token: 'wrong', body: m === 'GET' ? undefined : body });
        assert.equal(r.status, 403, `${m} ${p}`);
        assert.equal(r.body.errcode, 'M_FORBIDDEN');
      }
      const notBearer = await call(h.base, 'POST', '/_matrix/app/v1/ping', {
        token: null,
        headers: { Authorization: `Basic ${HS_TOKEN}` },
      });
      assert.equal(notBearer.status, 403);
      await h.pipeline.idle();
      assert.equal(seen.length, 0);
    });

    it('accepts the legacy access_token query parameter', async () => {
      const r = await call(h.base, 'PUT', `/transactions/q1?access_token=${HS_TOKEN}`, {
        token: null,
        body: { events: [ev('!a:hs', '$q')] },
      });
      assert.equal(r.status, 200);
      const wrong = await call(h.base, 'PUT', '/transactions/q2?access_token=nope', {
        token: null,
        body: { events: [ev('!a:hs', '$q2')] },
      });
      assert.equal(wrong.status, 403);
      await h.pipeline.idle();
      assert.deepEqual(
        seen.map((e) => e.event_id),
        ['$q'],
      );
    });

    it('403 when header and query token disagree, 200 when they agree', async () => {
      const bad = await call(h.base, 'POST', '/_matrix/app/v1/ping?access_token=other', {});
      assert.equal(bad.status, 403);
      const bad2 = await call(h.base, 'POST', `/_matrix/app/v1/ping?access_token=${HS_TOKEN}`, { token: 'other' });
      assert.equal(bad2.status, 403);
      const ok = await call(h.base, 'POST', `/_matrix/app/v1/ping?access_token=${HS_TOKEN}`, {});
      assert.equal(ok.status, 200);
    });

    it('authenticates added routes unless public', async () => {
      h.server.addRoute('GET', '/_causeway/test/:thing', (ctx) => ({ body: { thing: ctx.params.thing } }));
      h.server.addRoute('GET', '/_causeway/health', () => ({ body: { ok: true } }), { public: true });
      h.server.addRoute('POST', '/_causeway/echo', async (ctx) => ({ status: 201, body: await ctx.readJson() }));
      assert.equal((await call(h.base, 'GET', '/_causeway/test/a%20b', { token: null })).status, 401);
      assert.deepEqual((await call(h.base, 'GET', '/_causeway/test/a%20b')).body, { thing: 'a b' });
      assert.deepEqual((await call(h.base, 'GET', '/_causeway/health', { token: null })).body, { ok: true });
      const echo = await call(h.base, 'POST', '/_causeway/echo', { body: { x: 1 } });
      assert.equal(echo.status, 201);
      assert.deepEqual(echo.body, { x: 1 });
      h.server.addRoute('GET', '/_causeway/teapot', () => {
        throw new MatrixError(418, 'M_TEAPOT', 'short and stout');
      });
      const tea = await call(h.base, 'GET', '/_causeway/teapot');
      assert.equal(tea.status, 418);
      assert.equal(tea.body.errcode, 'M_TEAPOT');
      h.server.addRoute('GET', '/_causeway/boom', () => {
        throw new Error('secret detail');
      });
      const boom = await call(h.base, 'GET', '/_causeway/boom');
      assert.equal(boom.status, 500);
      assert.equal(boom.body.errcode, 'M_UNKNOWN');
    });
  });

  describe('connections', () => {
    const MiB = 1024 * 1024;

    it('refuses an unauthenticated body without reading it: 401/403 with Connection: close, and the connection is closed', async () => {
      for (const [auth, status] of [
        [{}, 401],
        [{ Authorization: 'Bearer wrong' }, 403],
      ] as const) {
        const conn = await RawConnection.open(port);
        try {
          // A 200 MiB transaction is announced; only 1 MiB of it is sent.
          await conn.write(
            requestBytes('PUT', '/_matrix/app/v1/transactions/huge', {
              ...auth,
              'Content-Type': 'application/json',
              'Content-Length': String(200 * MiB),
            }),
          );
          await conn.write(Buffer.alloc(MiB, 0x20));
          const res = await conn.response();
          assert.equal(res?.status, status);
          assert.equal(res.headers.connection, 'close');
          assert.ok(await conn.closesWithin(10_000), 'the listener kept the connection open to read the rest of the body');
        } finally {
          conn.destroy();
        }
      }
      assert.equal((await call(h.base, 'POST', '/_matrix/app/v1/ping')).status, 200);
    });

    it('answers Expect: 100-continue with the refusal when the token is wrong, and with 100 Continue only once authenticated', async () => {
      const body = JSON.stringify({ events: [ev('!a:hs', '$continue')] });
      const headers = { 'Content-Type': 'application/json', 'Content-Length': String(body.length), Expect: '100-continue' };
      const refused = await RawConnection.open(port);
      try {
        await refused.write(requestBytes('PUT', '/_matrix/app/v1/transactions/c1', { ...headers, Authorization: 'Bearer wrong' }));
        const res = await refused.response();
        // The first thing back is the final answer: a client that waits for 100 never sends the body.
        assert.equal(res?.status, 403);
        assert.equal(res.headers.connection, 'close');
      } finally {
        refused.destroy();
      }
      const accepted = await RawConnection.open(port);
      try {
        await accepted.write(requestBytes('PUT', '/_matrix/app/v1/transactions/c2', { ...headers, Authorization: `Bearer ${HS_TOKEN}` }));
        assert.equal((await accepted.response())?.status, 100);
        await accepted.write(body);
        assert.equal((await accepted.response())?.status, 200);
        assert.deepEqual(
          seen.map((e) => e.event_id),
          ['$continue'],
        );
      } finally {
        accepted.destroy();
      }
    });

    it('keeps a connection alive after an error answered once the body was read', async () => {
      const conn = await RawConnection.open(port);
      try {
        await conn.write(requestBytes('PUT', '/_matrix/app/v1/transactions/ka', { Authorization: `Bearer ${HS_TOKEN}` }, '{"events": ['));
        assert.equal((await conn.response())?.status, 400);
        await conn.write(
          requestBytes('PUT', '/_matrix/app/v1/transactions/ka', { Authorization: `Bearer ${HS_TOKEN}` }, JSON.stringify({ events: [] })),
        );
        assert.equal((await conn.response())?.status, 200);
      } finally {
        conn.destroy();
      }
    });

    it('cuts the connection of a handler that fails after it began its answer, instead of a second answer over the first', async () => {
      // writeHead throws on a header value Node refuses, after taking the status and framing.
      h.server.addRoute('GET', '/_causeway/bad-header', (ctx) => {
        ctx.res.writeHead(200, { 'Content-Length': '100', 'X-File': '文件' });
        ctx.res.end(Buffer.alloc(100));
      });
      // Headers and part of the body are out when it fails.
      h.server.addRoute('GET', '/_causeway/half', async (ctx) => {
        ctx.res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': '100' });
        ctx.res.write('0123456789');
        await new Promise((r) => setImmediate(r));
        throw new Error('disk gone');
      });
      for (const path of ['/_causeway/bad-header', '/_causeway/half']) {
        const conn = await RawConnection.open(port);
        try {
          // Two requests pipelined: a corrupt answer to the first would swallow the second's.
          await conn.write(
            Buffer.concat([
              requestBytes('GET', path, { Authorization: `Bearer ${HS_TOKEN}` }),
              requestBytes('GET', '/_matrix/app/v1/users/%40_x_bob%3Ahs', { Authorization: `Bearer ${HS_TOKEN}` }),
            ]),
          );
          assert.ok(await conn.closesWithin(10_000), `${path}: the connection was left open`);
          assert.doesNotMatch(conn.pending.toString('latin1'), /HTTP\/1\.1 500/, path);
        } finally {
          conn.destroy();
        }
      }
      // Other connections are untouched.
      assert.equal((await call(h.base, 'GET', '/_matrix/app/v1/users/%40_x_bob%3Ahs')).status, 200);
    });
  });

  describe('bad transaction bodies are refused and nothing is processed', () => {
    it('400 M_NOT_JSON for malformed JSON and empty bodies', async () => {
      const r = await call(h.base, 'PUT', '/_matrix/app/v1/transactions/bad1', { rawBody: '{"events": [' });
      assert.equal(r.status, 400);
      assert.equal(r.body.errcode, 'M_NOT_JSON');
      const empty = await call(h.base, 'PUT', '/_matrix/app/v1/transactions/bad1', { rawBody: '' });
      assert.equal(empty.body.errcode, 'M_NOT_JSON');
    });

    it('400 M_BAD_JSON when the body is not an object or events is not an array', async () => {
      for (const body of [[], 'str', 42, null, {}, { events: {} }, { events: 'x' }]) {
        const r = await call(h.base, 'PUT', '/_matrix/app/v1/transactions/bad2', { rawBody: JSON.stringify(body) });
        assert.equal(r.status, 400, JSON.stringify(body));
        assert.equal(r.body.errcode, 'M_BAD_JSON');
      }
    });

    it('413 M_TOO_LARGE for oversize bodies (declared or chunked)', async () => {
      const big = JSON.stringify({ events: Array.from({ length: 100 }, (_, i) => ev('!a:hs', `$big${i}`)) });
      assert.ok(big.length > 4096);
      const r = await call(h.base, 'PUT', '/_matrix/app/v1/transactions/big1', { rawBody: big });
      assert.equal(r.status, 413);
      assert.equal(r.body.errcode, 'M_TOO_LARGE');
      const chunked = await rawRequest(
        port,
        'PUT',
        '/_matrix/app/v1/transactions/big2',
        { Authorization: `Bearer ${HS_TOKEN}`, 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' },
        big,
        true,
      );
      assert.equal(chunked.status, 413);
      assert.equal(at(parseJson(chunked.body), 'errcode'), 'M_TOO_LARGE');
    });

    it('a refused txnId is not remembered: the corrected retry is processed', async () => {
      assert.equal((await call(h.base, 'PUT', '/_matrix/app/v1/transactions/fix', { rawBody: '{' })).status, 400);
      assert.equal((await txn(h.base, 'fix', [ev('!a:hs', '$fixed')])).status, 200);
      await h.pipeline.idle();
      assert.deepEqual(
        seen.map((e) => e.event_id),
        ['$fixed'],
      );
    });

    it('skips malformed entries inside events without failing the transaction', async () => {
      const r = await txn(h.base, 'mixed', [42, ev('!a:hs', '$ok'), { no: 'type' }], {
        ephemeral: [{ type: 'm.typing', room_id: '!a:hs', content: { user_ids: [] } }],
      });
      assert.equal(r.status, 200);
      await h.pipeline.idle();
      assert.deepEqual(
        seen.map((e) => e.type),
        ['m.room.message', 'm.typing'],
      );
    });
  });
});
