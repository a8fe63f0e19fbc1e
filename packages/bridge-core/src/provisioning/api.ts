/**
 * The provisioning API: an authenticated HTTP API (default prefix
 * `/_matrix/provision`) through which integration managers, widgets and
 * scripts link and unlink rooms.
 *
 * Every bridge adds its routes through `addRoute`, and the core does the
 * rest, so a route cannot exist without authentication unless it is declared
 * public, by name, with `addPublicRoute` (health, the OpenID exchange).
 *
 * Request pipeline for an authenticated route, in order:
 *  1. CORS preflight (`OPTIONS`) is answered without auth (tokens travel in
 *     the Authorization header, never cookies, so `*` is safe).
 *  2. Authentication: `Authorization: Bearer <token>`. No token → 401
 *     `M_MISSING_TOKEN`. The shared secret (constant-time compare) acts for the
 *     `user_id` given in the query or body (required, a valid Matrix user ID).
 *     Anything else must be a live session token (from the OpenID exchange),
 *     else 403 `M_UNKNOWN_TOKEN`. Unauthenticated callers learn nothing about
 *     which paths exist: routing happens after authentication.
 *  3. Rate limits (token buckets, in memory): per client IP for everything
 *     except shared-secret callers (a trusted server acting for many users),
 *     per acting user after authentication → 429 `M_LIMIT_EXCEEDED` with
 *     `retry_after_ms` and `Retry-After`.
 *  4. Routing: unknown path → 404 `M_UNRECOGNIZED`, wrong method → 405.
 *  5. Body (bounded, 413 `M_TOO_LARGE`): JSON object or 400 `M_BAD_JSON`;
 *     JSON-Schema validation of body/query → 400 `M_MISSING_PARAM` /
 *     `M_INVALID_PARAM` naming the field.
 *  6. Room power check when the route declares `requiresRoomPower`: the acting
 *     user must be joined with at least the required level → else 403.
 *  7. The route's own `authorize` hook (network-side checks), then its handler.
 *  8. Routes marked `audit: true` write one line to the `provisioning.audit`
 *     logger per request: who, what, when, from where, outcome.
 * Errors are always `{errcode, error}`, sent through util/http-answer.ts: a request
 * refused before its body was read (no or wrong token) is answered with
 * `Connection: close` and the body is not read. A room whose state the bridge
 * cannot read (its bot is not in it) is 403 `M_AS_BRIDGE_NOT_IN_ROOM`
 * (state/not-in-room.ts). Tokens are never logged.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { BridgeError } from '../connector/errors';
import { MatrixError } from '../util/matrix-error';
import { bodyUnread, sendError, sendJson } from '../util/http-answer';
import { unavailableStateAnswer } from '../state/not-in-room';
import { secureCompare } from '../util/secure-compare';
import { getLogger, registerSecret, type Logger } from '../logging/logger';
import type { KeyValueRepository } from '../store/store';
import { continueWhenRead, readBody } from '../appservice/body';
import { Router } from '../appservice/router';
import { RateLimiter } from './rate-limiter';
import { DEFAULT_SESSION_TTL_MS, SessionStore, type Session } from './sessions';
import { OpenIdError, OpenIdVerifier, type OpenIdVerifierOptions } from './openid';
import { isInAllowList, parseAllowList, type AllowList } from '../net/ssrf-guard';
import { compileSchema, isValidRoomId, isValidUserId, validateOrThrow, type JsonSchema } from './validation';
import type { ValidateFunction } from 'ajv';
import { Reply, type HttpMethod, type PublicRequest, type ProvisioningRequest, type RouteDefinition } from '../connector/routes';

const DEFAULT_PROVISIONING_PREFIX = '/_matrix/provision';
const MIN_SECRET_LENGTH = 32;
const DEFAULT_MAX_BODY_BYTES = 64 * 1024;

/** Checks a user's standing in a room (the state cache provides one). */
export interface RoomPowerChecker {
  /**
   * `joined`: membership is `join`; `level`: the user's power level;
   * `required`: the level needed to link/unlink (the room's `state_default`,
   * or the level of the bridge's state event type when set).
   */
  userPowerIn(roomId: string, userId: string): Promise<{ joined: boolean; level: number; required: number }>;
}

