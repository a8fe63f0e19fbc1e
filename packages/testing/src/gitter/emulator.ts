// The Gitter emulator: the HTTP front (REST under `/v1`, the streaming API under its own base
// URL — a second port, or a `/stream/v1` path on the same one), the request pipeline
// (count → rate limit → auth → route → JSON answer) and the test-facing controls.
import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { presentedToken, TokenStore } from './auth';
import { GitterApiError, RATE_LIMIT_ERROR, unauthorized } from './errors';
import { GitterModel, type GitterFeatures, type ModelConfig } from './model';
import { DEFAULT_RATE_LIMIT, RateLimiter, type RateLimitConfig } from './rate-limiter';
import { RequestCounter } from './request-counter';
import { NO_CONTENT, RestRouter } from './rest-router';
import type { GithubType, GitterMessageJson, GitterRoomJson, VirtualUser } from './shapes';
import { DEFAULT_STREAM_OPTIONS, StreamServer, type StreamServerOptions } from './stream-server';
import { GitterTestUser, TEST_CLIENT_HEADER } from './test-user';

export interface GitterEmulatorOptions {
  /** Clock for ids, `sent`/`editedAt`, the edit window and rate-limit windows (default Date.now). */
  now?: () => number;
  /** Default 600 s. */
  editWindowMs?: number;
  rateLimit?: Partial<RateLimitConfig>;
  features?: Partial<GitterFeatures>;
  /** `port` (default): the stream on its own port, like stream.gitter.im; `path`: `/stream/v1` on the REST port. */
  streamAt?: 'port' | 'path';
  stream?: Partial<StreamServerOptions>;
}

export interface CreateRoomOptions {
  uri: string;
  name?: string;
  topic?: string;
  security?: 'PUBLIC' | 'PRIVATE';
  githubType?: GithubType;
  /** Joined as room admins (member lists show `role: "admin"`). */
  admins?: string[];
  members?: string[];
}

export interface SeedOptions {
  /** `sent` of the first message (default now). */
  sentFrom?: number;
  /** Between consecutive messages (default 0). */
  stepMs?: number;
  status?: boolean;
  parentId?: string;
  virtualUser?: VirtualUser;
}

const MAX_BODY = 1024 * 1024;
const STREAM_TEMPLATE = /^\/rooms\/([^/]+)\/chatMessages$/;

export class GitterEmulator {
  readonly model: GitterModel;
  readonly tokens = new TokenStore();
  readonly rateLimiter: RateLimiter;
  readonly requests = new RequestCounter();
  /** Stream test hooks: cut, stall, splitNext, packNext, refuse, count. */
  readonly streams: StreamServer;
  private readonly router: RestRouter;
  private readonly servers: http.Server[] = [];
  private readonly sockets = new Set<Socket>();
  private restBase = '';
  private streamBase = '';
  private stopped = false;
  private readonly lostAnswers = new Map<string, number>();

  private constructor(private readonly opts: GitterEmulatorOptions) {
    const now = opts.now ?? Date.now;
    const config: ModelConfig = {
      now,
      editWindowMs: opts.editWindowMs ?? 600_000,
      features: { deletes: false, threads: false, virtualUsers: false, ...opts.features },
    };
    this.model = new GitterModel(config);
    this.rateLimiter = new RateLimiter({ ...DEFAULT_RATE_LIMIT, ...opts.rateLimit }, now);
    this.router = new RestRouter(this.model);
    this.streams = new StreamServer(this.model, { ...DEFAULT_STREAM_OPTIONS, ...opts.stream });
  }

  static async start(opts: GitterEmulatorOptions = {}): Promise<GitterEmulator> {
    const emu = new GitterEmulator(opts);
    const separate = (opts.streamAt ?? 'port') === 'port';
    const rest = await emu.listen((req, res) => void emu.handle(req, res, separate ? 'rest' : 'both'));
    emu.restBase = `http://127.0.0.1:${rest}/v1`;
    if (separate) {
      const stream = await emu.listen((req, res) => void emu.handle(req, res, 'stream'));
      emu.streamBase = `http://127.0.0.1:${stream}/v1`;
    } else emu.streamBase = `http://127.0.0.1:${rest}/stream/v1`;
    return emu;
  }

  /** REST base URL, e.g. http://127.0.0.1:PORT/v1 (configure the bridge with it). */
  get restBaseUrl(): string {
    return this.restBase;
  }

