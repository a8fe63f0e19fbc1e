/**
 * The composition root: builds every core service from the config and the
 * connector, and starts and stops them in the right order. It owns no
 * behaviour of its own — each concern lives in its own module — so this file
 * reads as the architecture: listener → delivery → router → connector, and
 * connector → applier → intents → homeserver.
 */
import path from 'node:path';
import type { BridgeConnector } from '../connector/connector';
import { supports } from '../connector/capabilities';
import type { BridgeContext, MediaService } from '../connector/context';
import type { CoreConfig } from '../config/schema';
import type { Registration } from '../appservice/registration';
import { AppserviceServer } from '../appservice/http-server';
import { DeliveryPipeline } from '../appservice/delivery';
import type { DeliveryContext } from '../appservice/transaction';
import type { MatrixEvent } from '../matrix/event';
import { connectorData } from '../store/connector-data';
import { SealedSecretStore, SecretKey } from '../secrets/sealed-store';
import { DurableQueues } from '../outbox/durable-queues';
import { storeFromConfig } from '../store/create-store';
import type { Store } from '../store/store';
import { MatrixHttpClient } from '../matrix/http-client';
import { IntentFactory } from '../matrix/intent-factory';
import { MediaClient } from '../matrix/media';
import { BanLists } from '../moderation/ban-lists';
import { StateCache, DEFAULT_STATE_EVENT_TYPES } from '../state/state-cache';
import { matrixClientStateFetcher } from '../state/state-fetcher';
import { CommandRouter } from '../commands/command-router';
import { AdminRooms } from '../commands/admin-rooms';
import { LruMap } from '../util/lru';
import { PermissionChecker } from '../commands/permissions';
import { configureLogging, getLogger, type Logger } from '../logging/logger';
import { BridgeMetrics, ActivityTracker, MetricsServer } from '../metrics';
import { ProvisioningApi, addLinkRoutes, provisioningOptionsFromConfig, type RoomPowerChecker } from '../provisioning';
import type { ProvisioningRoutes } from '../connector/context';
import { instrumentSink } from './instrumented-sink';
import { MediaProxy } from '../media/media-proxy';
import { wellFormed } from '../media/content-disposition';
import { RemoteFetcher } from '../net/remote-fetcher';
import { warnAboutExposedDataFiles } from './exposed-files-warning';
import { HomeserverCheck } from './homeserver-check';
import { attachMetricSources } from './metric-sources';
import { MessageMapPruner } from './message-map-pruner';
import { bridgeTemplates } from '../portals/template-config';
import { GhostManager } from '../portals/ghost-manager';
import { PortalManager } from '../portals/portal-manager';
import { BridgeInfoPublisher } from '../portals/bridge-info';
import { BridgeInfoRecord } from '../portals/bridge-info-record';
import { BridgeInfoSync } from '../portals/bridge-info-sync';
import { RemoteEventApplier } from '../to-matrix/remote-event-applier';
import { MessageMap } from '../messages/message-map';
import type { StoredRemoteEvent } from '../to-matrix/remote-event-lanes';
import { HomeserverGate } from '../to-matrix/homeserver-gate';
import type { RequestMetricInfo } from '../matrix/http-client';
import { MatrixEventRouter } from '../to-remote/matrix-event-router';
import { NonPortalHandler } from '../to-remote/non-portal-handler';
import { BotNotifier } from '../portals/user-notifier';
import { TypingTracker } from '../to-remote/typing-tracker';
import { QueryHandler } from '../to-remote/query-handler';

export interface BridgeOptions<C> {
  config: CoreConfig;
  connectorConfig: C;
  registration: Registration;
  connector: BridgeConnector<C>;
  /** Overrides the configured store (tests). */
  store?: Store;
  /** Port to listen on, overriding the config (CLI -p). */
  port?: number;
  /** Version reported in metrics and by `--version`. */
  version?: string;
  /** A configuration error the bridge cannot run with (the homeserver rejected the as_token). */
  onFatal?(err: Error): void;
}

