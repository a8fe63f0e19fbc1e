// What each Web API method needs: the token types that may call it, the OAuth scope each type
// must hold (per conversation type where Slack decides by the channel), and its rate-limit tier.
// Also which scope each Events API subscription needs. This is the one table the emulator checks
// requests against, and what a bridge's manifest spec can check its scope list against.

export type TokenKind = 'bot' | 'user' | 'app';
export type ConversationKind = 'channel' | 'group' | 'im' | 'mpim';

/** One scope, or one per conversation type (the channel named in the call decides). */
export type ScopeNeed = string | Partial<Record<ConversationKind, string>>;

/** Tiers 1-4 (per method, app and workspace) or chat.postMessage's per-channel limit. */
export type RateTier = 1 | 2 | 3 | 4 | 'post';

export interface MethodSpec {
  tier: RateTier;
  /** Token types allowed to call the method and the scope each needs (null: none). A type not listed gets `not_allowed_token_type`. */
  tokens: Partial<Record<TokenKind, ScopeNeed | null>>;
  /** Called without a token (oauth.v2.access authenticates with the client credentials). */
  noToken?: boolean;
  /** The token must come in the Authorization header, never as a form field. */
  headerTokenOnly?: boolean;
}

const READ: ScopeNeed = { channel: 'channels:read', group: 'groups:read', im: 'im:read', mpim: 'mpim:read' };
const HISTORY: ScopeNeed = { channel: 'channels:history', group: 'groups:history', im: 'im:history', mpim: 'mpim:history' };
const MANAGE_BOT: ScopeNeed = { channel: 'channels:manage', group: 'groups:write', im: 'im:write', mpim: 'mpim:write' };
const MANAGE_USER: ScopeNeed = { channel: 'channels:write', group: 'groups:write', im: 'im:write', mpim: 'mpim:write' };
const both = (need: ScopeNeed | null) => ({ bot: need, user: need });

export const METHODS: Readonly<Record<string, MethodSpec>> = {
  'auth.test': { tier: 4, tokens: both(null) },
  'auth.revoke': { tier: 3, tokens: both(null) },
  'apps.connections.open': { tier: 1, tokens: { app: 'connections:write' }, headerTokenOnly: true },
  'oauth.v2.access': { tier: 4, tokens: {}, noToken: true },
  'rtm.connect': { tier: 1, tokens: both(null) },
  'team.info': { tier: 3, tokens: both('team:read') },
  'emoji.list': { tier: 2, tokens: both('emoji:read') },
  'bots.info': { tier: 3, tokens: both('users:read') },
  'users.info': { tier: 4, tokens: both('users:read') },
  'users.list': { tier: 2, tokens: both('users:read') },
  'users.lookupByEmail': { tier: 3, tokens: both('users:read.email') },
  'users.profile.get': { tier: 4, tokens: both('users.profile:read') },
  'users.conversations': { tier: 3, tokens: both(READ) },
  'users.profile.set': { tier: 3, tokens: { user: 'users.profile:write' } },
  'chat.postMessage': { tier: 'post', tokens: both('chat:write') },
  'chat.update': { tier: 3, tokens: both('chat:write') },
  'chat.delete': { tier: 3, tokens: both('chat:write') },
  'chat.postEphemeral': { tier: 4, tokens: both('chat:write') },
  'chat.getPermalink': { tier: 4, tokens: both(null) },
  'conversations.info': { tier: 3, tokens: both(READ) },
  'conversations.members': { tier: 4, tokens: both(READ) },
  'conversations.list': { tier: 2, tokens: both(READ) },
  'conversations.history': { tier: 3, tokens: both(HISTORY) },
  'conversations.replies': { tier: 3, tokens: both(HISTORY) },
  'conversations.join': { tier: 3, tokens: { bot: 'channels:join', user: 'channels:write' } },
  'conversations.leave': { tier: 3, tokens: { bot: MANAGE_BOT, user: MANAGE_USER } },
  'conversations.invite': { tier: 3, tokens: { bot: MANAGE_BOT, user: MANAGE_USER } },
  'conversations.open': { tier: 3, tokens: both({ im: 'im:write', mpim: 'mpim:write' }) },
  'conversations.create': {
    tier: 2,
    tokens: { bot: { channel: 'channels:manage', group: 'groups:write' }, user: { channel: 'channels:write', group: 'groups:write' } },
  },
  'conversations.rename': { tier: 2, tokens: { bot: MANAGE_BOT, user: MANAGE_USER } },
  'conversations.setTopic': { tier: 2, tokens: { bot: MANAGE_BOT, user: MANAGE_USER } },
  'conversations.setPurpose': { tier: 2, tokens: { bot: MANAGE_BOT, user: MANAGE_USER } },
  'conversations.archive': { tier: 2, tokens: { bot: MANAGE_BOT, user: MANAGE_USER } },
  'reactions.add': { tier: 3, tokens: both('reactions:write') },
  'reactions.remove': { tier: 2, tokens: both('reactions:write') },
  'reactions.get': { tier: 3, tokens: both('reactions:read') },
  'files.info': { tier: 4, tokens: both('files:read') },
  'files.getUploadURLExternal': { tier: 4, tokens: both('files:write') },
  'files.completeUploadExternal': { tier: 4, tokens: both('files:write') },
  'files.delete': { tier: 3, tokens: both('files:write') },
  // Retired for every app on 12 Nov 2025: answered `method_deprecated` whatever the token holds.
  'files.upload': { tier: 2, tokens: both(null) },
};

