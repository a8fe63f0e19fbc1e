// The JSON shapes Gitter's v1 API answers with (User, Room, Message, stream records), and the
// functions that build them from the emulator's records. The same types serve specs that read
// what the emulator would send.
import type { Mention } from './render';

export interface GitterUserJson {
  id: string;
  username: string;
  displayName: string;
  url: string;
  avatarUrl: string;
  avatarUrlSmall: string;
  avatarUrlMedium: string;
  v: number;
  gv: string;
  /** Only in room member lists, for room admins. */
  role?: 'admin';
}

export type GithubType = 'ORG' | 'REPO' | 'ONETOONE' | 'ORG_CHANNEL' | 'REPO_CHANNEL' | 'USER_CHANNEL';

export interface GitterRoomJson {
  id: string;
  name: string;
  topic: string;
  /** Absent for one-to-one rooms, which carry `user` instead. */
  uri?: string;
  user?: GitterUserJson;
  oneToOne: boolean;
  userCount: number;
  unreadItems: number;
  mentions: number;
  lastAccessTime: string | null;
  lurk: boolean;
  url: string;
  githubType: GithubType;
  security: 'PUBLIC' | 'PRIVATE';
  noindex: boolean;
  tags: string[];
  v: number;
}

export interface VirtualUser {
  type: string;
  externalId: string;
  displayName: string;
  avatarUrl?: string;
}

export interface GitterMessageJson {
  id: string;
  text: string;
  html: string;
  sent: string;
  editedAt: string | null;
  fromUser: GitterUserJson;
  unread: boolean;
  readBy: number;
  urls: { url: string }[];
  mentions: Mention[];
  issues: { number: string }[];
  meta: Record<string, unknown>;
  v: number;
  status: boolean;
  /** Thread extension (flag `threads`). */
  parentId?: string;
  threadMessageCount?: number;
  /** Extension (flag `virtualUsers`). */
  virtualUser?: VirtualUser;
}

/** What a stream line holds: a bare message, or (delete extension) a wrapped removal. */
export type StreamRecord = GitterMessageJson | { operation: 'remove'; model: { id: string } };

export interface UserRecord {
  id: string;
  username: string;
  displayName: string;
  v: number;
  /** Set by `setProfile`; otherwise an address under example.invalid. */
  avatarUrl?: string;
}

export function userJson(u: UserRecord, role?: 'admin'): GitterUserJson {
  const avatar = u.avatarUrl ?? `https://avatars.example.invalid/${encodeURIComponent(u.username)}`;
  return {
    id: u.id,
    username: u.username,
    displayName: u.displayName,
    url: `/${u.username}`,
    avatarUrl: avatar,
    avatarUrlSmall: `${avatar}?s=60`,
    avatarUrlMedium: `${avatar}?s=128`,
    v: u.v,
    gv: '3',
    ...(role ? { role } : {}),
  };
}

export const iso = (ms: number) => new Date(ms).toISOString();
