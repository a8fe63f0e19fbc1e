/**
 * Tools for bridge admins, in the admin room rather than MAI's debug HTTP API (which took the
 * as_token in a query string): connection figures per network, closing one user's connections,
 * and reaping users idle for days (with a dry run first), as operators at a `max_clients` cap
 * or under a network's clone limits needed.
 */
import { CommandUsageError, type Command } from '@causeway/bridge-core';
import type { CommandDeps } from './deps';
import type { IrcNetwork } from '../network/irc-network';

const USER_ID = (raw: string) => {
  if (!/^@[^:\s]+:\S+$/.test(raw)) throw new CommandUsageError(`${raw} is not a Matrix user ID (@alice:example.org).`);
  return raw;
};
const DAY_MS = 86_400_000;

export function operatorCommands(c: Pick<CommandDeps, 'networks'>): Command[] {
  const networksOf = (server: string | undefined): IrcNetwork[] => (server ? [c.networks.require(server)] : c.networks.list());
  return [
    {
      name: 'connections',
      summary: 'Connections per network by state, reconnect queue and held messages (bridge admins): !connections [server]',
      permission: 'admin',
      args: [{ name: 'server', optional: true }],
      async run(cmd) {
        const lines = networksOf(cmd.args.server).map((n) => {
          const s = n.stats();
          const states =
            Object.entries(s.connections)
              .filter(([, v]) => v > 0)
              .map(([k, v]) => `${v} ${k}`)
              .join(', ') || 'none';
          return (
            `${n.name}: ${states}; ${s.reconnectQueue} waiting to connect, ${s.connectsInFlight} connecting; ` +
            `${s.queuedMessages} messages held; flood-queue delay last ${s.floodQueueDelayMs.last} ms, max ${s.floodQueueDelayMs.max} ms`
          );
        });
        await cmd.reply(lines.join('\n'));
      },
    },
    {
      name: 'disconnect',
      summary: "Close a user's IRC connections, telling them why (bridge admins): !disconnect <@user:server> [server] [reason]",
      permission: 'admin',
      args: [
        { name: 'user', parse: USER_ID },
        { name: 'rest', rest: true, optional: true },
      ],
      async run(cmd) {
        const userId = cmd.args.user!;
        const words = (cmd.args.rest ?? '').trim().split(/\s+/).filter(Boolean);
        const server = words[0] && c.networks.get(words[0]) ? words.shift() : undefined;
        const reason = words.join(' ');
        const closed: string[] = [];
        for (const n of networksOf(server)) if (await n.disconnectUser(userId, reason)) closed.push(n.name);
        await cmd.reply(
          closed.length
            ? `Disconnected ${userId} from ${closed.join(', ')}.`
            : `${userId} has no IRC connection${server ? ` on ${server}` : ''}.`,
        );
      },
    },
    {
      name: 'reapidle',
      summary: 'Disconnect users idle for at least <days> (bridge admins; --dry-run lists them): !reapidle <server> <days> [--dry-run]',
      permission: 'admin',
      args: [
        { name: 'server' },
        {
          name: 'days',
          parse: (raw) => {
            const d = Number(raw);
            if (!Number.isFinite(d) || d <= 0) throw new CommandUsageError(`${raw} is not a number of days.`);
            return raw;
          },
        },
        { name: 'flag', optional: true },
      ],
      async run(cmd) {
        const n = c.networks.require(cmd.args.server!);
        const days = Number(cmd.args.days);
        if (cmd.args.flag !== undefined && cmd.args.flag !== '--dry-run')
          throw new CommandUsageError(`Unknown flag ${cmd.args.flag}; only --dry-run.`);
        const dry = cmd.args.flag === '--dry-run';
        const idle = n.idleUsers(Date.now() - days * DAY_MS);
        if (!idle.length) return cmd.reply(`Nobody on ${n.name} has been idle for ${days} days.`);
        if (!dry) for (const userId of idle) await n.disconnectUser(userId, `idle for more than ${days} days`);
        const list = idle.slice(0, 50).join(', ') + (idle.length > 50 ? ` and ${idle.length - 50} more` : '');
        await cmd.reply(`${dry ? 'Would disconnect' : 'Disconnected'} ${idle.length} user(s) idle on ${n.name} for ${days} days: ${list}`);
      },
    },
  ];
}