export class Bridge<C = unknown> {
  readonly log: Logger;
  readonly store: Store;
  private readonly messageMap: MessageMap;
  readonly client: MatrixHttpClient;
  readonly intents: IntentFactory;
  readonly media: MediaClient;
  readonly state: StateCache;
  readonly ghosts: GhostManager;
  readonly portals: PortalManager;
  readonly remote: RemoteEventApplier;
  /** Whether the homeserver answers; remote events wait on it while it does not. */
  readonly gate: HomeserverGate;
  /** Durable queues (store-backed), for the applier and, namespaced, the connector (`ctx.outbox`). */
  readonly outbox: DurableQueues;
  readonly commands: CommandRouter;
  readonly adminRooms: AdminRooms;
  readonly permissions: PermissionChecker;
  /** Followed ban lists (`bridge.ban_lists`), if any. */
  readonly banLists?: BanLists;
  /** Memberships seen in transactions, newest per room and user (bounded): what a DM partner did. */
  private readonly secretKeys = new Map<string, SecretKey>();
  private readonly seenMemberships = new LruMap<string, string>(50_000);
  readonly notifier: BotNotifier;
  readonly metrics: BridgeMetrics;
  readonly activity: ActivityTracker;
  /** Brings existing portal rooms' bridge info up to date after each start (in the background). */
  readonly bridgeInfoSync: BridgeInfoSync;
  /** Present when `provisioning.enabled`. */
  readonly provisioning?: ProvisioningApi;
  private metricsServer?: MetricsServer;
  private readonly pruner: MessageMapPruner;
  private homeserverCheck?: HomeserverCheck;
  /** Present when `media_proxy.public_url` is set. */
  private readonly mediaProxy?: MediaProxy;
  /** Created in start(), once the journal is open: nothing is accepted before replay is queued. */
  server!: AppserviceServer;
  readonly router: MatrixEventRouter;
  private delivery?: DeliveryPipeline;
  private readonly typing: TypingTracker;
  private readonly queries: QueryHandler;
  private readonly botUserId: string;
  private readonly mediaService: MediaService;
  /** Fetches what remote sides link to (avatars, emoji, files) behind the address guard. */
  private readonly remoteFetcher: RemoteFetcher;
  private started = false;
  /** Matrix events (a journal replay included) reach the connector only once it has started. */
  private connectorReady = false;
  private readonly connectorStarted: Promise<void>;
  private markConnectorStarted!: () => void;

