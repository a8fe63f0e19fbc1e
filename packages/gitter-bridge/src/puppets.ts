/**
 * Per-user Gitter tokens (puppeting). A token is stored sealed through the contract's secrets
 * (like IRC passwords), next to a plain record of whose Gitter account it is (username and id, for
 * mentions and echo suppression; not secret). Each puppeted user gets a GitterAccount of their
 * own. When Gitter refuses a token (401), the user is told in their admin room, the token is
 * forgotten, and their messages waiting in its queue go out through the relay: nothing is dropped.
 */
import type { BridgeContext, DurableQueue, SecretStore } from '@causeway/bridge-core';
import { GitterAccount } from './account';
import type { GitterConfig } from './config-schema';
import type { StoredOp } from './outbox-send-store';
import type { Outcomes } from './outcomes';
import type { GitterMetrics } from './metrics';
import { GitterRestClient, type GitterUser } from './gitter';
import { REST_RETRY, retryDelay } from './retry-delay';
import { gitterHttp } from './http';

const SECRETS_NS = 'tokens';
const PUPPETS_NS = 'puppets';
const SCOPE = 'gitter';

interface PuppetRecord {
  gitterUserId: string;
  username: string;
}

export class Puppets {
  private readonly secrets: SecretStore;
  private readonly records = new Map<string, PuppetRecord>();
  private readonly byUsername = new Map<string, string>();
  private readonly byGitterId = new Map<string, string>();
  private readonly accounts = new Map<string, GitterAccount>();

  constructor(
    private readonly ctx: BridgeContext<GitterConfig>,
    private readonly queue: DurableQueue<StoredOp>,
    private readonly outcomes: Outcomes,
    private readonly metrics: GitterMetrics,
    /** Moves a broken account's stored operations to the relay. */
    private readonly moveToRelay: (from: GitterAccount) => Promise<void>,
  ) {
    const configured = ctx.config.puppeting.encryption_key_file;
    this.secrets = ctx.secrets(SECRETS_NS, {
      ...(configured ? { keyFile: configured, createKeyFile: false } : {}),
    });
  }

  get enabled(): boolean {
    return this.ctx.config.puppeting.enabled;
  }

  /** Loads the stored puppets and resumes their queues (a broken token is reported then). */
  async start(): Promise<void> {
    for (const { key, value } of await this.ctx.data.list<PuppetRecord>(PUPPETS_NS)) this.remember(key, value);
    for (const userId of [...this.records.keys()]) {
      const token = await this.secrets.get(SCOPE, userId);
      if (!token) {
        await this.forgetRecord(userId);
        continue;
      }
      const account = this.open(userId, token);
      await account.resume();
    }
  }

  async stop(): Promise<void> {
    await Promise.all([...this.accounts.values()].map((a) => a.stop()));
  }

  /** Every puppet account (for metrics). */
  all(): GitterAccount[] {
    return [...this.accounts.values()];
  }

  /** The account a Matrix user sends with, if they have a working token. */
  accountOf(userId: string): GitterAccount | undefined {
    const a = this.accounts.get(userId);
    return a && !a.broken ? a : undefined;
  }

  /** The Gitter username a Matrix user puppets. */
  usernameOf(userId: string): string | undefined {
    return this.records.get(userId)?.username;
  }

  /** The Matrix user who puppets a Gitter username. */
  matrixUserOf(username: string): string | undefined {
    return this.byUsername.get(username.toLowerCase());
  }

  /** Whether a Gitter user id belongs to a puppet (its messages may be our own sends). */
  isPuppetGitterId(gitterUserId: string): string | undefined {
    return this.byGitterId.get(gitterUserId);
  }

  /** Checks a token with Gitter, then stores it sealed. Throws GitterHttpError 401 for a bad one. */
  async set(userId: string, token: string): Promise<GitterUser> {
    const probe = new GitterRestClient({
      baseUrl: this.ctx.config.rest_base_url,
      http: gitterHttp,
      token,
      retries: 1,
      retryDelay: retryDelay(REST_RETRY),
    });
    const user = await probe.currentUser();
    const old = this.accounts.get(userId);
    if (old) {
      const left = await old.stop();
      this.accounts.delete(userId);
      if (left.length) await this.moveToRelay(old);
    }
    await this.secrets.set(SCOPE, userId, token);
    const record = { gitterUserId: user.id, username: user.username };
    await this.ctx.data.put(PUPPETS_NS, userId, record);
    this.remember(userId, record);
    const account = this.open(userId, token);
    account.user = user;
    return user;
  }

  /** Forgets a user's token; what their queue still holds goes out through the relay. */
  async remove(userId: string): Promise<boolean> {
    const account = this.accounts.get(userId);
    this.accounts.delete(userId);
    if (account) {
      await account.stop();
      await this.moveToRelay(account);
    }
    const had = await this.secrets.remove(SCOPE, userId);
    await this.forgetRecord(userId);
    return had || account !== undefined;
  }

  private open(userId: string, token: string): GitterAccount {
    const account = new GitterAccount(`puppet:${userId}`, token, this.ctx, this.queue, this.outcomes, this.metrics, {
      onUnauthorized: (a) => void this.tokenRefused(userId, a),
    });
    const rec = this.records.get(userId);
    if (rec) account.user = { id: rec.gitterUserId, username: rec.username, displayName: rec.username };
    this.accounts.set(userId, account);
    return account;
  }

  private async tokenRefused(userId: string, account: GitterAccount): Promise<void> {
    if (this.accounts.get(userId) !== account) return;
    this.accounts.delete(userId);
    this.ctx.log.warn("a puppeted user's Gitter token was refused", { userId });
    await account.stop();
    await this.secrets.remove(SCOPE, userId).catch(() => false);
    await this.forgetRecord(userId);
    await this.moveToRelay(account);
    await this.ctx.notify
      .notice(
        userId,
        'Gitter refused your token (it was revoked or has expired), so it has been removed. ' +
          'Your messages are sent through the relay account until you set a new one with !settoken <token>.',
      )
      .catch(() => undefined);
  }

  private remember(userId: string, rec: PuppetRecord): void {
    this.records.set(userId, rec);
    this.byUsername.set(rec.username.toLowerCase(), userId);
    this.byGitterId.set(rec.gitterUserId, userId);
  }

  private async forgetRecord(userId: string): Promise<void> {
    const rec = this.records.get(userId);
    this.records.delete(userId);
    if (rec) {
      this.byUsername.delete(rec.username.toLowerCase());
      this.byGitterId.delete(rec.gitterUserId);
    }
    await this.ctx.data.delete(PUPPETS_NS, userId);
  }
}
