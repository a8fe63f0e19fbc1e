// Linking a Matrix room to a Slack channel, the checks shared by the admin-room commands and the
// provisioning API. As with IRC links, the room side needs a bridge admin or a room moderator (the
// core's power check), and the network side needs consent: bridge admins may link any channel the
// bot can reach (it joins public channels itself); anyone else only a channel the bot was invited
// to on Slack, since inviting the app is how a channel's members agree to the bridge.
import { BridgeError, type PortalKey } from '@causeway/bridge-core';
import type { SlackWorkspaces } from './workspace/registry';

const CHANNEL_RE = /^[CG][A-Z0-9]{2,20}$/;

export function isChannelId(s: string): boolean {
  return CHANNEL_RE.test(s);
}

export async function checkLink(c: SlackWorkspaces, request: { key: PortalKey; roomId: string; userId: string }): Promise<void> {
  const ws = c.workspace(request.key.network);
  const channel = request.key.id;
  if (!isChannelId(channel)) throw new BridgeError(`${channel} is not a Slack channel ID (C… or G…).`);
  let info: { is_member?: boolean; is_private?: boolean; is_archived?: boolean; name?: string };
  try {
    info = (await ws.client.conversations.info({ channel })).channel ?? {};
  } catch (err) {
    const code = (err as { data?: { error?: string } }).data?.error;
    throw new BridgeError(
      code === 'channel_not_found'
        ? `The Slack app cannot see ${channel} in ${ws.name}: for a private channel, invite the app there first.`
        : `Slack could not say what ${channel} is (${code ?? 'error'}).`,
    );
  }
  if (info.is_archived) throw new BridgeError(`#${info.name ?? channel} is archived.`);
  if (info.is_member) return;
  const admin = !request.userId || c.ctx.isAdmin(request.userId);
  if (!admin || info.is_private)
    throw new BridgeError(
      `Invite the Slack app to #${info.name ?? channel} first (/invite @${ws.identity.teamName} app in Slack): only channels it was invited to can be linked.`,
    );
  await ws.client.conversations.join({ channel });
}