export { Reply, type PublicRequest, type ProvisioningRequest, type RouteDefinition };

export interface PublicRouteDefinition {
  method: HttpMethod;
  path: string;
  schema?: JsonSchema;
  querySchema?: JsonSchema;
  handler(req: PublicRequest): Promise<unknown>;
}

export interface ProvisioningOptions {
  /** Sessions (and anything else persisted) live here: `store.kv`. */
  store: KeyValueRepository;
  /** Shared secret for server-to-server calls; at least 32 characters. Omit to allow only OpenID sessions. */
  secret?: string;
  /** URL path prefix. Default `/_matrix/provision`. */
  prefix?: string;
  /** Needed by routes with `requiresRoomPower` (and `addLinkRoutes`). */
  powerChecker?: RoomPowerChecker;
  /**
   * Whether a Matrix user may use the bridge (`bridge.permissions.users`). Everyone else is
   * refused (403) on every private route, and gets no session from an OpenID exchange. Default: everyone.
   */
  mayUseBridge?: (userId: string) => boolean;
  rateLimit?: { enabled?: boolean; perUserPerMinute?: number; perIpPerMinute?: number };
  /** OpenID exchange; `false` disables `POST /v1/exchange_openid`. */
  openId?: OpenIdVerifierOptions | false;
  /** Session lifetime, ms. Default 24 h. */
  sessionTtlMs?: number;
  /** Largest request body, bytes. Default 64 KiB. */
  maxBodyBytes?: number;
  /** CIDRs of reverse proxies whose X-Forwarded-For is believed. Default: none. */
  trustedProxies?: readonly string[];
  /** Send permissive CORS headers and answer preflights. Default true. */
  cors?: boolean;
  log?: Logger;
  /** Where audit lines go. Default `getLogger('provisioning.audit')`. */
  auditLog?: Logger;
  /** Clock for sessions and rate limits (tests). */
  now?: () => number;
}

interface CompiledBase {
  name?: string;
  pattern: string;
  method: HttpMethod;
  bodySchema?: ValidateFunction;
  querySchemas: ValidateFunction[];
}
type CompiledRoute = CompiledBase & ({ kind: 'public'; def: PublicRouteDefinition } | { kind: 'private'; def: RouteDefinition });

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const USER_KEYS = ['user_id', 'userId'] as const;
const SENSITIVE_FIELD = /(key|pass|token|secret|auth)/i;
const CORS_HEADERS: Record<string, string> = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Headers': 'Authorization, Content-Type',
  'Access-Control-Allow-Methods': 'GET, POST, PUT, PATCH, DELETE, OPTIONS',
  'Access-Control-Max-Age': '600',
};

let requestCounter = 0;
const REQUEST_PREFIX = randomBytes(3).toString('hex');

export class ProvisioningApi {
  readonly prefix: string;
  readonly sessions: SessionStore;
  private readonly router = new Router<CompiledRoute>();
  private readonly publicNames = new Map<string, CompiledRoute>();
  private readonly secret?: string;
  private readonly powerChecker?: RoomPowerChecker;
  private readonly mayUseBridge: (userId: string) => boolean;
  private readonly userLimiter?: RateLimiter;
  private readonly ipLimiter?: RateLimiter;
  private readonly verifier?: OpenIdVerifier;
  private readonly maxBody: number;
  private readonly proxies: AllowList;
  private readonly cors: boolean;
  private readonly log: Logger;
  private readonly audit: Logger;
  private server?: http.Server;

