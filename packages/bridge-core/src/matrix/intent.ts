/**
 * An `Intent` acts as one Matrix user the bridge controls: the bridge bot
 * (`sender_localpart`, no identity assertion) or a ghost (`?user_id=`).
 *
 * Registration, room membership and profile are cached in memory and persisted
 * through the `IntentRepository`, so once a ghost is registered and joined,
 * sending a message costs exactly one HTTP request (no whoami, no join check),
 * also after a restart. The caches follow reality through
 * `IntentFactory.onMembershipEvent` (m.room.member events from transactions)
 * and through send failures: a 403 "not in room" forgets the cached join,
 * re-joins once and resends with the same txnId.
 *
 * Concurrency: registration is single-flight per user and joins per
 * (user, room), shared across intents via the factory, so eight concurrent
 * senders for a new ghost cause one /register and one /join.
 */
import type { IntentRecord, IntentRepository, StoredMembership } from '../store/store';
import type { Logger } from '../logging/logger';
import { MatrixError } from '../util/matrix-error';
import { SingleFlight } from '../util/single-flight';
import type { MatrixHttpClient } from './http-client';
import type { MediaClient, DownloadedMedia, UploadOptions } from './media';
import { txnId as makeTxnId } from './txn-id';

const C = '/_matrix/client/v3';
const e = encodeURIComponent;

/** What `Intent` needs from its factory; shared by all intents of a bridge. */
export interface IntentContext {
  readonly client: MatrixHttpClient;
  readonly repo: IntentRepository;
  readonly botUserId: string;
  /** The bridge bot's intent (used to invite ghosts into rooms). */
  bot(): Intent;
  readonly registerFlight: SingleFlight<string, void>;
  /** Keyed by `${userId}\n${roomIdOrAlias}`; resolves with the room ID. */
  readonly joinFlight: SingleFlight<string, string>;
  /** Tell the other intents' caches that `userId` now has `membership` in `roomId` (persisted). */
  noteMembership(roomId: string, userId: string, membership: StoredMembership): Promise<void>;
  readonly media?: MediaClient;
  readonly log: Logger;
}

export interface SendOptions {
  /** Stable key (e.g. the remote message ID) → deterministic txnId, safe across retries and restarts. */
  txnKey?: string;
  /** An explicit txnId (wins over txnKey). */
  txnId?: string;
  /** Timestamp massaging (`?ts=`), ms since the epoch. */
  ts?: number;
}

export interface JoinOptions {
  /** Servers to join through (`?via=`), for rooms the homeserver is not in yet. */
  via?: string[];
  reason?: string;
  /** Ghosts only: have the bot invite first instead of trying to join first (invite-only portals). */
  inviteFirst?: boolean;
}

export interface CreateRoomOptions {
  name?: string;
  topic?: string;
  room_alias_name?: string;
  visibility?: 'public' | 'private';
  preset?: 'private_chat' | 'public_chat' | 'trusted_private_chat';
  invite?: string[];
  is_direct?: boolean;
  initial_state?: Array<{ type: string; state_key?: string; content: Record<string, unknown> }>;
  power_level_content_override?: Record<string, unknown>;
  creation_content?: Record<string, unknown>;
  room_version?: string;
  [key: string]: unknown;
}

export interface Profile {
  displayname?: string;
  avatar_url?: string;
  [key: string]: unknown;
}

export interface WhoAmI {
  user_id: string;
  device_id?: string;
  is_guest?: boolean;
}

export interface ClientEvent {
  type: string;
  state_key?: string;
  sender: string;
  event_id: string;
  room_id?: string;
  origin_server_ts: number;
  content: Record<string, unknown>;
  unsigned?: Record<string, unknown>;
}

/** Is this the homeserver saying the sender is not (or no longer) in the room? */
function isNotInRoomError(err: unknown): boolean {
  if (!(err instanceof MatrixError) || err.status !== 403 || err.errcode !== 'M_FORBIDDEN') return false;
  return /\bnot\b.*\b(in|joined|member|participating)\b.*\broom\b|\bnot in room\b|must be (joined|in the room)/i.test(err.message);
}

function isNotFound(err: unknown): boolean {
  return err instanceof MatrixError && err.status === 404 && err.errcode === 'M_NOT_FOUND';
}

