/**
 * Admin-room commands every bridge user has (MAI's set): join a channel, show
 * or change the nick, WHOIS, stored passwords, reconnect, quit, list rooms and
 * raw commands. Replies say exactly what happened; nothing is silently changed.
 */
import { CommandUsageError, type Command } from '@causeway/bridge-core';
import { DEFAULT_DENIED_COMMANDS, ircLower, isValidChannelName, isValidNick, parseRawCommand } from '../irc';
import type { CommandDeps } from './deps';
import { connected, pickNetwork, pickNetworkRaw } from './network-arg';
import { FEATURES, type FeatureName } from '../user-features';

const rest = (name: string, description: string, extra: Record<string, unknown> = {}) => [
  { name, description, rest: true, optional: true, ...extra },
];

const formatDuration = (s: number) =>
  s >= 7200 ? `${Math.round(s / 3600)} hours` : s >= 120 ? `${Math.round(s / 60)} minutes` : `${s} seconds`;

export function userCommands(c: CommandDeps): Command[] {
  return [
    {
      name: 'join',
      summary: 'Join an IRC channel: !join [server] #channel [key]',
      args: rest('args', '[server] #channel [key]'),
      async run(cmd) {
        const {
          network: n,
          rest: [channel, key],
        } = pickNetwork(c.networks, cmd.args.args);
        if (!channel || !isValidChannelName(channel)) throw new CommandUsageError('Give a channel name, e.g. !join #matrix');
        if (!n.cfg.dynamic_channels.enabled) return cmd.reply(`Joining channels on demand is disabled on ${n.name}.`);
        if (n.isExcludedChannel(channel)) return cmd.reply(`${channel} may not be bridged.`);
        if (n.users.isExcluded(cmd.sender)) return cmd.reply(`You are not allowed to use ${n.name} through this bridge.`);
        const alias = c.ctx.portals.aliasLocalpartFor({ network: n.name, id: channel });
        const portal = await c.ctx.portals.ensurePortalRoom(n.portalInfo(channel), { aliasLocalpart: alias });
        n.botJoin(ircLower(channel));
        const client = await n.users.clientFor(cmd.sender);
        await client.join(ircLower(channel), key);
        await c.ctx.remote
          .emit({ type: 'membership', portal: portal.key, sender: { bot: true }, targetMatrixUser: cmd.sender, membership: 'invite' })
          .catch(() => undefined);
        await cmd.reply(
          `Joining ${channel} on ${n.name}: you are invited to ${portal.roomId}${alias ? ` (#${alias}:${c.ctx.domain})` : ''}.`,
        );
      },
    },
    {
      name: 'nick',
      summary: 'Show or change your IRC nick: !nick [server] [nick]',
      args: rest('args', '[server] [nick]'),
      async run(cmd) {
        const {
          network: n,
          rest: [nick],
        } = pickNetwork(c.networks, cmd.args.args);
        const current = n.users.nickOf(cmd.sender);
        if (!nick) return cmd.reply(current ? `Your nick on ${n.name} is ${current}.` : `You are not connected to ${n.name}.`);
        if (!n.cfg.clients.allow_nick_changes) return cmd.reply(`Nick changes are disabled on ${n.name}.`);
        if (!isValidNick(nick)) return cmd.reply(`${nick} is not a valid IRC nick.`);
        const client = n.users.get(cmd.sender);
        if (!client || !(await connected(client, 5_000))) {
          await n.users.rememberNick(cmd.sender, nick);
          return cmd.reply(`You will be ${nick} on ${n.name} from your next connection.`);
        }
        const r = await client.connection.changeNick(nick);
        if (!r.ok)
          return cmd.reply(`Your nick stays ${client.connection.nick}: ${typeof r.reason === 'string' ? r.reason : r.reason.message}`);
        await n.users.rememberNick(cmd.sender, r.nick);
        await cmd.reply(`You are now ${r.nick} on ${n.name}.`);
      },
    },
    {
      name: 'whois',
      summary: 'Who is an IRC nick, or which IRC connection a Matrix user has: !whois [server] <nick|@user:domain>',
      args: rest('args', '[server] <nick|@user:domain>'),
      async run(cmd) {
        const {
          network: n,
          rest: [who],
        } = pickNetwork(c.networks, cmd.args.args);
        if (!who) throw new CommandUsageError('Give a nick or a Matrix user ID.');
        if (who.startsWith('@')) {
          const client = n.users.get(who);
          if (!client) return cmd.reply(`${who} has no connection to ${n.name}.`);
          return cmd.reply(
            `${who} is ${client.connection.nick} on ${n.name} (${client.status}), in ${[...client.channels].map(([ch]) => ch).join(', ') || 'no channels'}.`,
          );
        }
        if (!isValidNick(who)) return cmd.reply(`${who} is not a valid IRC nick.`);
        const client = await n.users.clientFor(cmd.sender);
        if (!(await connected(client))) return cmd.reply(`You are not connected to ${n.name} yet; try again in a moment.`);
        const w = await client.connection.whois(who);
        if (!w) return cmd.reply(`There is no IRC user called ${who} on ${n.name}.`);
        const owner = n.users.userForNick(w.nick);
        await cmd.reply(
          [
            `${w.nick} is ${w.user ?? '?'}@${w.host ?? '?'} (${w.realname ?? ''})`,
            w.account ? `logged in as ${w.account}` : '',
            w.channels.length ? `on ${w.channels.join(' ')}` : '',
            w.server ? `via ${w.server}` : '',
            owner ? `(Matrix user ${owner})` : `(${c.ctx.ghosts.userIdFor(n.ghostKey(w.nick))})`,
          ]
            .filter(Boolean)
            .join(', '),
        );
      },
    },
    {
      name: 'storepass',
      summary:
        'Store your IRC password (encrypted), used as PASS or SASL on your next connection: !storepass [server] <password|account:password>',
      args: rest('args', '[server] <password>', { secret: true }),
      async run(cmd) {
        const { network: n, rest: parts } = pickNetwork(c.networks, cmd.args.args);
        const password = parts.join(' ');
        if (!password) throw new CommandUsageError('Give the password.');
        // Sent as PASS, such a password could only be mangled: refuse it, do not store something else.
        if (/[\0\r\n]/.test(password)) throw new CommandUsageError('A password cannot contain line breaks or NUL characters.');
        await c.passwords.set(n.name, cmd.sender, password);
        await cmd.reply(`Your password for ${n.name} is stored encrypted. It is used from your next connection: !reconnect to use it now.`);
      },
    },
    {
      name: 'username',
      summary: 'Choose the username (ident) your IRC connections use from the next one: !username [server] <username>',
      args: rest('args', '[server] <username>'),
      async run(cmd) {
        const { network: n, rest } = pickNetwork(c.networks, cmd.args.args);
        const username = rest.join(' ');
        // RFC 2812's user: no space, NUL, CR, LF or @; networks cap it (USERLEN), 10 is the common floor.
        if (!username || !/^[A-Za-z][A-Za-z0-9_.-]{0,9}$/.test(username)) {
          throw new CommandUsageError(
            'Give a username of 1 to 10 letters, digits, `_`, `.` or `-`, starting with a letter, e.g. !username alice',
          );
        }
        await n.users.rememberUsername(cmd.sender, username);
        await cmd.reply(`Your username on ${n.name} is ${username} from your next connection: !reconnect to use it now.`);
      },
    },
    {
      name: 'removepass',
      summary: 'Delete your stored IRC password: !removepass [server]',
      args: rest('args', '[server]'),
      async run(cmd) {
        const { network: n } = pickNetwork(c.networks, cmd.args.args);
        const removed = await c.passwords.remove(n.name, cmd.sender);
        await cmd.reply(removed ? `Your stored password for ${n.name} was deleted.` : `You had no stored password for ${n.name}.`);
      },
    },
    {
      name: 'reconnect',
      summary: 'Drop and re-open your IRC connection (channels are re-joined): !reconnect [server]',
      args: rest('args', '[server]'),
      async run(cmd) {
        const { network: n } = pickNetwork(c.networks, cmd.args.args);
        const old = n.users.get(cmd.sender);
        const channels = old ? [...old.channels] : [];
        if (old) await n.users.release(cmd.sender, 'Reconnecting', 'Reconnecting');
        const client = await n.users.clientFor(cmd.sender);
        for (const [channel, key] of channels) await client.join(channel, key);
        await cmd.reply(`Reconnecting to ${n.name}${channels.length ? ` and re-joining ${channels.map(([ch]) => ch).join(', ')}` : ''}.`);
      },
    },
    {
      name: 'active',
      summary: 'Count as active now, so the idle timeout starts again: !active [server]',
      args: rest('args', '[server]'),
      async run(cmd) {
        const { network: n } = pickNetwork(c.networks, cmd.args.args);
        const client = n.users.get(cmd.sender);
        if (!client) return cmd.reply(`You are not connected to ${n.name}.`);
        client.lastActiveAt = Date.now();
        const idle = n.idleTimeoutS;
        await cmd.reply(
          idle > 0
            ? `Marked active on ${n.name}: you stay connected for at least ${formatDuration(idle)} without sending anything.`
            : `Marked active on ${n.name}. (No idle timeout applies to you there.)`,
        );
      },
    },
    {
      name: 'quit',
      summary: 'Disconnect from every IRC network (and leave their bridged rooms, unless clients.kick_on.user_quit is off).',
      async run(cmd) {
        const left: string[] = [];
        for (const n of c.networks.list()) {
          if (!n.users.get(cmd.sender)) continue;
          if (n.cfg.clients.kick_on.user_quit) n.kickFromRooms(cmd.sender, 'Used !quit');
          await n.users.release(cmd.sender, 'You used !quit.', 'Quit');
          left.push(n.name);
        }
        await cmd.reply(left.length ? `Disconnected from ${left.join(', ')}.` : 'You were not connected to any IRC network.');
      },
    },
    {
      name: 'listrooms',
      summary: 'List your IRC channels and the rooms they are bridged to: !listrooms [server]',
      args: rest('args', '[server]'),
      async run(cmd) {
        const { network: n } = pickNetwork(c.networks, cmd.args.args);
        const client = n.users.get(cmd.sender);
        const channels = client ? [...client.channels].map(([ch]) => ch) : [];
        if (!channels.length) return cmd.reply(`You are in no channels on ${n.name}.`);
        const lines = await Promise.all(
          channels.map(async (ch) => {
            const rooms = await c.ctx.portals.getByKey(n.portalKey(ch));
            return `${ch} → ${rooms.map((r) => r.roomId).join(', ') || '(no room)'}`;
          }),
        );
        await cmd.reply(lines.join('\n'));
      },
    },
    {
      name: 'feature',
      summary: 'Show or set a feature for you: !feature <name> [true|false|default]',
      args: rest('args', '<name> [true|false|default]'),
      async run(cmd) {
        const [name, value] = (cmd.args.args ?? '').trim().split(/\s+/).filter(Boolean);
        const known = Object.keys(FEATURES) as FeatureName[];
        const list = known.map((f) => `${f}: ${FEATURES[f]}`).join('\n');
        if (!name) return cmd.reply(`Features:\n${list}`);
        const feature = known.find((f) => f === name.toLowerCase());
        if (!feature) throw new CommandUsageError(`Unknown feature ${name}. Features:\n${list}`);
        const mode = c.ctx.config.mention_pills;
        const dflt = mode === 'on';
        if (value === undefined) {
          const own = c.features.get(cmd.sender, feature);
          const state =
            mode === 'force-off'
              ? 'off for everyone on this bridge'
              : own === undefined
                ? `${dflt ? 'on' : 'off'} (the bridge's default)`
                : own
                  ? 'on'
                  : 'off';
          return cmd.reply(`${feature} is ${state}.`);
        }
        const v = value.toLowerCase();
        if (!['true', 'false', 'default'].includes(v)) throw new CommandUsageError('Give true, false or default.');
        await c.features.set(cmd.sender, feature, v === 'default' ? undefined : v === 'true');
        const now = v === 'default' ? dflt : v === 'true';
        await cmd.reply(
          mode === 'force-off'
            ? `Saved, but ${feature} is off for everyone on this bridge.`
            : `${feature} is now ${now ? 'on' : 'off'} for you${v === 'default' ? " (the bridge's default)" : ''}.`,
        );
      },
    },
    {
      name: 'cmd',
      summary: 'Send a raw IRC command on your connection: !cmd [server] COMMAND args',
      args: rest('args', '[server] COMMAND args'),
      async run(cmd) {
        const { network: n, rest: line } = pickNetworkRaw(c.networks, cmd.args.args);
        const parsed = parseRawCommand(line, [...DEFAULT_DENIED_COMMANDS, ...c.ctx.config.cmd_deny_list]);
        if (!parsed.ok) return cmd.reply(`Refused: ${parsed.reason}`);
        const client = await n.users.clientFor(cmd.sender);
        if (!(await connected(client))) return cmd.reply(`You are not connected to ${n.name} yet; try again in a moment.`);
        const r = await client.connection.raw(line);
        await cmd.reply(r.ok ? `Sent ${parsed.command} to ${n.name}.` : `Not sent: ${r.reason}`);
      },
    },
  ];
}
