/**
 * One Gitter account the bridge acts as: the relay, or a Matrix user's own token (puppeting).
 * It owns the account's REST client (with its rate-limit window: Gitter counts per token) and its
 * send queue, stored durably through `ctx.outbox` (OutboxSendStore) so a restart resumes it.
 * Outcomes go to the shared Outcomes registry by the operation's ref.
 */
import type { BridgeContext, DurableQueue, Logger } from '@causeway/bridge-core';
import { GitterHttpError, GitterRestClient, GitterSendQueue, type GitterUser, type QueuedOp, type SendOutcome } from './gitter';
import type { GitterConfig } from './config-schema';
import { OutboxSendStore, type StoredOp } from './outbox-send-store';
import type { Outcomes } from './outcomes';
import type { GitterMetrics } from './metrics';
import { REST_RETRY, retryDelay, SEND_RETRY } from './retry-delay';
import { gitterHttp } from './http';

export interface AccountHooks {
  /** The token was refused (401): the caller decides what to do (tell the user, move the sends). */
  onUnauthorized?(account: GitterAccount): void;
}

export class GitterAccount {
  readonly client: GitterRestClient;
  readonly store: OutboxSendStore;
  readonly queue: GitterSendQueue;
  user?: GitterUser;
  /** The token was refused: nothing more is sent with it. */
  broken = false;
  private readonly joined = new Set<string>();

  constructor(
    /** `relay`, or `puppet:<Matrix user id>`. */
    readonly name: string,
    token: string,
    ctx: BridgeContext<GitterConfig>,
    queue: DurableQueue<StoredOp>,
    private readonly outcomes: Outcomes,
    metrics: GitterMetrics,
    private readonly hooks: AccountHooks = {},
  ) {
    const log: Logger = ctx.log.child({ account: name.startsWith('puppet:') ? 'puppet' : name });
    this.client = new GitterRestClient({
      baseUrl: ctx.config.rest_base_url,
      http: gitterHttp,
      token,
      retryDelay: retryDelay(REST_RETRY),
      userAgent: 'causeway-gitter-bridge',
      log: {
        debug: (m, f) => log.debug(m, f),
        warn: (m, f) => {
          if (/rate limit/i.test(m)) metrics.rateLimitWaits.inc({ account: kindOf(name) });
          log.warn(m, f);
        },
      },
    });
    this.store = new OutboxSendStore(queue, ctx.data, name);
    this.queue = new GitterSendQueue({
      client: this.client,
      store: this.store,
      retryDelay: retryDelay(SEND_RETRY),
      findSent: { maxPages: ctx.config.history_lookup_pages },
      onSettled: (entry, outcome) => {
        if (entry.op.ref !== undefined) this.outcomes.settle(entry.op.ref, outcome);
        if (!outcome.ok) metrics.apiErrors.inc({ account: kindOf(name), kind: errorKind(outcome.error) });
      },
      onRetry: (_entry, error, delayMs) => {
        metrics.apiErrors.inc({ account: kindOf(name), kind: errorKind(error) });
        if (error instanceof GitterHttpError && error.kind === 'unauthorized') {
          this.broken = true;
          this.hooks.onUnauthorized?.(this);
        } else log.warn('Gitter send failed; retrying', { err: error.message, delayMs });
      },
      onStoreError: (roomId, error) => log.error('send queue store failed; retrying', { roomId, err: error.message }),
    });
  }

  /** Asks Gitter who the token belongs to (throws GitterHttpError 401 for a bad token). */
  async identify(): Promise<GitterUser> {
    this.user = await this.client.currentUser();
    return this.user;
  }

  /**
   * Joins a Gitter room before the first send there (Gitter lets only members post). Joining is
   * idempotent on Gitter; done once per room and run.
   */
  async ensureJoined(roomId: string): Promise<void> {
    if (this.joined.has(roomId)) return;
    const me = this.user ?? (await this.identify());
    await this.client.joinRoomById(me.id, roomId);
    this.joined.add(roomId);
  }

  /** The room was left (the user left the Matrix room). */
  left(roomId: string): void {
    this.joined.delete(roomId);
  }

  /** Sends what the last run left stored, in order. */
  resume(): Promise<void> {
    return this.queue.resume();
  }

  /**
   * Queues an operation (stored before this resolves only through its outcome: callers await the
   * outcome, so a Matrix event is handled once Gitter answered). A redelivered event whose
   * operation is still stored, or was delivered, is not queued again.
   */
  async submit(op: StoredOp & { ref: string }, redelivered: boolean): Promise<Delivery> {
    const ref = op.ref;
    if (redelivered) {
      if (op.kind === 'send') {
        const sent = await this.store.sentId(op.roomId, ref);
        if (sent) return { ok: true, messageId: sent };
      }
      if ((await this.store.all()).some((q) => q.op.ref === ref)) return delivery(await this.outcomes.wait(ref));
    }
    const outcome = this.outcomes.wait(ref);
    void this.queue.enqueue(op);
    return delivery(await outcome);
  }

  /** Stops the queue; what it holds stays stored (returned, for moving it to another account). */
  async stop(): Promise<QueuedOp[]> {
    await this.queue.stop();
    return this.store.all();
  }

  /** Removes stored operations (moved elsewhere). */
  async forget(ops: readonly QueuedOp[]): Promise<void> {
    for (const q of ops) await this.store.remove(q.op.roomId, q.seq);
  }
}

/** What became of an operation, as the connector needs it. */
export type Delivery = { ok: true; messageId?: string; version?: number; alreadyGone?: boolean } | { ok: false; error: Error };

function delivery(o: SendOutcome): Delivery {
  if (!o.ok) return { ok: false, error: o.error };
  return {
    ok: true,
    ...(o.message ? { messageId: o.message.id, version: o.message.v ?? 1 } : {}),
    ...(o.alreadyGone ? { alreadyGone: true } : {}),
  };
}

export function kindOf(name: string): 'relay' | 'puppet' {
  return name === 'relay' ? 'relay' : 'puppet';
}

function errorKind(err: Error): string {
  return err instanceof GitterHttpError ? err.kind : err.name === 'GitterNetworkError' ? 'network' : 'other';
}
