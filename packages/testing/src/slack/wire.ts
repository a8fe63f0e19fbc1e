// The JSON Slack sends for each record: users (users.info, user_change), conversations
// (conversations.info/list), messages (history, events), files (files.info, file_share), bots
// and teams. One place, so methods and events agree on every field.
import type { Conversation, Message, SlackFile, Team, User } from './model';
import type { Bot, SlackState } from './state';

type Json = Record<string, unknown>;

const AVATAR_SIZES = [24, 32, 48, 72, 192, 512, 1024] as const;

export function profileJson(state: SlackState, user: User): Json {
  const p = user.profile;
  const images: Json = {};
  for (const size of AVATAR_SIZES) images[`image_${size}`] = p.image;
  const out: Json = {
    title: p.title,
    phone: '',
    skype: '',
    real_name: p.realName,
    real_name_normalized: p.realName,
    display_name: p.displayName,
    display_name_normalized: p.displayName,
    fields: {},
    status_text: p.statusText,
    status_emoji: p.statusEmoji,
    status_emoji_display_info: [],
    status_expiration: 0,
    avatar_hash: p.avatarHash,
    first_name: p.firstName,
    last_name: p.lastName,
    is_custom_image: p.isCustomImage,
    status_text_canonical: '',
    team: user.teamId,
    ...images,
  };
  if (p.isCustomImage) out.image_original = p.image;
  if (p.email !== undefined) out.email = p.email;
  if (user.isBot) {
    out.bot_id = user.botId;
    out.api_app_id = user.appId;
    out.always_active = true;
  }
  return out;
}

export function userJson(state: SlackState, user: User): Json {
  return {
    id: user.id,
    team_id: user.teamId,
    name: user.name,
    deleted: user.deleted,
    color: user.color,
    real_name: user.profile.realName,
    tz: user.tz,
    tz_label: 'Greenwich Mean Time',
    tz_offset: 0,
    profile: profileJson(state, user),
    is_admin: user.isAdmin,
    is_owner: false,
    is_primary_owner: false,
    is_restricted: false,
    is_ultra_restricted: false,
    is_bot: user.isBot,
    is_app_user: false,
    updated: user.updated,
    is_email_confirmed: !user.isBot,
    who_can_share_contact_card: 'EVERYONE',
  };
}

export function botJson(bot: Bot): Json {
  return {
    id: bot.id,
    deleted: bot.deleted,
    name: bot.name,
    updated: bot.updated,
    app_id: bot.appId,
    user_id: bot.userId,
    icons: { image_36: bot.iconUrl, image_48: bot.iconUrl, image_72: bot.iconUrl },
  };
}

function botProfileJson(bot: Bot): Json {
  return {
    id: bot.id,
    deleted: bot.deleted,
    name: bot.name,
    updated: bot.updated,
    app_id: bot.appId,
    icons: { image_36: bot.iconUrl, image_48: bot.iconUrl, image_72: bot.iconUrl },
    team_id: bot.teamId,
  };
}

export function teamJson(team: Team): Json {
  const icon: Json = { image_default: true };
  for (const size of [34, 44, 68, 88, 102, 132, 230]) icon[`image_${size}`] = team.iconUrl;
  return {
    id: team.id,
    name: team.name,
    url: `https://${team.domain}.slack.com/`,
    domain: team.domain,
    email_domain: '',
    icon,
    avatar_base_url: 'https://ca.slack-edge.com/',
    is_verified: false,
  };
}

const textObject = (t: Conversation['topic']): Json => ({ value: t.value, creator: t.creator, last_set: t.lastSet });

/** The conversation as `viewer` sees it (`is_member`, a DM's `user`). */
export function conversationJson(conv: Conversation, viewer: string | undefined, opts: { numMembers?: boolean } = {}): Json {
  if (conv.kind === 'im') {
    const other = [...conv.members].find((m) => m !== viewer) ?? viewer ?? conv.imUser;
    return {
      id: conv.id,
      created: conv.created,
      is_im: true,
      is_org_shared: false,
      user: other,
      is_user_deleted: false,
      priority: 0,
      context_team_id: conv.teamId,
      is_open: true,
    };
  }
  const out: Json = {
    id: conv.id,
    name: conv.name,
    is_channel: conv.kind !== 'mpim',
    is_group: conv.kind === 'mpim',
    is_im: false,
    is_mpim: conv.kind === 'mpim',
    is_private: conv.kind !== 'channel',
    created: conv.created,
    is_archived: conv.archived,
    is_general: conv.general,
    unlinked: 0,
    name_normalized: conv.name,
    is_shared: false,
    is_org_shared: false,
    is_ext_shared: false,
    is_pending_ext_shared: false,
    pending_shared: [],
    context_team_id: conv.teamId,
    updated: conv.created * 1000,
    parent_conversation: null,
    creator: conv.creator,
    is_member: viewer !== undefined && conv.members.has(viewer),
    topic: textObject(conv.topic),
    purpose: textObject(conv.purpose),
    previous_names: [...conv.previousNames],
    shared_team_ids: [conv.teamId],
  };
  if (opts.numMembers) out.num_members = conv.members.size;
  return out;
}

export function channelTypeOf(conv: Conversation): string {
  return conv.kind;
}

