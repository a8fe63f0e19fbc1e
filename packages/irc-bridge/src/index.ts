// @causeway/irc-bridge: a Matrix <-> IRC bridge on Causeway.
export { IrcConnector, type IrcStats } from './connector';
export { IrcConfigSchema, ServerSchema, type IrcConfig, type ServerConfig } from './config-schema';
export { IRC_PROTOCOL } from './protocol';
export { PasswordStore } from './passwords';
export { Identd, answerIdentQuery } from './ident/identd';
export * as provisioning from './provisioning';
export type { NetworkStats } from './network/irc-network';
export * as irc from './irc';