  constructor(opts: ProvisioningOptions) {
    if (opts.secret !== undefined) {
      if (typeof opts.secret !== 'string' || opts.secret.length < MIN_SECRET_LENGTH) {
        throw new Error(
          `provisioning.secret must be at least ${MIN_SECRET_LENGTH} characters long (it is ${typeof opts.secret === 'string' ? opts.secret.length : 0}); refusing to start the provisioning API`,
        );
      }
      registerSecret(opts.secret);
      this.secret = opts.secret;
    }
    const prefix = (opts.prefix ?? DEFAULT_PROVISIONING_PREFIX).replace(/\/+$/, '');
    if (!prefix.startsWith('/') || /[?#\s]/.test(prefix))
      throw new Error(`provisioning.path_prefix must be an absolute path: ${JSON.stringify(opts.prefix)}`);
    this.prefix = prefix;
    this.powerChecker = opts.powerChecker;
    this.mayUseBridge = opts.mayUseBridge ?? (() => true);
    const now = opts.now ?? Date.now;
    this.sessions = new SessionStore(opts.store, opts.sessionTtlMs ?? DEFAULT_SESSION_TTL_MS, now);
    if (opts.rateLimit?.enabled !== false) {
      this.userLimiter = new RateLimiter({ perMinute: opts.rateLimit?.perUserPerMinute ?? 30, now });
      this.ipLimiter = new RateLimiter({ perMinute: opts.rateLimit?.perIpPerMinute ?? 60, now });
    }
    this.maxBody = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.proxies = parseAllowList(opts.trustedProxies);
    this.cors = opts.cors !== false;
    this.log = opts.log ?? getLogger('provisioning');
    this.audit = opts.auditLog ?? getLogger('provisioning.audit');
    if (opts.openId !== false) this.verifier = new OpenIdVerifier({ log: this.log.child({ module: 'openid' }), ...(opts.openId ?? {}) });
    this.addCoreRoutes();
  }

  /** Add an authenticated route. Throws on a duplicate or on `requiresRoomPower` without a power checker. */
  addRoute(def: RouteDefinition): void {
    if ((def.requiresRoomPower || def.requiresRoomMembership) && !this.powerChecker) {
      throw new Error(`provisioning route ${def.method} ${def.path} needs room power checks but no RoomPowerChecker was given`);
    }
    this.register({ kind: 'private', ...this.compile(def), def });
  }

  /** Add a route reachable without authentication. Only for explicitly named routes (health, exchange_openid). */
  addPublicRoute(name: string, def: PublicRouteDefinition): void {
    if (!/^[a-z0-9_.-]+$/i.test(name)) throw new Error(`public provisioning route needs a name: ${JSON.stringify(name)}`);
    if (this.publicNames.has(name)) throw new Error(`public provisioning route "${name}" already exists`);
    const route: CompiledRoute = { kind: 'public', name, ...this.compile(def), def };
    this.register(route);
    this.publicNames.set(name, route);
  }

  /** Names of the public routes, for diagnostics and tests. */
  publicRoutes(): string[] {
    return [...this.publicNames.keys()];
  }

  /** Admin: create a session for a user (e.g. from an admin-room command). */
  createSession(userId: string): Promise<{ token: string; session: Session }> {
    if (!isValidUserId(userId)) throw new Error(`not a Matrix user ID: ${String(userId)}`);
    return this.sessions.create(userId);
  }

  /** Admin: revoke every session of a user; returns how many were revoked. */
  async revokeUserSessions(userId: string): Promise<number> {
    const n = await this.sessions.revokeAllForUser(userId);
    this.audit.info('provisioning sessions revoked by admin', { user: userId, count: n, at: new Date().toISOString() });
    return n;
  }

  /**
   * Request listener for mounting onto an existing server (the appservice
   * listener): returns false, touching nothing, when the path is outside the
   * prefix; otherwise takes over the request and returns true.
   */
  handle(req: http.IncomingMessage, res: http.ServerResponse): boolean {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    if (path !== this.prefix && !path.startsWith(this.prefix + '/')) return false;
    const sub = path.slice(this.prefix.length) || '/';
    const qs = q === -1 ? '' : url.slice(q + 1);
    void this.dispatch(req, res, sub, qs);
    return true;
  }

  /** Serve on its own port. Resolves with the bound address. */
  listen(port: number, host = '127.0.0.1'): Promise<AddressInfo> {
    if (this.server) return Promise.reject(new Error('provisioning API already listening'));
    const listener = (req: http.IncomingMessage, res: http.ServerResponse) => {
      if (!this.handle(req, res)) this.sendError(req, res, new MatrixError(404, 'M_UNRECOGNIZED', 'Unrecognized request'));
    };
    const server = http.createServer(listener);
    continueWhenRead(server, listener);
    server.keepAliveTimeout = 10_000;
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.removeListener('error', reject);
        const addr = server.address() as AddressInfo;
        this.log.info('Provisioning API listening', { host: addr.address, port: addr.port, prefix: this.prefix });
        resolve(addr);
      });
    });
  }

  /** Stop the own listener (if any) and the OpenID client. */
  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server?.listening) {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
    }
    await this.verifier?.close();
  }

  // ---------------------------------------------------------------- internals

  private compile(def: RouteDefinition | PublicRouteDefinition): CompiledBase {
    const method = def.method.toUpperCase() as HttpMethod;
    if (!['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].includes(method)) throw new Error(`unsupported method ${def.method}`);
    if (!def.path.startsWith('/')) throw new Error(`provisioning route path must start with "/": ${def.path}`);
    const pattern = def.path.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, ':$1');
    const querySchemas: ValidateFunction[] = [];
    let bodySchema: ValidateFunction | undefined;
    if (def.schema) {
      if (BODY_METHODS.has(method) && method !== 'DELETE') bodySchema = compileSchema(def.schema, 'body');
      else querySchemas.push(compileSchema(def.schema, 'query'));
    }
    if (def.querySchema) querySchemas.push(compileSchema(def.querySchema, 'query'));
    return { pattern, method, bodySchema, querySchemas };
  }

  private register(route: CompiledRoute): void {
    this.router.add(route.method, route.pattern, route);
  }

  private clientIp(req: http.IncomingMessage): string {
    const peer = normaliseIp(req.socket.remoteAddress ?? '');
    if (!this.proxies.ranges.length || !isInAllowList(peer, this.proxies)) return peer;
    // The peer is a trusted proxy: walk X-Forwarded-For from the right to the first untrusted hop.
    const xff = req.headers['x-forwarded-for'];
    const hops = (Array.isArray(xff) ? xff.join(',') : (xff ?? ''))
      .split(',')
      .map((s) => normaliseIp(s.trim()))
      .filter(Boolean);
    for (let i = hops.length - 1; i >= 0; i--) {
      if (!isInAllowList(hops[i], this.proxies) || i === 0) return hops[i];
    }
    return peer;
  }

  private takeIp(ip: string): void {
    const d = this.ipLimiter?.take(ip);
    if (d && !d.allowed) throw limited(d.retryAfterMs);
  }

  private async dispatch(req: http.IncomingMessage, res: http.ServerResponse, path: string, qs: string): Promise<void> {
    const requestId = `${REQUEST_PREFIX}-${(++requestCounter).toString(36)}`;
    const log = this.log.child({ requestId });
    const method = (req.method ?? 'GET').toUpperCase();
    let ip: string;
    let auditCtx: { route: CompiledRoute; preq: ProvisioningRequest } | undefined;
    try {
      ip = this.clientIp(req);
      if (method === 'OPTIONS' && this.cors) {
        res.writeHead(204, { ...CORS_HEADERS, 'Content-Length': '0', ...(bodyUnread(req) ? { Connection: 'close' } : {}) });
        res.end();
        return;
      }
      const match = this.router.match(method, path);
      const route = match?.handler;

      // Public routes: only an exact method+path match of a named public route.
      if (route && route.kind === 'public') {
        this.takeIp(ip);
        const { body, query } = await this.readInput(req, method, qs);
        const preq: PublicRequest = { body, query, params: match.params, ip, requestId, log };
        this.validate(route, preq);
        const result = await route.def.handler(preq);
        this.reply(req, res, result);
        return;
      }

      // Everything else is authenticated before routing.
      const token = bearer(req.headers.authorization);
      if (token === undefined) {
        this.takeIp(ip);
        throw new MatrixError(401, 'M_MISSING_TOKEN', 'Missing access token: send Authorization: Bearer <token>');
      }
      let auth: 'secret' | 'session';
      let session: Session | undefined;
      if (this.secret !== undefined && secureCompare(token, this.secret)) {
        auth = 'secret';
      } else {
        this.takeIp(ip);
        session = await this.sessions.lookup(token);
        if (!session) throw new MatrixError(403, 'M_UNKNOWN_TOKEN', 'Unknown or expired access token');
        auth = 'session';
      }

      if (!match) throw new MatrixError(404, 'M_UNRECOGNIZED', 'Unrecognized request');
      if (!route) throw methodNotAllowed(match.allowed);

      const def = route.def;
      // Until the acting user is known, failures of audited routes are audited under the session user (or "unknown").
      if (def.audit) {
        auditCtx = {
          route,
          preq: { userId: session?.userId ?? '(unknown)', auth, session, body: {}, query: {}, params: match.params, ip, requestId, log },
        };
      }
      const { body, query } = await this.readInput(req, method, qs);
      const userId = this.actingUser(auth, session, body, query);
      if (!this.mayUseBridge(userId)) throw new MatrixError(403, 'M_FORBIDDEN', `${userId} is not allowed to use this bridge`);
      const preq: ProvisioningRequest = {
        userId,
        auth,
        session,
        body,
        query,
        params: match.params,
        ip,
        requestId,
        log: log.child({ userId }),
      };
      if (def.audit) auditCtx = { route, preq };

      const ud = this.userLimiter?.take(userId);
      if (ud && !ud.allowed) throw limited(ud.retryAfterMs);

      this.validate(route, preq);
      if (def.requiresRoomPower) await this.checkPower(def.requiresRoomPower(preq), userId, true, def.powerErrcode);
      else if (def.requiresRoomMembership) await this.checkPower(def.requiresRoomMembership(preq), userId, false);
      if (def.authorize) await def.authorize(preq);
      const result = await def.handler(preq);
      const status = this.reply(req, res, result);
      if (auditCtx) this.writeAudit(auditCtx.route, auditCtx.preq, status);
    } catch (err) {
      const merr = this.toMatrixError(err, log);
      this.sendError(req, res, merr);
      if (auditCtx) this.writeAudit(auditCtx.route, auditCtx.preq, merr.status, merr.errcode);
    }
  }

  private async readInput(
    req: http.IncomingMessage,
    method: string,
    qs: string,
  ): Promise<{ body: Record<string, unknown>; query: Record<string, string> }> {
    const query: Record<string, string> = {};
    for (const [k, v] of new URLSearchParams(qs)) if (!(k in query)) query[k] = v;
    delete query.access_token; // never accepted as auth, never passed on
    let body: Record<string, unknown> = {};
    if (BODY_METHODS.has(method)) {
      const raw = await readBody(req, this.maxBody);
      if (raw.length > 0) {
        let parsed: unknown;
        try {
          parsed = JSON.parse(raw.toString('utf8'));
        } catch {
          throw new MatrixError(400, 'M_BAD_JSON', 'Request body is not valid JSON');
        }
        if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
          throw new MatrixError(400, 'M_BAD_JSON', 'Request body must be a JSON object');
        }
        body = parsed as Record<string, unknown>;
      }
    }
    // A body on a GET is not read: the answer closes the connection instead (util/http-answer.ts).
    return { body, query };
  }

  private actingUser(
    auth: 'secret' | 'session',
    session: Session | undefined,
    body: Record<string, unknown>,
    query: Record<string, string>,
  ): string {
    const given = new Set<unknown>();
    for (const k of USER_KEYS) {
      if (k in query) given.add(query[k]);
      if (k in body) given.add(body[k]);
      delete query[k];
      delete body[k];
    }
    if (given.size > 1) throw new MatrixError(400, 'M_INVALID_PARAM', 'Conflicting user_id values', { field: 'user_id' });
    const claimed = given.values().next().value;
    if (auth === 'session') {
      if (claimed !== undefined && claimed !== session!.userId) {
        throw new MatrixError(403, 'M_FORBIDDEN', 'A session can only act for its own user');
      }
      return session!.userId;
    }
    if (claimed === undefined)
      throw new MatrixError(400, 'M_MISSING_PARAM', 'Missing field: user_id (the user the request acts for)', { field: 'user_id' });
    if (!isValidUserId(claimed))
      throw new MatrixError(400, 'M_INVALID_PARAM', 'Invalid field user_id: not a Matrix user ID', { field: 'user_id' });
    return claimed;
  }

  private validate(route: CompiledRoute, preq: PublicRequest): void {
    if (route.bodySchema) validateOrThrow(route.bodySchema, preq.body, 'body');
    for (const q of route.querySchemas) validateOrThrow(q, preq.query, 'query');
  }

  private async checkPower(roomId: string, userId: string, needLevel: boolean, errcode = 'M_FORBIDDEN'): Promise<void> {
    if (!isValidRoomId(roomId)) throw new MatrixError(400, 'M_INVALID_PARAM', 'Invalid room ID', { field: 'room_id' });
    const p = await this.powerChecker!.userPowerIn(roomId, userId);
    if (!p.joined) throw new MatrixError(403, 'M_FORBIDDEN', `${userId} is not joined to ${roomId}`);
    if (needLevel && !(p.level >= p.required)) {
      throw new MatrixError(403, errcode, `${userId} has power level ${p.level} in ${roomId}; ${p.required} is required`, {
        required_power_level: p.required,
      });
    }
  }

  private toMatrixError(err: unknown, log: Logger): MatrixError {
    if (err instanceof MatrixError) return err;
    // A room whose state the bridge cannot read (its bot is not in it): the caller's to fix, in words.
    const unavailable = unavailableStateAnswer(err);
    if (unavailable) return unavailable;
    // A connector's refusal (channel not found, already linked…) is the caller's problem, told in words.
    if (err instanceof BridgeError) return new MatrixError(400, 'M_UNKNOWN', err.userMessage);
    log.error('Provisioning handler failed', { error: err instanceof Error ? err : String(err) });
    return new MatrixError(500, 'M_UNKNOWN', 'Internal server error');
  }

  private reply(req: http.IncomingMessage, res: http.ServerResponse, result: unknown): number {
    if (result instanceof Reply) {
      sendJson(req, res, result.status, result.body, { ...this.commonHeaders(), ...result.headers });
      return result.status;
    }
    sendJson(req, res, 200, result === undefined ? {} : result, this.commonHeaders());
    return 200;
  }

  private sendError(req: http.IncomingMessage, res: http.ServerResponse, error: MatrixError): void {
    const allow = (error as MatrixError & { allow?: string[] }).allow;
    sendError(req, res, error, { ...this.commonHeaders(), ...(allow ? { Allow: allow.join(', ') } : {}) });
  }

  private commonHeaders(): Record<string, string> {
    return this.cors ? { 'Cache-Control': 'no-store', 'Access-Control-Allow-Origin': '*' } : { 'Cache-Control': 'no-store' };
  }

  private writeAudit(route: CompiledRoute, preq: ProvisioningRequest, status: number, errcode?: string): void {
    this.audit.info(`provisioning ${route.method} ${route.pattern} by ${preq.userId}: ${errcode ?? 'ok'}`, {
      at: new Date().toISOString(),
      user: preq.userId,
      auth: preq.auth,
      session: preq.session?.id.slice(0, 12),
      method: route.method,
      route: route.pattern,
      params: preq.params,
      query: safeFields(preq.query),
      body: safeFields(preq.body),
      ip: preq.ip,
      requestId: preq.requestId,
      outcome: errcode ? 'error' : 'ok',
      status,
      ...(errcode ? { errcode } : {}),
    });
  }

  private addCoreRoutes(): void {
    this.addPublicRoute('health', { method: 'GET', path: '/health', handler: async () => ({ status: 'ok' }) });

    if (this.verifier) {
      const verifier = this.verifier;
      this.addPublicRoute('exchange_openid', {
        method: 'POST',
        path: '/v1/exchange_openid',
        schema: {
          type: 'object',
          required: ['matrixServer', 'openIdToken'],
          properties: {
            matrixServer: { type: 'string', minLength: 1, maxLength: 255 },
            openIdToken: { type: 'string', minLength: 1, maxLength: 4096 },
          },
        },
        handler: async (req) => {
          const server = req.body.matrixServer as string;
          let userId: string;
          try {
            userId = await verifier.verify(server, req.body.openIdToken as string);
          } catch (err) {
            throw openIdFailure(err, server, req);
          }
          if (!this.mayUseBridge(userId)) throw new MatrixError(403, 'M_FORBIDDEN', `${userId} is not allowed to use this bridge`);
          const { token, session } = await this.sessions.create(userId);
          this.audit.info(`provisioning session created for ${userId}`, {
            at: new Date().toISOString(),
            user: userId,
            route: '/v1/exchange_openid',
            ip: req.ip,
            requestId: req.requestId,
            session: session.id.slice(0, 12),
            matrixServer: server,
            outcome: 'ok',
          });
          return { token, user_id: userId, expires_at: session.expiresAt, expires_in_ms: session.expiresAt - session.createdAt };
        },
      });
    }

    this.addRoute({
      method: 'GET',
      path: '/v1/whoami',
      handler: async (req) => ({
        user_id: req.userId,
        auth: req.auth,
        ...(req.session ? { expires_at: req.session.expiresAt } : {}),
      }),
    });

    this.addRoute({
      method: 'GET',
      path: '/v1/session',
      handler: async (req) => {
        if (!req.session) throw noSession();
        return { user_id: req.userId, created_at: req.session.createdAt, expires_at: req.session.expiresAt };
      },
    });

    this.addRoute({
      method: 'DELETE',
      path: '/v1/session',
      handler: async (req) => {
        if (!req.session) throw noSession();
        await this.sessions.revoke(req.session.id);
        this.audit.info(`provisioning session revoked by ${req.userId}`, {
          at: new Date().toISOString(),
          user: req.userId,
          route: '/v1/session',
          ip: req.ip,
          requestId: req.requestId,
          session: req.session.id.slice(0, 12),
          outcome: 'ok',
        });
        return {};
      },
    });

    this.addRoute({
      method: 'DELETE',
      path: '/v1/session/all',
      handler: async (req) => {
        if (!req.session) throw noSession();
        const revoked = await this.sessions.revokeAllForUser(req.userId);
        this.audit.info(`all provisioning sessions of ${req.userId} revoked by the user`, {
          at: new Date().toISOString(),
          user: req.userId,
          route: '/v1/session/all',
          ip: req.ip,
          requestId: req.requestId,
          count: revoked,
          outcome: 'ok',
        });
        return { revoked };
      },
    });
  }
}

