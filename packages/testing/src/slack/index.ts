// The Slack emulator's public surface (see README.md in this directory).
export { SlackEmulator, type SlackEmulatorOptions, type InstalledApp } from './emulator';
export { SlackUser, type ChannelRef, type UserRef, type UploadOptions } from './slack-user';
export type { App, Conversation, Message, SlackFile, Team, User, Installation } from './model';
export type { AppOptions, ConversationOptions, TeamOptions, UserOptions } from './state';
export type { Delivery, Attempt } from './deliveries';
export type { CallRecord } from './web-api';
export type { CallInfo, CallMatcher, FaultHandle, FaultOptions } from './faults';
export type { DisconnectReason, SocketModeOptions } from './socket-mode';
export type { EventsApiOptions } from './events-api';
export type { ProfileChanges } from './user-actions';
export type { Limit } from './rate-limits';
export { TIER_LIMITS } from './rate-limits';
export {
  METHODS, EVENT_SCOPES, BRIDGE_BOT_SCOPES, BRIDGE_BOT_EVENTS, PUPPET_USER_SCOPES,
  type MethodSpec, type ScopeNeed, type TokenKind, type ConversationKind, type RateTier,
} from './scopes';
export { slackSignature, signedHeaders } from './signing';
