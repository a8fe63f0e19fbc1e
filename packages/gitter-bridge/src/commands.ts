/**
 * Admin-room commands of the Gitter bridge:
 *
 * - `!link <room_id> <gitter room>`: link a Matrix room to a Gitter room (URI like `acme/chat`, or
 *   id). Bridge admins, and the room's moderators (the power level needed to change the room's
 *   power levels: the rule provisioning applies to links).
 * - `!unlink <room_id>`: the same people, as IRC's `!unlink`.
 * - `!list [room_id]`: a room's link (its members), or every link (bridge admins).
 * - `!settoken <token>` / `!removetoken`: puppeting. The token is a secret argument: never
 *   logged, and the message carrying it is dropped from the journal once handled.
 */
import { BridgeError, CommandUsageError, parseRoomId, type Command, type CommandContext } from '@causeway/bridge-core';
import type { AdminDeps } from './admin-deps';
import { GitterHttpError } from './gitter';
import { GITTER_NETWORK } from './protocol';

/** Bridge admins, or users who may manage the room; replies and returns false otherwise. */
async function mayManage(c: Pick<AdminDeps, 'ctx'>, cmd: CommandContext, roomId: string, what: string): Promise<boolean> {
  if (cmd.isAdmin) return true;
  const power = await c.ctx.portals.canManage(roomId, cmd.sender);
  if (power.ok) return true;
  await cmd.reply(
    `Only a bridge admin or a moderator of ${roomId} (power level ${power.required}; you have ${power.level}) may ${what} it.`,
  );
  return false;
}

function describeLink(roomId: string, data: Record<string, unknown> | undefined, gitterId: string): string {
  const uri = typeof data?.uri === 'string' ? data.uri : undefined;
  return `${roomId} ↔ ${uri ? `${uri} (${gitterId})` : gitterId}`;
}

export function registerCommands(c: AdminDeps): void {
  const commands: Command[] = [
    {
      name: 'link',
      summary: 'Link a Matrix room to a Gitter room (bridge admins and room moderators): !link <room_id> <acme/chat>',
      args: [
        { name: 'room_id', parse: parseRoomId },
        { name: 'gitter_room', description: 'Gitter room URI (acme/chat) or id' },
      ],
      async run(cmd) {
        const roomId = cmd.args.room_id!;
        if (!(await mayManage(c, cmd, roomId, 'link'))) return;
        let portal;
        try {
          portal = await c.links.link(roomId, cmd.args.gitter_room!, cmd.sender);
        } catch (err) {
          if (err instanceof BridgeError) return cmd.reply(err.userMessage);
          throw err;
        }
        await cmd.reply(`Linked ${describeLink(portal.roomId, portal.data, portal.key.id)}.`);
      },
    },
    {
      name: 'unlink',
      summary: 'Unlink a Matrix room from its Gitter room (bridge admins and room moderators): !unlink <room_id>',
      args: [{ name: 'room_id', parse: parseRoomId }],
      async run(cmd) {
        const roomId = cmd.args.room_id!;
        const portal = await c.ctx.portals.getByRoom(roomId);
        if (!portal || portal.key.network !== GITTER_NETWORK) return cmd.reply(`${roomId} is not linked to a Gitter room.`);
        if (!(await mayManage(c, cmd, roomId, 'unlink'))) return;
        await c.ctx.portals.unlink(roomId, { actor: cmd.sender, reason: 'unlink command' });
        await cmd.reply(`Unlinked ${describeLink(roomId, portal.data, portal.key.id)}.`);
      },
    },
    {
      name: 'list',
      summary: "Show a room's Gitter link, or every link (bridge admins): !list [room_id]",
      args: [{ name: 'room_id', optional: true, parse: parseRoomId }],
      async run(cmd) {
        const roomId = cmd.args.room_id;
        if (roomId) {
          if (!cmd.isAdmin && !(await c.ctx.portals.joinedMatrixUsers(roomId)).includes(cmd.sender)) {
            return cmd.reply(`You are not in ${roomId}.`);
          }
          const p = await c.ctx.portals.getByRoom(roomId);
          return cmd.reply(
            p && p.key.network === GITTER_NETWORK
              ? `Linked: ${describeLink(p.roomId, p.data, p.key.id)}.`
              : `${roomId} is not linked to a Gitter room.`,
          );
        }
        if (!cmd.isAdmin) return cmd.reply('Give a room ID: !list <room_id> (only bridge admins may list every link).');
        const all = await c.ctx.portals.list({ network: GITTER_NETWORK });
        if (!all.length) return cmd.reply('No rooms are linked to Gitter.');
        await cmd.reply(
          [
            `${all.length} linked room(s):`,
            ...all.map((p) => `- ${describeLink(p.roomId, p.data, p.key.id)}${p.kind === 'portal' ? ' (portal)' : ''}`),
          ].join('\n'),
        );
      },
    },
  ];
  if (c.ctx.config.puppeting.enabled) {
    commands.push(
      {
        name: 'settoken',
        summary: 'Send your messages from your own Gitter account: !settoken <token> (stored encrypted)',
        args: [
          {
            name: 'token',
            secret: true,
            parse: (raw) => {
              if (!/^[A-Za-z0-9._-]{8,200}$/.test(raw)) throw new CommandUsageError('That does not look like a Gitter token.');
              return raw;
            },
          },
        ],
        async run(cmd) {
          try {
            const user = await c.puppets.set(cmd.sender, cmd.args.token!);
            await cmd.reply(
              `Your Gitter token is stored encrypted: your messages now come from Gitter user @${user.username}. !removetoken to stop.`,
            );
          } catch (err) {
            if (err instanceof GitterHttpError && err.kind === 'unauthorized')
              return cmd.reply('Gitter refused that token (401). Nothing was stored.');
            throw err;
          }
        },
      },
      {
        name: 'removetoken',
        summary: 'Forget your Gitter token: your messages go through the relay again.',
        async run(cmd) {
          await cmd.reply((await c.puppets.remove(cmd.sender)) ? 'Your Gitter token is removed.' : 'You had no Gitter token stored.');
        },
      },
    );
  }
  for (const command of commands) c.ctx.commands.register(command);
}
