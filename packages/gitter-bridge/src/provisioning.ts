/**
 * The Gitter bridge's provisioning API: the core's standard link routes (`POST /v1/link`,
 * `POST /v1/unlink`, `GET /v1/links/{roomId}`), authenticated, rate-limited, audited and with
 * the core's power-level check on the room, as for every bridge. A link body names the Gitter
 * room: `{"room_id": "!abc:example.org", "gitter_room": "acme/chat"}` (a URI or a room id).
 */
import { MatrixError } from '@causeway/bridge-core';
import { BridgeError } from '@causeway/bridge-core';
import type { AdminDeps } from './admin-deps';
import { GITTER_NETWORK } from './protocol';

const LINK_SCHEMA = {
  type: 'object',
  required: ['gitter_room'],
  properties: { gitter_room: { type: 'string', minLength: 1, maxLength: 255 } },
} as const;

/** A BridgeError (a refusal meant for people) as an HTTP answer. */
function asHttp(err: unknown): unknown {
  if (err instanceof BridgeError) return new MatrixError(400, 'M_UNKNOWN', err.userMessage);
  return err;
}

export function registerProvisioning(c: Pick<AdminDeps, 'ctx' | 'links'>): void {
  c.ctx.provisioning.addLinkRoutes({
    linkSchema: LINK_SCHEMA,
    async link(roomId, userId, body) {
      try {
        const portal = await c.links.link(roomId, String(body.gitter_room), userId);
        return { room_id: portal.roomId, gitter_room_id: portal.key.id, gitter_room: portal.data?.uri ?? portal.key.id };
      } catch (err) {
        throw asHttp(err);
      }
    },
    async unlink(roomId, userId) {
      const portal = await c.ctx.portals.getByRoom(roomId);
      if (!portal || portal.key.network !== GITTER_NETWORK)
        throw new MatrixError(404, 'M_NOT_FOUND', `${roomId} is not linked to a Gitter room.`);
      await c.ctx.portals.unlink(roomId, { actor: userId, reason: 'provisioning' });
      return {};
    },
    async list(roomId) {
      const portal = await c.ctx.portals.getByRoom(roomId);
      if (!portal || portal.key.network !== GITTER_NETWORK) return [];
      return [{ gitter_room_id: portal.key.id, gitter_room: portal.data?.uri ?? portal.key.id, kind: portal.kind }];
    },
  });
}
