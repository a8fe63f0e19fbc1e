/**
 * The bridge's own metrics, defined once. `BridgeMetrics` builds its prom-client
 * metrics from this table and `docs/metrics.md` is generated from it
 * (`renderMetricsDoc()`), so the documentation cannot drift from the code.
 *
 * Every metric also carries the `protocol` label (the connector ID), set as a
 * default label on the bridge's registry; it is listed in `labels` here but is
 * not declared on the prom-client metric itself.
 */

type MetricType = 'counter' | 'gauge' | 'histogram';

export interface MetricDescription {
  name: string;
  type: MetricType;
  /** Label names, `protocol` included. */
  labels: string[];
  help: string;
  /** Histogram bucket upper bounds, in seconds. */
  buckets?: number[];
  /** Longer explanation for the docs (how the value is produced, label values). */
  details?: string;
}

/** Buckets for request/processing durations (seconds). */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Buckets for end-to-end relay latency and queueing delay (seconds). */
const LATENCY_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

export const RELAY_DIRECTIONS = ['matrix_to_remote', 'remote_to_matrix'] as const;
export type RelayDirection = (typeof RELAY_DIRECTIONS)[number];
export const RELAY_OUTCOMES = ['ok', 'failed', 'rejected', 'dropped'] as const;
export type RelayOutcome = (typeof RELAY_OUTCOMES)[number];
export const TRANSACTION_OUTCOMES = ['processed', 'duplicate', 'rejected'] as const;
export type TransactionOutcome = (typeof TRANSACTION_OUTCOMES)[number];
export const ACTIVITY_WINDOWS = ['1h', '1d', '7d', '30d'] as const;
export type ActivityWindow = (typeof ACTIVITY_WINDOWS)[number];
export const ACTIVITY_KINDS = ['matrix', 'remote'] as const;
export type ActivityKind = (typeof ACTIVITY_KINDS)[number];

const DAY = 24 * 3600 * 1000;
export const ACTIVITY_WINDOW_MS: Record<ActivityWindow, number> = { '1h': DAY / 24, '1d': DAY, '7d': 7 * DAY, '30d': 30 * DAY };

/**
 * Event types counted under their own name in
 * `causeway_homeserver_events_received_total`; anything else is `other`.
 */
export const KNOWN_EVENT_TYPES: readonly string[] = [
  'm.room.message',
  'm.room.encrypted',
  'm.room.member',
  'm.room.redaction',
  'm.reaction',
  'm.sticker',
  'm.room.name',
  'm.room.topic',
  'm.room.avatar',
  'm.room.power_levels',
  'm.room.join_rules',
  'm.room.history_visibility',
  'm.room.guest_access',
  'm.room.canonical_alias',
  'm.room.aliases',
  'm.room.create',
  'm.room.encryption',
  'm.room.tombstone',
  'm.room.pinned_events',
  'm.room.server_acl',
  'm.room.third_party_invite',
  'm.space.child',
  'm.space.parent',
  'm.call.invite',
  'm.call.answer',
  'm.call.candidates',
  'm.call.hangup',
  'm.poll.start',
  'm.poll.response',
  'm.poll.end',
  'm.typing',
  'm.receipt',
  'm.presence',
  'm.room_key',
  'm.room_key_request',
  'm.forwarded_room_key',
  'm.key.verification.request',
  'm.key.verification.start',
  'm.key.verification.done',
];

/** The label value for event types not in KNOWN_EVENT_TYPES (and for connector-supplied labels past their cap). */
export const OTHER = 'other';

