import { strict as assert } from 'node:assert';
import * as http from 'node:http';
import { promises as fs } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Type } from '@sinclair/typebox';
import { ProvisioningApi, Reply as ApiReply } from '../../src/provisioning/api';
import { addLinkRoutes } from '../../src/provisioning/link-routes';
import { SESSION_NAMESPACE, hashSessionToken } from '../../src/provisioning/sessions';
import { MatrixError } from '../../src/util/matrix-error';
import { MatrixConnectionError } from '../../src/matrix/http-client';
import { NedbStore } from '../../src/store/nedb';
import { RoomStateUnavailableError } from '../../src/state/state-cache';
import { asNumber, asString, at, RawConnection, requestBytes } from '@causeway/testing';
import { SECRET, MemoryKv, FakePowerChecker, call, captureLogger, startApi, type ApiHarness, type LogLine } from './helpers';

const ROOM = '!room:example.org';
const ALICE = '@alice:example.org';
const BOB = '@bob:example.org';

function linkHooks(calls: string[] = []) {
  return {
    calls,
    link: async (roomId: string, userId: string, body: Record<string, unknown>) => {
      calls.push(`link ${roomId} ${userId} ${String(body.channel)}`);
      return { linked: true };
    },
    unlink: async (roomId: string, userId: string) => {
      calls.push(`unlink ${roomId} ${userId}`);
    },
    list: async (roomId: string) => [{ room_id: roomId, channel: '#causeway' }],
    linkSchema: Type.Object({ channel: Type.String({ pattern: '^#' }), key: Type.Optional(Type.String()) }),
  };
}