export class Intent {
  readonly isBot: boolean;
  readonly localpart: string;
  private registered: boolean;
  private record: IntentRecord | undefined;
  private recordLoad: Promise<IntentRecord> | undefined;
  private persistChain: Promise<void> = Promise.resolve();
  /** Known memberships; `null` = looked up in the store, nothing recorded. */
  private readonly memberships = new Map<string, StoredMembership | null>();
  /** Bumped on every join this intent records, so concurrent "not in room" failures re-join once. */
  private readonly joinGeneration = new Map<string, number>();
  private readonly log: Logger;

  constructor(
    readonly userId: string,
    private readonly ctx: IntentContext,
  ) {
    this.isBot = userId === ctx.botUserId;
    const colon = userId.indexOf(':');
    if (userId[0] !== '@' || colon < 2) throw new Error(`not a Matrix user ID: ${userId}`);
    this.localpart = userId.slice(1, colon);
    // The sender_localpart user exists as soon as the homeserver loads the registration.
    this.registered = this.isBot;
    this.log = ctx.log.child({ userId });
  }

  private get client(): MatrixHttpClient {
    return this.ctx.client;
  }

  /** `?user_id=` for ghosts, nothing for the bot. */
  private get as(): string | undefined {
    return this.isBot ? undefined : this.userId;
  }

  // ---------------------------------------------------------------- registration

  /** Registers the ghost once (memory + store); `M_USER_IN_USE` counts as success. */
  async ensureRegistered(): Promise<void> {
    if (this.registered) return;
    const rec = await this.loadRecord();
    if (rec.registered) {
      this.registered = true;
      return;
    }
    await this.ctx.registerFlight.run(this.userId, async () => {
      const fresh = await this.loadRecord();
      if (fresh.registered) {
        this.registered = true;
        return;
      }
      try {
        await this.client.request('POST', `${C}/register`, {
          body: { type: 'm.login.application_service', username: this.localpart, inhibit_login: true },
          endpoint: 'POST /register',
        });
        this.log.debug('registered ghost');
      } catch (err) {
        if (!(err instanceof MatrixError && err.errcode === 'M_USER_IN_USE')) throw err;
        this.log.debug('ghost already registered (M_USER_IN_USE)');
      }
      this.registered = true;
      await this.updateRecord({ registered: true });
    });
    this.registered = true;
  }

  /** Whether the intent is known to be registered, without any I/O. */
  get isRegistered(): boolean {
    return this.registered;
  }

  // ---------------------------------------------------------------- membership

  /**
   * Registered and joined to the room as far as memory knows, answered synchronously: the
   * common case of every message, where `ensureJoined` would have nothing to do.
   */
  joinedNow(roomId: string): boolean {
    return this.registered && this.memberships.get(roomId) === 'join';
  }

  /**
   * Joins the room unless the cache (memory, then store) says the user is already
   * joined. For a ghost whose join is refused (403), the bot invites it and the
   * join is retried. Resolves with the room ID (useful when given an alias).
   */
  async ensureJoined(roomIdOrAlias: string, opts: JoinOptions = {}): Promise<string> {
    if (this.joinedNow(roomIdOrAlias)) return roomIdOrAlias;
    await this.ensureRegistered();
    if ((await this.cachedMembership(roomIdOrAlias)) === 'join') return roomIdOrAlias;
    return this.ctx.joinFlight.run(`${this.userId}\n${roomIdOrAlias}`, async () => {
      // Another flight may have finished between our check and this one starting.
      if (this.memberships.get(roomIdOrAlias) === 'join') return roomIdOrAlias;
      const roomId = await this.joinWithInviteFallback(roomIdOrAlias, opts);
      await this.recordMembership(roomId, 'join');
      if (roomId !== roomIdOrAlias) this.memberships.set(roomIdOrAlias, 'join');
      return roomId;
    });
  }

  /** The cached membership for a room (memory, then store), without HTTP. */
  async cachedMembership(roomId: string): Promise<StoredMembership | undefined> {
    const mem = this.memberships.get(roomId);
    if (mem !== undefined) return mem ?? undefined;
    if (roomId[0] !== '!') return undefined;
    let stored: StoredMembership | undefined;
    try {
      stored = await this.ctx.repo.getMembership(roomId, this.userId);
    } catch (err) {
      this.log.warn('could not read cached membership', { roomId, err: String(err) });
      return undefined;
    }
    if (!this.memberships.has(roomId)) this.memberships.set(roomId, stored ?? null);
    return this.memberships.get(roomId) ?? undefined;
  }

  /** @internal Update the in-memory cache only (the factory persists). */
  setCachedMembership(roomId: string, membership: StoredMembership | undefined): void {
    this.memberships.set(roomId, membership ?? null);
  }