export const METRIC_DEFINITIONS = {
  eventsReceived: {
    name: 'causeway_homeserver_events_received_total',
    type: 'counter',
    labels: ['protocol', 'type'],
    help: 'Events received from the homeserver, by event type.',
    details:
      '`type` is the Matrix event type for the well-known `m.*` types (timeline, state and ephemeral) and `other` for everything else, so the label set stays bounded whatever the homeserver sends.',
  },
  messagesRelayed: {
    name: 'causeway_messages_relayed_total',
    type: 'counter',
    labels: ['protocol', 'direction', 'kind', 'outcome'],
    help: 'Messages relayed between Matrix and the remote network, by direction, kind and outcome.',
    details:
      '`direction` is `matrix_to_remote` or `remote_to_matrix`; `kind` is the message kind (e.g. `text`, `image`, `edit`, `reaction`); `outcome` is `ok`, `failed` (an error on the way), `rejected` (refused by policy or the other side) or `dropped` (deliberately not relayed, e.g. unsupported).',
  },
  relayLatency: {
    name: 'causeway_relay_latency_seconds',
    type: 'histogram',
    labels: ['protocol', 'direction'],
    buckets: LATENCY_BUCKETS,
    help: 'Time from receiving a message to having relayed it, for successful relays.',
  },
  homeserverRequests: {
    name: 'causeway_homeserver_requests_total',
    type: 'counter',
    labels: ['protocol', 'endpoint', 'method', 'status'],
    help: 'Requests made to the homeserver client-server API, by endpoint template, method and HTTP status.',
    details:
      '`endpoint` is a route template such as `/rooms/{roomId}/send/{eventType}/{txnId}`, never a raw path. `status` is the HTTP status code, or `0` when no response arrived (network error, timeout). Every attempt counts, retries included.',
  },
  homeserverRequestDuration: {
    name: 'causeway_homeserver_request_duration_seconds',
    type: 'histogram',
    labels: ['protocol', 'endpoint', 'method'],
    buckets: DURATION_BUCKETS,
    help: 'Duration of requests to the homeserver, by endpoint template and method.',
  },
  transactionProcessing: {
    name: 'causeway_transaction_processing_seconds',
    type: 'histogram',
    labels: ['protocol'],
    buckets: DURATION_BUCKETS,
    help: 'Time from receiving an appservice transaction to acknowledging it.',
  },
  transactions: {
    name: 'causeway_transactions_total',
    type: 'counter',
    labels: ['protocol', 'outcome'],
    help: 'Appservice transactions received from the homeserver, by outcome.',
    details:
      "`outcome` is `processed` (accepted and journaled), `duplicate` (a homeserver's retry: a transaction ID seen before with the same events, acknowledged again; the same ID with other events is a new transaction, `processed`) or `rejected` (bad token or malformed body).",
  },
  deliveryQueueEvents: {
    name: 'causeway_delivery_queue_events',
    type: 'gauge',
    labels: ['protocol'],
    help: 'Events journaled but not yet fully handled.',
  },
  deliveryRoomsActive: {
    name: 'causeway_delivery_rooms_active',
    type: 'gauge',
    labels: ['protocol'],
    help: 'Rooms with events currently being handled or queued.',
  },
  stateCacheHits: {
    name: 'causeway_state_cache_hits_total',
    type: 'counter',
    labels: ['protocol'],
    help: 'Room state cache lookups answered from memory.',
  },
  stateCacheMisses: {
    name: 'causeway_state_cache_misses_total',
    type: 'counter',
    labels: ['protocol'],
    help: 'Room state cache lookups that had to load the room state.',
  },
  stateCacheInFlight: {
    name: 'causeway_state_cache_requests_in_flight',
    type: 'gauge',
    labels: ['protocol'],
    help: 'State requests to the homeserver currently running.',
  },
  stateCacheQueueDepth: {
    name: 'causeway_state_cache_queue_depth',
    type: 'gauge',
    labels: ['protocol'],
    help: 'State loads waiting for a free request slot.',
  },
  stateCacheRooms: {
    name: 'causeway_state_cache_rooms',
    type: 'gauge',
    labels: ['protocol'],
    help: 'Rooms whose state is held in the cache.',
  },
  stateCacheEvictions: {
    name: 'causeway_state_cache_evictions_total',
    type: 'counter',
    labels: ['protocol'],
    help: 'Rooms evicted from the state cache to respect its size limit.',
  },
  portals: {
    name: 'causeway_portals',
    type: 'gauge',
    labels: ['protocol', 'kind'],
    help: 'Portals (Matrix rooms linked to a remote place), by portal kind.',
  },
  ghosts: {
    name: 'causeway_ghosts',
    type: 'gauge',
    labels: ['protocol'],
    help: 'Ghost users (Matrix puppets of remote users) known to the bridge.',
  },
  messageMapRecords: {
    name: 'causeway_message_map_records',
    type: 'gauge',
    labels: ['protocol'],
    help: 'Records in the message map (Matrix event ↔ remote message), which replies, edits, reactions and redactions are resolved through.',
    details:
      "It grows with traffic and shrinks as `message_retention_days` prunes. With the embedded store the whole map is in memory, about 0.4 KB per record. With PostgreSQL a table of 100,000 rows or more is reported by the planner's estimate, so a scrape never scans it.",
  },
  remoteConnections: {
    name: 'causeway_remote_connections',
    type: 'gauge',
    labels: ['protocol', 'state'],
    help: 'Connections to the remote network, by connection state (as reported by the connector).',
    details: 'The connector reports every state it knows about; a state missing from a report goes back to 0.',
  },
  activeUsers: {
    name: 'causeway_active_users',
    type: 'gauge',
    labels: ['protocol', 'window', 'kind'],
    help: 'Users active through the bridge within the window.',
    details:
      '`window` is `1h`, `1d`, `7d` or `30d` (`30d` is the monthly active users figure); `kind` is `matrix` (Matrix users who talked through the bridge) or `remote` (remote users whose ghosts talked). Last activity is persisted in the store, so a restart does not reset the figures; it is evaluated at scrape time.',
  },
  activeRooms: {
    name: 'causeway_active_rooms',
    type: 'gauge',
    labels: ['protocol', 'window'],
    help: 'Portal rooms with bridged traffic within the window (`1h`, `1d`, `7d`, `30d`).',
  },
  activeUsersByNetwork: {
    name: 'causeway_active_users_by_network',
    type: 'gauge',
    labels: ['protocol', 'network', 'window', 'kind'],
    help: 'Users active through the bridge within the window, per remote network (IRC network, Slack workspace, Gitter deployment).',
    details:
      'The same windows and kinds as `causeway_active_users`. A user active on two networks is counted on each, and once in `causeway_active_users`, so do not sum this over `network` for a total.',
  },
  activeRoomsByNetwork: {
    name: 'causeway_active_rooms_by_network',
    type: 'gauge',
    labels: ['protocol', 'network', 'window'],
    help: 'Portal rooms with bridged traffic within the window, per remote network.',
  },
  buildInfo: {
    name: 'causeway_build_info',
    type: 'gauge',
    labels: ['protocol', 'version'],
    help: 'Always 1; the labels identify the running build.',
  },
  homeserverReachable: {
    name: 'causeway_homeserver_reachable',
    type: 'gauge',
    labels: ['protocol'],
    help: '1 while the homeserver answers, 0 while it cannot be reached (remote events then wait).',
    details:
      'Goes to 0 when a request finds no homeserver (connection refused or reset, a timeout) or a remote event fails with 502/503/504 from the proxy in front of it; back to 1 at the first answer. While it is 0 one probe (`GET /_matrix/client/versions`) at a time, 1 s doubling to 30 s apart, asks whether it is back.',
  },
  remoteEventsWaiting: {
    name: 'causeway_remote_events_waiting',
    type: 'gauge',
    labels: ['protocol'],
    help: 'Remote events stored while they wait for an unreachable homeserver, applied in order once it answers.',
    details:
      "Stored in the store's durable queue, so they survive a restart of the bridge. They wait at most `matrix_client.max_outage_wait_s` from when they arrived; see `causeway_remote_events_undeliverable_total` for what was given up.",
  },
  remoteEventsUndeliverable: {
    name: 'causeway_remote_events_undeliverable_total',
    type: 'counter',
    labels: ['protocol', 'kind'],
    help: 'Remote events given up after waiting `matrix_client.max_outage_wait_s` for an unreachable homeserver, by kind.',
    details:
      '`kind` is the remote event type (`message`, `edit`, `membership`, ...). The connector is told about each one (the IRC bridge sends its sender a NOTICE). Typing notifications are never kept waiting and are not counted.',
  },
  remoteSendQueueDelay: {
    name: 'causeway_remote_send_queue_delay_seconds',
    type: 'histogram',
    labels: ['protocol'],
    buckets: LATENCY_BUCKETS,
    help: "Time outgoing messages wait in a connector's send queue before reaching the remote network (e.g. IRC flood control).",
  },
} satisfies Record<string, MetricDescription>;

