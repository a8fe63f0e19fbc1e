/**
 * Provisioning route handlers (link, unlink, list links, channel operators,
 * networks, limits) as plain typed functions. The core's provisioning module
 * does authentication, rate limits and HTTP; wiring these is a table of routes.
 * Error codes follow MAI's provisioning API so integration managers keep working.
 */
import { BridgeError } from '@causeway/bridge-core';
import { isValidChannelName } from './irc';
import type { IrcConnector } from './connector';

export class ProvisioningError extends Error {
  constructor(readonly status: number, readonly errcode: string, message: string) {
    super(message);
    this.name = 'ProvisioningError';
  }
}

export interface LinkRequest {
  remote_room_server: string;
  remote_room_channel: string;
  matrix_room_id: string;
  /** The Matrix user acting (authenticated by the core). */
  user_id: string;
  key?: string;
}

export interface LinkEntry {
  matrix_room_id: string;
  remote_room_server: string;
  remote_room_channel: string;
}

function networkOf(c: IrcConnector, server: string) {
  const n = c.networks.get(server);
  if (!n) throw new ProvisioningError(404, 'IRC_UNKNOWN_NETWORK', `Unknown network ${server}.`);
  return n;
}

function checkChannel(channel: string): void {
  if (!isValidChannelName(channel)) throw new ProvisioningError(400, 'M_AS_BAD_VALUE', `${channel} is not a valid channel name.`);
}

/** Room limit across all networks (MAI `roomLimit`); unlimited when undefined. */
export interface ProvisioningLimits {
  roomLimit?: number;
}

export async function provisionLink(c: IrcConnector, req: LinkRequest, limits: ProvisioningLimits = {}): Promise<LinkEntry> {
  const n = networkOf(c, req.remote_room_server);
  checkChannel(req.remote_room_channel);
  if (n.isExcludedChannel(req.remote_room_channel)) throw new ProvisioningError(400, 'IRC_UNKNOWN_CHANNEL', `${req.remote_room_channel} may not be bridged.`);
  if (limits.roomLimit !== undefined) {
    const count = (await c.ctx.portals.list({ kind: 'plumbed' })).length;
    if (count >= limits.roomLimit) throw new ProvisioningError(500, 'IRC_BRIDGE_AT_LIMIT', 'The bridge has reached its room limit.');
  }
  const existing = await c.ctx.portals.getByRoom(req.matrix_room_id);
  if (existing) throw new ProvisioningError(409, 'IRC_EXISTING_MAPPING', 'This room is already bridged.');
  try {
    // beforeLink checks that the user is a channel operator (or a bridge admin).
    await c.ctx.portals.link(req.matrix_room_id, n.portalKey(req.remote_room_channel), {
      actor: req.user_id, ...(req.key ? { data: { key: req.key } } : {}),
    });
  } catch (err) {
    if (err instanceof BridgeError) throw new ProvisioningError(403, 'IRC_NOT_ENOUGH_POWER', err.userMessage);
    throw err;
  }
  return { matrix_room_id: req.matrix_room_id, remote_room_server: n.name, remote_room_channel: req.remote_room_channel };
}

export async function provisionUnlink(c: IrcConnector, req: Omit<LinkRequest, 'key'>): Promise<void> {
  const n = networkOf(c, req.remote_room_server);
  const portal = await c.ctx.portals.getByRoom(req.matrix_room_id);
  const key = n.portalKey(req.remote_room_channel);
  if (!portal || portal.kind !== 'plumbed' || portal.key.network !== key.network || portal.key.id !== key.id) {
    throw new ProvisioningError(404, 'IRC_UNKNOWN_ROOM', 'No such provisioned link.');
  }
  await c.ctx.portals.unlink(req.matrix_room_id, { actor: req.user_id, reason: 'provisioning' });
}

export async function provisionListLinks(c: IrcConnector, roomId: string): Promise<LinkEntry[]> {
  const portal = await c.ctx.portals.getByRoom(roomId);
  if (!portal || portal.kind === 'dm' || !c.networks.has(portal.key.network)) return [];
  return [{ matrix_room_id: roomId, remote_room_server: portal.key.network, remote_room_channel: portal.key.id }];
}

export async function provisionQueryLink(c: IrcConnector, req: { remote_room_server: string; remote_room_channel: string; key?: string }): Promise<{ operators: string[] }> {
  const n = networkOf(c, req.remote_room_server);
  checkChannel(req.remote_room_channel);
  try {
    return { operators: await n.operators(req.remote_room_channel, req.key) };
  } catch (err) {
    if (err instanceof BridgeError) throw new ProvisioningError(404, 'IRC_UNKNOWN_CHANNEL', err.userMessage);
    throw err;
  }
}

export async function provisionNetworks(c: IrcConnector): Promise<{ servers: Array<{ network_id: string; bot_user_id?: string; desc: string; fields: Record<string, string> }> }> {
  return {
    servers: [...c.networks.values()].map((n) => ({
      network_id: n.cfg.network_id ?? n.name,
      desc: n.cfg.name ?? n.name,
      fields: { domain: n.cfg.address, network: n.name },
    })),
  };
}

export async function provisionLimits(c: IrcConnector, limits: ProvisioningLimits = {}): Promise<{ count: number; limit?: number }> {
  const count = (await c.ctx.portals.list({ kind: 'plumbed' })).length;
  return { count, ...(limits.roomLimit !== undefined ? { limit: limits.roomLimit } : {}) };
}
