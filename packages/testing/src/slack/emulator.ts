// SlackEmulator: one loopback HTTP server with the Web API (/api/<method>), upload and file
// URLs, avatars and the Socket Mode endpoint (/link/), wired to the workspace store, the
// actions, the event dispatcher and both event transports; plus what specs use to seed a
// workspace, act as Slack users, inspect what a bridge did and inject faults.
import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { BodyTooLarge, readRaw } from './body';
import { ConversationActions } from './conversation-actions';
import { DeliveryLog, type Delivery, type Json } from './deliveries';
import { EventDispatcher } from './dispatcher';
import { EventsApiSender, type EventsApiOptions, type PostResult } from './events-api';
import { Faults } from './faults';
import { FileActions } from './file-actions';
import { FileRoutes } from './file-routes';
import { MessageActions } from './message-actions';
import { METHOD_HANDLERS } from './methods';
import type { App, Conversation, Message, SlackFile, Team } from './model';
import { OAuthCodes, type CodeRequest } from './oauth';
import { RateLimiter } from './rate-limits';
import type { Services } from './services';
import { idOf, SlackUser, type ChannelRef, type UserRef } from './slack-user';
import { SocketModeServer, type DisconnectReason, type SocketModeOptions } from './socket-mode';
import { SlackState, type AppOptions, type ConversationOptions, type TeamOptions, type UserOptions } from './state';
import { UserActions } from './user-actions';
import { WebApi, type CallRecord } from './web-api';
import { messageJson, userJson } from './wire';

export interface SlackEmulatorOptions {
  /** Listen address (default 127.0.0.1) and port (default: any free one). */
  host?: string;
  port?: number;
  /** Enforce per-method rate limits (default true); adjust with `slack.rateLimits`. */
  rateLimits?: boolean;
  socketMode?: SocketModeOptions;
  eventsApi?: EventsApiOptions;
  /** Largest request body accepted (default 100 MiB). */
  maxBodyBytes?: number;
}

export interface InstalledApp {
  appId: string;
  teamId: string;
  botToken: string;
  botUserId: string;
  botId: string;
}

type AppRef = string | { id: string };

export class SlackEmulator {
  readonly url: string;
  readonly state: SlackState;
  readonly faults = new Faults();
  readonly rateLimits: RateLimiter;
  readonly deliveryLog = new DeliveryLog();
  readonly socketMode: SocketModeServer;
  readonly eventsApi: EventsApiSender;
  readonly web: WebApi;
  readonly fileRoutes: FileRoutes;
  private readonly services: Services;
  private readonly sockets = new Set<Socket>();
  private stopped = false;