  constructor(private readonly opts: BridgeOptions<C>) {
    const { config, registration, connector } = opts;
    configureLogging({ level: config.logging.level, format: config.logging.format, file: config.logging.file });
    this.log = getLogger(`bridge.${connector.protocol.id}`);
    const domain = config.homeserver.domain;
    this.botUserId = `@${registration.sender_localpart}:${domain}`;
    const templates = bridgeTemplates(
      { ghost: config.bridge.ghost_localpart_template, alias: config.bridge.alias_localpart_template },
      connector.protocol.defaults,
      connector.networkNames?.(opts.connectorConfig),
    );

    this.store = opts.store ?? storeFromConfig(config);
    this.messageMap = new MessageMap(this.store.messages, this.log.child({ module: 'message-map' }));

    this.activity = new ActivityTracker({ kv: this.store.kv });
    this.outbox = new DurableQueues(this.store.queues, this.log.child({ module: 'outbox' }));
    this.metrics = new BridgeMetrics({ protocol: connector.protocol.id, version: opts.version, activity: this.activity });
    this.client = new MatrixHttpClient({
      baseUrl: config.homeserver.url,
      asToken: registration.as_token,
      connections: config.matrix_client.max_connections,
      timeoutMs: config.matrix_client.request_timeout_ms,
      backoff: { baseMs: 250, maxMs: 30_000, maxRetries: config.matrix_client.max_retries },
      onRequest: (info) => {
        this.metrics.onHomeserverRequest(info);
        this.observeReachability(info);
      },
      onFatalError: (err) => this.opts.onFatal?.(err),
    });
    this.gate = new HomeserverGate({
      probe: () => this.client.request('GET', '/_matrix/client/versions', { maxRetries: 0, timeoutMs: 10_000 }),
      log: this.log.child({ module: 'homeserver' }),
      onChange: (reachable) => this.metrics.setHomeserverReachable(reachable),
    });
    this.connectorStarted = new Promise((resolve) => {
      this.markConnectorStarted = resolve;
    });
    this.media = new MediaClient(this.client);
    this.intents = new IntentFactory({
      client: this.client,
      botUserId: this.botUserId,
      store: this.store.intents,
      media: this.media,
      isBridgeUser: (u) => this.ghosts.isBridgeUser(u),
    });
    const bot = this.intents.bot;
    this.state = new StateCache({
      // The cache retries on its own schedule (freeing its slot while it waits), so the client must not.
      fetcher: matrixClientStateFetcher(this.client),
      // What the core reads, what the operator added, what the connector reads: never fewer.
      eventTypes: [
        ...new Set([...DEFAULT_STATE_EVENT_TYPES, ...config.state_cache.event_types, ...(connector.protocol.stateEventTypes ?? [])]),
      ],
      maxRooms: config.state_cache.max_rooms,
      maxConcurrentRequests: config.state_cache.max_concurrent_requests,
      kv: config.state_cache.persist ? this.store.kv : undefined,
      botUserId: this.botUserId,
    });
    if (config.media_proxy.public_url) {
      this.mediaProxy = new MediaProxy({
        publicUrl: config.media_proxy.public_url,
        linkLifetimeSeconds: config.media_proxy.link_lifetime_days * 86_400,
        maxBytes: config.media_proxy.max_bytes,
        maxConcurrentDownloads: config.media_proxy.max_concurrent_downloads,
        cacheBytes: config.media_proxy.cache_bytes,
        kv: this.store.kv,
        media: this.media,
        log: this.log.child({ module: 'media-proxy' }),
      });
    }
    this.remoteFetcher = new RemoteFetcher({ allowedPrivateIps: config.remote_fetch.allowed_private_ips });
    const mediaService: MediaService = (this.mediaService = {
      upload: (data, o) => this.media.upload(data, { name: o.name, mimetype: o.mimetype }),
      download: (mxc) => this.media.download(mxc),
      publicUrl: (mxc, name) => {
        if (this.mediaProxy) return this.mediaProxy.publicUrl(mxc, name);
        // No proxy configured: the homeserver's legacy download URL (works where unauthenticated media is still served).
        const base = config.homeserver.media_url ?? config.homeserver.url;
        const m = /^mxc:\/\/([^/]+)\/([^/]+)$/.exec(mxc);
        if (!base || !m) return undefined;
        return `${base.replace(/\/+$/, '')}/_matrix/media/v3/download/${m[1]}/${m[2]}${name ? '/' + encodeURIComponent(wellFormed(name)) : ''}`;
      },
      fetchRemote: (url, o) => this.remoteFetcher.fetch(url, o),
    });
    this.ghosts = new GhostManager({
      domain,
      botUserId: this.botUserId,
      template: templates.ghost,
      repo: this.store.ghosts,
      intentFor: (u) => this.intents.ghost(u),
      media: mediaService,
      log: this.log.child({ module: 'ghosts' }),
    });
    const bridgeInfoLog = this.log.child({ module: 'bridge-info' });
    const bridgeInfoRecord = new BridgeInfoRecord(this.store.kv);
    const bridgeInfo = new BridgeInfoPublisher({
      bot,
      protocol: connector.protocol,
      provider: supports(connector, 'bridgeInfo') ? connector : undefined,
      record: bridgeInfoRecord,
      log: bridgeInfoLog,
    });
    this.portals = new PortalManager({
      repo: this.store.portals,
      bot,
      domain,
      aliasTemplate: templates.alias,
      rooms: {
        federate: config.bridge.portal_rooms.federate,
        roomVersion: config.bridge.portal_rooms.room_version || undefined,
        dmFederate: config.bridge.dm_rooms.federate,
      },
      links: supports(connector, 'links') ? connector : undefined,
      bridgeInfo,
      joinedMembers: (roomId) => this.state.getJoinedUserIds(roomId),
      roomState: (roomId, type, stateKey) => this.state.getState(roomId, type, stateKey),
      isBridgeUser: (u) => this.ghosts.isBridgeUser(u),
      ghostLeave: (userId, roomId, reason) => this.intents.ghost(userId).leave(roomId, reason),
      isEncrypted: (roomId) => this.state.isEncrypted(roomId),
      userPower: (roomId, userId) => this.powerChecker().userPowerIn(roomId, userId),
      onUnlinked: (roomId) => this.state.invalidate(roomId),
      log: this.log.child({ module: 'portals' }),
      audit: getLogger('audit'),
    });
    this.bridgeInfoSync = new BridgeInfoSync({
      portals: this.portals,
      publisher: bridgeInfo,
      record: bridgeInfoRecord,
      bot,
      log: bridgeInfoLog,
    });
    this.remote = new RemoteEventApplier({
      portals: this.portals,
      ghosts: this.ghosts,
      messages: this.messageMap,
      bot,
      // From transactions (the state cache does not hold DM rooms: the bot is not in them).
      membershipOf: async (roomId, userId) => this.seenMemberships.get(`${roomId}\u0000${userId}`),
      log: this.log.child({ module: 'remote' }),
      waiting: this.outbox.queue<StoredRemoteEvent>('core.remote-events'),
      gate: this.gate,
      maxWaitMs: config.matrix_client.max_outage_wait_s * 1000,
      onUndeliverable: (event, reason) => {
        this.metrics.onRemoteEventUndeliverable(event.type);
        // Events restored at start may expire before the connector has connected to its network.
        if (supports(connector, 'undeliverable')) {
          void this.connectorStarted
            .then(() => connector.onRemoteEventUndeliverable(event, reason))
            .catch((err) => this.log.warn('connector could not report an undeliverable remote event', { err: String(err) }));
        }
      },
      onApplied: (type, outcome, startedAt, event) => {
        this.metrics.onRelay({ direction: 'remote_to_matrix', kind: type, outcome, latencyMs: Date.now() - startedAt });
        if (outcome === 'ok' && event && 'ghost' in event.sender) {
          this.activity.recordRemoteUser(this.ghosts.userIdFor(event.sender.ghost), undefined, event.portal.network);
        }
      },
    });
    if (config.bridge.ban_lists.rooms.length) {
      this.banLists = new BanLists({
        rooms: config.bridge.ban_lists.rooms,
        bot,
        log: this.log.child({ module: 'ban-lists' }),
        onChange: () => {
          if (this.started && supports(connector, 'permissions')) {
            void Promise.resolve(connector.onPermissionsChanged()).catch((err) =>
              this.log.warn('connector could not apply changed permissions', { err: String(err) }),
            );
          }
        },
      });
    }
    const banLists = this.banLists;
    this.permissions = new PermissionChecker({
      admins: config.bridge.admins,
      users: config.bridge.permissions?.users,
      ...(banLists ? { bannedFor: (u: string) => banLists.bannedFor(u) } : {}),
    });
    this.commands = new CommandRouter();
    this.adminRooms = new AdminRooms(this.store.kv);
    this.notifier = new BotNotifier(bot, this.adminRooms);
    const nonPortal = new NonPortalHandler({
      connector,
      bot,
      ghosts: this.ghosts,
      portals: this.portals,
      adminRooms: this.adminRooms,
      commands: this.commands,
      permissions: this.permissions,
      log: this.log.child({ module: 'admin' }),
    });
    this.router = new MatrixEventRouter({
      connector,
      portals: this.portals,
      messages: this.messageMap,
      notify: this.notifier,
      isBridgeUser: (u) => this.ghosts.isBridgeUser(u),
      mayUseBridge: (u) => this.permissions.mayUseBridge(u),
      dropMessagesAfterMs: config.bridge.drop_matrix_messages_after_s * 1000,
      mayRedactOthers: async (roomId, u) =>
        (await this.state.getPowerLevel(roomId, u)) >= (await this.state.requiredPowerLevelFor(roomId, 'redact')),
      displayName: async (roomId, userId) =>
        (await this.state.getMember(roomId, userId).catch(() => undefined))?.displayname ?? userId.replace(/^@([^:]+):.*$/, '$1'),
      handleNonPortal: (e, delivery) => nonPortal.handle(e, delivery),
      observeState: (e, redelivered) => this.observeState(e, redelivered),
      log: this.log.child({ module: 'router' }),
      onRelayed: (kind, outcome, startedAt, event, portal) => {
        this.metrics.onRelay({ direction: 'matrix_to_remote', kind, outcome, latencyMs: Date.now() - startedAt });
        if (outcome === 'ok') {
          this.activity.recordMatrixUser(event.sender as string, undefined, portal.key.network);
          this.activity.recordRoom(event.room_id as string, undefined, portal.key.network);
        }
      },
    });
    this.typing = new TypingTracker(connector, this.portals, (u) => this.ghosts.isBridgeUser(u));
    if (config.provisioning.enabled) {
      this.provisioning = new ProvisioningApi(
        provisioningOptionsFromConfig(
          config.provisioning,
          {
            store: this.store.kv,
            powerChecker: this.powerChecker(),
            mayUseBridge: (u) => this.permissions.mayUseBridge(u),
            log: getLogger('provisioning'),
            auditLog: getLogger('audit'),
          },
          config.homeserver,
        ),
      );
    }
    this.pruner = new MessageMapPruner(this.store.messages, config.database.message_retention_days, this.log.child({ module: 'store' }));
    this.queries = new QueryHandler({
      connector,
      ghosts: this.ghosts,
      portals: this.portals,
      domain,
      log: this.log.child({ module: 'queries' }),
    });
  }

