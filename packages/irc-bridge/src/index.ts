// @causeway/irc-bridge: a Matrix <-> IRC bridge on Causeway.
export { IrcConnector, type IrcStats } from './connector';
export { IrcConfigSchema, ServerSchema, type IrcConfig, type ServerConfig } from './config-schema';
export { IRC_PROTOCOL } from './protocol';
export { Identd, answerIdentQuery } from './ident/identd';
export { ipv6For, usernameFor } from './network/identity';
export * as provisioning from './provisioning';
export type { NetworkStats } from './network/irc-network';
export * as irc from './irc';
/** The executable's own commands (`causeway-irc migrate-mai-config`, `migrate-mai-rooms`), for embedding. */
export { migrateMaiConfigCommand } from './migrate/migrate-command';
export { migrateMaiRoomsCommand } from './migrate/rooms-command';
