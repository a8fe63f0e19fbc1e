/**
 * Identifiers the core and a connector share. Remote identifiers are opaque
 * strings owned by the connector; the core only stores and compares them.
 */

/** One remote "place" messages flow through: an IRC channel, a Slack channel, a Gitter room, a DM. */
export interface PortalKey {
  /** Remote network instance: an IRC server name, a Slack team ID, "gitter". */
  network: string;
  /** Remote channel / conversation ID within the network (IRC: case-folded channel or nick for DMs). */
  id: string;
  /** For DMs: the remote user the conversation belongs to, so two users' DMs with one nick stay apart. */
  receiver?: string;
}

/** A remote user, who appears on Matrix as a ghost. */
export interface GhostKey {
  network: string;
  id: string;
}

export function portalKeyString(k: PortalKey): string {
  return k.receiver ? `${k.network}\u0000${k.id}\u0000${k.receiver}` : `${k.network}\u0000${k.id}`;
}

export function ghostKeyString(k: GhostKey): string {
  return `${k.network}\u0000${k.id}`;
}

/** A Matrix user ID split into its parts; `null` when the string is not a user ID. */
export function parseUserId(userId: string): { localpart: string; domain: string } | null {
  const m = /^@([^:]+):(.+)$/.exec(userId);
  return m ? { localpart: m[1], domain: m[2] } : null;
}
