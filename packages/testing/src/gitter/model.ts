// The emulator's state and Gitter's server-side rules: users, rooms, memberships and messages.
// Every rule a bridge can run into lives here (who may read, post, edit or delete; the edit
// window; text length; history paging), so REST handlers and test controls share one truth.
// Changes to messages are announced to listeners (the stream server) as the records a Gitter
// stream carries.
import { badRequest, EDIT_WINDOW_ERROR, forbidden, notFound } from './errors';
import { ObjectIdFactory, isObjectId } from './ids';
import { renderMessage, type Rendered } from './render';
import {
  iso,
  userJson,
  type GithubType,
  type GitterMessageJson,
  type GitterRoomJson,
  type GitterUserJson,
  type StreamRecord,
  type UserRecord,
  type VirtualUser,
} from './shapes';

export const MAX_TEXT_LENGTH = 4096;
const MAX_SKIP = 5000;

/** Behaviour later Gitter servers added; all off by default, as in the documented v1 API. */
export interface GitterFeatures {
  /** DELETE of messages and `{operation:"remove"}` stream records (reference §7). */
  deletes: boolean;
  /** `parentId` on messages, `threadMessageCount`, `GET …/chatMessages/:id/thread`. */
  threads: boolean;
  /** `virtualUser` on POSTed messages. */
  virtualUsers: boolean;
}

export interface ModelConfig {
  now: () => number;
  /** How long after `sent` the author may still edit (Gitter: 600 s; older servers 300 s). */
  editWindowMs: number;
  features: GitterFeatures;
}

export interface RoomRecord {
  id: string;
  name: string;
  uri?: string;
  topic: string;
  security: 'PUBLIC' | 'PRIVATE';
  githubType: GithubType;
  /** For one-to-one rooms: the two users. */
  oneToOne?: [string, string];
  noindex: boolean;
  tags: string[];
  v: number;
  members: Map<string, { admin: boolean; lastAccess: number | null }>;
  /** In creation order (ids ascending), thread replies and deleted messages included. */
  messages: MessageRecord[];
  byId: Map<string, MessageRecord>;
  unread: Map<string, { chat: Set<string>; mention: Set<string> }>;
}

export interface MessageRecord {
  id: string;
  roomId: string;
  fromUserId: string;
  text: string;
  status: boolean;
  sent: number;
  editedAt: number | null;
  v: number;
  rendered: Rendered;
  parentId?: string;
  threadMessageCount: number;
  virtualUser?: VirtualUser;
  deleted: boolean;
  readBy: Set<string>;
}

export interface PostInput {
  text: unknown;
  status?: unknown;
  parentId?: unknown;
  virtualUser?: unknown;
  /** Test seeding only: the `sent` time (ms). */
  sent?: number;
}

export interface HistoryQuery {
  limit?: string;
  beforeId?: string;
  afterId?: string;
  aroundId?: string;
  skip?: string;
  q?: string;
}

export type MessageListener = (roomId: string, record: StreamRecord) => void;

export class GitterModel {
  readonly users = new Map<string, UserRecord>();
  private readonly usersByName = new Map<string, UserRecord>();
  readonly rooms = new Map<string, RoomRecord>();
  private readonly roomsByUri = new Map<string, RoomRecord>();
  private readonly listeners = new Set<MessageListener>();
  readonly ids: ObjectIdFactory;

  constructor(readonly config: ModelConfig) {
    this.ids = new ObjectIdFactory(() => config.now());
  }