// ------------------------------------------------------------------ helpers

function bearer(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m ? m[1] : undefined;
}

function normaliseIp(ip: string): string {
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}

function limited(retryAfterMs: number): MatrixError {
  return new MatrixError(429, 'M_LIMIT_EXCEEDED', 'Too many requests', { retry_after_ms: retryAfterMs });
}

function methodNotAllowed(allowed: string[]): MatrixError {
  const err = new MatrixError(405, 'M_UNRECOGNIZED', 'Method not allowed');
  (err as MatrixError & { allow?: string[] }).allow = allowed;
  return err;
}

function noSession(): MatrixError {
  return new MatrixError(400, 'M_INVALID_PARAM', 'Authenticated with the shared secret: there is no session');
}

/** Scalar fields only, sensitive-looking names dropped: what an audit line may show of a body/query. */
function safeFields(obj: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (SENSITIVE_FIELD.test(k)) {
      out[k] = '<omitted>';
      continue;
    }
    if (v === null || ['string', 'number', 'boolean'].includes(typeof v))
      out[k] = typeof v === 'string' && v.length > 200 ? `${v.slice(0, 200)}…` : v;
  }
  return out;
}

function openIdFailure(err: unknown, server: string, req: PublicRequest): MatrixError {
  if (!(err instanceof OpenIdError)) {
    req.log.error('OpenID verification failed unexpectedly', { error: err instanceof Error ? err : String(err) });
    return new MatrixError(502, 'M_UNKNOWN', 'Could not verify the OpenID token');
  }
  req.log.warn('OpenID exchange refused', { matrixServer: server, reason: err.reason, detail: err.message, ip: req.ip });
  switch (err.reason) {
    case 'bad_server_name':
      return new MatrixError(400, 'M_INVALID_PARAM', 'Invalid field matrixServer: not a valid server name', { field: 'matrixServer' });
    case 'token_rejected':
      return new MatrixError(403, 'M_UNKNOWN_TOKEN', 'The homeserver did not accept the OpenID token');
    case 'foreign_user':
      return new MatrixError(403, 'M_FORBIDDEN', 'The OpenID token belongs to a user of another server');
    case 'forbidden_address':
      return new MatrixError(403, 'M_FORBIDDEN', 'The homeserver address is not allowed');
    case 'redirect':
    case 'too_large':
    case 'bad_response':
      return new MatrixError(502, 'M_UNKNOWN', `The homeserver gave an unusable answer (${err.reason})`);
    case 'timeout':
      return new MatrixError(504, 'M_UNKNOWN', 'The homeserver did not answer in time');
    default:
      return new MatrixError(502, 'M_UNKNOWN', 'Could not reach the homeserver');
  }
}