  /** Forget that the user is joined (memory and store), e.g. after a "not in room" error. */
  async forgetMembership(roomId: string): Promise<void> {
    await this.recordMembership(roomId, 'leave');
  }

  private async joinWithInviteFallback(roomIdOrAlias: string, opts: JoinOptions): Promise<string> {
    const canInvite = !this.isBot && roomIdOrAlias[0] === '!';
    if (canInvite && opts.inviteFirst) {
      await this.inviteViaBot(roomIdOrAlias);
      return this.joinRequest(roomIdOrAlias, opts);
    }
    try {
      return await this.joinRequest(roomIdOrAlias, opts);
    } catch (err) {
      if (!canInvite || !(err instanceof MatrixError) || err.status !== 403) throw err;
      this.log.debug('join refused; asking the bot to invite', { roomId: roomIdOrAlias, errcode: err.errcode });
      await this.inviteViaBot(roomIdOrAlias);
      return this.joinRequest(roomIdOrAlias, opts);
    }
  }

  private async inviteViaBot(roomId: string): Promise<void> {
    const bot = this.ctx.bot();
    try {
      await bot.invite(roomId, this.userId);
    } catch (err) {
      // The bot may not be in the room (yet): join it, then invite again.
      if (!isNotInRoomError(err)) throw err;
      await bot.forgetMembership(roomId);
      await bot.ensureJoined(roomId);
      await bot.invite(roomId, this.userId);
    }
  }

  private async joinRequest(roomIdOrAlias: string, opts: JoinOptions): Promise<string> {
    const res = await this.client.request<{ room_id: string }>('POST', `${C}/join/${e(roomIdOrAlias)}`, {
      userId: this.as,
      query: { via: opts.via },
      body: opts.reason ? { reason: opts.reason } : {},
      endpoint: 'POST /join/{roomIdOrAlias}',
    });
    return res.room_id ?? roomIdOrAlias;
  }

  private async recordMembership(roomId: string, membership: StoredMembership): Promise<void> {
    this.memberships.set(roomId, membership);
    if (membership === 'join') this.joinGeneration.set(roomId, (this.joinGeneration.get(roomId) ?? 0) + 1);
    if (roomId[0] !== '!') return;
    try {
      await this.ctx.repo.setMembership(roomId, this.userId, membership);
    } catch (err) {
      // The request succeeded; the memory cache holds. Worst case after a restart is one extra join.
      this.log.warn('could not persist membership', { roomId, membership, err: String(err) });
    }
  }

  /** Runs a room operation that needs the user joined; on "not in room", re-joins once and retries. */
  private async inRoom<T>(roomId: string, op: () => Promise<T>): Promise<T> {
    if (!this.joinedNow(roomId)) await this.ensureJoined(roomId);
    const generation = this.joinGeneration.get(roomId) ?? 0;
    try {
      return await op();
    } catch (err) {
      if (!isNotInRoomError(err)) throw err;
      // If a concurrent operation already re-joined since we started, do not forget that join.
      if ((this.joinGeneration.get(roomId) ?? 0) === generation) {
        this.log.info('homeserver says we are not in the room; re-joining once', { roomId });
        await this.forgetMembership(roomId);
      }
      await this.ensureJoined(roomId);
      return op();
    }
  }

  async leave(roomId: string, reason?: string): Promise<void> {
    await this.ensureRegistered();
    await this.client.request('POST', `${C}/rooms/${e(roomId)}/leave`, {
      userId: this.as,
      body: reason ? { reason } : {},
      endpoint: 'POST /rooms/{roomId}/leave',
    });
    await this.recordMembership(roomId, 'leave');
  }

  async invite(roomId: string, userId: string, reason?: string): Promise<void> {
    await this.memberAction('invite', roomId, userId, reason);
    await this.ctx.noteMembership(roomId, userId, 'invite');
  }

  async kick(roomId: string, userId: string, reason?: string): Promise<void> {
    await this.memberAction('kick', roomId, userId, reason);
    await this.ctx.noteMembership(roomId, userId, 'leave');
  }

  async ban(roomId: string, userId: string, reason?: string): Promise<void> {
    await this.memberAction('ban', roomId, userId, reason);
    await this.ctx.noteMembership(roomId, userId, 'ban');
  }

  async unban(roomId: string, userId: string, reason?: string): Promise<void> {
    await this.memberAction('unban', roomId, userId, reason);
    await this.ctx.noteMembership(roomId, userId, 'leave');
  }

