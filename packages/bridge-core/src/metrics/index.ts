export {
  BridgeMetrics, stateCacheStatsFrom, protocolPrefix,
  type BridgeMetricsOptions, type StateCacheStats, type HomeserverRequestInfo, type RelayInfo, type TransactionInfo, type DeliveryStats,
} from './bridge-metrics';
export { ActivityTracker, ACTIVITY_NAMESPACE, type ActivityTrackerOptions, type ActivityCounts } from './activity-tracker';
export { MetricsServer, metricsConfigProblem, type MetricsServerOptions, type MetricsConfig } from './metrics-server';
export { endpointTemplate, createEndpointTemplater, isKnownEndpointTemplate } from './endpoint-template';
export {
  describeMetrics, renderMetricsDoc, seriesNames, METRIC_DEFINITIONS, KNOWN_EVENT_TYPES,
  type MetricDescription, type MetricType, type RelayDirection, type RelayOutcome, type TransactionOutcome, type ActivityKind, type ActivityWindow,
} from './definitions';
