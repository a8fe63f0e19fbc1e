// Accounts: registration (appservice and ordinary), login/logout, whoami,
// profiles, OpenID, account data, presence, and the discovery endpoints.
import { Ctx, Reply, RouteDef, clientRoute, fullRoute } from './context';
import type { Core } from './core';
import { MatrixError, badJson, forbidden, invalidParam, notFound } from './errors';
import { DEFAULT_ROOM_VERSION, SUPPORTED_ROOM_VERSIONS } from './rooms';
import { isObject, randomString, splitId } from './util';

const SPEC_VERSIONS = [
  'r0.5.0',
  'r0.6.0',
  'r0.6.1',
  'v1.1',
  'v1.2',
  'v1.3',
  'v1.4',
  'v1.5',
  'v1.6',
  'v1.7',
  'v1.8',
  'v1.9',
  'v1.10',
  'v1.11',
  'v1.12',
];

export function accountRoutes(hs: Core): RouteDef[] {
  const register = async (ctx: Ctx) => {
    const body = ctx.body;
    const inhibitLogin = body.inhibit_login === true;
    const username = body.username;
    if (username !== undefined && (typeof username !== 'string' || username.length > 512)) {
      throw new MatrixError(400, 'M_INVALID_USERNAME', 'Invalid username');
    }
    if (body.type === 'm.login.application_service') {
      const r = ctx.requesterOrUndefined;
      if (!r) throw new MatrixError(401, 'M_MISSING_TOKEN', 'Missing access token');
      const as = r.appservice;
      if (!as) throw new MatrixError(401, 'M_UNKNOWN_TOKEN', 'Invalid application service token');
      if (typeof username !== 'string') throw new MatrixError(400, 'M_INVALID_USERNAME', 'Invalid username');
      const userId = hs.users.userIdFor(username);
      // Synapse order: namespace, other AS exclusivity, localpart syntax, in use.
      if (!as.isInterestedInUser(userId)) {
        throw new MatrixError(400, 'M_EXCLUSIVE', 'Invalid user localpart for this application service.');
      }
      if (hs.appservices.exclusiveUserOwners(userId).some((o) => o !== as)) {
        throw new MatrixError(400, 'M_EXCLUSIVE', 'This user ID is reserved by an application service.');
      }
      hs.users.validateLocalpart(username);
      if (hs.users.exists(userId)) throw new MatrixError(400, 'M_USER_IN_USE', 'User ID already taken.');
      hs.users.create(username, { appserviceId: as.id });
      if (inhibitLogin) return { user_id: userId, home_server: hs.serverName };
      const login = hs.users.login(userId, typeof body.device_id === 'string' ? body.device_id : undefined);
      return { user_id: userId, home_server: hs.serverName, access_token: login.accessToken, device_id: login.deviceId };
    }
    if (ctx.query.get('kind') === 'guest') throw forbidden('Guest access is disabled');
    // Ordinary registration: one m.login.dummy stage of user-interactive auth.
    if (!isObject(body.auth) || body.auth.type !== 'm.login.dummy') {
      return new Reply(401, { flows: [{ stages: ['m.login.dummy'] }], params: {}, session: randomString(24) });
    }
    const localpart = typeof username === 'string' ? username : randomString(10).toLowerCase();
    hs.users.validateLocalpart(localpart);
    const userId = hs.users.userIdFor(localpart);
    if (hs.appservices.exclusiveUserOwners(userId).length) {
      throw new MatrixError(400, 'M_EXCLUSIVE', 'This user ID is reserved by an application service.');
    }
    if (hs.users.exists(userId)) throw new MatrixError(400, 'M_USER_IN_USE', 'User ID already taken.');
    hs.users.create(localpart, { password: typeof body.password === 'string' ? body.password : undefined });
    if (inhibitLogin) return { user_id: userId, home_server: hs.serverName };
    const login = hs.users.login(userId, typeof body.device_id === 'string' ? body.device_id : undefined);
    return { user_id: userId, home_server: hs.serverName, access_token: login.accessToken, device_id: login.deviceId };
  };

  const login = (ctx: Ctx) => {
    const body = ctx.body;
    const ident = isObject(body.identifier) ? body.identifier.user : body.user;
    if (typeof ident !== 'string') throw new MatrixError(400, 'M_MISSING_PARAM', 'Missing user identifier');
    const userId = ident.startsWith('@') ? ident : hs.users.userIdFor(ident);
    const deviceId = typeof body.device_id === 'string' ? body.device_id : undefined;
    if (body.type === 'm.login.application_service') {
      const as = ctx.requesterOrUndefined?.appservice;
      if (!as) throw new MatrixError(401, 'M_MISSING_TOKEN', 'Missing application service token');
      if (!as.isInterestedInUser(userId) || !hs.users.exists(userId)) throw forbidden('Invalid user for this application service');
    } else if (body.type === 'm.login.password') {
      const acct = hs.users.get(userId);
      if (!acct || acct.password === undefined || acct.password !== body.password) throw forbidden('Invalid username or password');
    } else {
      throw new MatrixError(400, 'M_UNKNOWN', 'Unknown login type');
    }
    const l = hs.users.login(userId, deviceId);
    return { user_id: userId, access_token: l.accessToken, device_id: l.deviceId, home_server: hs.serverName };
  };

  const selfOnly = (ctx: Ctx, what: string) => {
    if (ctx.params.userId !== ctx.userId) throw forbidden(`Cannot ${what} for other users.`);
  };

  const requireProfile = async (userId: string) => {
    if (!splitId(userId, '@')) throw invalidParam('Invalid user ID');
    if (!(await hs.queries.userExists(userId))) throw notFound('Profile was not found');
    return hs.users.get(userId)!;
  };

  const setProfileField = async (ctx: Ctx) => {
    const field = ctx.params.keyName;
    if (ctx.params.userId !== ctx.userId) throw forbidden(`Cannot set another user's ${field}`);
    const value = ctx.body[field];
    if (value !== null && typeof value !== 'string') throw badJson(`Missing or invalid key '${field}'`);
    if (typeof value === 'string' && value.length > 256) throw new MatrixError(400, 'M_TOO_LARGE', `${field} is too long`);
    const acct = hs.users.get(ctx.userId);
    if (!acct) throw notFound('Profile was not found');
    if (field === 'displayname') acct.displayname = value ?? undefined;
    else if (field === 'avatar_url') acct.avatar_url = value ?? undefined;
    else throw new MatrixError(400, 'M_UNRECOGNIZED', 'Unsupported profile field');
    // Synapse propagates profile changes to every joined room as a new member event.
    for (const roomId of hs.rooms.joinedRooms(acct.userId)) {
      const room = hs.rooms.get(roomId)!;
      const cur = room.members.get(acct.userId)!.ev.content;
      const content: Record<string, unknown> = { ...cur, membership: 'join' };
      if (acct.displayname !== undefined) content.displayname = acct.displayname;
      else delete content.displayname;
      if (acct.avatar_url !== undefined) content.avatar_url = acct.avatar_url;
      else delete content.avatar_url;
      try {
        hs.rooms.send(room, { sender: acct.userId, type: 'm.room.member', state_key: acct.userId, content });
      } catch {
        // A room that refuses the update keeps the old per-room profile.
      }
    }
    return {};
  };

  return [
    fullRoute('GET', ['/_matrix/client/versions'], { auth: 'none' }, () => ({ versions: SPEC_VERSIONS, unstable_features: {} })),
    clientRoute('GET', '/capabilities', {}, () => ({
      capabilities: {
        'm.room_versions': {
          default: DEFAULT_ROOM_VERSION,
          available: Object.fromEntries(SUPPORTED_ROOM_VERSIONS.map((v) => [v, 'stable'])),
        },
        'm.change_password': { enabled: false },
      },
    })),
    clientRoute('POST', '/register', { auth: 'optional', bodyRequired: true, rateLimited: true, identityAssertion: false }, register),
    clientRoute('GET', '/register/available', { auth: 'none' }, async (ctx) => {
      const username = ctx.query.get('username') ?? '';
      hs.users.validateLocalpart(username);
      const userId = hs.users.userIdFor(username);
      if (hs.appservices.exclusiveUserOwners(userId).length) {
        throw new MatrixError(400, 'M_EXCLUSIVE', 'This user ID is reserved by an application service.');
      }
      if (await hs.queries.userExists(userId)) throw new MatrixError(400, 'M_USER_IN_USE', 'User ID already taken.');
      return { available: true };
    }),
    clientRoute('GET', '/login', { auth: 'none' }, () => ({
      flows: [{ type: 'm.login.password' }, { type: 'm.login.application_service' }],
    })),
    clientRoute('POST', '/login', { auth: 'optional', bodyRequired: true, rateLimited: true, identityAssertion: false }, login),
    clientRoute('POST', '/logout', {}, (ctx) => {
      if (!ctx.requester.appservice) hs.users.logout(ctx.requester.accessToken);
      return {};
    }),
    clientRoute('GET', '/account/whoami', {}, (ctx) => {
      const r = ctx.requester;
      const out: Record<string, unknown> = { user_id: r.userId, is_guest: false };
      if (r.deviceId) out.device_id = r.deviceId;
      return out;
    }),
    clientRoute('GET', '/profile/{userId}', { auth: 'optional' }, async (ctx) => {
      const acct = await requireProfile(ctx.params.userId);
      const out: Record<string, unknown> = {};
      if (acct.displayname !== undefined) out.displayname = acct.displayname;
      if (acct.avatar_url !== undefined) out.avatar_url = acct.avatar_url;
      return out;
    }),
    clientRoute('GET', '/profile/{userId}/{keyName}', { auth: 'optional' }, async (ctx) => {
      const acct = await requireProfile(ctx.params.userId);
      const v = ctx.params.keyName === 'displayname' ? acct.displayname : ctx.params.keyName === 'avatar_url' ? acct.avatar_url : undefined;
      return v === undefined ? {} : { [ctx.params.keyName]: v };
    }),
    clientRoute('PUT', '/profile/{userId}/{keyName}', { bodyRequired: true, rateLimited: true }, setProfileField),
    clientRoute('POST', '/user/{userId}/openid/request_token', {}, (ctx) => {
      if (ctx.params.userId !== ctx.userId) throw forbidden('Cannot request tokens for other users.');
      return {
        access_token: hs.users.issueOpenIdToken(ctx.userId, 3600_000),
        token_type: 'Bearer',
        matrix_server_name: hs.serverName,
        expires_in: 3600,
      };
    }),
    fullRoute('GET', ['/_matrix/federation/v1/openid/userinfo'], { auth: 'none' }, (ctx) => {
      const token = ctx.query.get('access_token');
      if (!token) throw new MatrixError(401, 'M_MISSING_TOKEN', 'Missing access token');
      const sub = hs.users.resolveOpenIdToken(token);
      if (!sub) throw new MatrixError(401, 'M_UNKNOWN_TOKEN', 'Access Token unknown or expired');
      return { sub };
    }),
    clientRoute('PUT', '/user/{userId}/account_data/{type}', { bodyRequired: true }, (ctx) => {
      selfOnly(ctx, 'add account data');
      hs.users.get(ctx.userId)!.accountData.set(ctx.params.type, ctx.body);
      return {};
    }),
    clientRoute('GET', '/user/{userId}/account_data/{type}', {}, (ctx) => {
      selfOnly(ctx, 'get account data');
      const v = hs.users.get(ctx.userId)!.accountData.get(ctx.params.type);
      if (v === undefined) throw notFound('Account data not found');
      return v;
    }),
    clientRoute('PUT', '/user/{userId}/rooms/{roomId}/account_data/{type}', { bodyRequired: true }, (ctx) => {
      selfOnly(ctx, 'add account data');
      const acct = hs.users.get(ctx.userId)!;
      let m = acct.roomAccountData.get(ctx.params.roomId);
      if (!m) acct.roomAccountData.set(ctx.params.roomId, (m = new Map<string, unknown>()));
      m.set(ctx.params.type, ctx.body);
      return {};
    }),
    clientRoute('GET', '/user/{userId}/rooms/{roomId}/account_data/{type}', {}, (ctx) => {
      selfOnly(ctx, 'get account data');
      const v = hs.users.get(ctx.userId)!.roomAccountData.get(ctx.params.roomId)?.get(ctx.params.type);
      if (v === undefined) throw notFound('Room account data not found');
      return v;
    }),
    clientRoute('PUT', '/presence/{userId}/status', { bodyRequired: true }, (ctx) => {
      selfOnly(ctx, 'set presence');
      const b = ctx.body;
      const presence = b.presence;
      if (typeof presence !== 'string' || !['online', 'offline', 'unavailable'].includes(presence))
        throw invalidParam('Invalid presence state');
      hs.users.get(ctx.userId)!.presence = {
        presence,
        status_msg: typeof b.status_msg === 'string' ? b.status_msg : undefined,
        last_active: Date.now(),
      };
      return {};
    }),
    clientRoute('GET', '/presence/{userId}/status', {}, (ctx) => {
      const p = hs.users.get(ctx.params.userId)?.presence;
      if (!p) return { presence: 'offline' };
      const out: Record<string, unknown> = { presence: p.presence, last_active_ago: Date.now() - p.last_active };
      if (p.status_msg !== undefined) out.status_msg = p.status_msg;
      return out;
    }),
  ];
}
