/**
 * @causeway/bridge-core — the Matrix side of a bridge.
 *
 * A protocol package implements `BridgeConnector` (connector/connector.ts) and
 * its optional capabilities (connector/capabilities.ts), then calls `runBridge`.
 */

// The connector contract
export * from './connector/connector';
export * from './connector/capabilities';
export * from './connector/context';
export * from './connector/content';
export * from './connector/errors';
export * from './connector/ids';
export * from './connector/matrix-events';
export * from './connector/remote-events';

// Portals, ghosts and the runtime
export * from './bridge/portal';
export * from './bridge/templates';
export { Bridge, type BridgeOptions } from './bridge/bridge';
export { runBridge, type RunBridgeOptions } from './bridge/run-bridge';
export { fromMatrixContent, toMatrixContent, stripReplyFallback } from './bridge/content-convert';
export { BRIDGE_INFO_TYPES, bridgeInfoStateKey, type BridgeInfoContent } from './bridge/bridge-info';
export { BRIDGING_EVENT_TYPE, type BridgingStatus, type BridgingStatusUpdate } from './bridge/bridging-status';

// Commands
export * from './commands/command';
export { CommandRouter } from './commands/command-router';
export { AdminRooms } from './commands/admin-rooms';
export { PermissionChecker, matchesUserGlob } from './commands/permissions';

// Config, registration, CLI
export * from './config/schema';
export { loadConfig, parseConfig, validateConfig } from './config/loader';
export { ConfigError } from './config/errors';
export { generateConfigReference, listConfigOptions } from './config/docs';
export * from './appservice/registration';
export { runCli, type CliOptions, type StartContext, type RunningBridge } from './cli/main';
export type { ConnectorCliCommand } from './cli/args';

// Building blocks other packages and tools reuse
export * from './store';
export { MatrixHttpClient, Intent, IntentFactory, MediaClient, txnIdForKey } from './matrix';
export { StateCache, type StateCacheOptions } from './state';
export { BridgeMetrics, ActivityTracker, MetricsServer, metricsConfigProblem, describeMetrics } from './metrics';
export {
  ProvisioningApi, addLinkRoutes, Reply, type RouteDefinition, type ProvisioningRequest, type LinkHooks, type RoomPowerChecker,
} from './provisioning';
export { AppserviceServer, DeliveryPipeline } from './appservice';
export { getLogger, configureLogging, registerSecret, redact, type Logger, type LogLevel } from './logging/logger';
export { MatrixError } from './util/matrix-error';
export { backoffDelay, sleep, DEFAULT_BACKOFF, type BackoffPolicy } from './util/backoff';
export { secureCompare } from './util/secure-compare';
export { SingleFlight } from './util/single-flight';
export { KeyedQueue } from './util/keyed-queue';
export { LruMap } from './util/lru';
