/**
 * Prometheus metrics of one bridge. Each `BridgeMetrics` owns its own
 * prom-client `Registry` (never the global one), so tests and several bridges
 * in one process do not collide. Every series carries the `protocol` label (the
 * connector ID) as a registry default label. The metric set is defined in
 * ./definitions (and documented from there in docs/metrics.md).
 *
 * Components feed it either by events (`onRelay`, `onHomeserverRequest`, ...)
 * or by sources read at scrape time (`setStateCacheSource`, `setPortalSource`,
 * ...). Nothing here throws into the caller's path: bad input is clamped and
 * failing sources are logged.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Logger } from '../logging/logger';
import { getLogger } from '../logging/logger';
import { ActivityTracker } from './activity-tracker';
import {
  ACTIVITY_KINDS,
  ACTIVITY_WINDOWS,
  KNOWN_EVENT_TYPES,
  METRIC_DEFINITIONS,
  OTHER,
  RELAY_DIRECTIONS,
  RELAY_OUTCOMES,
  TRANSACTION_OUTCOMES,
  type MetricDescription,
  type MetricKey,
  type RelayDirection,
  type RelayOutcome,
  type TransactionOutcome,
} from './definitions';
import { createEndpointTemplater } from './endpoint-template';
import type { ConnectorMetrics } from '../connector/metrics';

/**
 * Numbers the room state cache exposes for its metrics. Counters (`hits`,
 * `misses`, `evictions`) are cumulative since the cache started; the others
 * are current values. `inFlight` is the number of state requests to the
 * homeserver currently running; `queued` the loads waiting for a request slot.
 */
export interface StateCacheStats {
  hits: number;
  misses: number;
  inFlight: number;
  queued: number;
  rooms: number;
  evictions: number;
}

/**
 * Adapter for the core `StateCache.stats()` shape (`requestsInFlight`,
 * `queueDepth`, `roomsCached`), e.g.
 * `metrics.setStateCacheSource(() => stateCacheStatsFrom(cache.stats()))`.
 */
export function stateCacheStatsFrom(s: {
  hits: number;
  misses: number;
  requestsInFlight: number;
  queueDepth: number;
  roomsCached: number;
  evictions: number;
}): StateCacheStats {
  return {
    hits: s.hits,
    misses: s.misses,
    inFlight: s.requestsInFlight,
    queued: s.queueDepth,
    rooms: s.roomsCached,
    evictions: s.evictions,
  };
}

/** The HTTP client's `onRequest` hook shape (extra fields are ignored). */
export interface HomeserverRequestInfo {
  /** A route template, an HTTP client label (`PUT /rooms/{roomId}/...`) or a raw path: it is normalised either way. */
  endpoint: string;
  method: string;
  /** HTTP status, 0 when no response arrived. */
  status: number;
  durationMs: number;
}

export interface RelayInfo {
  direction: RelayDirection;
  /** Message kind, e.g. `text`, `image`, `edit`, `reaction` (bounded: past a cap new kinds count as `other`). */
  kind: string;
  outcome: RelayOutcome;
  /** Receipt-to-relayed time; observed in the latency histogram for `ok` relays. */
  latencyMs?: number;
}

export interface TransactionInfo {
  outcome: TransactionOutcome;
  /** Receipt-to-acknowledgement time. */
  durationMs?: number;
}

export interface DeliveryStats {
  /** Journaled events not yet fully handled. */
  queuedEvents: number;
  /** Rooms with events being handled or queued. */
  activeRooms: number;
}

type MaybePromise<T> = T | Promise<T>;

export interface BridgeMetricsOptions {
  /** The connector ID (e.g. `irc`): the `protocol` label and the connector metric prefix. */
  protocol: string;
  /** Build version for `causeway_build_info` (default: bridge-core's package version). */
  version?: string;
  /** Node.js process metrics (default true). */
  processMetrics?: boolean;
  /** Feeds `causeway_active_users` / `causeway_active_rooms`; can also be set later with `setActivityTracker`. */
  activity?: ActivityTracker;
  logger?: Logger;
}