  /** Streaming base URL, e.g. http://127.0.0.1:PORT2/v1 or http://127.0.0.1:PORT/stream/v1. */
  get streamBaseUrl(): string {
    return this.streamBase;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.streams.closeAll();
    await Promise.all(
      this.servers.map(
        (s) =>
          new Promise<void>((resolve) => {
            s.close(() => resolve());
            s.closeAllConnections();
          }),
      ),
    );
    for (const s of this.sockets) s.destroy();
  }

  // ---- test controls ------------------------------------------------------------------------

  /** A Gitter user with a fresh token, acting over REST like the Gitter client. */
  createUser(username: string, opts: { displayName?: string; token?: string } = {}): GitterTestUser {
    const user = this.model.createUser(username, opts.displayName);
    let token = opts.token;
    if (token) this.tokens.add(user.id, token);
    else token = this.tokens.issue(user.id);
    return new GitterTestUser(this.restBase, user.id, user.username, user.displayName, token);
  }

  /**
   * Changes a user's display name or avatar URL (as they would on GitHub, where Gitter took both
   * from); the user's `v` goes up and their later messages carry the new profile.
   */
  setProfile(userId: string, profile: { displayName?: string; avatarUrl?: string }): void {
    const user = this.model.user(userId);
    if (profile.displayName !== undefined) user.displayName = profile.displayName;
    if (profile.avatarUrl !== undefined) user.avatarUrl = profile.avatarUrl;
    user.v++;
  }

  /**
   * The next `count` requests with this key (e.g. `POST /v1/rooms/{roomId}/chatMessages`) take
   * effect but lose their answer: the connection is dropped instead of replying, as when a
   * network cut or a crash comes between the server's work and the client reading the answer.
   */
  loseAnswers(key: string, count = 1): void {
    this.lostAnswers.set(key, (this.lostAnswers.get(key) ?? 0) + count);
  }

  private takeLostAnswer(key: string): boolean {
    const n = this.lostAnswers.get(key) ?? 0;
    if (n <= 0) return false;
    this.lostAnswers.set(key, n - 1);
    return true;
  }

  /** Another token for an existing user (e.g. the bridge's own, to count its requests apart). */
  issueToken(userId: string): string {
    this.model.user(userId);
    return this.tokens.issue(userId);
  }

  /** Later requests with the token get 401; its open streams are cut. */
  revokeToken(token: string): boolean {
    const had = this.tokens.revoke(token);
    this.streams.cut({ token });
    return had;
  }

  createRoom(opts: CreateRoomOptions): GitterRoomJson & { id: string } {
    const room = this.model.createRoom(opts);
    for (const id of opts.admins ?? []) this.model.addMember(room.id, id, true);
    for (const id of opts.members ?? []) this.model.addMember(room.id, id);
    return this.model.roomJson(room, opts.admins?.[0] ?? '');
  }

  /** A one-to-one room between two users. */
  createOneToOne(userA: string, userB: string): string {
    return this.model.createRoom({ oneToOne: [userA, userB] }).id;
  }

  addMember(roomId: string, userId: string, opts: { admin?: boolean } = {}): void {
    this.model.addMember(roomId, userId, opts.admin ?? false);
  }

  removeMember(roomId: string, userId: string): void {
    const room = this.model.room(roomId);
    room.members.delete(userId);
  }

  members(roomId: string): string[] {
    return [...this.model.room(roomId).members.keys()];
  }

  /**
   * Creates messages directly (no HTTP, no rate limit), e.g. a long history; they reach open
   * streams like any other new message.
   */
  seedMessages(roomId: string, userId: string, texts: string[], opts: SeedOptions = {}): GitterMessageJson[] {
    const room = this.model.room(roomId);
    const start = opts.sentFrom ?? (this.opts.now ?? Date.now)();
    return texts.map((text, i) =>
      this.model.messageJson(
        this.model.postMessage(room, userId, {
          text,
          status: opts.status,
          parentId: opts.parentId,
          virtualUser: opts.virtualUser,
          sent: start + i * (opts.stepMs ?? 0),
        }),
      ),
    );
  }

  /** The room's messages as Gitter would send them, oldest first (what the bridge posted, too). */
  messages(roomId: string, opts: { threads?: boolean; deleted?: boolean } = {}): GitterMessageJson[] {
    const room = this.model.room(roomId);
    return room.messages.filter((m) => (opts.deleted || !m.deleted) && (opts.threads || !m.parentId)).map((m) => this.model.messageJson(m));
  }