  private async memberAction(action: 'invite' | 'kick' | 'ban' | 'unban', roomId: string, target: string, reason?: string): Promise<void> {
    await this.ensureRegistered();
    await this.client.request('POST', `${C}/rooms/${e(roomId)}/${action}`, {
      userId: this.as,
      body: reason ? { user_id: target, reason } : { user_id: target },
      endpoint: `POST /rooms/{roomId}/${action}`,
    });
  }

  // ---------------------------------------------------------------- events

  /** Sends an `m.room.message`; resolves with the event ID. */
  sendMessage(roomId: string, content: Record<string, unknown>, opts: SendOptions = {}): Promise<string> {
    return this.sendEvent(roomId, 'm.room.message', content, opts);
  }

  /** Sends any message-like event; the txnId is fixed before the first attempt and reused on every retry. */
  sendEvent(roomId: string, type: string, content: Record<string, unknown>, opts: SendOptions = {}): Promise<string> {
    const txn = opts.txnId ?? makeTxnId(opts.txnKey);
    return this.inRoom(roomId, async () => {
      const res = await this.client.request<{ event_id: string }>('PUT', `${C}/rooms/${e(roomId)}/send/${e(type)}/${e(txn)}`, {
        userId: this.as,
        ts: opts.ts,
        body: content,
        endpoint: 'PUT /rooms/{roomId}/send/{eventType}/{txnId}',
      });
      return res.event_id;
    });
  }

  sendState(roomId: string, type: string, stateKey: string, content: Record<string, unknown>, opts: { ts?: number } = {}): Promise<string> {
    return this.inRoom(roomId, async () => {
      const res = await this.client.request<{ event_id: string }>('PUT', `${C}/rooms/${e(roomId)}/state/${e(type)}/${e(stateKey)}`, {
        userId: this.as,
        ts: opts.ts,
        body: content,
        endpoint: 'PUT /rooms/{roomId}/state/{eventType}/{stateKey}',
      });
      return res.event_id;
    });
  }

  redact(roomId: string, eventId: string, reason?: string, opts: Pick<SendOptions, 'txnKey' | 'txnId'> = {}): Promise<string> {
    const txn = opts.txnId ?? makeTxnId(opts.txnKey);
    return this.inRoom(roomId, async () => {
      const res = await this.client.request<{ event_id: string }>('PUT', `${C}/rooms/${e(roomId)}/redact/${e(eventId)}/${e(txn)}`, {
        userId: this.as,
        body: reason ? { reason } : {},
        endpoint: 'PUT /rooms/{roomId}/redact/{eventId}/{txnId}',
      });
      return res.event_id;
    });
  }

  setTyping(roomId: string, typing: boolean, timeoutMs = 30_000): Promise<void> {
    return this.inRoom(roomId, async () => {
      await this.client.request('PUT', `${C}/rooms/${e(roomId)}/typing/${e(this.userId)}`, {
        userId: this.as,
        body: typing ? { typing: true, timeout: timeoutMs } : { typing: false },
        endpoint: 'PUT /rooms/{roomId}/typing/{userId}',
      });
    });
  }

  sendReadReceipt(
    roomId: string,
    eventId: string,
    opts: { threadId?: string; receiptType?: 'm.read' | 'm.read.private' } = {},
  ): Promise<void> {
    return this.inRoom(roomId, async () => {
      await this.client.request('POST', `${C}/rooms/${e(roomId)}/receipt/${e(opts.receiptType ?? 'm.read')}/${e(eventId)}`, {
        userId: this.as,
        body: opts.threadId ? { thread_id: opts.threadId } : {},
        endpoint: 'POST /rooms/{roomId}/receipt/{receiptType}/{eventId}',
      });
    });
  }

  // ---------------------------------------------------------------- reading

  async getRoomState(roomId: string): Promise<ClientEvent[]> {
    return this.client.request<ClientEvent[]>('GET', `${C}/rooms/${e(roomId)}/state`, {
      userId: this.as,
      endpoint: 'GET /rooms/{roomId}/state',
    });
  }

