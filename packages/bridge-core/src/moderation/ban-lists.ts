/**
 * Ban lists (`bridge.ban_lists.rooms`, MAI's `banLists`): Matrix policy rooms (MSC2313, as
 * Mjolnir/Draupnir and community moderation lists publish them) whose `m.ban` user rules keep
 * matching users off the bridge. The bot joins each room, reads its rules at start and keeps
 * them current from the state events that reach it in transactions.
 *
 * A banned user is treated as one the bridge is not for (`mayUseBridge` is false): nothing they
 * send is relayed, they are not connected to the remote network, provisioning refuses them. The
 * connector hears when rules change (PermissionsWatcher), to drop connections already open.
 */
import type { Intent } from '../matrix/intent';
import type { Logger } from '../logging/logger';
import { compileUserGlob } from '../commands/permissions';

/** The user-rule event types: stable, and the older names lists still carry. */
const USER_RULE_TYPES: ReadonlySet<string> = new Set(['m.policy.rule.user', 'm.room.rule.user', 'org.matrix.mjolnir.rule.user']);
const BAN_RECOMMENDATIONS = new Set(['m.ban', 'org.matrix.mjolnir.ban']);
/** How often a list room that could not be joined or read is tried again. */
const RETRY_MS = 5 * 60_000;

/** Server names compare case-insensitively (as the glob matcher does); localparts exactly. */
const exactKey = (userId: string) => {
  const i = userId.indexOf(':');
  return i < 0 ? userId : userId.slice(0, i) + userId.slice(i).toLowerCase();
};

interface Rule {
  entity: string;
  reason: string;
  matches: (userId: string) => boolean;
}

export interface BanListsOptions {
  /** Room IDs or aliases of the policy rooms, as configured. */
  rooms: readonly string[];
  bot: Intent;
  log: Logger;
  /** Rules were added or removed (after the initial load). */
  onChange?(): void;
}

export class BanLists {
  /** `roomId \0 type \0 state_key` → rule; only rules with a ban recommendation are kept. */
  private readonly rules = new Map<string, Rule>();
  /**
   * Asked on every Matrix message (through mayUseBridge) while lists hold thousands of rules,
   * most of them one user ID each: those are looked up, only globs are tried one by one.
   * Rebuilt on the first question after a change (changes are rare).
   */
  private index?: { exact: Map<string, Rule>; globs: Rule[] };
  /** Policy room IDs, once joined. */
  private readonly roomIds = new Set<string>();
  private readonly pending = new Set<string>();
  private retryTimer?: NodeJS.Timeout;

  constructor(private readonly opts: BanListsOptions) {}

  /** Joins and reads every list; a list that fails is logged and retried in the background. */
  async start(): Promise<void> {
    await Promise.all(this.opts.rooms.map((r) => this.load(r)));
    if (this.pending.size) this.scheduleRetry();
  }

  stop(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  /** Why a user is banned (the first matching rule's reason), or undefined. */
  bannedFor(userId: string): string | undefined {
    const index = (this.index ??= this.buildIndex());
    const r = index.exact.get(exactKey(userId)) ?? index.globs.find((g) => g.matches(userId));
    return r ? r.reason || `matches ${r.entity}` : undefined;
  }

  private buildIndex(): { exact: Map<string, Rule>; globs: Rule[] } {
    const exact = new Map<string, Rule>();
    const globs: Rule[] = [];
    for (const r of this.rules.values()) {
      if (/[*?]/.test(r.entity)) globs.push(r);
      else if (!exact.has(exactKey(r.entity))) exact.set(exactKey(r.entity), r);
    }
    return { exact, globs };
  }

  get size(): number {
    return this.rules.size;
  }

  /** A state event from a transaction: applied if it is a user rule in one of the lists. */
  observe(event: { room_id?: unknown; type?: unknown; state_key?: unknown; content?: unknown }): void {
    if (typeof event.room_id !== 'string' || !this.roomIds.has(event.room_id)) return;
    if (typeof event.type !== 'string' || !USER_RULE_TYPES.has(event.type) || typeof event.state_key !== 'string') return;
    if (this.apply(event.room_id, event.type, event.state_key, event.content)) this.opts.onChange?.();
  }

  private async load(room: string): Promise<void> {
    try {
      const roomId = await this.opts.bot.ensureJoined(room);
      const state = await this.opts.bot.getRoomState(roomId);
      this.roomIds.add(roomId);
      let n = 0;
      for (const e of state) {
        if (USER_RULE_TYPES.has(e.type) && typeof e.state_key === 'string' && this.apply(roomId, e.type, e.state_key, e.content)) n++;
      }
      this.pending.delete(room);
      this.opts.log.info('ban list loaded', { room, roomId, userBans: n });
    } catch (err) {
      this.pending.add(room);
      this.opts.log.error(
        'could not read a ban list (bridge.ban_lists.rooms); invite the bridge bot to it or fix the entry. Retrying in 5 minutes',
        {
          room,
          err: String(err),
        },
      );
    }
  }

  private scheduleRetry(): void {
    this.retryTimer = setTimeout(() => {
      void Promise.all([...this.pending].map((r) => this.load(r))).then(() => {
        if (this.pending.size) this.scheduleRetry();
        this.opts.onChange?.();
      });
    }, RETRY_MS);
    this.retryTimer.unref();
  }

  /** Adds, replaces or removes one rule; returns whether what is banned changed. */
  private apply(roomId: string, type: string, stateKey: string, content: unknown): boolean {
    const key = `${roomId}\u0000${type}\u0000${stateKey}`;
    this.index = undefined;
    const c = (content && typeof content === 'object' ? content : {}) as { entity?: unknown; recommendation?: unknown; reason?: unknown };
    const ban =
      typeof c.entity === 'string' &&
      c.entity.length > 0 &&
      typeof c.recommendation === 'string' &&
      BAN_RECOMMENDATIONS.has(c.recommendation);
    if (!ban) return this.rules.delete(key);
    const entity = c.entity as string;
    this.rules.set(key, { entity, reason: typeof c.reason === 'string' ? c.reason.slice(0, 300) : '', matches: compileUserGlob(entity) });
    return true;
  }
}
