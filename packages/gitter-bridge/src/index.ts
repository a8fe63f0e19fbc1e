// @causeway/gitter-bridge: a Matrix <-> Gitter bridge on Causeway: the connector, its config
// schema and protocol identity, and the Gitter protocol layer (REST and streaming clients, send
// queue, Markdown conversion).
export { GitterConnector } from './connector';
export { GitterConfigSchema, type GitterConfig } from './config-schema';
export { GITTER_PROTOCOL, GITTER_NETWORK } from './protocol';
export * as gitter from './gitter';
