// The Gitter v1 wire shapes the bridge reads and writes (REST answers and stream records).
// Fields later servers added (threads, virtual users) are optional: the bridge must work with
// servers that never send them.

export interface GitterUser {
  id: string;
  username: string;
  displayName: string;
  url?: string;
  avatarUrl?: string;
  avatarUrlSmall?: string;
  avatarUrlMedium?: string;
  v?: number;
  /** Only in room member lists, for room admins. */
  role?: string;
}

export interface GitterRoom {
  id: string;
  name: string;
  topic?: string;
  uri?: string;
  oneToOne?: boolean;
  user?: GitterUser;
  userCount?: number;
  url?: string;
  githubType?: string;
  security?: string;
  v?: number;
}

export interface GitterMention {
  screenName: string;
  userId?: string;
  userIds?: string[];
  announcement?: boolean;
  group?: boolean;
}

export interface GitterVirtualUser {
  type: string;
  externalId: string;
  displayName: string;
  avatarUrl?: string;
}

export interface GitterMessage {
  id: string;
  /** The Markdown source. */
  text: string;
  /** The server's rendering of `text`. */
  html?: string;
  sent: string;
  editedAt?: string | null;
  fromUser: GitterUser;
  /** 1 when created, +1 per edit. */
  v?: number;
  /** A `/me` emote. */
  status?: boolean;
  mentions?: GitterMention[];
  urls?: { url: string }[];
  issues?: { number: string }[];
  parentId?: string;
  threadMessageCount?: number;
  virtualUser?: GitterVirtualUser;
}

/** The message version; servers that omit `v` are treated as version 1. */
export function messageVersion(m: Pick<GitterMessage, 'v'>): number {
  return typeof m.v === 'number' && m.v > 0 ? m.v : 1;
}

export interface HistoryQuery {
  limit?: number;
  beforeId?: string;
  afterId?: string;
  aroundId?: string;
  skip?: number;
  q?: string;
}

export interface SendMessageBody {
  text: string;
  status?: boolean;
  parentId?: string;
  virtualUser?: GitterVirtualUser;
}
