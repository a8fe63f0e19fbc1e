/**
 * @causeway/testing/bridge — a bridge under test: the built bridge-core started in-process
 * against the homeserver emulator (`startBridgeFixture`), or in a child process to kill with SIGKILL
 * (`BridgeProcess`, whose entry calls `runBridgeProcess`), and an in-memory connector for core
 * integration specs. Imports only bridge-core's public entry points, so a spec never loads two
 * copies of the core.
 */
export * from './bridge-fixture';
export * from './memory-connector';
export { BridgeProcess, type BridgeProcessOptions, type BridgeSite } from './bridge-process';
export { runBridgeProcess } from './bridge-process-entry';
