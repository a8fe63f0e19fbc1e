/**
 * A portal is the link between one Matrix room and one remote place.
 *
 * - `portal`: a room the bridge created for a remote channel (by alias query or command); the bridge owns it.
 * - `plumbed`: an existing Matrix room linked by config, provisioning or an admin command; its owners own it.
 * - `dm`: a direct chat between a Matrix user and a remote user.
 *
 * A remote place may be linked to several rooms (IRC mappings allow it); a room links to one place.
 */
import type { PortalKey } from './ids';

export type PortalKind = 'portal' | 'plumbed' | 'dm';

export interface Portal {
  roomId: string;
  key: PortalKey;
  kind: PortalKind;
  /** For DMs: the Matrix user on the other side. */
  dmUser?: string;
  /** Connector-owned settings (e.g. an IRC channel key). JSON only. */
  data?: Record<string, unknown>;
  createdAt: number;
}

/** What a portal room should look like when the core creates it. */
export interface PortalInfo {
  key: PortalKey;
  name?: string;
  topic?: string;
  /** Listed in the room directory. */
  published?: boolean;
  inviteOnly?: boolean;
  data?: Record<string, unknown>;
}
