// The workspace store: teams, users, apps and their installations, conversations with their
// messages, files and avatars. Seeding here emits no events (use the actions for that); lookups
// throw the Slack error a method would answer.
import { createHash } from 'node:crypto';
import { SlackApiError } from './errors';
import { IdMint, randomHex, TsClock } from './ids';
import type { App, Conversation, Installation, Message, SlackFile, Team, User, UserGrant } from './model';
import { BRIDGE_BOT_EVENTS, BRIDGE_BOT_SCOPES, checkSubscriptions, PUPPET_USER_SCOPES, type ConversationKind } from './scopes';
import { TokenRegistry } from './tokens';

export interface TeamOptions {
  name?: string;
  /** Workspace subdomain (`<domain>.slack.com`); derived from the name by default. */
  domain?: string;
}

export interface UserOptions {
  /** Username (handle). */
  name: string;
  realName?: string;
  displayName?: string;
  email?: string;
  title?: string;
  /** Avatar URL used as every `image_*`; see `avatar` to have the emulator serve bytes. */
  avatarUrl?: string;
  /** Avatar bytes served (publicly, like Slack's CDN) by the emulator. */
  avatar?: { data: Buffer; contentType: string };
  isAdmin?: boolean;
  tz?: string;
}

export interface AppOptions {
  name?: string;
  /** Bot scopes (default: what a relay bridge needs). */
  botScopes?: Iterable<string>;
  /** User scopes the app may request for user tokens (default: what a puppeting bridge asks for). */
  userScopes?: Iterable<string>;
  /** Bot event subscriptions (default: what a relay bridge needs, those its scopes allow). */
  botEvents?: Iterable<string>;
  /** Events on behalf of authorized users. */
  userEvents?: Iterable<string>;
  /** Deliver events over Socket Mode (default true unless `requestUrl` is given). */
  socketMode?: boolean;
  /** Events API Request URL (HTTP delivery, signed). */
  requestUrl?: string;
}

export interface ConversationOptions {
  name: string;
  private?: boolean;
  members?: Iterable<string>;
  creator?: string;
  topic?: string;
  purpose?: string;
  general?: boolean;
}

/** A message's fields before the store assigns its ts. */
export type NewMessage = Omit<Message, 'channel' | 'ts' | 'reactions' | 'replies' | 'deleted' | 'team'> & { team?: string };

export interface Bot {
  id: string;
  appId: string;
  teamId: string;
  userId: string;
  name: string;
  iconUrl: string;
  deleted: boolean;
  updated: number;
}

/** A 1×1 transparent PNG: the default avatar and icon. */
const DEFAULT_AVATAR = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
  'base64',
);

/** Slack's rules for channel names, as the error it answers; undefined when acceptable. */
export function channelNameError(name: string): string | undefined {
  if (name === '') return 'invalid_name_required';
  if (name.length > 80) return 'invalid_name_maxlength';
  if (/^[-_]+$/.test(name)) return 'invalid_name_punctuation';
  if (/[A-Z]/.test(name)) return 'invalid_name';
  if (!/^[a-z0-9_-]+$/.test(name)) return 'invalid_name_specials';
  return undefined;
}

export class SlackState {
  readonly ids = new IdMint();
  readonly clock = new TsClock();
  readonly tokens = new TokenRegistry();
  readonly teams = new Map<string, Team>();
  readonly users = new Map<string, User>();
  readonly apps = new Map<string, App>();
  readonly bots = new Map<string, Bot>();
  readonly installations = new Map<string, Installation>();
  readonly conversations = new Map<string, Conversation>();
  readonly files = new Map<string, SlackFile>();
  readonly avatars = new Map<string, { data: Buffer; contentType: string }>();

  constructor(readonly baseUrl: string) {
    this.avatars.set('default', { data: DEFAULT_AVATAR, contentType: 'image/png' });
  }

  now(): number {
    return Math.floor(Date.now() / 1000);
  }

  // ---- teams and users

  createTeam(opts: TeamOptions = {}): Team {
    const id = this.ids.next('T');
    const name = opts.name ?? `Team ${this.teams.size + 1}`;
    const domain =
      opts.domain ??
      (name
        .toLowerCase()
        .replace(/[^a-z0-9]+/g, '-')
        .replace(/^-|-$/g, '') ||
        id.toLowerCase());
    const team: Team = { id, name, domain, emoji: new Map(), iconUrl: this.avatarUrl('default') };
    this.teams.set(id, team);
    return team;
  }

  team(id: string): Team {
    const t = this.teams.get(id);
    if (!t) throw new SlackApiError('team_not_found');
    return t;
  }

  avatarUrl(key: string): string {
    return `${this.baseUrl}/avatars/${key}`;
  }

  /** Stores avatar bytes and answers their public URL. */
  storeAvatar(data: Buffer, contentType: string): { url: string; hash: string } {
    const hash = createHash('sha1').update(data).digest('hex').slice(0, 12);
    this.avatars.set(hash, { data, contentType });
    return { url: this.avatarUrl(hash), hash };
  }

