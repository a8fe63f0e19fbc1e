/**
 * @causeway/testing/bridge — a bridge under test: the built bridge-core started in-process
 * against the homeserver emulator (`startBridgeFixture`), and an in-memory connector for core
 * integration specs. Imports only bridge-core's public entry points, so a spec never loads two
 * copies of the core.
 */
export * from './bridge-fixture';
export * from './memory-connector';