function fileUrls(state: SlackState, file: SlackFile): { priv: string; download: string } {
  const base = `${state.baseUrl}/files-pri/${file.teamId}-${file.id}`;
  const name = encodeURIComponent(file.name);
  return { priv: `${base}/${name}`, download: `${base}/download/${name}` };
}

export function fileJson(state: SlackState, file: SlackFile): Json {
  const team = state.teams.get(file.teamId);
  const urls = fileUrls(state, file);
  const publicShares: Json = {};
  const privateShares: Json = {};
  const channels: string[] = [];
  const groups: string[] = [];
  const ims: string[] = [];
  for (const [channel, tsList] of file.shares) {
    const conv = state.conversations.get(channel);
    if (!conv) continue;
    const entries = tsList.map((ts) => ({
      reply_users: [],
      reply_users_count: 0,
      reply_count: 0,
      ts,
      channel_name: conv.name,
      team_id: conv.teamId,
      share_user_id: file.user,
      source: 'UNKNOWN',
    }));
    (conv.kind === 'channel' ? publicShares : privateShares)[channel] = entries;
    (conv.kind === 'channel' ? channels : conv.kind === 'im' ? ims : groups).push(channel);
  }
  const out: Json = {
    id: file.id,
    created: file.created,
    timestamp: file.created,
    name: file.name,
    title: file.title,
    mimetype: file.mimetype,
    filetype: file.filetype,
    pretty_type: file.prettyType,
    user: file.user,
    user_team: file.teamId,
    editable: false,
    size: file.data?.length ?? 0,
    mode: file.externalUrl ? 'external' : file.snippetType ? 'snippet' : 'hosted',
    is_external: !!file.externalUrl,
    external_type: file.externalUrl ? 'gdrive' : '',
    is_public: channels.length > 0,
    public_url_shared: false,
    display_as_bot: false,
    username: '',
    url_private: file.externalUrl ?? urls.priv,
    url_private_download: file.externalUrl ?? urls.download,
    media_display_type: 'unknown',
    permalink: `https://${team?.domain ?? 'workspace'}.slack.com/files/${file.user}/${file.id}/${encodeURIComponent(file.name)}`,
    permalink_public: `https://slack-files.com/${file.teamId}-${file.id}-${file.uploadId.slice(0, 10)}`,
    has_rich_preview: false,
    file_access: 'visible',
    comments_count: 0,
    channels,
    groups,
    ims,
    shares: { ...(channels.length ? { public: publicShares } : {}), ...(groups.length || ims.length ? { private: privateShares } : {}) },
  };
  if (file.altText) out.alt_txt = file.altText;
  if (file.imageSize) {
    // Thumbnails are the original bytes (served with the same Bearer rule): no resizing here.
    for (const size of [64, 80, 160, 360, 480, 720, 960, 1024]) out[`thumb_${size}`] = urls.priv;
    out.thumb_360_w = file.imageSize.w;
    out.thumb_360_h = file.imageSize.h;
    out.original_w = file.imageSize.w;
    out.original_h = file.imageSize.h;
  }
  return out;
}

/** Thread summary fields of a root that has replies. */
function threadFields(conv: Conversation, msg: Message): Json {
  const replies = msg.replies.map((ts) => conv.byTs.get(ts)).filter((m): m is Message => !!m && !m.deleted);
  if (replies.length === 0) return {};
  const users = [...new Set(replies.map((r) => r.user ?? '').filter(Boolean))];
  return {
    thread_ts: msg.ts,
    reply_count: replies.length,
    reply_users_count: users.length,
    latest_reply: replies[replies.length - 1].ts,
    reply_users: users.slice(0, 5),
    is_locked: false,
    subscribed: false,
  };
}

/** A message as history and events carry it (without `channel`/`event_ts`, which events add). */
export function messageJson(state: SlackState, msg: Message): Json {
  const conv = state.conversations.get(msg.channel);
  const out: Json = { type: 'message' };
  if (msg.subtype) out.subtype = msg.subtype;
  out.text = msg.text;
  if (msg.user) out.user = msg.user;
  if (msg.botId) {
    out.bot_id = msg.botId;
    if (msg.appId) out.app_id = msg.appId;
    const bot = state.bots.get(msg.botId);
    if (bot && msg.subtype !== 'bot_message') out.bot_profile = botProfileJson(bot);
  }
  if (msg.username) out.username = msg.username;
  if (msg.icons) out.icons = { ...msg.icons };
  out.ts = msg.ts;
  if (msg.subtype !== 'bot_message') out.team = msg.team;
  if (msg.blocks) out.blocks = structuredClone(msg.blocks);
  if (msg.attachments) out.attachments = structuredClone(msg.attachments);
  if (msg.files) {
    out.files = msg.files
      .map((id) => state.files.get(id))
      .filter((f): f is SlackFile => !!f && !f.deleted)
      .map((f) => fileJson(state, f));
  }
  Object.assign(out, structuredClone(msg.extra));
  if (msg.threadTs && msg.threadTs !== msg.ts) {
    out.thread_ts = msg.threadTs;
    if (msg.parentUserId) out.parent_user_id = msg.parentUserId;
  } else if (conv) {
    Object.assign(out, threadFields(conv, msg));
  }
  if (msg.clientMsgId) out.client_msg_id = msg.clientMsgId;
  if (msg.edited) out.edited = { ...msg.edited };
  if (msg.reactions.length) out.reactions = msg.reactions.map((r) => ({ name: r.name, users: [...r.users], count: r.users.length }));
  return out;
}
