// The HTTP front: request pipeline (count → read body → latency/faults → route →
// auth → rate limit → handler → JSON reply) and the HomeserverEmulator class that
// wires the stores together and exposes the test-facing API.
import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { accountRoutes } from './account-routes';
import { AppserviceRegistry, RegistrationLike } from './appservices';
import { appserviceRoutes } from './appservice-routes';
import { AsQueries } from './as-queries';
import { Ctx, Handler, RawReply, Reply, Requester, RouteDef } from './context';
import type { ResolvedConfig } from './config';
import type { Core, EmulatorOptions } from './core';
import { Ephemeral } from './ephemeral';
import { MatrixError, limitExceeded } from './errors';
import { FaultInjector, FaultKind, RequestInfo } from './faults';
import { isInterestedInEvent } from './interest';
import { MediaStore } from './media';
import { mediaRoutes } from './media-routes';
import { Metrics } from './metrics';
import { Outbound } from './outbound';
import { profileRules, type ProfileRules } from './profile';
import { Pusher } from './pusher';
import { RateLimiter, RateLimitConfig } from './ratelimit';
import { roomRoutes } from './room-routes';
import { EventRecord, Room, RoomStore, formatEvent } from './rooms';
import type { SpecEvent } from '../spec-json';
import { Router } from './router';
import { FIXTURE_HEADER, TestUser } from './test-user';
import { UserStore } from './users';
import { sleep, sleepUntil } from './util';

const MAX_JSON_BODY = 10 * 1024 * 1024;

type Route = RouteDef;

export class HomeserverEmulator implements Core {
  readonly serverName: string;
  readonly config: ResolvedConfig;
  readonly users: UserStore;
  readonly rooms: RoomStore;
  readonly appservices: AppserviceRegistry;
  readonly pusher: Pusher;
  readonly outbound: Outbound;
  /** What the emulated release does differently (EmulatorOptions.profile). */
  readonly release: ProfileRules;
  readonly media: MediaStore;
  readonly queries: AsQueries;
  readonly ephemeral: Ephemeral;
  readonly txns = new Map<string, unknown>();
  readonly faults = new FaultInjector();
  readonly metrics = new Metrics();
  readonly rateLimiter: RateLimiter;

  private router = new Router<Handler>();
  private routes = new Map<Handler, Route>();
  private server: http.Server;
  private sockets = new Set<Socket>();
  private stopCtl = new AbortController();
  private _url = '';
  private port = 0;
  private stopped = false;
  /** Bumped by restart(): requests that arrived before it never answer. */
  private generation = 0;
  private down = false;
  /** Whether goDown() paused the pusher (and comeBack() must resume it). */
  private downPausedPusher = false;