  /** Everything a connector is given. */
  context(): BridgeContext<C> {
    const protocolId = this.opts.connector.protocol.id;
    return {
      config: this.opts.connectorConfig,
      log: getLogger(protocolId),
      domain: this.opts.config.homeserver.domain,
      remote: this.remote,
      portals: this.portals,
      ghosts: this.ghosts,
      notify: this.notifier,
      media: this.mediaService,
      commands: this.commands,
      data: connectorData(this.store.kv, protocolId),
      secrets: (namespace, o) =>
        new SealedSecretStore(connectorData(this.store.kv, protocolId), namespace, this.secretKey(o?.keyFile, o?.createKeyFile)),
      outbox: { queue: (name) => this.outbox.queue(`connector.${protocolId}.${name}`) },
      provisioning: this.provisioningRoutes(),
      http: { addRoute: (method, pattern, handler, o) => this.server.addRoute(method, pattern, handler, o) },
      metrics: this.metrics,
      isAdmin: (u) => this.permissions.isAdmin(u),
      mayUseBridge: (u) => this.permissions.mayUseBridge(u),
      lastActive: (u) => this.activity.lastMatrixActivity(u),
    };
  }

  /** One key per key file, so stores sharing a file never generate it twice. */
  private secretKey(keyFile: string | undefined, create = keyFile === undefined): SecretKey {
    const file = path.resolve(keyFile ?? path.join(this.opts.config.data_dir, `${this.opts.connector.protocol.id}-passwords.key`));
    let key = this.secretKeys.get(file);
    if (!key) this.secretKeys.set(file, (key = new SecretKey(file, create)));
    return key;
  }