/** Scopes any one of which lets the call past the up-front check (the channel decides later). */
export function scopeAlternatives(need: ScopeNeed | null | undefined): string[] {
  if (!need) return [];
  return typeof need === 'string' ? [need] : [...new Set(Object.values(need))];
}

/** The scope a call on a conversation of `kind` needs, undefined when none or the kind is not served. */
export function scopeFor(need: ScopeNeed | null | undefined, kind: ConversationKind): string | undefined {
  if (!need) return undefined;
  return typeof need === 'string' ? need : need[kind];
}

/** Bot scopes a relay bridge needs (the reference's list); the default for emulated apps. */
export const BRIDGE_BOT_SCOPES: readonly string[] = [
  'chat:write',
  'chat:write.customize',
  'channels:history',
  'channels:read',
  'channels:join',
  'groups:history',
  'groups:read',
  'im:history',
  'im:read',
  'im:write',
  'mpim:history',
  'mpim:read',
  'mpim:write',
  'files:read',
  'files:write',
  'reactions:read',
  'reactions:write',
  'users:read',
  'team:read',
  'emoji:read',
];

/** User scopes a puppeting bridge asks for (oauth.v2.access with user_scope). */
export const PUPPET_USER_SCOPES: readonly string[] = [
  'chat:write',
  'channels:history',
  'channels:read',
  'channels:write',
  'groups:history',
  'groups:read',
  'groups:write',
  'im:history',
  'im:read',
  'im:write',
  'mpim:history',
  'mpim:read',
  'mpim:write',
  'files:read',
  'files:write',
  'reactions:read',
  'reactions:write',
  'users:read',
  'users.profile:read',
];

/**
 * Events API subscriptions and the scopes that allow them (any one). Message events are
 * subscribed per conversation type (`message.channels` …) but arrive as `type: "message"`.
 */
export const EVENT_SCOPES: Readonly<Record<string, readonly string[]>> = {
  'message.channels': ['channels:history'],
  'message.groups': ['groups:history'],
  'message.im': ['im:history'],
  'message.mpim': ['mpim:history'],
  reaction_added: ['reactions:read'],
  reaction_removed: ['reactions:read'],
  member_joined_channel: ['channels:read', 'groups:read'],
  member_left_channel: ['channels:read', 'groups:read'],
  channel_created: ['channels:read'],
  channel_rename: ['channels:read'],
  channel_archive: ['channels:read'],
  channel_unarchive: ['channels:read'],
  group_rename: ['groups:read'],
  group_archive: ['groups:read'],
  group_unarchive: ['groups:read'],
  user_change: ['users:read'],
  team_join: ['users:read'],
  file_shared: ['files:read'],
  file_deleted: ['files:read'],
  emoji_changed: ['emoji:read'],
  app_uninstalled: [],
  tokens_revoked: [],
};

/** The bot events a relay bridge subscribes to; the default for emulated apps. */
export const BRIDGE_BOT_EVENTS: readonly string[] = [
  'message.channels',
  'message.groups',
  'message.im',
  'message.mpim',
  'reaction_added',
  'reaction_removed',
  'member_joined_channel',
  'member_left_channel',
  'channel_rename',
  'group_rename',
  'channel_archive',
  'user_change',
  'team_join',
  'file_shared',
  'app_uninstalled',
  'tokens_revoked',
];

/** The subscription name an event of `type` on a conversation of `kind` falls under. */
export function subscriptionFor(type: string, kind?: ConversationKind): string {
  if (type !== 'message') return type;
  switch (kind) {
    case 'group':
      return 'message.groups';
    case 'im':
      return 'message.im';
    case 'mpim':
      return 'message.mpim';
    default:
      return 'message.channels';
  }
}

/** Throws naming each subscription whose scope the app lacks (Slack refuses to save such a manifest). */
export function checkSubscriptions(events: Iterable<string>, scopes: ReadonlySet<string>, what: string): void {
  for (const ev of events) {
    const allowed = EVENT_SCOPES[ev];
    if (!allowed) throw new Error(`${what}: unknown event subscription "${ev}"`);
    if (allowed.length > 0 && !allowed.some((s) => scopes.has(s))) {
      throw new Error(`${what}: event subscription "${ev}" needs scope ${allowed.join(' or ')}`);
    }
  }
}
