// The puppets of one workspace: Matrix users who linked their own Slack account (OAuth v2 user
// token, `xoxp-`). The token is sealed through the contract's secrets (like IRC passwords), next to
// a plain record of which Slack user it acts as (not secret: used to route DMs and to recognise the
// user's own activity). Calls made for a puppet go out with a Web API client of its own token.
//
// A token Slack stops accepting (`token_revoked`/`tokens_revoked` events, `invalid_auth`,
// `token_revoked`, `account_inactive` answers) is forgotten and the user is told in their admin
// room; the call that hit it goes out through the relay instead (see puppet-send), so nothing is
// dropped silently.
import type { WebClient, Logger as SlackLogger } from '@slack/web-api';
import type { BridgeContext, SecretStore } from '@causeway/bridge-core';
import type { SlackConfig, WorkspaceConfig } from '../config-schema';
import { MeteredWebClient } from '../metrics/metered-client';
import type { SlackMetrics } from '../metrics/slack-metrics';
import { leanFetch } from '../workspace/lean-fetch';

const SECRETS_NS = 'user-tokens';
const RECORDS_NS = 'puppets';

/** Answers meaning the token itself is gone (not a refusal of this one call). */
const DEAD_TOKEN_ERRORS = new Set(['invalid_auth', 'token_revoked', 'account_inactive', 'token_expired', 'not_authed']);

export interface PuppetRecord {
  slackUserId: string;
  /** Epoch ms of the login. */
  since: number;
}

export interface Puppet extends PuppetRecord {
  matrixUserId: string;
  client: WebClient;
}

export function slackErrorCode(err: unknown): string | undefined {
  const e = (err as { data?: { error?: unknown } } | undefined)?.data?.error;
  return typeof e === 'string' ? e : undefined;
}

export function isDeadTokenError(err: unknown): boolean {
  return DEAD_TOKEN_ERRORS.has(slackErrorCode(err) ?? '');
}

/** A login the bridge refuses for a reason the user may be shown (not an internal failure). */
export class LoginRefused extends Error {}

/** What puppets need of their workspace. */
export interface PuppetsHost {
  readonly name: string;
  readonly cfg: WorkspaceConfig;
  readonly ctx: BridgeContext<SlackConfig>;
  readonly metrics: SlackMetrics;
}

export class Puppets {
  private secretsRef?: SecretStore;
  private readonly byMatrix = new Map<string, Puppet>();
  private readonly bySlack = new Map<string, string>();

  constructor(
    private readonly ws: PuppetsHost,
    private readonly logger: SlackLogger,
  ) {}

  /** Whether this workspace lets users log in (a `puppeting` section is configured). */
  get enabled(): boolean {
    return !!this.ws.cfg.puppeting;
  }

  private get secrets(): SecretStore {
    if (!this.secretsRef) {
      const keyFile = this.ws.cfg.puppeting?.encryption_key_file;
      this.secretsRef = this.ws.ctx.secrets(SECRETS_NS, keyFile ? { keyFile, createKeyFile: false } : {});
    }
    return this.secretsRef;
  }

  private recordKey(matrixUserId: string): string {
    return `${this.ws.name}\u0000${matrixUserId}`;
  }

  /** Loads the stored puppets (records without a readable token are dropped, with a log line). */
  async start(): Promise<void> {
    const prefix = this.recordKey('');
    for (const { key, value } of await this.ws.ctx.data.list<PuppetRecord>(RECORDS_NS, { prefix })) {
      const matrixUserId = key.slice(prefix.length);
      let token: string | undefined;
      try {
        token = await this.secrets.get(this.ws.name, matrixUserId);
      } catch (err) {
        this.ws.ctx.log.warn('a stored Slack user token could not be opened; that user is relayed', {
          workspace: this.ws.name,
          user: matrixUserId,
          err: String(err),
        });
      }
      if (token) this.open(matrixUserId, value, token);
      else await this.ws.ctx.data.delete(RECORDS_NS, key);
    }
    await this.dropBarred();
  }

  private open(matrixUserId: string, record: PuppetRecord, token: string): Puppet {
    const client = new MeteredWebClient(
      token,
      {
        slackApiUrl: this.ws.cfg.api_url,
        fetch: leanFetch,
        logger: this.logger,
        retryConfig: { retries: 0 },
        rejectRateLimitedCalls: true,
      },
      { metrics: this.ws.metrics, workspace: this.ws.name, token: 'user' },
    );
    const p: Puppet = { ...record, matrixUserId, client };
    this.byMatrix.set(matrixUserId, p);
    this.bySlack.set(record.slackUserId, matrixUserId);
    return p;
  }

