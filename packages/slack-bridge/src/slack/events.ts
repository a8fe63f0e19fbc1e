// The typed model of the Slack events the bridge acts on (Events API `event_callback` payloads,
// delivered over HTTP or Socket Mode), normalised to what a bridge needs: where (channel), which
// message (ts, thread), who (user, or bot/app for echo suppression), and the content. Produced by
// `parseSlackPayload`/`parseSlackEvent` from untrusted JSON; anything else is `ignored` with a reason.

/** Envelope facts shared by every event. */
export interface SlackEventContext {
  /** `event_id`: the deduplication key for retries and redeliveries. */
  eventId?: string;
  /** The workspace the event was delivered for (`team_id`). */
  teamId?: string;
  apiAppId?: string;
  /** `event_time`, seconds. */
  eventTime?: number;
  /** The channel is shared with another organisation (Slack Connect). */
  isExtSharedChannel?: boolean;
}

/** Who posted or acted. A post by an app (including this bridge's own echoes) has `botId`/`appId`. */
export interface SlackAuthor {
  userId?: string;
  botId?: string;
  appId?: string;
  /** The `username` a bot/app post was made under (per-message override). */
  username?: string;
  /** An avatar for bot/app posts (`icons` or `bot_profile.icons`). */
  iconUrl?: string;
  /** The author's workspace when it differs (Slack Connect: `user_team`/`team`). */
  teamId?: string;
}

export interface SlackFile {
  id: string;
  name?: string;
  title?: string;
  mimetype?: string;
  filetype?: string;
  size?: number;
  /** Needs the bot token as a Bearer to download. */
  urlPrivate?: string;
  urlPrivateDownload?: string;
  /** The largest thumbnail Slack made, if any. */
  thumbUrl?: string;
  width?: number;
  height?: number;
  /** `hosted`, `external`, `snippet`, `tombstone` (deleted), `hidden_by_limit` (free plan)… */
  mode?: string;
  /** False for deleted or plan-hidden files, and files without a URL (Slack Connect needs `files.info`). */
  available: boolean;
}

/** Message content as the bridge converts it. */
export interface SlackMessageContent {
  /** mrkdwn `text` ('' when absent). */
  text: string;
  /** Raw `blocks` (validated to be an array; rich_text is parsed by the converter). */
  blocks?: unknown[];
  files: SlackFile[];
}

interface Base {
  ctx: SlackEventContext;
}

/** A new message: plain, `/me`, thread reply (also sent to channel), bot post, file share. */
export interface SlackNewMessage extends Base, SlackMessageContent {
  kind: 'message';
  channel: string;
  channelType?: string;
  ts: string;
  /** The thread root's ts, only when this message is a reply (never equal to `ts`). */
  threadTs?: string;
  /** A thread reply also sent to the channel (`thread_broadcast`). */
  isBroadcast: boolean;
  /** `/me` action (`me_message`). */
  isEmote: boolean;
  subtype?: string;
  author: SlackAuthor;
}

/** An edit of an earlier message (`message_changed` with changed content). */
export interface SlackMessageEdit extends Base, SlackMessageContent {
  kind: 'message_changed';
  channel: string;
  /** ts of the change event itself (unique per edit). */
  eventTs: string;
  /** ts of the edited message. */
  targetTs: string;
  threadTs?: string;
  isBroadcast: boolean;
  isEmote: boolean;
  author: SlackAuthor;
  /** Who edited, when Slack says. */
  editedBy?: string;
}

export interface SlackMessageDelete extends Base {
  kind: 'message_deleted';
  channel: string;
  eventTs: string;
  deletedTs: string;
  threadTs?: string;
  /** The deleted message's author, when Slack includes `previous_message`. */
  author?: SlackAuthor;
}

export interface SlackMembership extends Base {
  kind: 'membership';
  channel: string;
  userId: string;
  membership: 'join' | 'leave';
  inviter?: string;
  channelType?: string;
  /**
   * `event`: member_joined_channel / member_left_channel. `message`: the channel_join /
   * channel_leave message Slack also posts for the same change (it has a `ts`).
   */
  source: 'event' | 'message';
  ts?: string;
}

export interface SlackTopicChange extends Base {
  kind: 'topic' | 'purpose';
  channel: string;
  /** The new topic or purpose ('' when cleared). */
  value: string;
  userId?: string;
  ts: string;
}

export interface SlackChannelRename extends Base {
  kind: 'channel_renamed';
  channel: string;
  name: string;
  oldName?: string;
  userId?: string;
  /** `message`: the channel_name message (has `ts`); `event`: channel_rename. */
  source: 'event' | 'message';
  ts?: string;
}

export interface SlackReaction extends Base {
  kind: 'reaction';
  action: 'added' | 'removed';
  userId: string;
  /** Shortcode without colons, skin tone included (`+1::skin-tone-2`), or a custom emoji name. */
  name: string;
  channel: string;
  /** ts of the message reacted to. */
  targetTs: string;
  itemUser?: string;
  eventTs?: string;
}

export interface SlackUserInfo {
  id: string;
  teamId?: string;
  /** The handle (`name`). */
  name?: string;
  realName?: string;
  displayName?: string;
  avatarUrl?: string;
  isBot: boolean;
  deleted: boolean;
}

export interface SlackUserEvent extends Base {
  kind: 'user_change' | 'team_join';
  user: SlackUserInfo;
}

export interface SlackIgnored {
  kind: 'ignored';
  ctx?: SlackEventContext;
  /** Why (for debug logs and metrics); never user content. */
  reason: string;
}

export type SlackEvent =
  | SlackNewMessage
  | SlackMessageEdit
  | SlackMessageDelete
  | SlackMembership
  | SlackTopicChange
  | SlackChannelRename
  | SlackReaction
  | SlackUserEvent
  | SlackIgnored;

/** A whole request body (HTTP) or Socket Mode `events_api` payload. */
export type SlackPayload =
  | { type: 'url_verification'; challenge: string }
  | { type: 'app_rate_limited'; teamId?: string; minuteRateLimited?: number }
  | { type: 'event_callback'; event: SlackEvent };
