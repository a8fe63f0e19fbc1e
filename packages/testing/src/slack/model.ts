// The emulated workspace's records. Plain data, mutated only by the state store and the
// actions; `wire.ts` turns them into the JSON Slack sends.
import type { ConversationKind } from './scopes';

export interface Team {
  id: string;
  name: string;
  domain: string;
  /** Custom emoji: name -> image URL or "alias:other". */
  emoji: Map<string, string>;
  iconUrl: string;
}

interface Profile {
  displayName: string;
  realName: string;
  firstName: string;
  lastName: string;
  email?: string;
  title: string;
  statusText: string;
  statusEmoji: string;
  /** Avatar URL used for every image_* size. */
  image: string;
  isCustomImage: boolean;
  avatarHash: string;
}

export interface User {
  id: string;
  teamId: string;
  /** The username (handle). */
  name: string;
  deleted: boolean;
  isBot: boolean;
  isAdmin: boolean;
  /** Set for bot users: their bot and app. */
  botId?: string;
  appId?: string;
  tz: string;
  color: string;
  updated: number;
  profile: Profile;
}

export interface App {
  id: string;
  name: string;
  clientId: string;
  clientSecret: string;
  signingSecret: string;
  /** Legacy verification token, the `token` field of event payloads. */
  verificationToken: string;
  /** App-level token (xapp-) with connections:write, for Socket Mode. */
  appToken: string;
  botScopes: Set<string>;
  userScopes: Set<string>;
  botEvents: Set<string>;
  userEvents: Set<string>;
  socketMode: boolean;
  requestUrl?: string;
  iconUrl: string;
}

export interface UserGrant {
  userId: string;
  token: string;
  scopes: Set<string>;
}

interface InstalledBot {
  botId: string;
  botUserId: string;
  token: string;
  scopes: Set<string>;
}

/** An app installed in a workspace: its bot there (none when only user scopes were granted), and the users who authorized it. */
export interface Installation {
  appId: string;
  teamId: string;
  bot?: InstalledBot;
  userGrants: Map<string, UserGrant>;
  installedBy?: string;
  active: boolean;
}

interface TextObject {
  value: string;
  creator: string;
  lastSet: number;
}

export interface Conversation {
  id: string;
  teamId: string;
  kind: ConversationKind;
  /** Empty for DMs and generated for group DMs (`mpdm-a--b-1`). */
  name: string;
  previousNames: string[];
  created: number;
  creator: string;
  archived: boolean;
  general: boolean;
  topic: TextObject;
  purpose: TextObject;
  members: Set<string>;
  /** The other user of a DM. */
  imUser?: string;
  messages: Message[];
  byTs: Map<string, Message>;
}

interface Reaction {
  name: string;
  users: string[];
}

export interface Message {
  channel: string;
  ts: string;
  subtype?: string;
  user?: string;
  botId?: string;
  appId?: string;
  username?: string;
  icons?: Record<string, string>;
  text: string;
  blocks?: unknown[];
  attachments?: unknown[];
  files?: string[];
  threadTs?: string;
  parentUserId?: string;
  clientMsgId?: string;
  edited?: { user: string; ts: string };
  reactions: Reaction[];
  team: string;
  /** Replies' ts, oldest first (thread roots only). */
  replies: string[];
  deleted: boolean;
  /** Fields of system messages (topic, purpose, name, old_name, inviter, upload…). */
  extra: Record<string, unknown>;
  /** Who posted it and how, for inspection: a Slack client, a bot token, a user token, or Slack itself. */
  via: 'client' | 'bot' | 'user-token' | 'system';
  /** The app whose token posted it (bot or user token). */
  postedByApp?: string;
  /** Ephemeral messages are never stored in history or evented. */
  ephemeralTo?: string;
}

export interface SlackFile {
  id: string;
  teamId: string;
  user: string;
  name: string;
  title: string;
  mimetype: string;
  filetype: string;
  prettyType: string;
  altText?: string;
  snippetType?: string;
  declaredLength: number;
  data?: Buffer;
  created: number;
  /** Bytes posted to the upload URL; completeUploadExternal is refused before. */
  uploaded: boolean;
  completed: boolean;
  deleted: boolean;
  uploadId: string;
  /** channel -> message ts of each share. */
  shares: Map<string, string[]>;
  imageSize?: { w: number; h: number };
  appId?: string;
  /** A file shared from another service (Google Drive and the like): Slack gives that service's URL as `url_private`. */
  externalUrl?: string;
}