  private constructor(opts: EmulatorOptions) {
    this.serverName = opts.serverName ?? 'localhost';
    this.release = profileRules(opts.profile);
    this.outbound = new Outbound(this.release.legacyAppserviceCalls);
    const pushTimeoutMs = opts.pushTimeoutMs ?? 5000;
    this.config = {
      serverName: this.serverName,
      queryTimeoutMs: opts.queryTimeoutMs ?? 3000,
      queryRetries: opts.queryRetries ?? 2,
      pingTimeoutMs: opts.pingTimeoutMs ?? pushTimeoutMs,
      pushTokenInQuery: opts.pushTokenInQuery ?? false,
      legacyPushFallback: opts.legacyPushFallback ?? true,
      maxUploadBytes: opts.maxUploadBytes ?? 10 * 1024 * 1024,
    };
    this.users = new UserStore(this.serverName);
    this.appservices = new AppserviceRegistry(this.serverName);
    this.pusher = new Pusher(
      this.outbound,
      {
        retryBaseMs: opts.pushRetryBaseMs ?? 50,
        retryMaxMs: opts.pushRetryMaxMs ?? 2000,
        timeoutMs: pushTimeoutMs,
        maxEventsPerTxn: opts.maxEventsPerTxn ?? 50,
        maxEphemeralPerTxn: 100,
        tokenInQuery: this.config.pushTokenInQuery,
        legacyFallback: this.config.legacyPushFallback,
      },
      (id) => this.appservices.get(id),
    );
    this.rooms = new RoomStore(this.serverName, { onEvent: (room, rec) => this.dispatch(room, rec) });
    this.media = new MediaStore(this.serverName, this.config.maxUploadBytes, opts.legacyMediaFrozen ?? this.release.legacyMediaFrozen);
    this.queries = new AsQueries(this.appservices, this.users, this.rooms, this.outbound, this.config);
    this.ephemeral = new Ephemeral(this.appservices, this.pusher);
    this.rateLimiter = new RateLimiter({ enabled: false, perSecond: 10, burst: 20, ...opts.rateLimit });
    for (const r of [...accountRoutes(this), ...roomRoutes(this), ...mediaRoutes(this), ...appserviceRoutes(this)]) {
      if (this.release.absent.has(r.key)) continue;
      this.routes.set(r.handler, r);
      this.router.add({ method: r.method, paths: r.paths, key: r.key, handler: r.handler });
    }
    for (const reg of opts.registrations ?? []) this.addRegistration(reg);
    this.server = http.createServer({ keepAliveTimeout: 30_000, noDelay: true }, (req, res) => void this.handle(req, res));
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  static async start(opts: EmulatorOptions = {}): Promise<HomeserverEmulator> {
    const hs = new HomeserverEmulator(opts);
    await new Promise<void>((resolve, reject) => {
      hs.server.once('error', reject);
      hs.server.listen(0, '127.0.0.1', () => resolve());
    });
    const addr = hs.server.address() as AddressInfo;
    hs.port = addr.port;
    hs._url = `http://127.0.0.1:${addr.port}`;
    return hs;
  }

  /**
   * Restart the homeserver, as `systemctl restart matrix-synapse` does: the listener closes and
   * every connection is cut (requests in flight get no answer), it stays down for `downtimeMs`
   * (connections are refused), then it listens again on the same port, with what Synapse keeps
   * in its database (users, rooms, events, tokens, media, stored appservice transactions) and
   * without what it kept in memory:
   * - appservice delivery: see `Pusher.restart` (a transaction not yet acknowledged is sent
   *   again, events not yet in one are lost; with `resetTxnIds`, SQLite's transaction numbering
   *   starts over, from 1 when every transaction had been acknowledged: synapse#14556);
   * - the transaction-ID cache of appservice users' sends (Synapse 1.67 persists send txnIds
   *   only per access token, which appservice requests do not have): a send retried after the
   *   restart makes a second event;
   * - typing notifications and rate-limit counters.
   */
  async restart(opts: { resetTxnIds?: boolean; downtimeMs?: number } = {}): Promise<void> {
    if (this.stopped) throw new Error('the emulator is stopped');
    this.generation++;
    this.stopCtl.abort();
    this.stopCtl = new AbortController();
    this.pusher.restart({ resetTxnIds: opts.resetTxnIds === true });
    this.outbound.reset();
    this.ephemeral.reset();
    this.rateLimiter.reset();
    for (const key of [...this.txns.keys()]) if (key.startsWith('as:')) this.txns.delete(key);
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      for (const s of this.sockets) s.destroy();
    });
    await sleep(opts.downtimeMs ?? 50);
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.port, '127.0.0.1', () => {
        this.server.removeListener('error', reject);
        resolve();
      });
    });
    this.pusher.resumeAfterRestart();
  }

  /** http://127.0.0.1:PORT */
  get url(): string {
    return this._url;
  }

  /** Validate and install a registration; its sender_localpart user exists from now on. */
  addRegistration(reg: RegistrationLike): void {
    const as = this.appservices.add(reg);
    const local = as.senderUserId.slice(1, as.senderUserId.indexOf(':'));
    if (!this.users.exists(as.senderUserId)) this.users.create(local, { appserviceId: as.id });
  }

  /**
   * Go down as a restarting Synapse does: the listener closes, so connections are refused
   * (ECONNREFUSED), open ones are dropped mid-request, and nothing is pushed to appservices. Rooms,
   * users and queued pushes are kept for `comeBack()`.
   */
  async goDown(): Promise<void> {
    if (this.down || this.stopped) return;
    this.down = true;
    this.downPausedPusher = !this.pusher.isPaused;
    if (this.downPausedPusher) this.pusher.pause();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      for (const s of this.sockets) s.destroy();
    });
  }

  /** Listen again on the same port (the URL is unchanged) and resume pushing. */
  async comeBack(): Promise<void> {
    if (!this.down || this.stopped) return;
    const port = Number(new URL(this._url).port);
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.down = false;
    if (this.downPausedPusher) this.pusher.resume();
  }

  /** Between goDown() and comeBack(). */
  get isDown(): boolean {
    return this.down;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.stopCtl.abort();
    this.pusher.stop();
    this.ephemeral.stop();
    this.outbound.destroy();
    if (this.down) return;
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      for (const s of this.sockets) s.destroy();
    });
  }

  // ---- fixtures ---------------------------------------------------------------

  /** An ordinary (non-appservice) local user with a logged-in device, for playing community members. */
  async registerUser(localpart: string, opts: { displayname?: string } = {}): Promise<TestUser> {
    this.users.validateLocalpart(localpart);
    const userId = this.users.userIdFor(localpart);
    if (this.appservices.exclusiveUserOwners(userId).length) {
      throw new Error(`${userId} is inside an appservice's exclusive namespace; pick another localpart`);
    }
    if (this.users.exists(userId)) throw new Error(`${userId} already exists`);
    this.users.create(localpart, { displayname: opts.displayname });
    const { accessToken, deviceId } = this.users.login(userId);
    return new TestUser(this.url, userId, accessToken, deviceId);
  }

  /** A TestUser handle acting with an appservice's as_token (optionally asserting a ghost). */
  appserviceClient(asId: string, userId?: string): TestUser {
    const as = this.appservices.get(asId);
    if (!as) throw new Error(`unknown appservice ${asId}`);
    return new TestUser(this.url, userId ?? as.senderUserId, as.asToken, undefined, userId);
  }

  // ---- introspection ----------------------------------------------------------

  /** Requests from the system under test (TestUser traffic excluded unless asked). See router.ts for key format. */
  requestCount(endpoint?: string, opts: { includeTestClients?: boolean } = {}): number {
    return this.metrics.count(endpoint, opts.includeTestClients);
  }

  requestCounts(opts: { includeTestClients?: boolean } = {}): Record<string, number> {
    return this.metrics.counts(opts.includeTestClients);
  }

  peakConcurrency(endpoint?: string): number {
    return this.metrics.peak(endpoint);
  }

  inFlight(endpoint?: string): number {
    return this.metrics.inFlight(endpoint);
  }

  resetCounters(): void {
    this.metrics.reset();
  }

  roomState(roomId: string): SpecEvent[] {
    const room = this.rooms.get(roomId);
    return room ? room.currentState().map((r) => formatEvent(r)) : [];
  }

  roomTimeline(roomId: string): SpecEvent[] {
    const room = this.rooms.get(roomId);
    return room ? room.timeline.map((r) => formatEvent(r)) : [];
  }

  stateEvent(roomId: string, type: string, stateKey = ''): SpecEvent | undefined {
    const rec = this.rooms.get(roomId)?.getState(type, stateKey);
    return rec ? formatEvent(rec) : undefined;
  }

  membership(roomId: string, userId: string): string | undefined {
    return this.rooms.get(roomId)?.membership(userId);
  }

  joinedMembers(roomId: string): string[] {
    return Array.from(this.rooms.get(roomId)?.joined ?? []);
  }

  event(eventId: string): SpecEvent | undefined {
    const hit = this.rooms.event(eventId);
    return hit ? formatEvent(hit.rec) : undefined;
  }

  resolveAlias(alias: string): string | undefined {
    return this.rooms.resolveAlias(alias);
  }

  userExists(userId: string): boolean {
    return this.users.exists(userId);
  }

  profile(userId: string): { displayname?: string; avatar_url?: string } | undefined {
    const a = this.users.get(userId);
    return a ? { displayname: a.displayname, avatar_url: a.avatar_url } : undefined;
  }

  /** Bytes stored for an mxc:// URI. */
  mediaBytes(mxc: string): Buffer | undefined {
    return this.media.bytes(mxc);
  }

  /** Freeze (default) or unfreeze the legacy unauthenticated media routes; freezing applies to media created from now on. */
  setLegacyMediaFrozen(frozen: boolean): void {
    this.media.setLegacyFrozen(frozen);
  }

  setMaxUploadBytes(n: number): void {
    this.media.maxUploadBytes = n;
  }

  /** Enable/tune per-user rate limiting (sender bots are exempt; ghosts only when rate_limited isn't false). */
  setRateLimit(cfg: Partial<RateLimitConfig>): void {
    this.rateLimiter.config = { ...this.rateLimiter.config, ...cfg };
    this.rateLimiter.reset();
  }

  // ---- event fan-out ----------------------------------------------------------

  private dispatch(room: Room, rec: EventRecord): void {
    for (const as of this.appservices.all()) {
      if (as.url && isInterestedInEvent(as, room, rec)) this.pusher.enqueueEvent(as, rec);
    }
  }

  // ---- HTTP pipeline ----------------------------------------------------------

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    // Emulated latency counts from here, as a client would measure it from the request reaching the server.
    const arrived = performance.now();
    const method = req.method ?? 'GET';
    const rawUrl = req.url ?? '/';
    const qi = rawUrl.indexOf('?');
    const path = qi < 0 ? rawUrl : rawUrl.slice(0, qi);
    const query = new URLSearchParams(qi < 0 ? '' : rawUrl.slice(qi + 1));
    const fromTestClient = req.headers[FIXTURE_HEADER] === '1';
    const generation = this.generation;

    let segments: string[] | undefined;
    try {
      segments = path.split('/').slice(1).map(decodeURIComponent);
    } catch {
      segments = undefined;
    }
    const m = segments ? this.router.match(method, segments) : undefined;
    const match = m && m !== 'method' ? m : undefined;
    const key = match ? match.route.key : `${method} <unrecognized>`;
    const end = this.metrics.begin(key, fromTestClient);
    res.once('close', end);
    let respondAt = 0;

    try {
      const route = match ? this.routes.get(match.route.handler)! : undefined;
      const rawBody = await this.readBody(req, route?.body === 'raw' ? this.media.maxUploadBytes : MAX_JSON_BODY);

      const info: RequestInfo = { method, key, path, query, headers: req.headers, fromTestClient };
      // Emulated latency models the network: the request reaches the "server" half-way
      // through it and the answer leaves at the end, so the emulator's own processing
      // time (routing, JSON) is inside the window rather than added on top of it.
      const latency = this.faults.latencyFor(info);
      if (latency > 0) {
        respondAt = arrived + latency;
        await sleepUntil(arrived + latency / 2, this.stopCtl.signal);
      }
      const fault = this.faults.take(info);
      if (fault && (await this.applyFault(fault, req, res))) return;
      if (this.stopped || generation !== this.generation) return void req.socket.destroy();

      if (!match || !route) throw this.release.unknownEndpoint(m === 'method');
      const ctx = new Ctx(method, path, key, match.params, query, req.headers);
      if (route.auth !== 'none')
        ctx.requesterOrUndefined = this.authenticate(
          req,
          query,
          route.auth === 'optional',
          fromTestClient,
          route.identityAssertion !== false,
        );
      if (route.rateLimited && this.rateLimiter.config.enabled && ctx.requesterOrUndefined) this.checkRateLimit(ctx.requesterOrUndefined);
      if (rawBody === 'too-large') throw new MatrixError(413, 'M_TOO_LARGE', 'Request body too large');
      const bodyMode = route.body ?? (method === 'PUT' || method === 'POST' ? 'json' : 'none');
      ctx.bodyLength = rawBody.length;
      if (bodyMode === 'raw') ctx.raw = rawBody;
      else if (bodyMode === 'json') ctx.body = parseJson(rawBody, !!route.bodyRequired);
      else ctx.body = {};
      const result = await route.handler(ctx);
      await this.reply(res, result, respondAt);
    } catch (e) {
      if (e instanceof MatrixError) await this.sendJson(res, e.status, e.toJSON(), e.headers, respondAt);
      else
        await this.sendJson(
          res,
          500,
          { errcode: 'M_UNKNOWN', error: `Internal server error: ${(e as Error)?.message ?? e}` },
          {},
          respondAt,
        );
    }
  }

  private readBody(req: http.IncomingMessage, limit: number): Promise<Buffer | 'too-large'> {
    if (req.headers['content-length'] === '0' || (req.headers['content-length'] === undefined && !req.headers['transfer-encoding'])) {
      req.resume();
      return Promise.resolve(Buffer.alloc(0));
    }
    return new Promise((resolve) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let over = false;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size > limit + 1) over = true;
        else chunks.push(c);
      });
      req.on('end', () => resolve(over ? 'too-large' : Buffer.concat(chunks)));
      req.on('error', () => resolve(Buffer.alloc(0)));
    });
  }

  /** Returns true when the fault fully handled the request. */
  private async applyFault(f: FaultKind, req: http.IncomingMessage, res: http.ServerResponse): Promise<boolean> {
    switch (f.kind) {
      case 'rateLimit': {
        const body: Record<string, unknown> = { errcode: 'M_LIMIT_EXCEEDED', error: 'Too Many Requests' };
        if (!f.omitBodyField) body.retry_after_ms = f.retryAfterMs;
        const headers: Record<string, string> = f.omitHeader
          ? {}
          : { 'Retry-After': String(Math.max(1, Math.ceil(f.retryAfterMs / 1000))) };
        await this.sendJson(res, 429, body, headers);
        return true;
      }
      case 'error':
        await this.sendJson(res, f.status, { errcode: f.errcode, error: f.message ?? `Injected ${f.status}` });
        return true;
      case 'timeout':
        if (f.until) await Promise.race([f.until, sleep(2 ** 31 - 1, this.stopCtl.signal)]);
        else await sleep(f.holdMs ?? 2 ** 31 - 1, this.stopCtl.signal);
        if (f.then === 'continue' && !this.stopped) return false;
        req.socket.destroy();
        return true;
      case 'reset':
        req.socket.destroy();
        return true;
    }
  }

  private authenticate(
    req: http.IncomingMessage,
    query: URLSearchParams,
    optional: boolean,
    fromTestClient: boolean,
    assertion: boolean,
  ): Requester | undefined {
    let token: string | undefined;
    const auth = req.headers.authorization;
    if (auth) {
      const mm = /^Bearer\s+(.+)$/i.exec(auth);
      if (!mm) throw new MatrixError(401, 'M_MISSING_TOKEN', 'Invalid Authorization header');
      token = mm[1].trim();
    } else {
      token = query.get('access_token') ?? undefined;
    }
    if (!token) {
      if (optional) return undefined;
      throw new MatrixError(401, 'M_MISSING_TOKEN', 'Missing access token');
    }
    const as = this.appservices.forToken(token);
    if (as) {
      const asserted = assertion ? query.get('user_id') : null;
      const userId = asserted ?? as.senderUserId;
      if (userId !== as.senderUserId) {
        if (!as.isUserInNamespace(userId))
          throw new MatrixError(403, 'M_FORBIDDEN', `Application service cannot masquerade as this user (${userId}).`);
        if (!this.users.exists(userId))
          throw new MatrixError(403, 'M_FORBIDDEN', `Application service has not registered this user (${userId})`);
      }
      const deviceId = assertion ? (query.get('device_id') ?? query.get('org.matrix.msc3202.device_id') ?? undefined) : undefined;
      if (deviceId !== undefined && !this.users.get(userId)?.devices.has(deviceId)) {
        throw new MatrixError(400, 'M_UNKNOWN_DEVICE', 'Unknown device for user');
      }
      return { userId, deviceId, appservice: as, accessToken: token, fromTestClient };
    }
    const info = this.users.resolveToken(token);
    if (!info) throw new MatrixError(401, 'M_UNKNOWN_TOKEN', 'Invalid access token passed.', { soft_logout: false });
    return { userId: info.userId, deviceId: info.deviceId, accessToken: token, fromTestClient };
  }

  private checkRateLimit(r: Requester): void {
    // Synapse: appservices with rate_limited: false are exempt; the sender bot is never limited here.
    if (r.appservice && (!r.appservice.rateLimited || r.userId === r.appservice.senderUserId)) return;
    const wait = this.rateLimiter.take(r.userId);
    if (wait > 0) throw limitExceeded(wait);
  }

  /** Answers `result`; with `respondAt` (a performance.now() time) the answer is held until then. */
  private async reply(res: http.ServerResponse, result: unknown, respondAt = 0): Promise<void> {
    if (result instanceof RawReply) {
      await this.write(res, 200, { 'Content-Type': result.contentType, ...result.headers }, result.data, respondAt);
    } else if (result instanceof Reply) {
      await this.sendJson(res, result.status, result.body, result.headers, respondAt);
    } else {
      await this.sendJson(res, 200, result ?? {}, {}, respondAt);
    }
  }

  private async sendJson(
    res: http.ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
    respondAt = 0,
  ): Promise<void> {
    if (res.destroyed || res.headersSent) return;
    await this.write(res, status, { 'Content-Type': 'application/json', ...headers }, Buffer.from(JSON.stringify(body)), respondAt);
  }

  private async write(
    res: http.ServerResponse,
    status: number,
    headers: Record<string, string>,
    data: Buffer,
    respondAt: number,
  ): Promise<void> {
    if (respondAt > 0) await sleepUntil(respondAt, this.stopCtl.signal);
    if (res.destroyed || res.headersSent) return;
    res.writeHead(status, { ...headers, 'Content-Length': String(data.length) });
    res.end(data);
  }
}

function parseJson(raw: Buffer, required: boolean): Record<string, unknown> {
  if (raw.length === 0) {
    if (required) throw new MatrixError(400, 'M_NOT_JSON', 'Content not JSON.');
    return {};
  }
  let v: unknown;
  try {
    v = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new MatrixError(400, 'M_NOT_JSON', 'Content not JSON.');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new MatrixError(400, 'M_BAD_JSON', 'Content must be a JSON object.');
  return v as Record<string, unknown>;
}
