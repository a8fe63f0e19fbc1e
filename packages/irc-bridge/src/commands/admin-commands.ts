/**
 * Bridge-admin commands: link a room to a channel without operator consent
 * (`!plumb`, as MAI), unlink (`!unlink`/`!unplumb`, also for the room's moderators), and show the version.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CommandUsageError, parseRoomId, type Command } from '@causeway/bridge-core';
import { isValidChannelName } from '../irc';
import type { CommandDeps } from './deps';

export function bridgeVersion(): string {
  try {
    return (JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

const CHANNEL = (raw: string) => {
  if (!isValidChannelName(raw)) throw new CommandUsageError(`${raw} is not a valid IRC channel name.`);
  return raw;
};

export function adminCommands(c: Pick<CommandDeps, 'ctx' | 'networks'>): Command[] {
  return [
    {
      name: 'bridgeversion',
      summary: 'Show the bridge version.',
      async run(cmd) {
        await cmd.reply(`Causeway IRC bridge ${bridgeVersion()}`);
      },
    },
    {
      name: 'plumb',
      summary: 'Link an existing room to an IRC channel (bridge admins): !plumb <room_id> <server> <#channel>',
      permission: 'admin',
      args: [{ name: 'room_id', parse: parseRoomId }, { name: 'server' }, { name: 'channel', parse: CHANNEL }],
      async run(cmd) {
        const n = c.networks.require(cmd.args.server!);
        const portal = await c.ctx.portals.link(cmd.args.room_id!, n.portalKey(cmd.args.channel!), { actor: cmd.sender });
        await cmd.reply(`Linked ${portal.roomId} to ${cmd.args.channel} on ${n.name}.`);
      },
    },
    ...['unlink', 'unplumb'].map((name): Command => ({
      name,
      summary: `Unlink a room from its IRC channel (room moderators and bridge admins): !${name} <room_id> [server #channel]`,
      args: [
        { name: 'room_id', parse: parseRoomId },
        { name: 'server', optional: true },
        { name: 'channel', optional: true, parse: CHANNEL },
      ],
      async run(cmd) {
        const roomId = cmd.args.room_id!;
        const portal = await c.ctx.portals.getByRoom(roomId);
        if (!portal || portal.kind === 'dm') return cmd.reply(`${roomId} is not linked to an IRC channel.`);
        // As MAI: the room's moderators may unlink it, not only bridge admins.
        if (!cmd.isAdmin) {
          const power = await c.ctx.portals.canManage(roomId, cmd.sender);
          if (!power.ok)
            return cmd.reply(
              `Only a bridge admin or a moderator of ${roomId} (power level ${power.required}; you have ${power.level}) may unlink it.`,
            );
        }
        if (cmd.args.server && cmd.args.channel) {
          const n = c.networks.require(cmd.args.server);
          const key = n.portalKey(cmd.args.channel);
          if (key.network !== portal.key.network || key.id !== portal.key.id) {
            return cmd.reply(`${roomId} is linked to ${portal.key.id} on ${portal.key.network}, not ${cmd.args.channel} on ${n.name}.`);
          }
        }
        await c.ctx.portals.unlink(roomId, { actor: cmd.sender, reason: `${name} command` });
        await cmd.reply(`Unlinked ${roomId} from ${portal.key.id} on ${portal.key.network}.`);
      },
    })),
  ];
}
