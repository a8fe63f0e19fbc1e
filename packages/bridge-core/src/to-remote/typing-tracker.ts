/**
 * Turns `m.typing` ephemeral events (the full list of typing users per room)
 * into per-user start/stop notifications for connectors that relay typing.
 */
import type { BridgeConnector } from '../connector/connector';
import { supports } from '../connector/capabilities';
import type { PortalManager } from '../portals/portal-manager';

export class TypingTracker {
  private readonly typingByRoom = new Map<string, Set<string>>();

  constructor(
    private readonly connector: BridgeConnector,
    private readonly portals: PortalManager,
    private readonly isBridgeUser: (userId: string) => boolean,
  ) {}

  async onTyping(event: Record<string, unknown>): Promise<void> {
    const c = this.connector;
    const roomId = event.room_id;
    const ids = (event.content as { user_ids?: unknown } | undefined)?.user_ids;
    if (!supports(c, 'typing') || typeof roomId !== 'string' || !Array.isArray(ids)) return;
    const portal = await this.portals.getByRoom(roomId);
    if (!portal) return;
    const now = new Set(ids.filter((u): u is string => typeof u === 'string' && !this.isBridgeUser(u)));
    const before = this.typingByRoom.get(roomId) ?? new Set<string>();
    if (now.size) this.typingByRoom.set(roomId, now);
    else this.typingByRoom.delete(roomId);
    for (const u of now) if (!before.has(u)) await c.handleMatrixTyping({ portal, userId: u, typing: true });
    for (const u of before) if (!now.has(u)) await c.handleMatrixTyping({ portal, userId: u, typing: false });
  }
}
