// One Slack workspace (an app installation): its Bolt app and Web API clients, who the bridge is
// there (auth.test), the transport events arrive by, and the two flows. The connector holds one
// per `slack.workspaces` entry and routes by the portal key's network, which is the entry's name.
import { App, LogLevel, type Logger as SlackLogger } from '@slack/bolt';
import type { WebClient, WebClientOptions } from '@slack/web-api';
import { ConfigError, type BridgeContext, type GhostKey, type PortalKey } from '@causeway/bridge-core';
import { slackMessageId } from '../slack';
import { eventsPath, type SlackConfig, type WorkspaceConfig } from '../config-schema';
import { BridgeReceiver } from './receiver';
import { fetchIdentity, type SlackIdentity } from './identity';
import { leanFetch } from './lean-fetch';
import { SlackUsers } from './users';
import { CustomEmoji } from './custom-emoji';
import { ThreadRoots } from './thread-roots';
import type { WorkspaceContext } from './workspace-context';
import { EchoFilter } from '../to-matrix/echo-filter';
import { EventDedupe } from '../to-matrix/event-dedupe';
import { SlackInbox, type StoredEnvelope } from '../to-matrix/inbox';
import { SlackToMatrix } from '../to-matrix/slack-events';
import { SlackMirror } from '../to-matrix/mirror';
import { SlackSender } from '../to-slack/slack-sender';
import { MatrixToSlack } from '../to-slack/matrix-to-slack';
import { Puppets } from '../puppets/puppets';
import { PuppetEchoes } from '../puppets/puppet-echoes';
import { handlePuppetPayload } from '../puppets/puppet-events';
import { DirectMessages } from '../puppets/direct-messages';
import { TeamSync } from '../team-sync/team-sync';
import { slackMetrics, type SlackMetrics } from '../metrics/slack-metrics';
import { MeteredWebClient } from '../metrics/metered-client';

/** The SDKs log through the bridge's logger (never tokens: the SDK does not log them). */
function slackLogger(ctx: BridgeContext<SlackConfig>, name: string): SlackLogger {
  const log = ctx.log;
  let level = LogLevel.INFO;
  const fields = { workspace: name };
  return {
    debug: (...m: unknown[]) => log.debug(m.map(String).join(' '), fields),
    info: (...m: unknown[]) => log.debug(m.map(String).join(' '), fields),
    warn: (...m: unknown[]) => log.warn(m.map(String).join(' '), fields),
    // The SDK reports what it recovers from (an ack on a closed socket) as errors; ours are warnings.
    error: (...m: unknown[]) => log.warn(m.map(String).join(' '), fields),
    setLevel: (l: LogLevel) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => undefined,
  };
}

export class SlackWorkspace implements WorkspaceContext {
  private identityRef?: SlackIdentity;
  /** Lookups (users, emoji, history): a few quick retries. */
  readonly client: WebClient;
  /** Sends: no SDK retries and 429s handed back, so the send queue keeps order and waits per method. */
  readonly sendClient: WebClient;
  readonly receiver: BridgeReceiver;
  readonly app: App;
  readonly users: SlackUsers;
  readonly emoji: CustomEmoji;
  readonly echoes: EchoFilter;
  readonly threads: ThreadRoots;
  readonly sender: SlackSender;
  readonly toSlack: MatrixToSlack;
  readonly puppets: Puppets;
  readonly puppetEchoes = new PuppetEchoes();
  readonly dms = new DirectMessages(this);
  readonly teamSync = new TeamSync(this);
  readonly metrics: SlackMetrics;
  private readonly toMatrix: SlackToMatrix;
  private readonly dedupe: EventDedupe;
  private readonly inbox: SlackInbox;