  createUser(teamId: string, opts: UserOptions): User {
    this.team(teamId);
    const id = this.ids.next('U');
    let image = opts.avatarUrl ?? this.avatarUrl('default');
    let hash = opts.avatarUrl ? createHash('sha1').update(opts.avatarUrl).digest('hex').slice(0, 12) : 'g0default000';
    if (opts.avatar) ({ url: image, hash } = this.storeAvatar(opts.avatar.data, opts.avatar.contentType));
    const realName = opts.realName ?? opts.name;
    const [firstName, ...rest] = realName.split(' ');
    const user: User = {
      id,
      teamId,
      name: opts.name,
      deleted: false,
      isBot: false,
      isAdmin: opts.isAdmin ?? false,
      tz: opts.tz ?? 'Europe/London',
      color: randomHex(3),
      updated: this.now(),
      profile: {
        displayName: opts.displayName ?? '',
        realName,
        firstName,
        lastName: rest.join(' '),
        email: opts.email,
        title: opts.title ?? '',
        statusText: '',
        statusEmoji: '',
        image,
        avatarHash: hash,
        isCustomImage: Boolean(opts.avatar || opts.avatarUrl),
      },
    };
    this.users.set(id, user);
    return user;
  }

  user(id: string): User {
    const u = this.users.get(id);
    if (!u) throw new SlackApiError('user_not_found');
    return u;
  }

  // ---- apps, installations, grants

  createApp(opts: AppOptions = {}): App {
    const id = this.ids.next('A');
    const botScopes = new Set(opts.botScopes ?? BRIDGE_BOT_SCOPES);
    const botEvents = new Set(opts.botEvents ?? BRIDGE_BOT_EVENTS);
    const userScopes = new Set(opts.userScopes ?? PUPPET_USER_SCOPES);
    const userEvents = new Set(opts.userEvents ?? []);
    const name = opts.name ?? `App ${this.apps.size + 1}`;
    checkSubscriptions(botEvents, botScopes, `app ${name}: bot events`);
    checkSubscriptions(userEvents, userScopes, `app ${name}: user events`);
    const app: App = {
      id,
      name,
      botScopes,
      userScopes,
      botEvents,
      userEvents,
      clientId: `${1000 + this.apps.size}.${Date.now()}`,
      clientSecret: randomHex(16),
      signingSecret: randomHex(16),
      verificationToken: randomHex(12),
      appToken: '',
      socketMode: opts.socketMode ?? !opts.requestUrl,
      requestUrl: opts.requestUrl,
      iconUrl: this.avatarUrl('default'),
    };
    app.appToken = this.tokens.issue('app', { appId: id, scopes: new Set(['connections:write']) });
    this.apps.set(id, app);
    return app;
  }

  app(id: string): App {
    const a = this.apps.get(id);
    if (!a) throw new Error(`unknown app ${id}`);
    return a;
  }

  installation(appId: string, teamId: string): Installation | undefined {
    return this.installations.get(`${appId}:${teamId}`);
  }

  installationsIn(teamId: string): Installation[] {
    return [...this.installations.values()].filter((i) => i.teamId === teamId && i.active);
  }

  /** Installs the app in the workspace with its bot (idempotent; later calls add scopes). */
  install(
    appId: string,
    teamId: string,
    opts: { botScopes?: Iterable<string>; installedBy?: string; withBot?: boolean } = {},
  ): Installation {
    const app = this.app(appId);
    this.team(teamId);
    const scopes = new Set(opts.botScopes ?? app.botScopes);
    let inst = this.installation(appId, teamId);
    if (!inst?.active) {
      inst = { appId, teamId, userGrants: new Map(), installedBy: opts.installedBy, active: true };
      this.installations.set(`${appId}:${teamId}`, inst);
    }
    if (opts.withBot === false) return inst;
    if (inst.bot) {
      const rec = this.tokens.get(inst.bot.token);
      for (const s of scopes) {
        inst.bot.scopes.add(s);
        rec?.scopes.add(s);
      }
      return inst;
    }
    const botUser = this.createUser(teamId, { name: app.name.toLowerCase().replace(/[^a-z0-9_.-]+/g, '_'), realName: app.name });
    const botId = this.ids.next('B');
    botUser.isBot = true;
    botUser.appId = appId;
    botUser.botId = botId;
    this.bots.set(botId, {
      id: botId,
      appId,
      teamId,
      userId: botUser.id,
      name: app.name,
      iconUrl: app.iconUrl,
      deleted: false,
      updated: this.now(),
    });
    const token = this.tokens.issue('bot', { appId, teamId, userId: botUser.id, scopes });
    inst.bot = { botId, botUserId: botUser.id, token, scopes };
    return inst;
  }