export type MetricKey = keyof typeof METRIC_DEFINITIONS;

/** Every metric the core defines, in documentation order. */
export function describeMetrics(): MetricDescription[] {
  return Object.values(METRIC_DEFINITIONS).map((d: MetricDescription) => ({
    ...d,
    labels: [...d.labels],
    ...(d.buckets ? { buckets: [...d.buckets] } : {}),
  }));
}

/**
 * Series names a metric exposes (histograms: `_bucket`, `_sum`, `_count`), for
 * checking queries against the definitions.
 */
export function seriesNames(d: Pick<MetricDescription, 'name' | 'type'>): string[] {
  return d.type === 'histogram' ? [d.name, `${d.name}_bucket`, `${d.name}_sum`, `${d.name}_count`] : [d.name];
}

/** The Markdown reference of every metric (docs/metrics.md). */
export function renderMetricsDoc(): string {
  const lines: string[] = [
    '# Metrics reference',
    '',
    '<!-- Generated from packages/bridge-core/src/metrics/definitions.ts by',
    '     `npx tsx packages/bridge-core/src/metrics/print-docs.ts docs/metrics.md`. Do not edit by hand. -->',
    '',
    'A Causeway bridge serves Prometheus metrics on `GET /metrics` when `metrics.enabled` is set, on its own',
    'listener (`metrics.bind_host`, `metrics.port`; default `127.0.0.1:9001`). If `metrics.bearer_token` is set,',
    'scrapes must send `Authorization: Bearer <token>`: a missing token gets `401 M_MISSING_TOKEN`, a wrong one',
    '`403 M_FORBIDDEN`. Without a token the listener must be on a loopback address: another `metrics.bind_host`',
    'is refused at start unless `metrics.public: true` says /metrics may be open there.',
    '',
    'Every metric carries the `protocol` label (the connector ID, e.g. `irc`). Label values are bounded: event types',
    'outside the well-known `m.*` set become `other`, and homeserver endpoints are route templates, never raw paths.',
    'A Grafana dashboard using these metrics is in `config/grafana-dashboard.json`.',
    '',
    '## Summary',
    '',
    '| Metric | Type | Labels | Meaning |',
    '| --- | --- | --- | --- |',
  ];
  for (const d of describeMetrics()) {
    lines.push(`| \`${d.name}\` | ${d.type} | ${d.labels.map((l) => `\`${l}\``).join(', ')} | ${escapeCell(d.help)} |`);
  }
  lines.push('', '## Details', '');
  for (const d of describeMetrics()) {
    lines.push(`### \`${d.name}\``, '', `${d.type}; labels ${d.labels.map((l) => `\`${l}\``).join(', ')}.`, '', d.help);
    if (d.details) lines.push('', d.details);
    if (d.buckets) lines.push('', `Buckets (seconds): ${d.buckets.join(', ')}.`);
    lines.push('');
  }
  lines.push(
    '## Process metrics',
    '',
    'The standard Node.js process metrics of prom-client are exported on the same registry, with the `protocol`',
    'label too: `process_cpu_seconds_total`, `process_resident_memory_bytes`, `process_start_time_seconds`,',
    '`nodejs_eventloop_lag_seconds` (and its percentiles), `nodejs_heap_size_used_bytes`, `nodejs_gc_duration_seconds`,',
    '`nodejs_active_handles`, among others.',
    '',
    '## Connector metrics',
    '',
    'Connectors register their own metrics on the same registry through `metrics.counter()`, `metrics.gauge()` and',
    '`metrics.histogram()`, which enforce the `causeway_<protocol>_` prefix (e.g. `causeway_irc_`). Connectors',
    'document those metrics themselves.',
    '',
  );
  return lines.join('\n');
}

function escapeCell(s: string): string {
  return s.replace(/\|/g, '\\|');
}