  /** The content of a state event, or undefined when there is none (404 M_NOT_FOUND). */
  async getStateEvent<T = Record<string, unknown>>(roomId: string, type: string, stateKey = ''): Promise<T | undefined> {
    try {
      return await this.client.request<T>('GET', `${C}/rooms/${e(roomId)}/state/${e(type)}/${e(stateKey)}`, {
        userId: this.as,
        endpoint: 'GET /rooms/{roomId}/state/{eventType}/{stateKey}',
      });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async getJoinedMembers(roomId: string): Promise<Record<string, { display_name?: string; avatar_url?: string }>> {
    const res = await this.client.request<{ joined?: Record<string, { display_name?: string; avatar_url?: string }> }>(
      'GET',
      `${C}/rooms/${e(roomId)}/joined_members`,
      { userId: this.as, endpoint: 'GET /rooms/{roomId}/joined_members' },
    );
    return res.joined ?? {};
  }

  async getJoinedRooms(): Promise<string[]> {
    const res = await this.client.request<{ joined_rooms?: string[] }>('GET', `${C}/joined_rooms`, {
      userId: this.as,
      endpoint: 'GET /joined_rooms',
    });
    return res.joined_rooms ?? [];
  }

  // ---------------------------------------------------------------- rooms and aliases

  /**
   * Creates a room as this user. Not retried after a timeout/5xx (the room might
   * exist already; see http-client.ts): callers should check, e.g. by alias.
   */
  async createRoom(options: CreateRoomOptions = {}): Promise<string> {
    await this.ensureRegistered();
    const res = await this.client.request<{ room_id: string }>('POST', `${C}/createRoom`, {
      userId: this.as,
      body: options,
      endpoint: 'POST /createRoom',
      timeoutMs: 120_000,
    });
    await this.recordMembership(res.room_id, 'join');
    for (const invitee of options.invite ?? []) await this.ctx.noteMembership(res.room_id, invitee, 'invite');
    return res.room_id;
  }

  async createAlias(alias: string, roomId: string): Promise<void> {
    await this.client.request('PUT', `${C}/directory/room/${e(alias)}`, {
      userId: this.as,
      body: { room_id: roomId },
      endpoint: 'PUT /directory/room/{roomAlias}',
    });
  }

  async deleteAlias(alias: string): Promise<void> {
    await this.client.request('DELETE', `${C}/directory/room/${e(alias)}`, {
      userId: this.as,
      endpoint: 'DELETE /directory/room/{roomAlias}',
    });
  }

  /** `{roomId, servers}`, or undefined when the alias does not exist. */
  async resolveAlias(alias: string): Promise<{ roomId: string; servers: string[] } | undefined> {
    try {
      const res = await this.client.request<{ room_id: string; servers?: string[] }>('GET', `${C}/directory/room/${e(alias)}`, {
        userId: this.as,
        endpoint: 'GET /directory/room/{roomAlias}',
      });
      return { roomId: res.room_id, servers: res.servers ?? [] };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Publishes the room in (or removes it from) the server's public room directory. */
  async setDirectoryVisibility(roomId: string, visibility: 'public' | 'private'): Promise<void> {
    await this.client.request('PUT', `${C}/directory/list/room/${e(roomId)}`, {
      userId: this.as,
      body: { visibility },
      endpoint: 'PUT /directory/list/room/{roomId}',
    });
  }

  /** Publishes the room in the appservice's per-network directory (third-party instance). */
  async setAppserviceDirectoryVisibility(networkId: string, roomId: string, visibility: 'public' | 'private'): Promise<void> {
    await this.client.request('PUT', `${C}/directory/list/appservice/${e(networkId)}/${e(roomId)}`, {
      body: { visibility },
      endpoint: 'PUT /directory/list/appservice/{networkId}/{roomId}',
    });
  }

  // ---------------------------------------------------------------- profile

  /** Sets the global display name unless the cached value already matches (cached + persisted). */
  async setDisplayName(displayName: string): Promise<void> {
    await this.ensureRegistered();
    const rec = await this.loadRecord();
    if (rec.displayName === displayName) return;
    await this.client.request('PUT', `${C}/profile/${e(this.userId)}/displayname`, {
      userId: this.as,
      body: { displayname: displayName },
      endpoint: 'PUT /profile/{userId}/displayname',
    });
    await this.updateRecord({ displayName });
  }

  /** Sets the global avatar (an mxc:// URI) unless the cached value already matches. */
  async setAvatarUrl(avatarUrl: string): Promise<void> {
    await this.ensureRegistered();
    const rec = await this.loadRecord();
    if (rec.avatarUrl === avatarUrl) return;
    await this.client.request('PUT', `${C}/profile/${e(this.userId)}/avatar_url`, {
      userId: this.as,
      body: { avatar_url: avatarUrl },
      endpoint: 'PUT /profile/{userId}/avatar_url',
    });
    await this.updateRecord({ avatarUrl });
  }

  /** Per-room display name via the user's own m.room.member state (not cached). */
  async setRoomDisplayName(roomId: string, displayName: string): Promise<string> {
    return this.inRoom(roomId, async () => {
      const current = (await this.getStateEvent<Record<string, unknown>>(roomId, 'm.room.member', this.userId)) ?? {};
      const content = { ...current, membership: 'join', displayname: displayName };
      const res = await this.client.request<{ event_id: string }>('PUT', `${C}/rooms/${e(roomId)}/state/m.room.member/${e(this.userId)}`, {
        userId: this.as,
        body: content,
        endpoint: 'PUT /rooms/{roomId}/state/{eventType}/{stateKey}',
      });
      return res.event_id;
    });
  }

  async getProfile(userId: string = this.userId): Promise<Profile> {
    return this.client.request<Profile>('GET', `${C}/profile/${e(userId)}`, { userId: this.as, endpoint: 'GET /profile/{userId}' });
  }

  /** The cached profile (what this intent last set), without HTTP. */
  async cachedProfile(): Promise<{ displayName?: string; avatarUrl?: string }> {
    const rec = await this.loadRecord();
    return { displayName: rec.displayName, avatarUrl: rec.avatarUrl };
  }

  // ---------------------------------------------------------------- misc

  async whoami(opts: { maxRetries?: number } = {}): Promise<WhoAmI> {
    return this.client.request<WhoAmI>('GET', `${C}/account/whoami`, {
      userId: this.as,
      endpoint: 'GET /account/whoami',
      maxRetries: opts.maxRetries,
    });
  }

  /**
   * Appservice ping (v1.7): asks the homeserver to call our `/_matrix/app/v1/ping`.
   * Resolves with the round-trip duration; errors (M_URL_NOT_SET, M_BAD_STATUS,
   * M_CONNECTION_FAILED, M_CONNECTION_TIMEOUT) surface as MatrixError.
   */
  async ping(appserviceId: string, transactionId?: string, opts: { maxRetries?: number } = {}): Promise<{ duration_ms: number }> {
    return this.client.request<{ duration_ms: number }>('POST', `/_matrix/client/v1/appservice/${e(appserviceId)}/ping`, {
      body: transactionId ? { transaction_id: transactionId } : {},
      endpoint: 'POST /appservice/{appserviceId}/ping',
      maxRetries: opts.maxRetries,
    });
  }

  /** Uploads media as this user (needs the factory to have a MediaClient). */
  async uploadContent(data: Buffer | Uint8Array, opts: Omit<UploadOptions, 'userId'> = {}): Promise<string> {
    if (!this.ctx.media) throw new Error('no MediaClient configured');
    await this.ensureRegistered();
    return this.ctx.media.upload(data, { ...opts, userId: this.as });
  }

  async downloadContent(mxc: string, opts: { maxBytes?: number } = {}): Promise<DownloadedMedia> {
    if (!this.ctx.media) throw new Error('no MediaClient configured');
    return this.ctx.media.download(mxc, { ...opts, userId: this.as });
  }

  // ---------------------------------------------------------------- record

  private loadRecord(): Promise<IntentRecord> {
    if (this.record) return Promise.resolve(this.record);
    this.recordLoad ??= (async () => {
      let rec: IntentRecord | undefined;
      try {
        rec = await this.ctx.repo.get(this.userId);
      } catch (err) {
        this.recordLoad = undefined;
        throw err;
      }
      // A concurrent update may have created the record meanwhile; keep its fields.
      this.record = { userId: this.userId, registered: this.isBot, ...rec, ...this.record };
      if (this.record.registered) this.registered = true;
      return this.record;
    })();
    return this.recordLoad;
  }

  private updateRecord(patch: Partial<IntentRecord>): Promise<void> {
    this.record = { userId: this.userId, registered: this.registered, ...this.record, ...patch };
    // Writes are serialised per intent and each writes the latest state, so none is lost.
    this.persistChain = this.persistChain.then(async () => {
      try {
        await this.ctx.repo.put({ ...this.record! });
      } catch (err) {
        this.log.warn('could not persist intent record', { err: String(err) });
      }
    });
    return this.persistChain;
  }

  /** Resolves when pending store writes for this intent are done (tests, shutdown). */
  flush(): Promise<void> {
    return this.persistChain;
  }
}