describe('provisioning/api', () => {
  let h: ApiHarness;
  let power: FakePowerChecker;
  let audit: LogLine[];
  let hooks: ReturnType<typeof linkHooks>;

  beforeEach(async () => {
    power = new FakePowerChecker().set(ROOM, ALICE, true, 100).set(ROOM, BOB, true, 0);
    audit = [];
    h = await startApi({ powerChecker: power, auditLog: captureLogger(audit), rateLimit: { enabled: false } });
    hooks = linkHooks();
    addLinkRoutes(h.api, hooks);
  });
  afterEach(() => h.close());

  describe('startup', () => {
    it('refuses a secret shorter than 32 characters, naming provisioning.secret', () => {
      assert.throws(() => new ProvisioningApi({ secret: 'x'.repeat(31), store: new MemoryKv() }), /provisioning\.secret.*32/);
      assert.throws(() => new ProvisioningApi({ secret: '', store: new MemoryKv() }), /provisioning\.secret/);
      const ok = new ProvisioningApi({ secret: 'x'.repeat(32), store: new MemoryKv() });
      return ok.close();
    });

    it('refuses a room-power route without a power checker', () => {
      const api = new ProvisioningApi({ store: new MemoryKv(), openId: false });
      assert.throws(() => addLinkRoutes(api, linkHooks()), /RoomPowerChecker/);
    });

    it('exposes only the named public routes', () => {
      assert.deepEqual(h.api.publicRoutes().sort(), ['exchange_openid', 'health']);
      assert.throws(() => h.api.addPublicRoute('health', { method: 'GET', path: '/health2', handler: async () => ({}) }), /already exists/);
      assert.throws(() => h.api.addPublicRoute('', { method: 'GET', path: '/x', handler: async () => ({}) }), /name/);
    });
  });

  describe('authentication', () => {
    const routes: Array<[string, string, unknown?]> = [
      ['GET', '/v1/whoami'],
      ['GET', '/v1/session'],
      ['DELETE', '/v1/session'],
      ['DELETE', '/v1/session/all'],
      ['POST', '/v1/link', { room_id: ROOM, channel: '#c', user_id: ALICE }],
      ['POST', '/v1/unlink', { room_id: ROOM, user_id: ALICE }],
      ['GET', `/v1/links/${encodeURIComponent(ROOM)}?user_id=${encodeURIComponent(ALICE)}`],
      ['GET', '/v1/no-such-route'],
      ['POST', '/health'],
    ];

    it('answers 401 M_MISSING_TOKEN on every authenticated route without a token', async () => {
      for (const [method, p, body] of routes) {
        const r = await call(h.base, method, p, { body });
        assert.equal(r.status, 401, `${method} ${p}`);
        assert.equal(r.body.errcode, 'M_MISSING_TOKEN', `${method} ${p}`);
        assert.equal(typeof r.body.error, 'string');
      }
      // A non-Bearer scheme counts as no token.
      const basic = await call(h.base, 'GET', '/v1/whoami', {
        headers: { Authorization: `Basic ${Buffer.from('a:b').toString('base64')}` },
      });
      assert.equal(basic.status, 401);
    });

    it('answers 403 M_UNKNOWN_TOKEN on every authenticated route with a wrong token', async () => {
      for (const token of ['wrong', SECRET + 'x', SECRET.slice(0, -1), 'cwps_' + 'A'.repeat(43)]) {
        for (const [method, p, body] of routes) {
          const r = await call(h.base, method, p, { body, token });
          assert.equal(r.status, 403, `${method} ${p}`);
          assert.equal(r.body.errcode, 'M_UNKNOWN_TOKEN', `${method} ${p}`);
        }
      }
      assert.equal(hooks.calls.length, 0);
    });

    it('does not accept the secret as an access_token query parameter', async () => {
      const r = await call(h.base, 'GET', `/v1/whoami?access_token=${SECRET}&user_id=${encodeURIComponent(ALICE)}`);
      assert.equal(r.status, 401);
    });

    it('serves the public health route without a token', async () => {
      const r = await call(h.base, 'GET', '/health');
      assert.equal(r.status, 200);
      assert.deepEqual(r.body, { status: 'ok' });
    });

    it('with the secret, acts for the user_id given in the query or body (required, validated)', async () => {
      let r = await call(h.base, 'GET', `/v1/whoami?user_id=${encodeURIComponent(ALICE)}`, { token: SECRET });
      assert.equal(r.status, 200);
      assert.deepEqual(r.body, { user_id: ALICE, auth: 'secret' });
      r = await call(h.base, 'GET', '/v1/whoami', { token: SECRET });
      assert.equal(r.status, 400);
      assert.equal(r.body.errcode, 'M_MISSING_PARAM');
      assert.match(asString(r.body.error, 'error'), /user_id/);
      r = await call(h.base, 'GET', '/v1/whoami?user_id=alice', { token: SECRET });
      assert.equal(r.status, 400);
      assert.equal(r.body.errcode, 'M_INVALID_PARAM');
      assert.match(asString(r.body.error, 'error'), /user_id/);
      r = await call(h.base, 'POST', '/v1/unlink', { token: SECRET, body: { room_id: ROOM, user_id: '@bad user:x' } });
      assert.equal(r.body.errcode, 'M_INVALID_PARAM');
      r = await call(h.base, 'POST', `/v1/unlink?user_id=${encodeURIComponent(BOB)}`, {
        token: SECRET,
        body: { room_id: ROOM, user_id: ALICE },
      });
      assert.equal(r.status, 400);
      assert.match(asString(r.body.error, 'error'), /Conflicting user_id/);
    });

    it('with a session token, acts for the session user only', async () => {
      const { token } = await h.api.createSession(ALICE);
      let r = await call(h.base, 'GET', '/v1/whoami', { token });
      assert.equal(r.status, 200);
      assert.equal(r.body.user_id, ALICE);
      assert.equal(r.body.auth, 'session');
      assert.equal(typeof r.body.expires_at, 'number');
      r = await call(h.base, 'GET', `/v1/whoami?user_id=${encodeURIComponent(BOB)}`, { token });
      assert.equal(r.status, 403);
      assert.equal(r.body.errcode, 'M_FORBIDDEN');
    });

    it('answers 404 and 405 M_UNRECOGNIZED once authenticated, with Allow on 405', async () => {
      const q = `?user_id=${encodeURIComponent(ALICE)}`;
      let r = await call(h.base, 'GET', `/v1/nothing${q}`, { token: SECRET });
      assert.equal(r.status, 404);
      assert.equal(r.body.errcode, 'M_UNRECOGNIZED');
      r = await call(h.base, 'PUT', `/v1/whoami${q}`, { token: SECRET });
      assert.equal(r.status, 405);
      assert.equal(r.body.errcode, 'M_UNRECOGNIZED');
      assert.equal(r.headers.get('allow'), 'GET');
      r = await call(`http://127.0.0.1:${h.port}`, 'GET', '/elsewhere', { token: SECRET });
      assert.equal(r.status, 404);
    });

    it('answers CORS preflights without auth and sets CORS on answers', async () => {
      const res = await fetch(`${h.base}/v1/link`, {
        method: 'OPTIONS',
        headers: { Origin: 'https://widget.example', 'Access-Control-Request-Method': 'POST' },
      });
      assert.equal(res.status, 204);
      assert.equal(res.headers.get('access-control-allow-origin'), '*');
      assert.match(res.headers.get('access-control-allow-headers') ?? '', /Authorization/);
      const r = await call(h.base, 'GET', '/v1/whoami');
      assert.equal(r.headers.get('access-control-allow-origin'), '*');
      assert.equal(r.headers.get('cache-control'), 'no-store');
    });
  });

  describe('bodies', () => {
    it('answers M_BAD_JSON for a body that is not JSON or not an object', async () => {
      for (const rawBody of ['{nope', '[1,2]', '"str"', 'null', '42']) {
        const r = await call(h.base, 'POST', '/v1/link', { token: SECRET, rawBody });
        assert.equal(r.status, 400, rawBody);
        assert.equal(r.body.errcode, 'M_BAD_JSON', rawBody);
      }
    });

    it('names the missing or invalid field', async () => {
      let r = await call(h.base, 'POST', '/v1/link', { token: SECRET, body: { user_id: ALICE, channel: '#c' } });
      assert.equal(r.status, 400);
      assert.equal(r.body.errcode, 'M_MISSING_PARAM');
      assert.match(asString(r.body.error, 'error'), /room_id/);
      assert.equal(r.body.field, 'room_id');
      r = await call(h.base, 'POST', '/v1/link', { token: SECRET, body: { user_id: ALICE, room_id: ROOM } });
      assert.equal(r.body.errcode, 'M_MISSING_PARAM');
      assert.match(asString(r.body.error, 'error'), /channel/);
      r = await call(h.base, 'POST', '/v1/link', { token: SECRET, body: { user_id: ALICE, room_id: ROOM, channel: 5 } });
      assert.equal(r.body.errcode, 'M_INVALID_PARAM');
      assert.match(asString(r.body.error, 'error'), /channel/);
      r = await call(h.base, 'POST', '/v1/link', { token: SECRET, body: { user_id: ALICE, room_id: 'not-a-room', channel: '#c' } });
      assert.equal(r.body.errcode, 'M_INVALID_PARAM');
      assert.match(asString(r.body.error, 'error'), /room_id/);
      assert.equal(hooks.calls.length, 0);
    });

    it('validates query parameters with coercion', async () => {
      h.api.addRoute({
        method: 'GET',
        path: '/v1/limits',
        schema: Type.Object({ count: Type.Integer({ minimum: 1 }) }),
        handler: async (req) => ({ count: req.query.count }),
      });
      const u = `user_id=${encodeURIComponent(ALICE)}`;
      let r = await call(h.base, 'GET', `/v1/limits?${u}`, { token: SECRET });
      assert.equal(r.body.errcode, 'M_MISSING_PARAM');
      assert.match(asString(r.body.error, 'error'), /query parameter: count/);
      r = await call(h.base, 'GET', `/v1/limits?${u}&count=zero`, { token: SECRET });
      assert.equal(r.body.errcode, 'M_INVALID_PARAM');
      r = await call(h.base, 'GET', `/v1/limits?${u}&count=3`, { token: SECRET });
      assert.equal(r.status, 200);
    });

    it('caps the body size with 413 M_TOO_LARGE', async () => {
      const small = await startApi({ maxBodyBytes: 1024, powerChecker: power });
      try {
        addLinkRoutes(small.api, linkHooks());
        const r = await call(small.base, 'POST', '/v1/link', {
          token: SECRET,
          body: { user_id: ALICE, room_id: ROOM, channel: '#' + 'x'.repeat(2000) },
        });
        assert.equal(r.status, 413);
        assert.equal(r.body.errcode, 'M_TOO_LARGE');
      } finally {
        await small.close();
      }
    });
  });

  describe('link routes', () => {
    it('links when the acting user is joined with enough power, and audits it', async () => {
      const r = await call(h.base, 'POST', '/v1/link', {
        token: SECRET,
        body: { user_id: ALICE, room_id: ROOM, channel: '#causeway', key: 'chan-key-secret' },
      });
      assert.equal(r.status, 200);
      assert.deepEqual(r.body, { linked: true });
      assert.deepEqual(hooks.calls, [`link ${ROOM} ${ALICE} #causeway`]);
      assert.equal(audit.length, 1);
      const line = audit[0];
      assert.equal(line.level, 'info');
      assert.equal(line.meta.user, ALICE);
      assert.equal(line.meta.route, '/v1/link');
      assert.equal(line.meta.method, 'POST');
      assert.equal(line.meta.ip, '127.0.0.1');
      assert.equal(line.meta.outcome, 'ok');
      assert.equal(line.meta.status, 200);
      assert.equal(line.meta.auth, 'secret');
      assert.equal(at(line.meta.body, 'room_id'), ROOM);
      assert.equal(at(line.meta.body, 'key'), '<omitted>');
      assert.ok(!isNaN(Date.parse(asString(line.meta.at, 'at'))));
      assert.ok(!JSON.stringify(audit).includes(SECRET), 'the secret never reaches the audit log');
      assert.ok(!JSON.stringify(audit).includes('chan-key-secret'));
    });

    it('unlinks and audits, including failures', async () => {
      const { token } = await h.api.createSession(ALICE);
      let r = await call(h.base, 'POST', '/v1/unlink', { token, body: { room_id: ROOM } });
      assert.equal(r.status, 200);
      assert.deepEqual(hooks.calls, [`unlink ${ROOM} ${ALICE}`]);
      const { token: bobToken } = await h.api.createSession(BOB);
      r = await call(h.base, 'POST', '/v1/unlink', { token: bobToken, body: { room_id: ROOM } });
      assert.equal(r.status, 403);
      assert.deepEqual(
        audit.map((l) => [l.meta.user, l.meta.route, l.meta.outcome, l.meta.errcode]),
        [
          [ALICE, '/v1/unlink', 'ok', undefined],
          [BOB, '/v1/unlink', 'error', 'M_FORBIDDEN'],
        ],
      );
      assert.equal(audit[0].meta.auth, 'session');
      assert.ok(!JSON.stringify(audit).includes(token));
      // Refused before the acting user is known (bad user_id with the secret): still audited.
      r = await call(h.base, 'POST', '/v1/link', { token: SECRET, body: { room_id: ROOM, channel: '#c', user_id: 'nobody' } });
      assert.equal(r.status, 400);
      assert.deepEqual([audit[2].meta.user, audit[2].meta.route, audit[2].meta.errcode], ['(unknown)', '/v1/link', 'M_INVALID_PARAM']);
    });

    it('refuses a user without enough power (403)', async () => {
      const r = await call(h.base, 'POST', '/v1/link', { token: SECRET, body: { user_id: BOB, room_id: ROOM, channel: '#c' } });
      assert.equal(r.status, 403);
      assert.equal(r.body.errcode, 'M_FORBIDDEN');
      assert.match(asString(r.body.error, 'error'), /power level 0.*50/);
      assert.equal(r.body.required_power_level, 50);
      assert.equal(hooks.calls.length, 0);
    });

    it('refuses a user who is not joined (403), even with a high level', async () => {
      power.set(ROOM, '@carol:example.org', false, 100);
      let r = await call(h.base, 'POST', '/v1/link', {
        token: SECRET,
        body: { user_id: '@carol:example.org', room_id: ROOM, channel: '#c' },
      });
      assert.equal(r.status, 403);
      assert.match(asString(r.body.error, 'error'), /not joined/);
      r = await call(h.base, 'POST', '/v1/unlink', { token: SECRET, body: { user_id: '@dave:example.org', room_id: ROOM } });
      assert.equal(r.status, 403);
      assert.equal(hooks.calls.length, 0);
    });

    it('uses the level the checker requires', async () => {
      power.set(ROOM, BOB, true, 10, 10);
      const r = await call(h.base, 'POST', '/v1/link', { token: SECRET, body: { user_id: BOB, room_id: ROOM, channel: '#c' } });
      assert.equal(r.status, 200);
    });

    it('lists links of a room for its members only', async () => {
      const path = `/v1/links/${encodeURIComponent(ROOM)}`;
      let r = await call(h.base, 'GET', `${path}?user_id=${encodeURIComponent(BOB)}`, { token: SECRET });
      assert.equal(r.status, 200);
      assert.deepEqual(r.body, { links: [{ room_id: ROOM, channel: '#causeway' }] });
      r = await call(h.base, 'GET', `${path}?user_id=${encodeURIComponent('@eve:evil.org')}`, { token: SECRET });
      assert.equal(r.status, 403);
    });

    it('runs the network-side authorize hook and passes handler errors through as {errcode, error}', async () => {
      const calls: string[] = [];
      const api = new ProvisioningApi({
        secret: SECRET,
        store: new MemoryKv(),
        powerChecker: power,
        openId: false,
        auditLog: captureLogger(),
        log: captureLogger(),
      });
      addLinkRoutes(api, {
        ...linkHooks(calls),
        authorize: async (action, req) => {
          if (req.body.channel === '#private') throw new MatrixError(403, 'NET_NOT_OP', `cannot ${action}`);
        },
        unlink: async () => {
          throw new MatrixError(404, 'NET_NO_LINK', 'No such link');
        },
      });
      api.addRoute({
        method: 'POST',
        path: '/v1/boom',
        handler: async () => {
          throw new Error('secret internals');
        },
      });
      api.addRoute({ method: 'POST', path: '/v1/accepted', handler: async () => new ApiReply(202, { pending: true }) });
      // The homeserver unreachable inside a handler (status 0 from the bridge's client): 502, not a crash.
      api.addRoute({
        method: 'POST',
        path: '/v1/hs-down',
        handler: async () => {
          throw new MatrixConnectionError('M_CONNECTION_FAILED', 'connect ECONNREFUSED');
        },
      });
      const addr = await api.listen(0);
      const base = `http://127.0.0.1:${addr.port}/_matrix/provision`;
      try {
        let r = await call(base, 'POST', '/v1/link', { token: SECRET, body: { user_id: ALICE, room_id: ROOM, channel: '#private' } });
        assert.deepEqual([r.status, r.body], [403, { errcode: 'NET_NOT_OP', error: 'cannot link' }]);
        assert.equal(calls.length, 0);
        r = await call(base, 'POST', '/v1/unlink', { token: SECRET, body: { user_id: ALICE, room_id: ROOM } });
        assert.deepEqual([r.status, r.body], [404, { errcode: 'NET_NO_LINK', error: 'No such link' }]);
        r = await call(base, 'POST', '/v1/boom', { token: SECRET, body: { user_id: ALICE } });
        assert.deepEqual([r.status, r.body], [500, { errcode: 'M_UNKNOWN', error: 'Internal server error' }]);
        r = await call(base, 'POST', '/v1/accepted', { token: SECRET, body: { user_id: ALICE } });
        assert.deepEqual([r.status, r.body], [202, { pending: true }]);
        r = await call(base, 'POST', '/v1/hs-down', { token: SECRET, body: { user_id: ALICE } });
        assert.deepEqual([r.status, r.body.errcode], [502, 'M_UNKNOWN']);
      } finally {
        await api.close();
      }
    });
  });

  describe('rooms the bridge is not in', () => {
    it('answers 403 M_AS_BRIDGE_NOT_IN_ROOM to link, unlink and list, without an error in the log', async () => {
      const lines: LogLine[] = [];
      const notIn = new MatrixError(403, 'M_FORBIDDEN', 'User @_x_bot:example.org not in room');
      const api = await startApi({
        log: captureLogger(lines),
        rateLimit: { enabled: false },
        powerChecker: {
          userPowerIn: async (roomId) => {
            throw new RoomStateUnavailableError(roomId, notIn);
          },
        },
      });
      addLinkRoutes(api.api, linkHooks());
      try {
        const answers = [
          await call(api.base, 'POST', '/v1/link', { token: SECRET, body: { user_id: ALICE, room_id: ROOM, channel: '#c' } }),
          await call(api.base, 'POST', '/v1/unlink', { token: SECRET, body: { user_id: ALICE, room_id: ROOM } }),
          await call(api.base, 'GET', `/v1/links/${encodeURIComponent(ROOM)}?user_id=${encodeURIComponent(ALICE)}`, { token: SECRET }),
        ];
        for (const r of answers) {
          assert.equal(r.status, 403, JSON.stringify(r.body));
          assert.equal(r.body.errcode, 'M_AS_BRIDGE_NOT_IN_ROOM');
          assert.equal(r.body.room_id, ROOM);
          assert.match(asString(r.body.error, 'error'), /invite/);
        }
        assert.deepEqual(
          lines.filter((l) => l.level === 'error').map((l) => l.msg),
          [],
        );
      } finally {
        await api.close();
      }
    });

    it('answers 502 when the homeserver could not be asked about the room', async () => {
      const api = await startApi({
        log: captureLogger([]),
        rateLimit: { enabled: false },
        powerChecker: {
          userPowerIn: async (roomId) => {
            throw new RoomStateUnavailableError(roomId, new MatrixConnectionError('M_CONNECTION_FAILED', 'refused'));
          },
        },
      });
      addLinkRoutes(api.api, linkHooks());
      try {
        const r = await call(api.base, 'GET', `/v1/links/${encodeURIComponent(ROOM)}?user_id=${encodeURIComponent(ALICE)}`, {
          token: SECRET,
        });
        assert.equal(r.status, 502);
        assert.equal(r.body.errcode, 'M_UNKNOWN');
      } finally {
        await api.close();
      }
    });
  });

  describe('connections', () => {
    it('refuses an unauthenticated body without reading it: 401/403 with Connection: close, and the connection is closed', async () => {
      for (const [auth, status] of [
        [{}, 401],
        [{ Authorization: 'Bearer wrong-token' }, 403],
      ] as const) {
        const conn = await RawConnection.open(h.port);
        try {
          await conn.write(
            requestBytes('POST', '/_matrix/provision/v1/link', {
              ...auth,
              'Content-Type': 'application/json',
              'Content-Length': String(200 * 1024 * 1024),
            }),
          );
          await conn.write(Buffer.alloc(1024 * 1024, 0x20));
          const res = await conn.response();
          assert.equal(res?.status, status);
          assert.equal(res.headers.connection, 'close');
          assert.ok(await conn.closesWithin(10_000), 'the listener kept the connection open to read the rest of the body');
        } finally {
          conn.destroy();
        }
      }
      assert.equal((await call(h.base, 'GET', `/v1/whoami?user_id=${encodeURIComponent(ALICE)}`, { token: SECRET })).status, 200);
    });

    it("cuts the connection when a route's answer cannot be written, instead of a second answer over it", async () => {
      h.api.addRoute({ method: 'GET', path: '/v1/bad-header', handler: async () => new ApiReply(200, { ok: true }, { 'X-File': '文件' }) });
      const conn = await RawConnection.open(h.port);
      try {
        await conn.write(
          Buffer.concat([
            requestBytes('GET', `/_matrix/provision/v1/bad-header?user_id=${encodeURIComponent(ALICE)}`, {
              Authorization: `Bearer ${SECRET}`,
            }),
            requestBytes('GET', `/_matrix/provision/v1/whoami?user_id=${encodeURIComponent(ALICE)}`, { Authorization: `Bearer ${SECRET}` }),
          ]),
        );
        assert.ok(await conn.closesWithin(10_000), 'the connection was left open');
        assert.doesNotMatch(conn.pending.toString('latin1'), /HTTP\/1\.1 500/);
      } finally {
        conn.destroy();
      }
      assert.equal((await call(h.base, 'GET', `/v1/whoami?user_id=${encodeURIComponent(ALICE)}`, { token: SECRET })).status, 200);
    });
  });

  describe('bridge permissions', () => {
    it('refuses a user the bridge is not for (bridge.permissions.users) on every private route, with either auth', async () => {
      const h2 = await startApi({ mayUseBridge: (u) => u.endsWith(':example.org') });
      try {
        const outsider = '@eve:evil.org';
        let r = await call(h2.base, 'GET', `/v1/whoami?user_id=${encodeURIComponent(outsider)}`, { token: SECRET });
        assert.deepEqual([r.status, r.body.errcode], [403, 'M_FORBIDDEN']);
        assert.match(asString(r.body.error, 'error'), /not allowed to use this bridge/);
        const { token } = await h2.api.createSession(outsider); // e.g. minted before the config changed
        r = await call(h2.base, 'GET', '/v1/whoami', { token });
        assert.equal(r.status, 403);
        r = await call(h2.base, 'GET', `/v1/whoami?user_id=${encodeURIComponent(ALICE)}`, { token: SECRET });
        assert.equal(r.status, 200);
      } finally {
        await h2.close();
      }
    });
  });

  describe('rate limits', () => {
    it('trips per user with 429 M_LIMIT_EXCEEDED, retry_after_ms and Retry-After', async () => {
      const rl = await startApi({ rateLimit: { perUserPerMinute: 3, perIpPerMinute: 1000 } });
      try {
        const { token } = await rl.api.createSession(ALICE);
        for (let i = 0; i < 3; i++) assert.equal((await call(rl.base, 'GET', '/v1/whoami', { token })).status, 200);
        const r = await call(rl.base, 'GET', '/v1/whoami', { token });
        assert.equal(r.status, 429);
        assert.equal(r.body.errcode, 'M_LIMIT_EXCEEDED');
        const retryAfterMs = asNumber(r.body.retry_after_ms, 'retry_after_ms');
        assert.ok(retryAfterMs > 0 && retryAfterMs <= 20_000, String(retryAfterMs));
        assert.equal(r.headers.get('retry-after'), String(Math.ceil(retryAfterMs / 1000)));
        // Another user is unaffected; the shared secret is limited per acting user too.
        const { token: bob } = await rl.api.createSession(BOB);
        assert.equal((await call(rl.base, 'GET', '/v1/whoami', { token: bob })).status, 200);
        for (let i = 0; i < 3; i++) await call(rl.base, 'GET', `/v1/whoami?user_id=${encodeURIComponent('@c:x.org')}`, { token: SECRET });
        assert.equal((await call(rl.base, 'GET', `/v1/whoami?user_id=${encodeURIComponent('@c:x.org')}`, { token: SECRET })).status, 429);
      } finally {
        await rl.close();
      }
    });

    it('trips per IP for unauthenticated and wrong-token requests (brute force) and public routes', async () => {
      const rl = await startApi({ rateLimit: { perUserPerMinute: 1000, perIpPerMinute: 4 } });
      try {
        const statuses: number[] = [];
        for (let i = 0; i < 3; i++) statuses.push((await call(rl.base, 'GET', '/v1/whoami', { token: `guess-${i}` })).status);
        statuses.push((await call(rl.base, 'GET', '/health')).status);
        const r = await call(rl.base, 'GET', '/v1/whoami', { token: 'guess-x' });
        assert.deepEqual(statuses, [403, 403, 403, 200]);
        assert.equal(r.status, 429);
        assert.ok(asNumber(r.body.retry_after_ms, 'retry_after_ms') > 0);
        assert.equal((await call(rl.base, 'GET', '/health')).status, 429);
        // A trusted server with the secret is not held back by the per-IP limit.
        assert.equal((await call(rl.base, 'GET', `/v1/whoami?user_id=${encodeURIComponent(ALICE)}`, { token: SECRET })).status, 200);
      } finally {
        await rl.close();
      }
    });

    it('takes the client IP from X-Forwarded-For only behind a trusted proxy', async () => {
      const lines: LogLine[] = [];
      const run = async (trustedProxies?: string[]) => {
        const a = await startApi({ trustedProxies, powerChecker: power, auditLog: captureLogger(lines), rateLimit: { enabled: false } });
        try {
          addLinkRoutes(a.api, linkHooks());
          await call(a.base, 'POST', '/v1/unlink', {
            token: SECRET,
            body: { user_id: ALICE, room_id: ROOM },
            headers: { 'X-Forwarded-For': '203.0.113.9, 198.51.100.7' },
          });
        } finally {
          await a.close();
        }
      };
      await run();
      await run(['127.0.0.1/32']);
      await run(['127.0.0.1/32', '198.51.100.0/24']);
      assert.deepEqual(
        lines.map((l) => l.meta.ip),
        ['127.0.0.1', '198.51.100.7', '203.0.113.9'],
      );
    });
  });

  describe('sessions', () => {
    let dir: string;
    beforeEach(async () => {
      dir = await fs.mkdtemp(path.join(os.tmpdir(), 'causeway-prov-'));
    });
    afterEach(() => fs.rm(dir, { recursive: true, force: true }));

    it('stores only a SHA-256 of the token, survives a restart over the same store, and is revocable', async () => {
      let store = new NedbStore({ directory: dir, expirySweepIntervalMs: 0, compactionIntervalMs: 0 });
      await store.init();
      let a = await startApi({ store: store.kv });
      const { token } = await a.api.createSession(ALICE);
      assert.match(token, /^cwps_[A-Za-z0-9_-]{43}$/);
      const stored = await store.kv.list(SESSION_NAMESPACE);
      assert.deepEqual(
        stored.map((s) => s.key),
        [hashSessionToken(token)],
      );
      assert.ok(!JSON.stringify(stored).includes(token));
      await a.close();
      await store.close();
      const onDisk = (await fs.readdir(dir, { recursive: true })).map((f) => path.join(dir, f));
      for (const f of onDisk) {
        if ((await fs.stat(f)).isFile()) assert.ok(!(await fs.readFile(f, 'utf8')).includes(token), `token found in ${f}`);
      }

      store = new NedbStore({ directory: dir, expirySweepIntervalMs: 0, compactionIntervalMs: 0 });
      await store.init();
      a = await startApi({ store: store.kv });
      try {
        let r = await call(a.base, 'GET', '/v1/whoami', { token });
        assert.equal(r.status, 200);
        assert.equal(r.body.user_id, ALICE);
        r = await call(a.base, 'GET', '/v1/session', { token });
        assert.equal(r.status, 200);
        assert.ok(asNumber(r.body.expires_at, 'expires_at') > Date.now());
        r = await call(a.base, 'DELETE', '/v1/session', { token });
        assert.equal(r.status, 200);
        r = await call(a.base, 'GET', '/v1/whoami', { token });
        assert.equal(r.status, 403);
        assert.equal(r.body.errcode, 'M_UNKNOWN_TOKEN');
        // DELETE /v1/session with the shared secret has nothing to revoke.
        r = await call(a.base, 'DELETE', `/v1/session?user_id=${encodeURIComponent(ALICE)}`, { token: SECRET });
        assert.equal(r.status, 400);
      } finally {
        await a.close();
        await store.close();
      }
    });

    it('expires sessions', async () => {
      let t = 1_000_000;
      const kv = new MemoryKv(() => t);
      const a = await startApi({ store: kv, sessionTtlMs: 60_000, now: () => t });
      try {
        const { token } = await a.api.createSession(ALICE);
        assert.equal((await call(a.base, 'GET', '/v1/whoami', { token })).status, 200);
        t += 60_000;
        assert.equal((await call(a.base, 'GET', '/v1/whoami', { token })).status, 403);
      } finally {
        await a.close();
      }
    });

    it('revokes every session of a user (admin function and self-service), leaving others', async () => {
      const a = await startApi({ auditLog: captureLogger() });
      try {
        const t1 = (await a.api.createSession(ALICE)).token;
        const t2 = (await a.api.createSession(ALICE)).token;
        const t3 = (await a.api.createSession(ALICE)).token;
        const tb = (await a.api.createSession(BOB)).token;
        assert.equal(await a.api.revokeUserSessions(ALICE), 3);
        for (const t of [t1, t2, t3]) assert.equal((await call(a.base, 'GET', '/v1/whoami', { token: t })).status, 403);
        assert.equal((await call(a.base, 'GET', '/v1/whoami', { token: tb })).status, 200);
        const tb2 = (await a.api.createSession(BOB)).token;
        const r = await call(a.base, 'DELETE', '/v1/session/all', { token: tb2 });
        assert.deepEqual(r.body, { revoked: 2 });
        assert.equal((await call(a.base, 'GET', '/v1/whoami', { token: tb })).status, 403);
      } finally {
        await a.close();
      }
    });
  });

  describe('mounting', () => {
    it('handle() serves the prefix inside another server and declines other paths', async () => {
      const api = new ProvisioningApi({ secret: SECRET, store: new MemoryKv(), prefix: '/_causeway/provision/', openId: false });
      const server = http.createServer((req, res) => {
        if (api.handle(req, res)) return;
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.end('appservice');
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      try {
        let r = await call(base, 'GET', `/_causeway/provision/v1/whoami?user_id=${encodeURIComponent(ALICE)}`, { token: SECRET });
        assert.equal(r.body.user_id, ALICE);
        r = await call(base, 'GET', '/_causeway/provision/v1/whoami');
        assert.equal(r.status, 401);
        r = await call(base, 'GET', '/_causeway/provisionx/v1/whoami');
        assert.equal(r.text, 'appservice');
        r = await call(base, 'GET', '/_matrix/app/v1/ping');
        assert.equal(r.text, 'appservice');
        assert.deepEqual(api.publicRoutes(), ['health']);
      } finally {
        await new Promise<void>((r) => server.close(() => r()));
        await api.close();
      }
    });
  });
});
