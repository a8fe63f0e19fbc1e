/**
 * @causeway/bridge-core/tools — for programs that run or inspect a bridge outside `runBridge`:
 * migration tools writing where the bridge reads (stores from config, admin rooms, connector
 * data), and test harnesses that start a bridge in-process with a generated registration.
 * Connectors import `@causeway/bridge-core`, never this.
 */
export { Bridge, type BridgeOptions } from './runtime/bridge';
export { loadConfig, parseConfig, validateConfig, type LoadedConfig, type ConnectorSection } from './config/loader';
export { CoreConfigSchema, composeConfigSchema, type CoreConfig } from './config/schema';
export { generateConfigReference, listConfigOptions } from './config/docs';
export {
  generateRegistration,
  loadRegistration,
  writeRegistration,
  type Registration,
  type GenerateRegistrationOptions,
} from './appservice/registration';
export { createStore, storeFromConfig, type StoreOptions } from './store/create-store';
export type { Store, PortalRepository, GhostRepository, MessageRepository, IntentRepository } from './store/store';
export { connectorData } from './store/connector-data';
export { AdminRooms } from './commands/admin-rooms';
export { describeMetrics } from './metrics';
export { configureLogging, getLogger } from './logging/logger';
export { metricsConfigProblem } from './metrics/metrics-server';
