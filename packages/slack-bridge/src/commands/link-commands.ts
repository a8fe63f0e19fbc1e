// Admin-room commands for links: `link <room_id> <workspace> <channel_id>`, `unlink <room_id>`,
// `list [workspace]`. Bridge admins may do anything; a room's moderators (the power level the room
// requires to change power levels, as for IRC unlinks and provisioning) may link and unlink their
// own room. The Slack side's consent is checked by the connector's beforeLink (links.ts).
import { BridgeError, CommandUsageError, parseRoomId, type Command, type CommandContext } from '@causeway/bridge-core';
import type { SlackWorkspaces } from '../workspace/registry';
import { isChannelId } from '../links';

const CHANNEL = (raw: string) => {
  if (!isChannelId(raw)) throw new CommandUsageError(`${raw} is not a Slack channel ID (C…, from the channel's details in Slack).`);
  return raw;
};

async function mayManage(c: SlackWorkspaces, cmd: CommandContext, roomId: string): Promise<string | undefined> {
  if (cmd.isAdmin) return undefined;
  const power = await c.ctx.portals.canManage(roomId, cmd.sender);
  return power.ok
    ? undefined
    : `Only a bridge admin or a moderator of ${roomId} (power level ${power.required}; you have ${power.level}) may do that.`;
}

export function linkCommands(c: SlackWorkspaces): Command[] {
  return [
    {
      name: 'link',
      summary: 'Link a room to a Slack channel: link <room_id> <workspace> <channel_id>',
      args: [{ name: 'room_id', parse: parseRoomId }, { name: 'workspace' }, { name: 'channel', parse: CHANNEL }],
      async run(cmd) {
        const roomId = cmd.args.room_id!;
        const refused = await mayManage(c, cmd, roomId);
        if (refused) return cmd.reply(refused);
        const ws = c.workspace(cmd.args.workspace!);
        try {
          const portal = await c.ctx.portals.link(roomId, ws.portalKey(cmd.args.channel!), { actor: cmd.sender });
          await cmd.reply(`Linked ${portal.roomId} to ${cmd.args.channel} in ${ws.name}.`);
        } catch (err) {
          if (err instanceof BridgeError) return cmd.reply(err.userMessage);
          throw err;
        }
      },
    },
    {
      name: 'unlink',
      summary: 'Unlink a room from its Slack channel: unlink <room_id>',
      args: [{ name: 'room_id', parse: parseRoomId }],
      async run(cmd) {
        const roomId = cmd.args.room_id!;
        const portal = await c.ctx.portals.getByRoom(roomId);
        if (!portal || portal.kind === 'dm') return cmd.reply(`${roomId} is not linked to a Slack channel.`);
        const refused = await mayManage(c, cmd, roomId);
        if (refused) return cmd.reply(refused);
        await c.ctx.portals.unlink(roomId, { actor: cmd.sender, reason: 'unlink command' });
        await cmd.reply(`Unlinked ${roomId} from ${portal.key.id} in ${portal.key.network}.`);
      },
    },
    {
      name: 'list',
      summary: 'List linked rooms (bridge admins): list [workspace]',
      permission: 'admin',
      args: [{ name: 'workspace', optional: true }],
      async run(cmd) {
        const network = cmd.args.workspace;
        if (network) c.workspace(network);
        const portals = (await c.ctx.portals.list(network ? { network } : {})).filter((p) => p.kind !== 'dm');
        if (!portals.length) return cmd.reply('No rooms are linked.');
        await cmd.reply(portals.map((p) => `${p.roomId} ↔ ${p.key.id} in ${p.key.network} (${p.kind})`).join('\n'));
      },
    },
  ];
}
