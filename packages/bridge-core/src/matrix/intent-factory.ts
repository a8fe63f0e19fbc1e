/**
 * One `Intent` per Matrix user the bridge acts as. Ghost intents live in an LRU
 * map so memory stays bounded with many ghosts; an evicted intent loses only its
 * memory cache (registration, memberships and profile are in the store), so
 * recreating it costs store reads, not homeserver requests. The bot intent is
 * never evicted.
 */
import type { IntentRepository, StoredMembership } from '../store/store';
import { getLogger } from '../logging/logger';
import type { Logger } from '../logging/logger';
import { SingleFlight } from '../util/single-flight';
import type { MatrixHttpClient } from './http-client';
import { Intent } from './intent';
import type { IntentContext } from './intent';
import type { MediaClient } from './media';

export interface IntentFactoryOptions {
  client: MatrixHttpClient;
  /** `@<sender_localpart>:<domain>`. */
  botUserId: string;
  store: IntentRepository;
  /** Upper bound on cached ghost intents (default 10 000). */
  maxIntents?: number;
  /**
   * Whether a user ID belongs to the bridge (its users namespace). Membership
   * events for such users are persisted even when no intent is cached; others
   * are ignored unless an intent for them is cached.
   */
  isBridgeUser?: (userId: string) => boolean;
  media?: MediaClient;
  logger?: Logger;
}

const MEMBERSHIPS: Record<string, StoredMembership | undefined> = { join: 'join', invite: 'invite', leave: 'leave', ban: 'ban' };

export class IntentFactory {
  private readonly intents = new Map<string, Intent>();
  private readonly maxIntents: number;
  private readonly botIntent: Intent;
  private readonly ctx: IntentContext;

  constructor(private readonly opts: IntentFactoryOptions) {
    this.maxIntents = Math.max(1, opts.maxIntents ?? 10_000);
    const log = opts.logger ?? getLogger('matrix.intent');
    this.ctx = {
      client: opts.client,
      repo: opts.store,
      botUserId: opts.botUserId,
      bot: () => this.botIntent,
      registerFlight: new SingleFlight<string, void>(),
      joinFlight: new SingleFlight<string, string>(),
      noteMembership: (roomId, userId, membership) => this.onMembershipEvent(roomId, userId, membership),
      media: opts.media,
      log,
    };
    this.botIntent = new Intent(opts.botUserId, this.ctx);
  }

  get bot(): Intent {
    return this.botIntent;
  }

  get botUserId(): string {
    return this.opts.botUserId;
  }

  get client(): MatrixHttpClient {
    return this.opts.client;
  }

  get media(): MediaClient | undefined {
    return this.opts.media;
  }

  /** The intent for a ghost (or the bot, when given the bot's user ID). */
  ghost(userId: string): Intent {
    if (userId === this.opts.botUserId) return this.botIntent;
    const existing = this.intents.get(userId);
    if (existing) {
      // Refresh recency: Map iteration order is insertion order.
      this.intents.delete(userId);
      this.intents.set(userId, existing);
      return existing;
    }
    const intent = new Intent(userId, this.ctx);
    this.intents.set(userId, intent);
    while (this.intents.size > this.maxIntents) {
      const oldest = this.intents.keys().next().value as string;
      this.intents.delete(oldest);
    }
    return intent;
  }

  /** Alias of `ghost` that reads better for arbitrary users. */
  intent(userId: string): Intent {
    return this.ghost(userId);
  }

  /** Number of cached ghost intents (the bot not included). */
  get size(): number {
    return this.intents.size;
  }

  /**
   * Called by the event router for every m.room.member event in a transaction
   * (`userId` = the state key), so the membership cache follows reality: a
   * ghost kicked on Matrix is re-joined the next time it sends. Unknown
   * membership values (knock) are ignored.
   */
  async onMembershipEvent(roomId: string, userId: string, membership: string): Promise<void> {
    const m = MEMBERSHIPS[membership];
    if (!m) return;
    const cached = userId === this.opts.botUserId ? this.botIntent : this.intents.get(userId);
    if (!cached && !this.opts.isBridgeUser?.(userId)) return;
    cached?.setCachedMembership(roomId, m);
    try {
      await this.opts.store.setMembership(roomId, userId, m);
    } catch (err) {
      this.ctx.log.warn('could not persist membership event', { roomId, userId, membership, err: String(err) });
    }
  }

  /** Drop every cached membership for a room (memory and store), e.g. after unlinking it. */
  async forgetRoom(roomId: string): Promise<void> {
    this.botIntent.setCachedMembership(roomId, undefined);
    for (const intent of this.intents.values()) intent.setCachedMembership(roomId, undefined);
    await this.opts.store.forgetRoom(roomId);
  }

  /** Waits for pending store writes of cached intents (shutdown, tests). */
  async flush(): Promise<void> {
    await Promise.all([this.botIntent.flush(), ...[...this.intents.values()].map((i) => i.flush())]);
  }
}