  of(matrixUserId: string): Puppet | undefined {
    return this.byMatrix.get(matrixUserId);
  }

  /** The Matrix user puppeting a Slack user, if any. */
  matrixUserOf(slackUserId: string | undefined): string | undefined {
    return slackUserId ? this.bySlack.get(slackUserId) : undefined;
  }

  all(): Puppet[] {
    return [...this.byMatrix.values()];
  }

  /**
   * Stores a login. A Slack account puppeted by another Matrix user is refused: one Slack user
   * speaks through one Matrix account, or DMs could not be routed.
   */
  async add(matrixUserId: string, slackUserId: string, token: string): Promise<void> {
    const other = this.bySlack.get(slackUserId);
    if (other && other !== matrixUserId) throw new LoginRefused(`that Slack account is already linked to ${other}`);
    const previous = this.byMatrix.get(matrixUserId);
    if (previous) this.bySlack.delete(previous.slackUserId);
    const record: PuppetRecord = { slackUserId, since: Date.now() };
    await this.secrets.set(this.ws.name, matrixUserId, token);
    await this.ws.ctx.data.put<PuppetRecord>(RECORDS_NS, this.recordKey(matrixUserId), record);
    this.open(matrixUserId, record, token);
  }

  /** Forgets a user's token and record; true when there was one. */
  async forget(matrixUserId: string): Promise<boolean> {
    const p = this.byMatrix.get(matrixUserId);
    this.byMatrix.delete(matrixUserId);
    if (p && this.bySlack.get(p.slackUserId) === matrixUserId) this.bySlack.delete(p.slackUserId);
    await this.secrets.remove(this.ws.name, matrixUserId);
    return (await this.ws.ctx.data.delete(RECORDS_NS, this.recordKey(matrixUserId))) || !!p;
  }

  /** `logout`: the token is revoked at Slack (`auth.revoke`), then forgotten whatever Slack said. */
  async logout(matrixUserId: string): Promise<{ hadLogin: boolean; revoked: boolean }> {
    const p = this.byMatrix.get(matrixUserId);
    if (!p) return { hadLogin: await this.forget(matrixUserId), revoked: false };
    let revoked: boolean;
    try {
      revoked = ((await p.client.auth.revoke()) as { revoked?: boolean }).revoked === true;
    } catch (err) {
      // A token Slack no longer accepts is as good as revoked.
      revoked = isDeadTokenError(err);
      if (!revoked) this.ws.ctx.log.warn('auth.revoke failed; the token is forgotten anyway', { err: slackErrorCode(err) ?? String(err) });
    }
    await this.forget(matrixUserId);
    return { hadLogin: true, revoked };
  }

  /**
   * Slack stopped accepting a user's token: forget it and tell them. Resolves true when this call
   * did it (a burst of failures tells the user once).
   */
  async tokenDead(matrixUserId: string, why: string): Promise<boolean> {
    if (!this.byMatrix.has(matrixUserId)) return false;
    await this.forget(matrixUserId);
    this.ws.ctx.log.info('a Slack user token stopped working; the user is relayed from now on', { workspace: this.ws.name, why });
    await this.ws.ctx.notify
      .notice(
        matrixUserId,
        `Slack no longer accepts your login to ${this.ws.name} (${why}). Your messages are sent through the bridge bot under your name until you log in again with: login ${this.ws.name}`,
      )
      .catch((err: unknown) => this.ws.ctx.log.warn('could not tell a user their Slack login ended', { err: String(err) }));
    return true;
  }

  /**
   * Who may use the bridge changed (a ban list rule): the logins of users who may not any more are
   * revoked and forgotten, so nothing reaches them or goes out as them.
   */
  async dropBarred(): Promise<void> {
    for (const p of this.all()) {
      if (this.ws.ctx.mayUseBridge(p.matrixUserId)) continue;
      this.ws.ctx.log.info('a Slack login of a user who may no longer use the bridge is revoked', { workspace: this.ws.name });
      await this.logout(p.matrixUserId);
      await this.ws.ctx.notify
        .notice(p.matrixUserId, `Your Slack login to ${this.ws.name} was revoked: you may no longer use this bridge.`)
        .catch(() => undefined);
    }
  }

  /** A `tokens_revoked` event names the users whose tokens Slack revoked. */
  async onTokensRevoked(slackUserIds: readonly string[]): Promise<void> {
    for (const id of slackUserIds) {
      const m = this.bySlack.get(id);
      if (m) await this.tokenDead(m, 'the token was revoked');
    }
  }
}