  /** Where /metrics is served, when enabled. */
  get metricsUrl(): string | undefined {
    return this.metricsServer?.url;
  }

  private provisioningRoutes(): ProvisioningRoutes {
    const api = this.provisioning;
    return {
      enabled: !!api,
      addRoute: (def) => api?.addRoute(def),
      addLinkRoutes: (hooks) => {
        if (api) addLinkRoutes(api, hooks);
      },
    };
  }

  /** Provisioning's authorisation question, answered from the state cache (no homeserver call per request). */
  private powerChecker(): RoomPowerChecker {
    return {
      userPowerIn: async (roomId, userId) => ({
        joined: (await this.state.getMembership(roomId, userId)) === 'join',
        level: await this.state.getPowerLevel(roomId, userId),
        required: await this.state.requiredPowerLevel(roomId, 'm.room.power_levels', true),
      }),
    };
  }

  /** Start order: store → journal replay + listener → connector. The listener answers while the connector connects. */
  async start(): Promise<{ port: number }> {
    const { config, connector } = this.opts;
    await this.store.init();
    await this.activity.init();
    // Before the connector can emit: what waited for the homeserver when the last run ended goes first.
    await this.remote.restore();
    this.delivery = await DeliveryPipeline.open({
      handler: (event, delivery) => this.handleMatrixEvent(event, delivery),
      journalDir: path.resolve(config.data_dir, 'journal'),
      journal: { fsync: config.delivery.fsync },
      highWaterMark: config.delivery.high_water_mark_events,
      concurrency: config.delivery.max_rooms_in_flight,
      retry: { baseMs: 500, maxMs: 15_000, maxRetries: config.delivery.handler_retries },
      log: this.log.child({ module: 'delivery' }),
      // The router drops these (loop prevention) and the admin rooms ignore them: no need to journal them.
      ignorable: (e) => typeof e.state_key !== 'string' && typeof e.sender === 'string' && this.ghosts.isBridgeUser(e.sender),
      onIgnored: (e) => this.metrics.onHomeserverEvent(e.type),
    });
    await warnAboutExposedDataFiles(config, this.log);
    this.server = new AppserviceServer({
      hsToken: this.opts.registration.hs_token,
      maxBodyBytes: config.appservice.max_body_bytes,
      handlers: this.queries.handlers(),
      transactions: instrumentSink(this.delivery, this.metrics),
      log: this.log.child({ module: 'appservice' }),
    });
    attachMetricSources(this.metrics, {
      delivery: this.delivery,
      state: this.state,
      ghosts: this.store.ghosts,
      messages: this.store.messages,
      portals: this.portals,
    });
    this.metrics.setRemoteEventsWaitingSource(() => this.remote.waiting);
    if (this.mediaProxy) {
      await this.mediaProxy.init();
      this.mediaProxy.register(this.server);
    }
    if (this.provisioning) {
      const prov = this.provisioning;
      if (config.provisioning.port) await prov.listen(config.provisioning.port, config.appservice.bind_host);
      else this.server.mount((req, res) => prov.handle(req, res));
    }
    this.metricsServer = MetricsServer.fromConfig(config.metrics, this.metrics);
    await this.metricsServer?.start();
    await connector.init(this.context());
    const address = await this.server.listen(this.opts.port ?? config.appservice.port, config.appservice.bind_host);
    this.log.info(`appservice listening on ${config.appservice.bind_host}:${address.port}`);
    this.homeserverCheck = new HomeserverCheck({
      bot: this.intents.bot,
      appserviceId: this.opts.registration.id,
      homeserverUrl: config.homeserver.url,
      log: this.log.child({ module: 'homeserver' }),
      onFatal: (err) => this.opts.onFatal?.(err),
    });
    this.homeserverCheck.start();
    // Before the connector connects anyone: a banned user must not get in during start-up.
    await this.banLists?.start();
    await connector.start();
    this.started = true;
    this.connectorReady = true;
    this.markConnectorStarted();
    this.pruner.start();
    // After connector.start(), so the connector can describe its rooms; not awaited, so a bridge with
    // thousands of rooms to refresh (the first start after an upgrade) is up at once.
    this.bridgeInfoSync.start();
    if (config.state_cache.warm_on_start) {
      // In the background: transactions are answered while the cache warms.
      void this.portals
        .list()
        .then((portals) => this.state.warm(portals.map((p) => p.roomId)))
        .catch((err) => this.log.warn('state cache warm-up failed', { err: String(err) }));
    }
    return { port: address.port };
  }