  /** Messages a user posted in the room, thread replies included. */
  messagesBy(roomId: string, userId: string): GitterMessageJson[] {
    return this.messages(roomId, { threads: true }).filter((m) => m.fromUser.id === userId);
  }

  message(roomId: string, messageId: string): GitterMessageJson | undefined {
    const m = this.model.room(roomId).byId.get(messageId);
    return m && !m.deleted ? this.model.messageJson(m) : undefined;
  }

  setEditWindowMs(ms: number): void {
    this.model.config.editWindowMs = ms;
  }

  setRateLimit(config: Partial<RateLimitConfig>): void {
    this.rateLimiter.config = { ...this.rateLimiter.config, ...config };
    this.rateLimiter.reset();
  }

  setFeatures(features: Partial<GitterFeatures>): void {
    Object.assign(this.model.config.features, features);
  }

  /** Requests the token made (to one endpoint key, if given), test-client traffic excluded. */
  requestCount(token: string, key?: string): number {
    return this.requests.count(token, key);
  }

  requestCounts(token: string): Record<string, number> {
    return this.requests.byEndpoint(token);
  }

  resetCounters(): void {
    this.requests.reset();
  }

  // ---- HTTP front ---------------------------------------------------------------------------

  private async listen(handler: http.RequestListener): Promise<number> {
    const server = http.createServer({ keepAliveTimeout: 30_000, noDelay: true, requestTimeout: 0 }, handler);
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    this.servers.push(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return (server.address() as AddressInfo).port;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse, serves: 'rest' | 'stream' | 'both'): Promise<void> {
    let headers: Record<string, string> = {};
    try {
      const url = new URL(req.url ?? '/', 'http://emulator');
      let path = url.pathname;
      let isStream = serves === 'stream';
      if (serves === 'both' && path.startsWith('/stream/')) {
        isStream = true;
        path = path.slice('/stream'.length);
      }
      if (!path.startsWith('/v1/')) throw new GitterApiError(404, 'Not Found');
      path = path.slice('/v1'.length);
      const method = req.method ?? 'GET';
      const token = presentedToken(req, url, isStream);
      const streamMatch = isStream ? STREAM_TEMPLATE.exec(path) : null;
      const route = isStream ? undefined : this.router.match(method, path);
      const key = isStream
        ? streamMatch && method === 'GET'
          ? 'STREAM /v1/rooms/{roomId}/chatMessages'
          : `STREAM ${method} <unrecognized>`
        : route
          ? route.route.key
          : `${method} <unrecognized>`;
      const testClient = req.headers[TEST_CLIENT_HEADER] === '1';
      if (!testClient) {
        this.requests.add(token ?? '', key);
        const verdict = this.rateLimiter.take(token ?? `anonymous:${req.socket.remoteAddress}`);
        headers = verdict.headers;
        if (!verdict.allowed) {
          throw new GitterApiError(this.rateLimiter.config.refusal === 'legacy-403' ? 403 : 429, RATE_LIMIT_ERROR);
        }
      }
      const userId = this.tokens.userFor(token);
      if (!userId) throw unauthorized();
      const body = await readJson(req);

      if (isStream) {
        if (!streamMatch || method !== 'GET') throw new GitterApiError(404, 'Not Found');
        const refusal = this.streams.refusing;
        if (refusal) throw new GitterApiError(refusal.status, refusal.error);
        const room = this.model.room(decodeURIComponent(streamMatch[1]));
        this.model.assertCanRead(room, userId);
        this.streams.open(req, res, room.id, userId, token!, headers);
        return;
      }
      if (!route) throw new GitterApiError(404, 'Not Found');
      const result = route.route.handler({ userId, params: route.params, query: url.searchParams, body });
      if (!testClient && this.takeLostAnswer(key)) {
        // The request took effect; its answer never arrives (connection dropped before the reply).
        res.destroy();
        return;
      }
      if (result === NO_CONTENT) {
        res.writeHead(204, headers);
        res.end();
      } else send(res, 200, result, headers);
    } catch (err) {
      if (err instanceof GitterApiError) send(res, err.status, { error: err.error }, headers);
      else send(res, 500, { error: 'Internal Server Error' }, headers);
    }
  }
}

function send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string>): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

async function readJson(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new GitterApiError(413, 'Request body too large');
    chunks.push(chunk);
  }
  if (size === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new GitterApiError(400, 'Invalid JSON body');
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new GitterApiError(400, 'The body must be a JSON object');
  return parsed as Record<string, unknown>;
}
