/**
 * What bridge info each portal room last received, so a start can tell which rooms are out of
 * date without asking the homeserver (bridge-info-sync.ts).
 *
 * - One entry per room in the core's KV store (namespace `bridge-info`, key = room ID): a
 *   fingerprint (SHA-256 of the exact state events, types and state key included) and the link's
 *   creator. The creator is kept because only the link knew it: a resend after, say, a network
 *   rename must not drop it from the room's state.
 * - Written only once the homeserver accepted every event (or the room was created with them in
 *   its initial state); a failed send leaves the old entry, so the next start tries again.
 * - Forgotten on unlink. The KV store rather than a portal column: no schema change, and the
 *   portal's `data` belongs to the connector (and feeds the content this fingerprints).
 */
import { createHash } from 'node:crypto';
import type { KeyValueRepository } from '../store/store';

const BRIDGE_INFO_NAMESPACE = 'bridge-info';

/** One state event of a room's bridge info, as sent (and fingerprinted). */
export interface StateEventInit {
  type: string;
  state_key: string;
  content: Record<string, unknown>;
}

export interface BridgeInfoSent {
  fingerprint: string;
  creator?: string;
}

/** Canonical JSON (sorted keys), so a connector building its display data in another key order is no change. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

export function bridgeInfoFingerprint(events: readonly StateEventInit[]): string {
  const sorted = [...events].sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : 0));
  return createHash('sha256').update(canonical(sorted)).digest('base64url');
}

export class BridgeInfoRecord {
  constructor(private readonly kv: KeyValueRepository) {}

  /** Every room's entry, in one store read (the start-up walk needs them all). */
  async all(): Promise<Map<string, BridgeInfoSent>> {
    const rows = await this.kv.list<BridgeInfoSent>(BRIDGE_INFO_NAMESPACE);
    return new Map(rows.map((r) => [r.key, r.value]));
  }

  get(roomId: string): Promise<BridgeInfoSent | undefined> {
    return this.kv.get<BridgeInfoSent>(BRIDGE_INFO_NAMESPACE, roomId);
  }

  async remember(roomId: string, events: readonly StateEventInit[], creator?: string): Promise<void> {
    const value: BridgeInfoSent = { fingerprint: bridgeInfoFingerprint(events), ...(creator ? { creator } : {}) };
    await this.kv.put<BridgeInfoSent>(BRIDGE_INFO_NAMESPACE, roomId, value);
  }

  async forget(roomId: string): Promise<void> {
    await this.kv.delete(BRIDGE_INFO_NAMESPACE, roomId);
  }
}
