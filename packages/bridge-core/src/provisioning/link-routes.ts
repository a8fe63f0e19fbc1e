/**
 * The standard link/unlink routes, so every bridge gets the same semantics:
 *
 * - `POST {prefix}/v1/link`   `{room_id, ...network fields}` → `link(...)`'s result (or `{}`)
 * - `POST {prefix}/v1/unlink` `{room_id, ...}`               → `unlink(...)`'s result (or `{}`)
 * - `GET  {prefix}/v1/links/{roomId}`                         → `{links: list(roomId)}`
 *
 * Link and unlink require the acting user to be joined to the room with at
 * least the power level the RoomPowerChecker says is needed; listing requires
 * membership. Link and unlink are audited. Network-side checks belong in the
 * hooks (or `authorize`): throw a MatrixError (e.g. 409, 403) to refuse.
 */
import type { JsonSchema } from './validation';
import type { ProvisioningApi, ProvisioningRequest } from './api';
import type { LinkHooks } from '../connector/routes';

export { type LinkHooks };

const ROOM_BODY = {
  type: 'object',
  required: ['room_id'],
  properties: { room_id: { type: 'string', pattern: '^![\\x21-\\x7E]+$', maxLength: 255 } },
} as const;

function withExtra(extra: JsonSchema | undefined): JsonSchema {
  return extra ? { allOf: [ROOM_BODY, extra] } : ROOM_BODY;
}

export function addLinkRoutes(api: ProvisioningApi, hooks: LinkHooks): void {
  const roomOf = (req: ProvisioningRequest) => req.body.room_id as string;
  api.addRoute({
    method: 'POST',
    path: '/v1/link',
    schema: withExtra(hooks.linkSchema),
    requiresRoomPower: roomOf,
    authorize: hooks.authorize ? (req) => hooks.authorize!('link', req) : undefined,
    audit: true,
    handler: async (req) => (await hooks.link(roomOf(req), req.userId, req.body, req)) ?? {},
  });
  api.addRoute({
    method: 'POST',
    path: '/v1/unlink',
    schema: withExtra(hooks.unlinkSchema),
    requiresRoomPower: roomOf,
    authorize: hooks.authorize ? (req) => hooks.authorize!('unlink', req) : undefined,
    audit: true,
    handler: async (req) => (await hooks.unlink(roomOf(req), req.userId, req.body, req)) ?? {},
  });
  api.addRoute({
    method: 'GET',
    path: '/v1/links/{roomId}',
    requiresRoomMembership: (req) => req.params.roomId,
    handler: async (req) => ({ links: await hooks.list(req.params.roomId, req) }),
  });
}
