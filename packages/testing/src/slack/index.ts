// The Slack emulator's public surface (see README.md in this directory). Every export carries
// "Slack" in its name, so the package index can re-export it next to the other emulators.
export { SlackEmulator, type SlackEmulatorOptions, type InstalledApp as SlackInstalledApp } from './emulator';
export {
  SlackUser,
  type ChannelRef as SlackChannelRef,
  type UserRef as SlackUserRef,
  type UploadOptions as SlackUploadOptions,
} from './slack-user';
export type {
  App as SlackApp,
  Conversation as SlackConversation,
  Message as SlackMessage,
  SlackFile,
  Team as SlackTeam,
  User as SlackUserRecord,
  Installation as SlackInstallation,
} from './model';
export type {
  AppOptions as SlackAppOptions,
  ConversationOptions as SlackConversationOptions,
  TeamOptions as SlackTeamOptions,
  UserOptions as SlackUserOptions,
} from './state';
export type { Delivery as SlackDelivery, Attempt as SlackDeliveryAttempt } from './deliveries';
export type { CallRecord as SlackCallRecord } from './web-api';
export type {
  CallInfo as SlackCallInfo,
  CallMatcher as SlackCallMatcher,
  FaultHandle as SlackFaultHandle,
  FaultOptions as SlackFaultOptions,
} from './faults';
export type { DisconnectReason as SlackDisconnectReason, SocketModeOptions as SlackSocketModeOptions } from './socket-mode';
export type { EventsApiOptions as SlackEventsApiOptions } from './events-api';
export type { ProfileChanges as SlackProfileChanges } from './user-actions';
export type { Limit as SlackRateLimit } from './rate-limits';
export { TIER_LIMITS as SLACK_TIER_LIMITS } from './rate-limits';
export {
  METHODS as SLACK_METHODS,
  EVENT_SCOPES as SLACK_EVENT_SCOPES,
  BRIDGE_BOT_SCOPES as SLACK_BRIDGE_BOT_SCOPES,
  BRIDGE_BOT_EVENTS as SLACK_BRIDGE_BOT_EVENTS,
  PUPPET_USER_SCOPES as SLACK_PUPPET_USER_SCOPES,
  type MethodSpec as SlackMethodSpec,
  type ScopeNeed as SlackScopeNeed,
  type TokenKind as SlackTokenKind,
  type ConversationKind as SlackConversationKind,
  type RateTier as SlackRateTier,
} from './scopes';
export { slackSignature, signedHeaders as slackSignedHeaders } from './signing';