const METHODS = new Set(['GET', 'PUT', 'POST', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH']);
const MAX_RELAY_KINDS = 32;
const MAX_STATES = 32;
const MAX_PORTAL_KINDS = 16;
const MAX_ENDPOINTS = 256;

/** Values of a free-form label, capped: the first `max` distinct values pass, later ones become `other`. */
class BoundedLabel {
  private readonly seen = new Set<string>();
  constructor(private readonly max: number) {}
  value(raw: string): string {
    const v =
      String(raw)
        .toLowerCase()
        .replace(/[^a-z0-9_.:-]/g, '_')
        .slice(0, 48) || OTHER;
    if (this.seen.has(v)) return v;
    if (this.seen.size >= this.max) return OTHER;
    this.seen.add(v);
    return v;
  }
}

function seconds(ms: number | undefined): number | undefined {
  if (ms === undefined || !Number.isFinite(ms)) return undefined;
  return Math.max(0, ms) / 1000;
}

function nonNegative(n: unknown): number {
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? n : 0;
}

function packageVersion(): string {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- package.json is outside the build's rootDir, so it cannot be imported
    return (require('../../package.json') as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Prometheus-safe form of a connector ID, for metric name prefixes. */
function protocolPrefix(protocol: string): string {
  const p = protocol.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  return `causeway_${p}_`;
}

export class BridgeMetrics implements ConnectorMetrics {
  readonly registry: Registry;
  readonly protocol: string;
  private readonly log: Logger;
  private readonly known = new Set(KNOWN_EVENT_TYPES);

  private readonly eventsReceived: Counter<string>;
  private readonly messagesRelayed: Counter<string>;
  private readonly relayLatency: Histogram<string>;
  private readonly hsRequests: Counter<string>;
  private readonly hsRequestDuration: Histogram<string>;
  private readonly txnProcessing: Histogram<string>;
  private readonly transactions: Counter<string>;
  private readonly deliveryQueue: Gauge<string>;
  private readonly deliveryRooms: Gauge<string>;
  private readonly portals: Gauge<string>;
  private readonly ghosts: Gauge<string>;
  private readonly messageMapRecords: Gauge<string>;
  private readonly remoteConnections: Gauge<string>;
  private readonly sendQueueDelay: Histogram<string>;
  private readonly homeserverReachable: Gauge<string>;
  private readonly remoteEventsUndeliverable: Counter<string>;
  private remoteWaitingSource?: () => number;

  private readonly relayKinds = new BoundedLabel(MAX_RELAY_KINDS);
  private readonly connectionStates = new BoundedLabel(MAX_STATES);
  private readonly portalKinds = new BoundedLabel(MAX_PORTAL_KINDS);
  private readonly endpoints = new Set<string>();
  private readonly endpointTemplate = createEndpointTemplater();
  private readonly reportedStates = new Set<string>();
  private readonly reportedPortalKinds = new Set<string>();

  private stateCacheSource?: () => StateCacheStats | undefined;
  private deliverySource?: () => DeliveryStats | undefined;
  private portalSource?: () => MaybePromise<Record<string, number>>;
  private ghostSource?: () => MaybePromise<number>;
  private messageMapSource?: () => MaybePromise<number>;
  private activity?: ActivityTracker;
  private readonly sourceErrorsLogged = new Set<string>();

  constructor(opts: BridgeMetricsOptions) {
    if (!opts.protocol) throw new Error('BridgeMetrics: protocol (the connector ID) is required');
    this.protocol = opts.protocol;
    this.log = opts.logger ?? getLogger('metrics');
    this.activity = opts.activity;
    this.registry = new Registry();
    this.registry.setDefaultLabels({ protocol: this.protocol });
    if (opts.processMetrics !== false) collectDefaultMetrics({ register: this.registry });

    this.eventsReceived = this.make('eventsReceived');
    this.messagesRelayed = this.make('messagesRelayed');
    this.relayLatency = this.make('relayLatency');
    this.hsRequests = this.make('homeserverRequests');
    this.hsRequestDuration = this.make('homeserverRequestDuration');
    this.txnProcessing = this.make('transactionProcessing');
    this.transactions = this.make('transactions');
    this.deliveryQueue = this.make('deliveryQueueEvents', () => this.collectDelivery());
    this.deliveryRooms = this.make('deliveryRoomsActive', () => this.collectDelivery());
    this.portals = this.make('portals', () => this.collectPortals());
    this.ghosts = this.make('ghosts', () => this.collectGhosts());
    this.messageMapRecords = this.make('messageMapRecords', () => this.collectMessageMap());
    this.remoteConnections = this.make('remoteConnections');
    this.homeserverReachable = this.make('homeserverReachable');
    this.homeserverReachable.set(1);
    const waiting: Gauge<string> = this.make('remoteEventsWaiting', () => {
      if (this.remoteWaitingSource) waiting.set(nonNegative(this.remoteWaitingSource()));
    });
    this.remoteEventsUndeliverable = this.make('remoteEventsUndeliverable');
    this.sendQueueDelay = this.make('remoteSendQueueDelay');
    this.makeStateCacheMetrics();
    this.makeActivityMetrics();
    const buildInfo: Gauge<string> = this.make('buildInfo');
    buildInfo.set({ version: opts.version ?? packageVersion() }, 1);

    // Expose the bounded label sets from the start, so dashboards and alerts see zeros, not gaps.
    for (const outcome of TRANSACTION_OUTCOMES) this.transactions.inc({ outcome }, 0);
    for (const direction of RELAY_DIRECTIONS) this.relayLatency.zero({ direction });
  }

  // ---- events ----------------------------------------------------------------------

  /** One event (or `count`) of `type` received from the homeserver. Unknown types count as `other`. */
  onHomeserverEvent(type: string, count = 1): void {
    this.eventsReceived.inc({ type: this.known.has(type) ? type : OTHER }, nonNegative(count));
  }

  /** A message relayed (or not) in one direction. */
  onRelay(info: RelayInfo): void {
    const direction = (RELAY_DIRECTIONS as readonly string[]).includes(info.direction) ? info.direction : OTHER;
    const outcome = (RELAY_OUTCOMES as readonly string[]).includes(info.outcome) ? info.outcome : 'failed';
    this.messagesRelayed.inc({ direction, kind: this.relayKinds.value(info.kind), outcome });
    const s = seconds(info.latencyMs);
    if (outcome === 'ok' && s !== undefined) this.relayLatency.observe({ direction }, s);
  }

  /** The HTTP client's `onRequest` hook: pass it directly (`onRequest: (i) => metrics.onHomeserverRequest(i)`). */
  onHomeserverRequest(info: HomeserverRequestInfo): void {
    const method = String(info.method ?? '').toUpperCase();
    const m = METHODS.has(method) ? method : 'OTHER';
    let endpoint = this.endpointTemplate(String(info.endpoint ?? ''));
    if (!this.endpoints.has(endpoint)) {
      if (this.endpoints.size >= MAX_ENDPOINTS) endpoint = OTHER;
      else this.endpoints.add(endpoint);
    }
    const status = Number.isInteger(info.status) && info.status >= 100 && info.status < 600 ? String(info.status) : '0';
    this.hsRequests.inc({ endpoint, method: m, status });
    const s = seconds(info.durationMs);
    if (s !== undefined) this.hsRequestDuration.observe({ endpoint, method: m }, s);
  }

  /** An appservice transaction acknowledged (or refused). */
  onTransaction(info: TransactionInfo): void {
    const outcome = (TRANSACTION_OUTCOMES as readonly string[]).includes(info.outcome) ? info.outcome : 'rejected';
    this.transactions.inc({ outcome });
    const s = seconds(info.durationMs);
    if (s !== undefined) this.txnProcessing.observe(s);
  }

  /** Whether the homeserver answers (the HomeserverGate's view). */
  setHomeserverReachable(reachable: boolean): void {
    this.homeserverReachable.set(reachable ? 1 : 0);
  }

  /** A remote event given up after waiting for an unreachable homeserver. */
  onRemoteEventUndeliverable(kind: string): void {
    this.remoteEventsUndeliverable.inc({ kind: this.relayKinds.value(kind) });
  }

  /** Read the number of remote events waiting for the homeserver at scrape time. */
  setRemoteEventsWaitingSource(source: (() => number) | undefined): void {
    this.remoteWaitingSource = source;
  }

  /** Time a message waited in a connector's outgoing queue (e.g. IRC flood control). */
  observeRemoteSendQueueDelay(delayMs: number): void {
    const s = seconds(delayMs);
    if (s !== undefined) this.sendQueueDelay.observe(s);
  }

  // ---- gauges ----------------------------------------------------------------------

  /** Set the delivery gauges directly (alternative to `setDeliverySource`). */
  setDelivery(stats: DeliveryStats): void {
    this.deliveryQueue.set(nonNegative(stats.queuedEvents));
    this.deliveryRooms.set(nonNegative(stats.activeRooms));
  }

  /** Read the delivery numbers at scrape time. */
  setDeliverySource(source: (() => DeliveryStats | undefined) | undefined): void {
    this.deliverySource = source;
  }

  /** Read the state cache numbers at scrape time (see `stateCacheStatsFrom` for the core cache). */
  setStateCacheSource(source: (() => StateCacheStats | undefined) | undefined): void {
    this.stateCacheSource = source;
  }

  /**
   * Connection counts by state, as the connector sees them now. Every state
   * reported before but missing here is set to 0.
   */
  setRemoteConnections(counts: Record<string, number>): void {
    this.applyCounts(this.remoteConnections, 'state', this.connectionStates, this.reportedStates, counts);
  }

  /** Portal counts by kind now; kinds reported before but missing here go to 0. */
  setPortals(counts: Record<string, number>): void {
    this.applyCounts(this.portals, 'kind', this.portalKinds, this.reportedPortalKinds, counts);
  }

  /** Read portal counts by kind at scrape time (may be async, e.g. from the store). */
  setPortalSource(source: (() => MaybePromise<Record<string, number>>) | undefined): void {
    this.portalSource = source;
  }

  setGhosts(count: number): void {
    this.ghosts.set(nonNegative(count));
  }

  /** Read the ghost count at scrape time (may be async, e.g. `() => store.ghosts.count()`). */
  setGhostSource(source: (() => MaybePromise<number>) | undefined): void {
    this.ghostSource = source;
  }

  /** Read the message-map size at scrape time (e.g. `() => store.messages.count()`). */
  setMessageMapSource(source: (() => MaybePromise<number>) | undefined): void {
    this.messageMapSource = source;
  }

  /** The tracker behind `causeway_active_users` / `causeway_active_rooms`. */
  setActivityTracker(tracker: ActivityTracker | undefined): void {
    this.activity = tracker;
  }

  get activityTracker(): ActivityTracker | undefined {
    return this.activity;
  }

  // ---- connector metrics ----------------------------------------------------------

  /** The required prefix of connector metric names, `causeway_<protocol>_`. */
  get connectorPrefix(): string {
    return protocolPrefix(this.protocol);
  }

  /**
   * A connector's own counter on this registry. `name` may be given with or
   * without the `causeway_<protocol>_` prefix; any other `causeway_` name is
   * refused. Asking again for the same name returns the same metric.
   */
  counter<L extends string = string>(name: string, help: string, labels: readonly L[] = []): Counter<L> {
    return this.connectorMetric(
      'counter',
      name,
      help,
      labels,
      (n) => new Counter<L>({ name: n, help, labelNames: labels, registers: [this.registry] }),
    );
  }

  gauge<L extends string = string>(name: string, help: string, labels: readonly L[] = []): Gauge<L> {
    return this.connectorMetric(
      'gauge',
      name,
      help,
      labels,
      (n) => new Gauge<L>({ name: n, help, labelNames: labels, registers: [this.registry] }),
    );
  }

  histogram<L extends string = string>(name: string, help: string, labels: readonly L[] = [], buckets?: number[]): Histogram<L> {
    return this.connectorMetric(
      'histogram',
      name,
      help,
      labels,
      (n) => new Histogram<L>({ name: n, help, labelNames: labels, registers: [this.registry], ...(buckets ? { buckets } : {}) }),
    );
  }

  // ---- exposition ------------------------------------------------------------------

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The text exposition (what `GET /metrics` returns). */
  async metrics(): Promise<string> {
    return this.registry.metrics();
  }

  // ---- internals -------------------------------------------------------------------

  private make<T extends Counter<string> | Gauge<string> | Histogram<string>>(key: MetricKey, collect?: () => MaybePromise<void>): T {
    const d: MetricDescription = METRIC_DEFINITIONS[key];
    const labelNames = d.labels.filter((l) => l !== 'protocol');
    const base = { name: d.name, help: d.help, labelNames, registers: [this.registry] };
    const withCollect = collect ? { collect: () => this.guard(key, collect) } : {};
    switch (d.type) {
      case 'counter':
        return new Counter({ ...base, ...withCollect }) as T;
      case 'gauge':
        return new Gauge({ ...base, ...withCollect }) as T;
      case 'histogram':
        return new Histogram({ ...base, ...withCollect, buckets: d.buckets }) as T;
    }
  }

  /** Run a scrape-time source, logging (once per source until it recovers) instead of failing the scrape. */
  private guard(key: string, fn: () => MaybePromise<void>): MaybePromise<void> {
    const onError = (err: unknown) => {
      if (this.sourceErrorsLogged.has(key)) return;
      this.sourceErrorsLogged.add(key);
      this.log.warn(`metrics source for ${key} failed; keeping previous values`, {
        error: err instanceof Error ? err.message : String(err),
      });
    };
    try {
      const r = fn();
      if (r instanceof Promise)
        return r.then(() => {
          this.sourceErrorsLogged.delete(key);
        }, onError);
      this.sourceErrorsLogged.delete(key);
    } catch (err) {
      onError(err);
    }
  }

  private collectDelivery(): void {
    const s = this.deliverySource?.();
    if (s) this.setDelivery(s);
  }

  private async collectPortals(): Promise<void> {
    if (!this.portalSource) return;
    this.setPortals(await this.portalSource());
  }

  private async collectGhosts(): Promise<void> {
    if (!this.ghostSource) return;
    this.setGhosts(await this.ghostSource());
  }

  private async collectMessageMap(): Promise<void> {
    if (!this.messageMapSource) return;
    this.messageMapRecords.set(nonNegative(await this.messageMapSource()));
  }

  private applyCounts(
    gauge: Gauge<string>,
    label: string,
    bound: BoundedLabel,
    reported: Set<string>,
    counts: Record<string, number>,
  ): void {
    const now = new Map<string, number>();
    for (const [raw, n] of Object.entries(counts ?? {})) {
      const v = bound.value(raw);
      now.set(v, (now.get(v) ?? 0) + nonNegative(n));
    }
    for (const v of reported) if (!now.has(v)) gauge.set({ [label]: v }, 0);
    for (const [v, n] of now) {
      gauge.set({ [label]: v }, n);
      reported.add(v);
    }
  }

  private makeStateCacheMetrics(): void {
    // Cumulative counters from the source: add the increase since the last scrape. A value
    // lower than last time means the cache was replaced or restarted; count it from zero.
    const last = { hits: 0, misses: 0, evictions: 0 };
    const counterFrom = (key: 'stateCacheHits' | 'stateCacheMisses' | 'stateCacheEvictions', field: keyof typeof last) => {
      const c: Counter<string> = this.make(key, () => {
        const s = this.stateCacheSource?.();
        if (!s) return;
        const v = nonNegative(s[field]);
        const delta = v >= last[field] ? v - last[field] : v;
        last[field] = v;
        if (delta > 0) c.inc(delta);
      });
    };
    counterFrom('stateCacheHits', 'hits');
    counterFrom('stateCacheMisses', 'misses');
    counterFrom('stateCacheEvictions', 'evictions');
    const gaugeFrom = (key: 'stateCacheInFlight' | 'stateCacheQueueDepth' | 'stateCacheRooms', field: 'inFlight' | 'queued' | 'rooms') => {
      const g: Gauge<string> = this.make(key, () => {
        const s = this.stateCacheSource?.();
        if (s) g.set(nonNegative(s[field]));
      });
    };
    gaugeFrom('stateCacheInFlight', 'inFlight');
    gaugeFrom('stateCacheQueueDepth', 'queued');
    gaugeFrom('stateCacheRooms', 'rooms');
  }

  private makeActivityMetrics(): void {
    const users: Gauge<string> = this.make('activeUsers', () => {
      if (!this.activity) return;
      const c = this.activity.counts();
      for (const window of ACTIVITY_WINDOWS) for (const kind of ACTIVITY_KINDS) users.set({ window, kind }, c.users[window][kind]);
    });
    const rooms: Gauge<string> = this.make('activeRooms', () => {
      if (!this.activity) return;
      const c = this.activity.counts();
      for (const window of ACTIVITY_WINDOWS) rooms.set({ window }, c.rooms[window]);
    });
    // Per network: a network once reported and now without activity goes to 0, not stale.
    const reported = new Set<string>();
    const usersByNetwork: Gauge<string> = this.make('activeUsersByNetwork', () => {
      if (!this.activity) return;
      const nets = this.activity.counts().networks;
      for (const network of new Set([...reported, ...Object.keys(nets)])) {
        reported.add(network);
        for (const window of ACTIVITY_WINDOWS) {
          for (const kind of ACTIVITY_KINDS) usersByNetwork.set({ network, window, kind }, nets[network]?.users[window][kind] ?? 0);
        }
      }
    });
    const roomsByNetwork: Gauge<string> = this.make('activeRoomsByNetwork', () => {
      if (!this.activity) return;
      const nets = this.activity.counts().networks;
      for (const network of new Set([...reported, ...Object.keys(nets)])) {
        for (const window of ACTIVITY_WINDOWS) roomsByNetwork.set({ network, window }, nets[network]?.rooms[window] ?? 0);
      }
    });
    for (const window of ACTIVITY_WINDOWS) {
      for (const kind of ACTIVITY_KINDS) users.set({ window, kind }, 0);
      rooms.set({ window }, 0);
    }
  }

  private connectorMetric<M extends Counter<string> | Gauge<string> | Histogram<string>>(
    type: 'counter' | 'gauge' | 'histogram',
    name: string,
    help: string,
    labels: readonly string[],
    create: (name: string) => M,
  ): M {
    const prefix = this.connectorPrefix;
    let full = name;
    if (!name.startsWith(prefix)) {
      if (name.startsWith('causeway_')) throw new Error(`connector metric ${name} must be prefixed ${prefix}`);
      full = prefix + name;
    }
    if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(full)) throw new Error(`invalid metric name ${full}`);
    if (!help) throw new Error(`metric ${full} needs a help text`);
    if (labels.includes('protocol')) throw new Error(`metric ${full}: "protocol" is set on every metric already`);
    const existing = this.registry.getSingleMetric(full) as M | undefined;
    if (existing) {
      const existingType =
        existing instanceof Counter
          ? 'counter'
          : existing instanceof Gauge
            ? 'gauge'
            : existing instanceof Histogram
              ? 'histogram'
              : 'other';
      if (existingType !== type) throw new Error(`metric ${full} is already registered as a ${existingType}`);
      return existing;
    }
    return create(full);
  }
}
