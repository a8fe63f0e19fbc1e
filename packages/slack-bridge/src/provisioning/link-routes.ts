// Provisioning API links (the core's standard `/v1/link`, `/v1/unlink`, `/v1/links/{roomId}`, which
// authenticate, check the acting user's power in the room and audit): the body names the workspace
// and the channel ID; the Slack side's consent is checked by the connector's beforeLink.
import { BridgeError, MatrixError } from '@causeway/bridge-core';
import type { SlackWorkspaces } from '../workspace/registry';

const LINK_SCHEMA = {
  type: 'object',
  required: ['workspace', 'channel_id'],
  properties: {
    workspace: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,31}$' },
    channel_id: { type: 'string', pattern: '^[CG][A-Z0-9]{2,20}$' },
  },
};

export function registerProvisioning(c: SlackWorkspaces): void {
  c.ctx.provisioning.addLinkRoutes({
    linkSchema: LINK_SCHEMA,
    link: async (roomId, userId, body) => {
      const name = body.workspace as string;
      if (!c.has(name)) throw new MatrixError(404, 'M_NOT_FOUND', `There is no Slack workspace called ${name}.`);
      try {
        const p = await c.ctx.portals.link(roomId, c.workspace(name).portalKey(body.channel_id as string), { actor: userId });
        return { room_id: p.roomId, workspace: p.key.network, channel_id: p.key.id };
      } catch (err) {
        if (err instanceof BridgeError) throw new MatrixError(403, 'M_FORBIDDEN', err.userMessage);
        throw err;
      }
    },
    unlink: async (roomId, userId) => {
      const p = await c.ctx.portals.getByRoom(roomId);
      if (!p || p.kind === 'dm') throw new MatrixError(404, 'M_NOT_FOUND', `${roomId} is not linked to a Slack channel.`);
      return { unlinked: await c.ctx.portals.unlink(roomId, { actor: userId, reason: 'provisioning' }) };
    },
    list: async (roomId) => {
      const p = await c.ctx.portals.getByRoom(roomId);
      return p && p.kind !== 'dm' ? [{ room_id: p.roomId, workspace: p.key.network, channel_id: p.key.id }] : [];
    },
  });
}