  private constructor(
    private server: http.Server,
    opts: SlackEmulatorOptions,
  ) {
    const { address, port } = server.address() as AddressInfo;
    this.url = `http://${address.includes(':') ? `[${address}]` : address}:${port}`;
    this.state = new SlackState(this.url);
    this.rateLimits = new RateLimiter(opts.rateLimits ?? true);
    this.socketMode = new SocketModeServer(() => this.url.replace(/^http/, 'ws'), opts.socketMode ?? {}, this.deliveryLog, this.faults);
    this.eventsApi = new EventsApiSender(opts.eventsApi ?? {}, this.deliveryLog, this.faults);
    const events = new EventDispatcher(this.state, this.deliveryLog, { socket: this.socketMode, http: this.eventsApi });
    const messages = new MessageActions(this.state, events);
    const files = new FileActions(this.state, events, messages);
    this.services = {
      state: this.state,
      events,
      messages,
      files,
      socketMode: this.socketMode,
      conversations: new ConversationActions(this.state, events, messages),
      users: new UserActions(this.state, events),
      oauth: new OAuthCodes(this.state),
      ephemeral: [],
    };
    this.web = new WebApi(this.services, METHOD_HANDLERS, this.rateLimits, this.faults);
    this.fileRoutes = new FileRoutes(this.state, files);
    const maxBody = opts.maxBodyBytes ?? 100 * 1024 * 1024;
    server.on('request', (req, res) => {
      this.route(req, res, maxBody).catch((err) => {
        this.web.internalErrors.push(err instanceof Error ? err : new Error(String(err)));
        if (!res.headersSent) res.writeHead(500).end();
      });
    });
    server.on('upgrade', (req, socket, head) => {
      if (!this.socketMode.handleUpgrade(req, socket, head)) socket.destroy();
    });
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  static async start(opts: SlackEmulatorOptions = {}): Promise<SlackEmulator> {
    const server = http.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
    });
    return new SlackEmulator(server, opts);
  }

  /** The Web API base for `slackApiUrl` (ends with a slash). */
  get apiUrl(): string {
    return `${this.url}/api/`;
  }

  private async route(req: http.IncomingMessage, res: http.ServerResponse, maxBody: number): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    let raw: Buffer;
    try {
      raw = await readRaw(req, maxBody);
    } catch (err) {
      if (!(err instanceof BodyTooLarge)) throw err;
      res.writeHead(413, { 'content-type': 'text/plain' }).end('request too large');
      return;
    }
    if (url.pathname.startsWith('/api/')) {
      await this.web.handle(req, res, decodeURIComponent(url.pathname.slice('/api/'.length)), raw, url.searchParams);
      return;
    }
    if (this.fileRoutes.handle(req, res, url.pathname, raw)) return;
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
  }

  // ---- seeding

  createTeam(opts: TeamOptions = {}): Team {
    return this.state.createTeam(opts);
  }

  /** A person in the workspace; `announce` emits `team_join` as a newly joined member would. */
  createUser(team: string | Team, opts: UserOptions & { announce?: boolean }): SlackUser {
    const teamId = idOf(team);
    const user = opts.announce ? this.services.users.join(teamId, opts) : this.state.createUser(teamId, opts);
    return new SlackUser(this.services, user.id);
  }

  /** The SlackUser handle of an existing user (e.g. one the bridge's puppet acts as). */
  user(ref: UserRef): SlackUser {
    return new SlackUser(this.services, this.state.user(idOf(ref)).id);
  }

  /** An admin deactivates the account (`user_change` with `deleted: true`). */
  deactivateUser(user: UserRef): void {
    this.services.users.deactivate(idOf(user));
  }

  createApp(opts: AppOptions = {}): App {
    return this.state.createApp(opts);
  }

  /** Installs the app's bot in the team (as an admin clicking "Install"). */
  install(app: AppRef, team: string | Team, opts: { botScopes?: Iterable<string> } = {}): InstalledApp {
    const inst = this.state.install(idOf(app), idOf(team), opts);
    const bot = inst.bot!;
    return { appId: inst.appId, teamId: inst.teamId, botToken: bot.token, botUserId: bot.botUserId, botId: bot.botId };
  }

  /** A channel seeded without events (use a SlackUser to create one with events). */
  createChannel(
    team: string | Team,
    opts: Omit<ConversationOptions, 'members' | 'creator'> & { members?: Iterable<UserRef>; creator?: UserRef },
  ): Conversation {
    return this.state.createConversation(idOf(team), {
      ...opts,
      members: [...(opts.members ?? [])].map(idOf),
      creator: opts.creator ? idOf(opts.creator) : undefined,
    });
  }

  /** The DM of two users, or the group DM of several, seeded without events. */
  dm(...users: UserRef[]): Conversation {
    const ids = users.map(idOf);
    const teamId = this.state.user(ids[0]).teamId;
    return ids.length === 2 ? this.state.ensureIm(teamId, ids[0], ids[1]).conversation : this.state.ensureMpim(teamId, ids).conversation;
  }

  addCustomEmoji(team: string | Team, name: string, urlOrAlias: string): void {
    this.state.team(idOf(team)).emoji.set(name, urlOrAlias);
  }

  /** Events subscription and transport changes (as in the app's settings page). */
  configureApp(app: AppRef, changes: { requestUrl?: string; socketMode?: boolean }): void {
    const a = this.state.app(idOf(app));
    if (changes.requestUrl !== undefined) a.requestUrl = changes.requestUrl;
    if (changes.socketMode !== undefined) a.socketMode = changes.socketMode;
  }

  // ---- OAuth and tokens

  /** An authorization code as if `user` approved the app; exchange it with oauth.v2.access. */
  issueOAuthCode(app: AppRef, user: UserRef, opts: Omit<CodeRequest, 'appId' | 'teamId' | 'userId'> = {}): string {
    const u = this.state.user(idOf(user));
    return this.services.oauth.issue({ ...opts, appId: idOf(app), teamId: u.teamId, userId: u.id });
  }

  /** A user token acting as `user` for the app, skipping the OAuth exchange. */
  grantUserToken(app: AppRef, user: UserRef, scopes: Iterable<string>): string {
    const u = this.state.user(idOf(user));
    return this.state.grantUser(idOf(app), u.teamId, u.id, scopes).token;
  }

  /** From now on the token answers `error` (`token_revoked`, `invalid_auth`, `account_inactive`…). */
  revokeToken(token: string, error = 'token_revoked'): void {
    this.state.tokens.revoke(token, error);
  }

  restoreToken(token: string): void {
    this.state.tokens.restore(token);
  }

  /**
   * A user removes the app from their account's authorizations (or an admin revokes their token):
   * `tokens_revoked` naming them goes out, then their user token answers `error`. The bot is untouched.
   */
  revokeUserAuthorization(app: AppRef, user: UserRef, error = 'token_revoked'): void {
    const u = this.state.user(idOf(user));
    const grant = this.state.installation(idOf(app), u.teamId)?.userGrants.get(u.id);
    if (!grant) throw new Error(`revokeUserAuthorization: ${u.id} has not authorized the app`);
    this.services.events.emit(u.teamId, {
      type: 'tokens_revoked',
      tokens: { oauth: [u.id], bot: [] },
      event_ts: this.state.clock.next('events'),
    });
    this.state.tokens.revoke(grant.token, error);
  }

  /** The workspace removes the app: `tokens_revoked` and `app_uninstalled` go out, then every token of it stops working. */
  uninstall(app: AppRef, team: string | Team): void {
    const appId = idOf(app);
    const teamId = idOf(team);
    const inst = this.state.installation(appId, teamId);
    if (!inst?.active) return;
    const bot = inst.bot ? [inst.bot.botUserId] : [];
    const oauth = [...inst.userGrants.keys()];
    const events = this.services.events;
    events.emit(teamId, { type: 'tokens_revoked', tokens: { oauth, bot }, event_ts: this.state.clock.next('events') });
    events.emit(teamId, { type: 'app_uninstalled', event_ts: this.state.clock.next('events') });
    inst.active = false;
    if (inst.bot) this.state.tokens.revoke(inst.bot.token, 'token_revoked');
    for (const g of inst.userGrants.values()) this.state.tokens.revoke(g.token, 'token_revoked');
  }

  // ---- inspection

  /** A conversation's messages, oldest first (thread replies included; deleted ones only if asked). */
  messages(channel: ChannelRef, opts: { includeDeleted?: boolean } = {}): Message[] {
    return this.state.conversation(idOf(channel)).messages.filter((m) => opts.includeDeleted || !m.deleted);
  }

  message(channel: ChannelRef, ts: string): Message | undefined {
    return this.state.conversation(idOf(channel)).byTs.get(ts);
  }

  /** A message as Slack's API would show it now. */
  messageJson(channel: ChannelRef, ts: string): Json {
    const m = this.message(channel, ts);
    if (!m) throw new Error(`no message ${ts} in ${idOf(channel)}`);
    return messageJson(this.state, m);
  }

  /** Messages an app posted (with its bot or a user token), oldest first across conversations. */
  posted(app?: AppRef, channel?: ChannelRef): Message[] {
    const appId = app ? idOf(app) : undefined;
    const convs = channel ? [this.state.conversation(idOf(channel))] : [...this.state.conversations.values()];
    return convs
      .flatMap((c) => c.messages)
      .filter((m) => m.postedByApp && (!appId || m.postedByApp === appId))
      .sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0));
  }

  conversation(channel: ChannelRef): Conversation {
    return this.state.conversation(idOf(channel));
  }

  userJson(user: UserRef): Json {
    return userJson(this.state, this.state.user(idOf(user)));
  }

  file(id: string): SlackFile {
    return this.state.file(id);
  }

  /** Ephemeral messages posted (chat.postEphemeral). */
  get ephemeral(): Services['ephemeral'] {
    return this.services.ephemeral;
  }

  /** Web API calls received, optionally of one method. */
  calls(method?: string): CallRecord[] {
    return method ? this.web.calls.filter((c) => c.method === method) : [...this.web.calls];
  }

  /** Event deliveries to apps, with attempts and outcome. */
  deliveries(app?: AppRef): Delivery[] {
    return this.deliveryLog.list(app ? idOf(app) : undefined);
  }

  /** Events the app acknowledged, in emission order. */
  ackedEvents(app?: AppRef): Json[] {
    return this.deliveries(app)
      .filter((d) => d.state === 'acked')
      .map((d) => d.event);
  }

  /** Resolves once nothing is waiting for an ack (or a retry). */
  waitForDeliveries(app?: AppRef, timeoutMs?: number): Promise<void> {
    return this.deliveryLog.idle(app ? idOf(app) : undefined, timeoutMs);
  }

  // ---- transports

  /** Sends Socket Mode `disconnect` with `reason` to the app's connections. */
  disconnectSocket(app: AppRef, reason: DisconnectReason = 'refresh_requested'): number {
    return this.socketMode.disconnect(idOf(app), reason);
  }

  /** Drops the app's Socket Mode connections without a close frame. */
  dropSocket(app: AppRef): number {
    return this.socketMode.drop(idOf(app));
  }

  socketConnections(app: AppRef): number {
    return this.socketMode.connectionCount(idOf(app));
  }

  /** Slack's url_verification handshake against the app's Request URL (or `url`). */
  verifyRequestUrl(
    app: AppRef,
    opts?: Parameters<EventsApiSender['urlVerification']>[1],
  ): Promise<PostResult & { challenge: string; verified: boolean }> {
    return this.eventsApi.urlVerification(this.state.app(idOf(app)), opts);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.eventsApi.stop();
    await this.socketMode.stop();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }
}
