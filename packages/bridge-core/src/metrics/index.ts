export { BridgeMetrics, stateCacheStatsFrom } from './bridge-metrics';
export { ActivityTracker } from './activity-tracker';
export { MetricsServer } from './metrics-server';
export { describeMetrics } from './definitions';