  onMessage(listener: MessageListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // ---- users --------------------------------------------------------------------------------

  createUser(username: string, displayName = username): UserRecord {
    if (!/^[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?$/.test(username))
      throw new Error(`invalid Gitter username ${JSON.stringify(username)}`);
    if (this.usersByName.has(username.toLowerCase())) throw new Error(`Gitter user ${username} already exists`);
    const user: UserRecord = { id: this.ids.next(), username, displayName, v: 1 };
    this.users.set(user.id, user);
    this.usersByName.set(username.toLowerCase(), user);
    return user;
  }

  userByName(username: string): UserRecord | undefined {
    return this.usersByName.get(username.toLowerCase());
  }

  user(id: string): UserRecord {
    const u = this.users.get(id);
    if (!u) throw notFound('User not found');
    return u;
  }

  // ---- rooms --------------------------------------------------------------------------------

  createRoom(opts: {
    uri?: string;
    name?: string;
    topic?: string;
    security?: 'PUBLIC' | 'PRIVATE';
    githubType?: GithubType;
    oneToOne?: [string, string];
  }): RoomRecord {
    if (!opts.uri && !opts.oneToOne) throw new Error('a room needs a uri (or two users for a one-to-one room)');
    if (opts.uri && this.roomsByUri.has(opts.uri.toLowerCase())) throw new Error(`room ${opts.uri} already exists`);
    const room: RoomRecord = {
      id: this.ids.next(),
      name: opts.name ?? opts.uri ?? '',
      topic: opts.topic ?? '',
      security: opts.security ?? (opts.oneToOne ? 'PRIVATE' : 'PUBLIC'),
      githubType: opts.githubType ?? (opts.oneToOne ? 'ONETOONE' : 'ORG_CHANNEL'),
      noindex: false,
      tags: [],
      v: 1,
      members: new Map(),
      messages: [],
      byId: new Map(),
      unread: new Map(),
      ...(opts.uri ? { uri: opts.uri } : {}),
      ...(opts.oneToOne ? { oneToOne: opts.oneToOne } : {}),
    };
    this.rooms.set(room.id, room);
    if (room.uri) this.roomsByUri.set(room.uri.toLowerCase(), room);
    for (const u of opts.oneToOne ?? []) this.addMember(room.id, u);
    return room;
  }

  room(id: string): RoomRecord {
    const r = isObjectId(id) ? this.rooms.get(id) : undefined;
    if (!r) throw notFound('Room not found');
    return r;
  }

  roomByUri(uri: string): RoomRecord | undefined {
    return this.roomsByUri.get(uri.replace(/^\/+/, '').toLowerCase());
  }

  /** Public rooms are readable by anyone signed in; private ones by their members only. */
  assertCanRead(room: RoomRecord, userId: string): void {
    if (room.security === 'PUBLIC' || room.members.has(userId)) return;
    throw forbidden('You do not have access to this room');
  }

  isAdmin(room: RoomRecord, userId: string): boolean {
    return room.members.get(userId)?.admin === true;
  }

  addMember(roomId: string, userId: string, admin = false): void {
    const room = this.room(roomId);
    this.user(userId);
    const m = room.members.get(userId);
    if (m) m.admin ||= admin;
    else room.members.set(userId, { admin, lastAccess: null });
  }

  /** A user joining through the API: public rooms are open, private ones are not. */
  join(room: RoomRecord, userId: string): void {
    if (room.members.has(userId)) return;
    if (room.security !== 'PUBLIC') throw forbidden('You do not have access to this room');
    this.addMember(room.id, userId);
  }

  /** Leave (self) or remove someone (room admins). */
  removeMember(room: RoomRecord, actorId: string, userId: string): void {
    if (actorId !== userId && !this.isAdmin(room, actorId)) throw forbidden('Only room admins can remove other users');
    if (!room.members.has(userId)) throw notFound('User is not in this room');
    room.members.delete(userId);
    room.unread.delete(userId);
  }

  updateRoom(room: RoomRecord, actorId: string, body: { topic?: unknown; noindex?: unknown; tags?: unknown }): void {
    if (!this.isAdmin(room, actorId)) throw forbidden('Only room admins can change the room');
    if (body.topic !== undefined && typeof body.topic !== 'string') throw badRequest('topic must be a string');
    if (body.noindex !== undefined && typeof body.noindex !== 'boolean') throw badRequest('noindex must be a boolean');
    if (body.tags !== undefined && typeof body.tags !== 'string' && !Array.isArray(body.tags))
      throw badRequest('tags must be a string or an array');
    if (typeof body.topic === 'string') room.topic = body.topic;
    if (typeof body.noindex === 'boolean') room.noindex = body.noindex;
    if (body.tags !== undefined) {
      const tags = Array.isArray(body.tags) ? body.tags : String(body.tags).split(',');
      room.tags = tags.map((t) => String(t).trim()).filter(Boolean);
    }
    room.v++;
  }

  roomsOf(userId: string): RoomRecord[] {
    return [...this.rooms.values()].filter((r) => r.members.has(userId));
  }

  members(room: RoomRecord, query: { q?: string; skip?: string; limit?: string }): GitterUserJson[] {
    const limit = clampLimit(query.limit, 30);
    const skip = parseSkip(query.skip);
    const q = query.q?.toLowerCase();
    const all = [...room.members.entries()]
      .map(([id, m]) => ({ user: this.user(id), admin: m.admin }))
      .filter(({ user }) => !q || user.username.toLowerCase().includes(q) || user.displayName.toLowerCase().includes(q));
    return all.slice(skip, skip + limit).map(({ user, admin }) => userJson(user, admin ? 'admin' : undefined));
  }

  roomJson(room: RoomRecord, viewerId: string): GitterRoomJson {
    const unread = room.unread.get(viewerId);
    const other = room.oneToOne?.find((u) => u !== viewerId) ?? room.oneToOne?.[0];
    const otherUser = other ? this.users.get(other) : undefined;
    const lastAccess = room.members.get(viewerId)?.lastAccess ?? null;
    return {
      id: room.id,
      name: otherUser ? otherUser.displayName : room.name,
      topic: room.topic,
      ...(room.uri ? { uri: room.uri } : {}),
      ...(otherUser ? { user: userJson(otherUser) } : {}),
      oneToOne: !!room.oneToOne,
      userCount: room.members.size,
      unreadItems: unread?.chat.size ?? 0,
      mentions: unread?.mention.size ?? 0,
      lastAccessTime: lastAccess === null ? null : iso(lastAccess),
      lurk: false,
      url: otherUser ? `/${otherUser.username}` : `/${room.uri}`,
      githubType: room.githubType,
      security: room.security,
      noindex: room.noindex,
      tags: room.tags,
      v: room.v,
    };
  }

  // ---- messages -----------------------------------------------------------------------------

  postMessage(room: RoomRecord, userId: string, input: PostInput): MessageRecord {
    if (!room.members.has(userId)) throw forbidden('You must join this room before posting to it');
    const text = validText(input.text);
    const { features } = this.config;
    let parentId: string | undefined;
    if (features.threads && input.parentId !== undefined && input.parentId !== null) {
      if (!isObjectId(input.parentId)) throw badRequest('parentId must be a message id');
      const parent = room.byId.get(input.parentId);
      if (!parent || parent.deleted) throw notFound('Parent message not found');
      if (parent.parentId) throw badRequest('A thread reply cannot start a thread');
      parentId = parent.id;
    }
    let virtualUser: VirtualUser | undefined;
    if (features.virtualUsers && input.virtualUser !== undefined && input.virtualUser !== null)
      virtualUser = validVirtualUser(input.virtualUser);
    const sent = input.sent ?? this.config.now();
    const msg: MessageRecord = {
      id: this.ids.next(),
      roomId: room.id,
      fromUserId: userId,
      text,
      status: input.status === true,
      sent,
      editedAt: null,
      v: 1,
      rendered: this.render(text),
      threadMessageCount: 0,
      deleted: false,
      readBy: new Set(),
      ...(parentId ? { parentId } : {}),
      ...(virtualUser ? { virtualUser } : {}),
    };
    room.messages.push(msg);
    room.byId.set(msg.id, msg);
    if (parentId) room.byId.get(parentId)!.threadMessageCount++;
    const mentioned = new Set(msg.rendered.mentions.map((m) => m.userId).filter((id): id is string => !!id));
    const all = msg.rendered.mentions.some((m) => m.announcement);
    for (const memberId of room.members.keys()) {
      if (memberId === userId) continue;
      let u = room.unread.get(memberId);
      if (!u) room.unread.set(memberId, (u = { chat: new Set(), mention: new Set() }));
      u.chat.add(msg.id);
      if (all || mentioned.has(memberId)) u.mention.add(msg.id);
    }
    this.emit(room.id, this.messageJson(msg));
    return msg;
  }

  editMessage(room: RoomRecord, messageId: string, userId: string, body: { text?: unknown }): MessageRecord {
    const msg = this.liveMessage(room, messageId);
    if (msg.fromUserId !== userId) throw forbidden('You can only edit your own messages');
    const text = validText(body.text);
    if (this.config.now() - msg.sent > this.config.editWindowMs) throw badRequest(EDIT_WINDOW_ERROR);
    msg.text = text;
    msg.rendered = this.render(text);
    msg.v++;
    msg.editedAt = this.config.now();
    this.emit(room.id, this.messageJson(msg));
    return msg;
  }

  deleteMessage(room: RoomRecord, messageId: string, userId: string): void {
    const msg = this.liveMessage(room, messageId);
    if (msg.fromUserId !== userId && !this.isAdmin(room, userId)) throw forbidden('You can only delete your own messages');
    msg.deleted = true;
    if (msg.parentId) {
      const parent = room.byId.get(msg.parentId);
      if (parent) parent.threadMessageCount = Math.max(0, parent.threadMessageCount - 1);
    }
    for (const u of room.unread.values()) {
      u.chat.delete(msg.id);
      u.mention.delete(msg.id);
    }
    this.emit(room.id, { operation: 'remove', model: { id: msg.id } });
  }

  liveMessage(room: RoomRecord, messageId: string): MessageRecord {
    const msg = room.byId.get(messageId);
    if (!msg || msg.deleted) throw notFound('Message not found');
    return msg;
  }

  /** `GET …/chatMessages`: main-line messages (no thread replies), oldest first. */
  history(room: RoomRecord, query: HistoryQuery): MessageRecord[] {
    const q = query.q?.toLowerCase();
    const list = room.messages.filter((m) => !m.deleted && !m.parentId && (!q || m.text.toLowerCase().includes(q)));
    return page(list, query);
  }

  /** Replies of one thread, oldest first (thread extension). */
  thread(room: RoomRecord, parentId: string, query: HistoryQuery): MessageRecord[] {
    this.liveMessage(room, parentId);
    return page(
      room.messages.filter((m) => !m.deleted && m.parentId === parentId),
      query,
    );
  }

  markRead(room: RoomRecord, userId: string, ids: unknown): void {
    if (!Array.isArray(ids) || ids.some((id) => typeof id !== 'string')) throw badRequest('chat must be an array of message ids');
    const u = room.unread.get(userId);
    for (const id of ids as string[]) {
      u?.chat.delete(id);
      u?.mention.delete(id);
      room.byId.get(id)?.readBy.add(userId);
    }
    const m = room.members.get(userId);
    if (m) m.lastAccess = this.config.now();
  }

  unreadItems(room: RoomRecord, userId: string): { chat: string[]; mention: string[] } {
    const u = room.unread.get(userId);
    return { chat: [...(u?.chat ?? [])], mention: [...(u?.mention ?? [])] };
  }

  messageJson(msg: MessageRecord, viewerId?: string): GitterMessageJson {
    const { features } = this.config;
    return {
      id: msg.id,
      text: msg.text,
      html: msg.rendered.html,
      sent: iso(msg.sent),
      editedAt: msg.editedAt === null ? null : iso(msg.editedAt),
      fromUser: userJson(this.user(msg.fromUserId)),
      unread: viewerId ? (this.rooms.get(msg.roomId)?.unread.get(viewerId)?.chat.has(msg.id) ?? false) : false,
      readBy: msg.readBy.size,
      urls: msg.rendered.urls,
      mentions: msg.rendered.mentions,
      issues: msg.rendered.issues,
      meta: {},
      v: msg.v,
      status: msg.status,
      ...(features.threads && msg.parentId ? { parentId: msg.parentId } : {}),
      ...(features.threads ? { threadMessageCount: msg.threadMessageCount } : {}),
      ...(features.virtualUsers && msg.virtualUser ? { virtualUser: msg.virtualUser } : {}),
    };
  }

  private render(text: string): Rendered {
    return renderMessage(text, (name) => this.userByName(name));
  }

  private emit(roomId: string, record: StreamRecord): void {
    for (const l of this.listeners) l(roomId, record);
  }
}

function validText(text: unknown): string {
  if (typeof text !== 'string' || text.trim() === '') throw badRequest('Text is required');
  if (text.length > MAX_TEXT_LENGTH) throw badRequest(`Message exceeds maximum size of ${MAX_TEXT_LENGTH} characters`);
  return text;
}

function validVirtualUser(v: unknown): VirtualUser {
  const o = v as Record<string, unknown>;
  if (
    typeof o !== 'object' ||
    !o ||
    typeof o.type !== 'string' ||
    typeof o.externalId !== 'string' ||
    typeof o.displayName !== 'string' ||
    !o.type ||
    !o.externalId
  ) {
    throw badRequest('virtualUser needs string type, externalId and displayName');
  }
  if (o.avatarUrl !== undefined && typeof o.avatarUrl !== 'string') throw badRequest('virtualUser.avatarUrl must be a string');
  return {
    type: o.type,
    externalId: o.externalId,
    displayName: o.displayName,
    ...(typeof o.avatarUrl === 'string' ? { avatarUrl: o.avatarUrl } : {}),
  };
}

/** Gitter's `parseInt(limit) || default`, capped at 100. */
function clampLimit(raw: string | undefined, dflt: number): number {
  const n = raw === undefined ? NaN : parseInt(raw, 10);
  return Math.min(n > 0 ? n : dflt, 100);
}

function parseSkip(raw: string | undefined): number {
  const n = raw === undefined ? 0 : parseInt(raw, 10);
  if (n > MAX_SKIP) throw badRequest(`Skip is limited to ${MAX_SKIP} items. Please use beforeId rather than skip.`);
  return n > 0 ? n : 0;
}

function idParam(raw: string | undefined, name: string): string | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (!isObjectId(raw)) throw badRequest(`${name} must be a message id`);
  return raw;
}

/**
 * Gitter's paging over a list sorted by id. `afterId` gives the `limit` messages right after the
 * id (what catch-up needs); `aroundId` centres a page on it; otherwise the newest `limit` before
 * `beforeId` (or overall), after skipping the `skip` newest. Always returned oldest first.
 */
function page(list: MessageRecord[], query: HistoryQuery): MessageRecord[] {
  const limit = clampLimit(query.limit, 50);
  const skip = parseSkip(query.skip);
  const beforeId = idParam(query.beforeId, 'beforeId');
  const afterId = idParam(query.afterId, 'afterId');
  const aroundId = idParam(query.aroundId, 'aroundId');
  let items = list;
  if (beforeId) items = items.filter((m) => m.id < beforeId);
  if (afterId) {
    items = items.filter((m) => m.id > afterId);
    return items.slice(skip, skip + limit);
  }
  if (aroundId) {
    let at = items.findIndex((m) => m.id >= aroundId);
    if (at === -1) at = items.length;
    const start = Math.max(0, at - Math.floor(limit / 2));
    return items.slice(start, start + limit);
  }
  const end = Math.max(0, items.length - skip);
  return items.slice(Math.max(0, end - limit), end);
}