  /** A user token for `userId` authorizing the app (reused, scopes widened, when one exists). */
  grantUser(appId: string, teamId: string, userId: string, scopes: Iterable<string>): UserGrant {
    let inst = this.installation(appId, teamId);
    if (!inst?.active) inst = this.install(appId, teamId, { withBot: false, installedBy: userId });
    const user = this.user(userId);
    if (user.teamId !== teamId) throw new Error(`user ${userId} is not in team ${teamId}`);
    const existing = inst.userGrants.get(userId);
    const record = existing && this.tokens.get(existing.token);
    if (existing && record && !record.revoked) {
      for (const s of scopes) {
        existing.scopes.add(s);
        record.scopes.add(s);
      }
      return existing;
    }
    const set = new Set(scopes);
    const token = this.tokens.issue('user', { appId, teamId, userId, scopes: set });
    const grant: UserGrant = { userId, token, scopes: set };
    inst.userGrants.set(userId, grant);
    return grant;
  }

  bot(id: string): Bot {
    const b = this.bots.get(id);
    if (!b) throw new SlackApiError('bot_not_found');
    return b;
  }

  // ---- conversations

  createConversation(teamId: string, opts: ConversationOptions): Conversation {
    const name = opts.name;
    const nameError = channelNameError(name);
    if (nameError) throw new SlackApiError(nameError);
    for (const c of this.conversations.values()) {
      if (c.teamId === teamId && (c.kind === 'channel' || c.kind === 'group') && c.name === name) throw new SlackApiError('name_taken');
    }
    const kind: ConversationKind = opts.private ? 'group' : 'channel';
    const members = new Set<string>(opts.members ?? []);
    for (const m of members) this.user(m);
    const creator = opts.creator ?? [...members][0] ?? '';
    if (creator) members.add(creator);
    return this.addConversation(teamId, kind, name, members, creator, opts);
  }

  private addConversation(
    teamId: string,
    kind: ConversationKind,
    name: string,
    members: Set<string>,
    creator: string,
    opts: { topic?: string; purpose?: string; general?: boolean } = {},
  ): Conversation {
    this.team(teamId);
    const prefix = kind === 'im' ? 'D' : kind === 'mpim' ? 'G' : 'C';
    const now = this.now();
    const conv: Conversation = {
      id: this.ids.next(prefix),
      teamId,
      kind,
      name,
      previousNames: [],
      created: now,
      creator,
      archived: false,
      general: opts.general ?? false,
      topic: { value: opts.topic ?? '', creator: opts.topic ? creator : '', lastSet: opts.topic ? now : 0 },
      purpose: { value: opts.purpose ?? '', creator: opts.purpose ? creator : '', lastSet: opts.purpose ? now : 0 },
      members,
      messages: [],
      byTs: new Map(),
    };
    this.conversations.set(conv.id, conv);
    return conv;
  }

  /** The DM between two users of a team, created on first use. */
  ensureIm(teamId: string, a: string, b: string): { conversation: Conversation; created: boolean } {
    for (const c of this.conversations.values()) {
      if (c.teamId === teamId && c.kind === 'im' && c.members.has(a) && c.members.has(b) && (a !== b || c.members.size === 1)) {
        return { conversation: c, created: false };
      }
    }
    const conv = this.addConversation(teamId, 'im', '', new Set([a, b]), a);
    conv.imUser = b;
    return { conversation: conv, created: true };
  }

  /** The group DM of exactly these users, created on first use. */
  ensureMpim(teamId: string, userIds: string[]): { conversation: Conversation; created: boolean } {
    const want = new Set(userIds);
    for (const c of this.conversations.values()) {
      if (c.teamId === teamId && c.kind === 'mpim' && c.members.size === want.size && [...want].every((u) => c.members.has(u))) {
        return { conversation: c, created: false };
      }
    }
    const names = [...want].map((u) => this.user(u).name).sort();
    const conv = this.addConversation(teamId, 'mpim', `mpdm-${names.join('--')}-1`, want, userIds[0]);
    return { conversation: conv, created: true };
  }

  conversation(id: string): Conversation {
    const c = this.conversations.get(id);
    if (!c) throw new SlackApiError('channel_not_found');
    return c;
  }

  // ---- messages

  addMessage(conv: Conversation, fields: NewMessage): Message {
    const msg: Message = {
      ...fields,
      channel: conv.id,
      ts: this.clock.next(conv.id),
      reactions: [],
      replies: [],
      deleted: false,
      team: fields.team ?? conv.teamId,
    };
    conv.messages.push(msg);
    conv.byTs.set(msg.ts, msg);
    if (msg.threadTs) conv.byTs.get(msg.threadTs)?.replies.push(msg.ts);
    return msg;
  }

  message(conv: Conversation, ts: string | undefined): Message {
    const m = ts ? conv.byTs.get(ts) : undefined;
    if (!m || m.deleted) throw new SlackApiError('message_not_found');
    return m;
  }

  file(id: string): SlackFile {
    const f = this.files.get(id);
    if (!f || f.deleted) throw new SlackApiError('file_not_found');
    return f;
  }
}
