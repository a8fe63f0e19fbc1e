/**
 * Small helpers shared by the store backends. Nothing here touches a database.
 */
import type { Portal, PortalKind } from '../connector/portal';
import type { GhostKey, PortalKey } from '../connector/ids';
import type { StoredMembership } from './store';

const PORTAL_KINDS: readonly PortalKind[] = ['portal', 'plumbed', 'dm'];
const MEMBERSHIPS: readonly StoredMembership[] = ['join', 'invite', 'leave', 'ban'];

/** Thrown by every repository method once `close()` has been called (or before `init()`). */
export class StoreClosedError extends Error {
  constructor(what = 'store') {
    super(`${what} is not open (call init() first, or it was closed)`);
    this.name = 'StoreClosedError';
  }
}

/** Serialise a value for storage; `undefined` (and functions) cannot be stored. */
export function encodeJson(value: unknown, what: string): string {
  const s = JSON.stringify(value);
  if (s === undefined) throw new TypeError(`${what}: value is not JSON-serialisable`);
  return s;
}

/** Copy a portal key with only the fields that are set (no `receiver: undefined`). */
export function cleanPortalKey(k: PortalKey): PortalKey {
  return k.receiver ? { network: k.network, id: k.id, receiver: k.receiver } : { network: k.network, id: k.id };
}

export function cleanGhostKey(k: GhostKey): GhostKey {
  return { network: k.network, id: k.id };
}

export function assertKind(kind: string): asserts kind is PortalKind {
  if (!PORTAL_KINDS.includes(kind as PortalKind)) throw new TypeError(`invalid portal kind: ${kind}`);
}

export function assertMembership(m: string): asserts m is StoredMembership {
  if (!MEMBERSHIPS.includes(m as StoredMembership)) throw new TypeError(`invalid membership: ${m}`);
}

/** Build a Portal with optional fields present only when set, so both backends return equal shapes. */
export function makePortal(
  roomId: string,
  key: PortalKey,
  kind: PortalKind,
  createdAt: number,
  dmUser?: string | null,
  data?: Record<string, unknown> | null,
): Portal {
  const p: Portal = { roomId, key: cleanPortalKey(key), kind, createdAt };
  if (dmUser) p.dmUser = dmUser;
  if (data) p.data = data;
  return p;
}

/** Validate a migration list: positive integer versions, strictly increasing. Returns a sorted copy. */
export function orderedMigrations<M extends { version: number; name: string }>(list: readonly M[]): M[] {
  const sorted = [...list].sort((a, b) => a.version - b.version);
  let prev = 0;
  for (const m of sorted) {
    if (!Number.isInteger(m.version) || m.version <= 0) throw new Error(`migration ${m.name}: version must be a positive integer`);
    if (m.version === prev) throw new Error(`two migrations share version ${m.version}`);
    prev = m.version;
  }
  return sorted;
}
