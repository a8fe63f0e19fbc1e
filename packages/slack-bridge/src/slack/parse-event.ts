// Untrusted Slack payload JSON -> the typed event model. Every field is type-checked; IDs and
// message timestamps must have Slack's shape (they end up in message IDs, store keys and logs).
// Malformed or unhandled input never throws: it becomes `{kind: 'ignored', reason}`.
import type { SlackAuthor, SlackEvent, SlackEventContext, SlackFile, SlackMessageContent, SlackPayload, SlackUserInfo } from './events';

type Json = Record<string, unknown>;

const ID_RE = /^[A-Z0-9][A-Z0-9_-]{0,63}$/i;
const TS_RE = /^\d{1,12}\.\d{1,9}$/;
const EVENT_ID_RE = /^[A-Za-z0-9_-]{1,128}$/;
const MAX_REACTION = 200;

/** Message subtypes that are new messages to relay. */
const MESSAGE_SUBTYPES = new Set(['me_message', 'thread_broadcast', 'bot_message', 'file_share']);

const isObj = (v: unknown): v is Json => !!v && typeof v === 'object' && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const id = (v: unknown): string | undefined => (typeof v === 'string' && ID_RE.test(v) ? v : undefined);
const ts = (v: unknown): string | undefined => (typeof v === 'string' && TS_RE.test(v) ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const httpUrl = (v: unknown): string | undefined => (typeof v === 'string' && /^https?:\/\/[^\s]+$/i.test(v) ? v : undefined);

const ignored = (reason: string, ctx?: SlackEventContext): SlackEvent => ({ kind: 'ignored', reason, ...(ctx ? { ctx } : {}) });

function context(envelope: Json): SlackEventContext {
  const ctx: SlackEventContext = {};
  const eventId = str(envelope.event_id);
  if (eventId && EVENT_ID_RE.test(eventId)) ctx.eventId = eventId;
  const teamId = id(envelope.team_id);
  if (teamId) ctx.teamId = teamId;
  const appId = id(envelope.api_app_id);
  if (appId) ctx.apiAppId = appId;
  const time = num(envelope.event_time);
  if (time !== undefined) ctx.eventTime = time;
  if (typeof envelope.is_ext_shared_channel === 'boolean') ctx.isExtSharedChannel = envelope.is_ext_shared_channel;
  return ctx;
}

function author(m: Json): SlackAuthor {
  const a: SlackAuthor = {};
  const userId = id(m.user);
  if (userId) a.userId = userId;
  const botId = id(m.bot_id);
  if (botId) a.botId = botId;
  const profile = isObj(m.bot_profile) ? m.bot_profile : undefined;
  const appId = id(m.app_id) ?? id(profile?.app_id);
  if (appId) a.appId = appId;
  const username = str(m.username);
  if (username) a.username = username;
  const profileIcons = profile?.icons;
  const icons = isObj(m.icons) ? m.icons : isObj(profileIcons) ? profileIcons : undefined;
  const iconUrl = httpUrl(icons?.image_72) ?? httpUrl(icons?.image_48) ?? httpUrl(icons?.image_36);
  if (iconUrl) a.iconUrl = iconUrl;
  const team = id(m.user_team) ?? id(m.team);
  if (team) a.teamId = team;
  return a;
}

function file(v: unknown): SlackFile | undefined {
  if (!isObj(v)) return undefined;
  const fid = id(v.id);
  if (!fid) return undefined;
  const f: SlackFile = { id: fid, available: false };
  const set = <K extends keyof SlackFile>(k: K, val: SlackFile[K] | undefined) => {
    if (val !== undefined) f[k] = val;
  };
  set('name', str(v.name));
  set('title', str(v.title));
  set('mimetype', str(v.mimetype));
  set('filetype', str(v.filetype));
  set('size', num(v.size));
  set('urlPrivate', httpUrl(v.url_private));
  set('urlPrivateDownload', httpUrl(v.url_private_download));
  set(
    'thumbUrl',
    ['thumb_1024', 'thumb_960', 'thumb_720', 'thumb_480', 'thumb_360', 'thumb_160', 'thumb_80', 'thumb_64']
      .map((k) => httpUrl(v[k]))
      .find(Boolean),
  );
  set('width', num(v.original_w));
  set('height', num(v.original_h));
  set('mode', str(v.mode));
  f.available = f.mode !== 'tombstone' && f.mode !== 'hidden_by_limit' && !!(f.urlPrivateDownload ?? f.urlPrivate);
  return f;
}

function content(m: Json): SlackMessageContent {
  const files = Array.isArray(m.files) ? m.files.map(file).filter((f): f is SlackFile => !!f) : [];
  return {
    text: str(m.text) ?? '',
    ...(Array.isArray(m.blocks) ? { blocks: m.blocks } : {}),
    files,
  };
}

function threadOf(m: Json, own: string): string | undefined {
  const t = ts(m.thread_ts);
  return t && t !== own ? t : undefined;
}

function sameContent(a: SlackMessageContent, b: SlackMessageContent): boolean {
  return (
    a.text === b.text &&
    JSON.stringify(a.blocks ?? null) === JSON.stringify(b.blocks ?? null) &&
    a.files.map((f) => f.id).join() === b.files.map((f) => f.id).join()
  );
}

function messageEvent(e: Json, ctx: SlackEventContext): SlackEvent {
  if (e.subtype !== undefined && typeof e.subtype !== 'string') return ignored('message with a malformed subtype', ctx);
  const subtype = str(e.subtype);
  const channel = id(e.channel);
  if (!channel) return ignored('message without a valid channel', ctx);
  switch (subtype) {
    case 'message_changed':
      return messageChanged(e, channel, ctx);
    case 'message_deleted': {
      const eventTs = ts(e.ts) ?? ts(e.event_ts);
      const prev = isObj(e.previous_message) ? e.previous_message : undefined;
      const deletedTs = ts(e.deleted_ts) ?? ts(prev?.ts);
      if (!eventTs || !deletedTs) return ignored('message_deleted without valid timestamps', ctx);
      const threadTs = prev ? threadOf(prev, deletedTs) : undefined;
      return {
        kind: 'message_deleted',
        ctx,
        channel,
        eventTs,
        deletedTs,
        ...(threadTs ? { threadTs } : {}),
        ...(prev ? { author: author(prev) } : {}),
      };
    }
    case 'channel_join':
    case 'channel_leave':
    case 'group_join':
    case 'group_leave': {
      const userId = id(e.user);
      if (!userId) return ignored(`${subtype} without a valid user`, ctx);
      const inviter = id(e.inviter);
      const mts = ts(e.ts);
      return {
        kind: 'membership',
        ctx,
        channel,
        userId,
        membership: subtype.endsWith('join') ? 'join' : 'leave',
        source: 'message',
        ...(inviter ? { inviter } : {}),
        ...(mts ? { ts: mts } : {}),
      };
    }
    case 'channel_topic':
    case 'group_topic':
    case 'channel_purpose':
    case 'group_purpose': {
      const mts = ts(e.ts);
      if (!mts) return ignored(`${subtype} without a valid ts`, ctx);
      const isTopic = subtype.endsWith('topic');
      const value = str(isTopic ? e.topic : e.purpose) ?? '';
      const userId = id(e.user);
      return { kind: isTopic ? 'topic' : 'purpose', ctx, channel, value, ts: mts, ...(userId ? { userId } : {}) };
    }
    case 'channel_name':
    case 'group_name': {
      const name = str(e.name);
      if (!name) return ignored(`${subtype} without a name`, ctx);
      const oldName = str(e.old_name);
      const userId = id(e.user);
      const mts = ts(e.ts);
      return {
        kind: 'channel_renamed',
        ctx,
        channel,
        name,
        source: 'message',
        ...(oldName ? { oldName } : {}),
        ...(userId ? { userId } : {}),
        ...(mts ? { ts: mts } : {}),
      };
    }
  }
  if (subtype !== undefined && !MESSAGE_SUBTYPES.has(subtype)) return ignored(`message subtype ${subtype.slice(0, 64)}`, ctx);
  const mts = ts(e.ts);
  if (!mts) return ignored('message without a valid ts', ctx);
  const a = author(e);
  if (!a.userId && !a.botId) return ignored('message without a user or bot', ctx);
  const c = content(e);
  if (!c.text && !c.files.length && !c.blocks?.length) return ignored('empty message', ctx);
  const threadTs = threadOf(e, mts);
  const channelType = str(e.channel_type);
  return {
    kind: 'message',
    ctx,
    channel,
    ts: mts,
    ...c,
    author: a,
    isBroadcast: subtype === 'thread_broadcast',
    isEmote: subtype === 'me_message',
    ...(subtype ? { subtype } : {}),
    ...(threadTs ? { threadTs } : {}),
    ...(channelType ? { channelType } : {}),
  };
}

function messageChanged(e: Json, channel: string, ctx: SlackEventContext): SlackEvent {
  const m = isObj(e.message) ? e.message : undefined;
  if (!m) return ignored('message_changed without a message', ctx);
  if (m.subtype === 'tombstone') return ignored('message_changed to a tombstone (deleted thread root)', ctx);
  const eventTs = ts(e.ts) ?? ts(e.event_ts);
  const targetTs = ts(m.ts);
  if (!eventTs || !targetTs) return ignored('message_changed without valid timestamps', ctx);
  const c = content(m);
  const prev = isObj(e.previous_message) ? e.previous_message : undefined;
  // Link previews, reply counts and similar bookkeeping also arrive as message_changed.
  if (prev && sameContent(c, content(prev))) return ignored('message_changed without a content change', ctx);
  const edited = isObj(m.edited) ? id(m.edited.user) : undefined;
  const threadTs = threadOf(m, targetTs);
  const subtype = str(m.subtype);
  return {
    kind: 'message_changed',
    ctx,
    channel,
    eventTs,
    targetTs,
    ...c,
    author: author(m),
    isBroadcast: subtype === 'thread_broadcast',
    isEmote: subtype === 'me_message',
    ...(threadTs ? { threadTs } : {}),
    ...(edited ? { editedBy: edited } : {}),
  };
}

function userInfo(v: unknown): SlackUserInfo | undefined {
  if (!isObj(v)) return undefined;
  const uid = id(v.id);
  if (!uid) return undefined;
  const profile = isObj(v.profile) ? v.profile : {};
  const u: SlackUserInfo = { id: uid, isBot: v.is_bot === true, deleted: v.deleted === true };
  const teamId = id(v.team_id);
  if (teamId) u.teamId = teamId;
  const name = str(v.name);
  if (name) u.name = name;
  const realName = str(profile.real_name) || str(v.real_name);
  if (realName) u.realName = realName;
  const displayName = str(profile.display_name);
  if (displayName) u.displayName = displayName;
  const avatar = ['image_original', 'image_1024', 'image_512', 'image_192', 'image_72'].map((k) => httpUrl(profile[k])).find(Boolean);
  if (avatar) u.avatarUrl = avatar;
  return u;
}

/** Classifies the `event` object of an `event_callback`; `envelope` supplies the context. */
export function parseSlackEvent(event: unknown, envelope: unknown = {}): SlackEvent {
  const ctx = context(isObj(envelope) ? envelope : {});
  if (!isObj(event)) return ignored('event is not an object', ctx);
  const type = str(event.type);
  switch (type) {
    case 'message':
      return messageEvent(event, ctx);
    case 'reaction_added':
    case 'reaction_removed': {
      const item = isObj(event.item) ? event.item : undefined;
      if (item?.type !== 'message') return ignored(`${type} on a non-message item`, ctx);
      const userId = id(event.user);
      const name = str(event.reaction);
      const channel = id(item.channel);
      const targetTs = ts(item.ts);
      if (!userId || !channel || !targetTs || !name || name.length > MAX_REACTION || /[\s<>]/.test(name)) {
        return ignored(`${type} with missing or malformed fields`, ctx);
      }
      const itemUser = id(event.item_user);
      const eventTs = ts(event.event_ts);
      return {
        kind: 'reaction',
        ctx,
        action: type === 'reaction_added' ? 'added' : 'removed',
        userId,
        name,
        channel,
        targetTs,
        ...(itemUser ? { itemUser } : {}),
        ...(eventTs ? { eventTs } : {}),
      };
    }
    case 'member_joined_channel':
    case 'member_left_channel': {
      const userId = id(event.user);
      const channel = id(event.channel);
      if (!userId || !channel) return ignored(`${type} with missing or malformed fields`, ctx);
      const inviter = id(event.inviter);
      const channelType = str(event.channel_type);
      return {
        kind: 'membership',
        ctx,
        channel,
        userId,
        membership: type === 'member_joined_channel' ? 'join' : 'leave',
        source: 'event',
        ...(inviter ? { inviter } : {}),
        ...(channelType ? { channelType } : {}),
      };
    }
    case 'channel_rename':
    case 'group_rename': {
      const ch = isObj(event.channel) ? event.channel : undefined;
      const channel = id(ch?.id);
      const name = str(ch?.name);
      if (!channel || !name) return ignored(`${type} with missing or malformed fields`, ctx);
      return { kind: 'channel_renamed', ctx, channel, name, source: 'event' };
    }
    case 'user_change':
    case 'team_join': {
      const user = userInfo(event.user);
      if (!user) return ignored(`${type} without a valid user`, ctx);
      return { kind: type, ctx, user };
    }
    default:
      return ignored(type !== undefined ? `event type ${type.slice(0, 64)}` : 'event without a type', ctx);
  }
}

/**
 * Classifies a whole payload: an HTTP request body or a Socket Mode `events_api` envelope's
 * `payload`. Accepts the parsed JSON or its text.
 */
export function parseSlackPayload(body: unknown): SlackPayload {
  let payload = body;
  if (typeof body === 'string' || Buffer.isBuffer(body)) {
    try {
      payload = JSON.parse(body.toString());
    } catch {
      return { type: 'event_callback', event: ignored('payload is not JSON') };
    }
  }
  if (!isObj(payload)) return { type: 'event_callback', event: ignored('payload is not an object') };
  switch (payload.type) {
    case 'url_verification': {
      const challenge = str(payload.challenge);
      if (challenge === undefined) return { type: 'event_callback', event: ignored('url_verification without a challenge') };
      return { type: 'url_verification', challenge };
    }
    case 'app_rate_limited': {
      const teamId = id(payload.team_id);
      const minute = num(payload.minute_rate_limited);
      return { type: 'app_rate_limited', ...(teamId ? { teamId } : {}), ...(minute !== undefined ? { minuteRateLimited: minute } : {}) };
    }
    case 'event_callback':
      return { type: 'event_callback', event: parseSlackEvent(payload.event, payload) };
    default:
      return {
        type: 'event_callback',
        event: ignored(
          `payload type ${typeof payload.type === 'string' ? payload.type.slice(0, 64) : typeof payload.type}`,
          context(payload),
        ),
      };
  }
}