  constructor(
    readonly name: string,
    readonly cfg: WorkspaceConfig,
    readonly ctx: BridgeContext<SlackConfig>,
    /** Every workspace name, for alias parsing. */
    readonly allNames: () => readonly string[],
  ) {
    const logger = slackLogger(ctx, name);
    const base: WebClientOptions = { slackApiUrl: cfg.api_url, logger, fetch: leanFetch };
    this.metrics = slackMetrics(ctx.metrics);
    const meter = { metrics: this.metrics, workspace: name, token: 'bot' as const };
    this.client = new MeteredWebClient(
      cfg.bot_token,
      { ...base, retryConfig: { retries: 2, factor: 2, minTimeout: 200, maxTimeout: 2000 } },
      meter,
    );
    this.sendClient = new MeteredWebClient(cfg.bot_token, { ...base, retryConfig: { retries: 0 }, rejectRateLimitedCalls: true }, meter);
    this.receiver = new BridgeReceiver(
      cfg.app_token
        ? {
            kind: 'socket',
            appToken: cfg.app_token,
            clientOptions: {
              slackApiUrl: cfg.api_url,
              fetch: leanFetch,
              retryConfig: { retries: 2, factor: 2, minTimeout: 200, maxTimeout: 2000 },
            },
            logger,
            clientPingTimeout: 3000,
          }
        : { kind: 'http', signingSecret: cfg.signing_secret ?? '' },
      ctx.log,
    );
    // The bridge checks its own echoes (EchoFilter) for every kind of event, so Bolt's partial
    // self-filter is off. Who the bot is comes from the bridge's own auth.test at start: given a
    // bare token, Bolt would call auth.test again for every event it processes.
    this.app = new App({
      authorize: async () => ({
        botToken: cfg.bot_token,
        botId: this.identity.botId,
        botUserId: this.identity.botUserId,
        teamId: this.identity.teamId,
      }),
      receiver: this.receiver,
      clientOptions: base,
      logger,
      ignoreSelf: false,
      deferInitialization: true,
    });
    this.app.use(async ({ body }) => {
      await handlePuppetPayload(this, body);
      await this.teamSync.onPayload(body);
      await this.toMatrix.handle(body);
    });
    this.app.error(async (err) => {
      ctx.log.warn('Slack event handling failed', { workspace: name, err: String(err) });
    });
    this.users = new SlackUsers(this.client, ctx.log);
    this.puppets = new Puppets(this, logger);
    this.emoji = new CustomEmoji(this.client, ctx.media, ctx.log);
    this.echoes = new EchoFilter(() => this.identity);
    this.toMatrix = new SlackToMatrix(this);
    // What Slack accepted from one Matrix room is shown in the channel's other rooms (to-matrix/mirror).
    const mirror = new SlackMirror(this, this.toMatrix);
    this.sender = new SlackSender(this, this.sendClient, (stored, result) => void mirror.delivered(stored, result));
    this.toSlack = new MatrixToSlack(this, this.sender);
    this.threads = new ThreadRoots(ctx.data, name);
    this.dedupe = new EventDedupe(ctx.data, name, ctx.config.dedupe_window_hours * 3600_000);
    this.inbox = new SlackInbox(
      ctx.outbox.queue<StoredEnvelope>('slack-inbox'),
      name,
      this.dedupe,
      (env) => this.receiver.process(env.body, env.retryNum),
      ctx.log,
    );
    this.receiver.onEnvelope(async (body, retryNum) => {
      const r = await this.inbox.accept(body, retryNum);
      if (r === 'duplicate') ctx.log.debug('Slack event delivered again; dropped', { workspace: name, retryNum });
    });
  }

  get connectorConfig(): SlackConfig {
    return this.ctx.config;
  }

  get identity(): SlackIdentity {
    if (!this.identityRef) throw new Error(`Slack workspace ${this.name} used before start()`);
    return this.identityRef;
  }

  botUserId(): string | undefined {
    return this.identityRef?.botUserId;
  }

  /** Where Events API requests for this workspace arrive (when it uses them). */
  get eventsPath(): string | undefined {
    return this.cfg.signing_secret ? eventsPath(this.name, this.cfg) : undefined;
  }

  portalKey(channel: string): PortalKey {
    return { network: this.name, id: channel };
  }

  ghostKey(userId: string): GhostKey {
    return { network: this.name, id: userId };
  }

  messageId(channel: string, ts: string): string {
    return slackMessageId({ team: this.identity.teamId, channel, ts });
  }

  async start(): Promise<void> {
    try {
      this.identityRef = await fetchIdentity(this.client);
    } catch (err) {
      throw new ConfigError(`Slack workspace ${this.name} could not start`, [
        `slack.workspaces.${this.name}.bot_token: Slack refused it (${slackErrorCode(err)})`,
      ]);
    }
    await this.app.init();
    await this.dedupe.load();
    await this.puppets.start();
    await this.sender.start();
    await this.inbox.start();
    try {
      await this.app.start();
    } catch (err) {
      throw new ConfigError(`Slack workspace ${this.name} could not start`, [
        `slack.workspaces.${this.name}.app_token: Slack refused it (${slackErrorCode(err)})`,
      ]);
    }
    await this.teamSync.start();
    this.ctx.log.info('Slack workspace connected', {
      workspace: this.name,
      team: this.identity.teamId,
      transport: this.cfg.app_token ? 'socket mode' : 'events api',
    });
  }

  async stop(): Promise<void> {
    await this.app.stop().catch(() => undefined);
    await this.inbox.stop();
    await this.sender.stop();
  }

  /** Resolves when no Slack event waits to be applied and no call waits to be sent. */
  async idle(): Promise<void> {
    await this.inbox.idle();
    await this.sender.idle();
  }
}

/** The Slack error code of a failed call (`invalid_auth`), or the error's message. */
function slackErrorCode(err: unknown): string {
  const code = (err as { data?: { error?: unknown } } | undefined)?.data?.error;
  return typeof code === 'string' ? code : err instanceof Error ? err.message : String(err);
}
