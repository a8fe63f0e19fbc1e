// @causeway/slack-bridge: a Matrix <-> Slack bridge on Causeway.
export { SlackConnector } from './connector';
export { SlackConfigSchema, WorkspaceSchema, type SlackConfig, type WorkspaceConfig } from './config-schema';
export { SLACK_PROTOCOL } from './protocol';
export * as slack from './slack';
