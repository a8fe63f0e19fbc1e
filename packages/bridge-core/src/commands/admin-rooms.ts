/**
 * Admin-room bookkeeping: which room is a user's private room with the bridge
 * bot, where commands are typed. At most one per user and one user per room.
 *
 * Persisted in the KeyValueRepository namespace `admin-rooms` with two kinds of
 * keys that cannot collide (user IDs start with `@`, room IDs with `!`):
 * userId → roomId and roomId → userId.
 *
 * This module never talks to the homeserver: the bridge wiring joins the room
 * on a direct invite (see isDirectInviteToBot), then calls remember(); it feeds
 * membership changes to onMembership().
 */
import { getLogger, type Logger } from '../logging/logger';
import type { KeyValueRepository } from '../store/store';

export const ADMIN_ROOMS_NAMESPACE = 'admin-rooms';

/** The parts of an m.room.member event the invite rule looks at. */
export interface MemberEventLike {
  type?: string;
  sender: string;
  state_key?: string;
  content?: { membership?: string; is_direct?: unknown; [k: string]: unknown };
}

export interface DirectInviteOptions {
  /**
   * Current members of the room (joined and invited user IDs), if the wiring
   * knows them. A room whose members are only the inviter and the bot counts
   * as direct even without `is_direct`.
   */
  members?: readonly string[];
}

/**
 * Whether an event is an invite of the bot into what should become an admin
 * room: an m.room.member invite whose state_key is the bot, sent by someone
 * else, with `is_direct: true` in the content, or (without it) into a room
 * whose known members are only the inviter and the bot.
 */
export function isDirectInviteToBot(event: MemberEventLike, botUserId: string, opts: DirectInviteOptions = {}): boolean {
  if (!event || (event.type !== undefined && event.type !== 'm.room.member')) return false;
  if (event.state_key !== botUserId) return false;
  if (event.content?.membership !== 'invite') return false;
  if (!event.sender || event.sender === botUserId) return false;
  if (event.content.is_direct === true) return true;
  if (!opts.members || opts.members.length === 0) return false;
  const members = new Set(opts.members);
  if (!members.has(event.sender)) return false;
  for (const m of members) if (m !== event.sender && m !== botUserId) return false;
  return true;
}

export interface AdminRoomsOptions {
  logger?: Logger;
  /**
   * Cache lookups in memory (default true). Safe as long as this process is the
   * only writer of the namespace, which is the case for one bridge process.
   */
  cache?: boolean;
  /** Bound on cached entries (default 10000). */
  maxCacheEntries?: number;
}

export class AdminRooms {
  private readonly log: Logger;
  private readonly cacheEnabled: boolean;
  private readonly maxCache: number;
  /** key (userId or roomId) → the other side, or null for "known absent". */
  private readonly cache = new Map<string, string | null>();
  /** Serialises writes so remember/forget never interleave. */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly kv: KeyValueRepository,
    opts: AdminRoomsOptions = {},
  ) {
    this.log = opts.logger ?? getLogger('commands.admin-rooms');
    this.cacheEnabled = opts.cache ?? true;
    this.maxCache = Math.max(1, opts.maxCacheEntries ?? 10000);
  }

  async isAdminRoom(roomId: string): Promise<boolean> {
    return (await this.lookup(roomId)) !== undefined;
  }

  /** The user's admin room, if there is one. */
  async adminRoomFor(userId: string): Promise<string | undefined> {
    return this.lookup(userId);
  }

  /** The user an admin room belongs to, if it is one. */
  async ownerOf(roomId: string): Promise<string | undefined> {
    return this.lookup(roomId);
  }

  /**
   * Record `roomId` as `userId`'s admin room. Replaces the user's previous admin
   * room and any previous owner of the room (both stop being admin rooms).
   */
  remember(userId: string, roomId: string): Promise<void> {
    if (!userId.startsWith('@') || !roomId.startsWith('!')) {
      return Promise.reject(new Error(`remember(${userId}, ${roomId}): expected a user ID and a room ID`));
    }
    return this.serial(async () => {
      const oldRoom = await this.read(userId);
      const oldOwner = await this.read(roomId);
      if (oldRoom === roomId && oldOwner === userId) return;
      if (oldRoom && oldRoom !== roomId) await this.del(oldRoom);
      if (oldOwner && oldOwner !== userId) await this.del(oldOwner);
      await this.write(roomId, userId);
      await this.write(userId, roomId);
      this.log.info('Admin room recorded', { userId, roomId, replacedRoom: oldRoom !== roomId ? oldRoom : undefined });
    });
  }

  /** Stop treating a room as an admin room. Returns the user it belonged to. */
  forget(roomId: string): Promise<string | undefined> {
    return this.serial(async () => {
      const owner = await this.read(roomId);
      await this.del(roomId);
      if (owner && (await this.read(owner)) === roomId) await this.del(owner);
      if (owner) this.log.info('Admin room forgotten', { userId: owner, roomId });
      return owner;
    });
  }

  /**
   * Feed a membership change seen in a room. When the owner of an admin room
   * leaves it (or is kicked or banned), the room is forgotten. Returns whether
   * that happened (the wiring may then leave the room too).
   */
  async onMembership(roomId: string, userId: string, membership: string): Promise<boolean> {
    if (membership !== 'leave' && membership !== 'ban') return false;
    const owner = await this.lookup(roomId);
    if (owner !== userId) return false;
    await this.forget(roomId);
    return true;
  }

  /** Every recorded admin room, as userId → roomId pairs. */
  async list(): Promise<Array<{ userId: string; roomId: string }>> {
    const rows = await this.kv.list<string>(ADMIN_ROOMS_NAMESPACE, { prefix: '@' });
    return rows.filter((r) => typeof r.value === 'string').map((r) => ({ userId: r.key, roomId: r.value }));
  }

  // ---- internals ----

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async lookup(key: string): Promise<string | undefined> {
    if (this.cacheEnabled && this.cache.has(key)) return this.cache.get(key) ?? undefined;
    return this.read(key);
  }

  private async read(key: string): Promise<string | undefined> {
    const v = await this.kv.get<unknown>(ADMIN_ROOMS_NAMESPACE, key);
    const value = typeof v === 'string' && v ? v : undefined;
    this.cacheSet(key, value ?? null);
    return value;
  }

  private async write(key: string, value: string): Promise<void> {
    this.cache.delete(key);
    await this.kv.put(ADMIN_ROOMS_NAMESPACE, key, value);
    this.cacheSet(key, value);
  }

  private async del(key: string): Promise<void> {
    this.cache.delete(key);
    await this.kv.delete(ADMIN_ROOMS_NAMESPACE, key);
    this.cacheSet(key, null);
  }

  private cacheSet(key: string, value: string | null): void {
    if (!this.cacheEnabled) return;
    this.cache.delete(key);
    if (this.cache.size >= this.maxCache) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    this.cache.set(key, value);
  }
}