  async stop(): Promise<void> {
    // First: no new bridge-info sends, and the ones in flight finish before the store closes.
    await this.bridgeInfoSync.stop();
    this.pruner.stop();
    this.homeserverCheck?.stop();
    this.banLists?.stop();
    if (this.started) await this.opts.connector.stop().catch((err) => this.log.error('connector stop failed', { err: String(err) }));
    this.started = false;
    await this.server?.close();
    await this.provisioning?.close();
    await this.metricsServer?.stop();
    await this.delivery?.close();
    await this.router.idle();
    await this.remote.stop();
    await this.state.close();
    await this.activity.close();
    await this.client.close();
    await this.remoteFetcher.close();
    await this.store.close();
  }

  /** Wait until every accepted Matrix event and every queued remote event has been handled (tests, shutdown). */
  async idle(): Promise<void> {
    await this.delivery?.idle();
    await this.router.idle();
    await this.remote.idle();
  }

  /**
   * The HTTP client's view of each attempt, for the gate: no answer at all means the homeserver
   * is unreachable; any answer means it is not. A 502/503/504 closes the gate only when a remote
   * event fails with it (the applier), since media downloads get them for other servers' faults.
   */
  private observeReachability(info: RequestMetricInfo): void {
    if (info.status === 0) this.gate.reportDown(`${info.endpoint}: ${info.errcode ?? 'no answer'}`);
    else if (!this.gate.reachable && info.status < 500) this.gate.reportUp();
  }

  private async handleMatrixEvent(event: MatrixEvent, delivery: DeliveryContext): Promise<void> {
    // The journal's replay starts before the connector has: its events wait for it (in order).
    if (!this.connectorReady) await this.connectorStarted;
    this.metrics.onHomeserverEvent(event.type);
    if (event.type === 'm.typing') return this.typing.onTyping(event);
    if (event.type === 'm.receipt' || event.type === 'm.presence') return;
    await this.router.route(event, delivery);
  }

  private observeState(event: MatrixEvent, redelivered: boolean): void {
    // The cache applies state in arrival order; a replayed event may be older than what it holds
    // (persisted before the crash), so the room is read afresh instead.
    if (redelivered) this.state.invalidate(event.room_id as string);
    else this.state.onEvent(event);
    this.banLists?.observe(event);
    if (event.type === 'm.room.member' && typeof event.state_key === 'string') {
      const membership = (event.content as { membership?: unknown } | undefined)?.membership;
      if (typeof membership !== 'string') return;
      this.seenMemberships.set(`${event.room_id as string}\u0000${event.state_key}`, membership);
      void this.intents.onMembershipEvent(event.room_id as string, event.state_key, membership);
    }
  }
}
