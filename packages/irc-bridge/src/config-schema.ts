/**
 * The `irc:` section of the config file. One schema is the validator, the
 * TypeScript type, the option reference and the sample's checker, so names in
 * docs and code cannot drift apart (MAI's `excludedUsers`/`excludeUsers`,
 * `ignoreIdleOnStartup` lessons). Every optional key carries its default here.
 */
import { Type, type Static } from '@sinclair/typebox';
import { section, StringEnum } from '@causeway/bridge-core';

const Bool = (description: string, def: boolean) => Type.Boolean({ description, default: def });
const Int = (description: string, def: number, minimum = 0) => Type.Integer({ description, default: def, minimum });

const Direction = (what: string, initial: boolean, incremental: boolean) => ({
  initial: Bool(`Mirror the existing ${what} once when the bridge starts or a channel is first bridged.`, initial),
  incremental: Bool(`Mirror live ${what} changes as they happen.`, incremental),
});

export const ServerSchema = section(
  {
    address: Type.String({ minLength: 1, description: 'Hostname or IP address of the IRC server.' }),
    port: Type.Integer({ minimum: 1, maximum: 65535, default: 6667, description: 'TCP port (usually 6697 with TLS).' }),
    additional_addresses: Type.Array(Type.String({ minLength: 1 }), {
      default: [],
      description:
        "More hostnames or IP addresses of the same network; each connection picks one of these and `address` at random, spreading users over the network's servers (MAI `additionalAddresses`). With TLS each must present a certificate for its own name.",
    }),
    only_additional_addresses: Bool(
      'Connect only to `additional_addresses`, never to `address` (which still names the network, e.g. in `m.room.bridging` state) (MAI `onlyAdditionalAddresses`).',
      false,
    ),
    name: Type.Optional(Type.String({ description: 'Human-readable network name shown in third-party lookups (defaults to the key).' })),
    network_id: Type.Optional(
      Type.String({ pattern: '^[a-z0-9._-]+$', description: 'Stable network ID for third-party lookups (defaults to the key).' }),
    ),
    tls: section(
      {
        enabled: Bool('Connect with TLS.', false),
        allow_self_signed: Bool('Accept self-signed or otherwise unverifiable certificates. Only for networks you trust.', false),
        client_certificate: Type.Optional(
          section(
            {
              certificate_file: Type.String({ minLength: 1, description: 'PEM certificate file presented by every connection (CertFP).' }),
              private_key_file: Type.String({ minLength: 1, description: 'PEM private key of that certificate.' }),
            },
            {
              description:
                'Client certificate for SASL EXTERNAL / CertFP: one certificate for the whole network, presented by the bot and by every user without a certificate of their own (`!certfp generate`), so with SASL EXTERNAL they all log in to the account it is registered to. Needs `enabled`.',
            },
          ),
        ),
      },
      { default: {}, description: 'Transport security.' },
    ),
    password: Type.Optional(
      Type.String({ description: 'Server password (PASS) sent by every connection of this network, unless the user stored their own.' }),
    ),
    encoding_fallback: Type.String({
      default: '',
      description:
        'Encoding of lines that are not valid UTF-8 (e.g. `windows-1252` or `latin1` on networks with older clients), read line by line; empty: such lines are read as UTF-8 with replacement characters. What the bridge sends is always UTF-8 (MAI `encodingFallback`).',
    }),
    sasl: Type.Optional(
      section(
        {
          mechanism: StringEnum(['plain', 'external'] as const, {
            default: 'plain',
            description:
              "SASL mechanism: `plain` with the user's stored password, `external` with the network's client certificate. Either way, a user with their own certificate (`!certfp generate`) tries SASL EXTERNAL with it instead.",
          }),
        },
        {
          description:
            "Authenticate with SASL instead of PASS. There is no PASS fallback when SASL fails. (Users' own certificates work without this: their connections try SASL EXTERNAL when the server offers it and connect without an account when it refuses.)",
        },
      ),
    ),
    bot: section(
      {
        enabled: Bool('Run a relay bot connection that reads channels, so IRC→Matrix works where no Matrix user is connected.', true),
        nick: Type.String({ minLength: 1, default: 'MatrixBridge', description: 'Nick of the bot connection.' }),
        username: Type.String({ minLength: 1, default: 'matrixbot', description: 'Username (ident) of the bot connection.' }),
        password: Type.Optional(Type.String({ description: 'Password the bot sends (SASL PLAIN if `sasl` is set, else PASS).' })),
      },
      { default: {}, description: 'The relay bot.' },
    ),
    dynamic_channels: section(
      {
        enabled: Bool('Let users reach any channel by alias (`#irc_<network>_#channel`) or `!join` (portal rooms).', true),
        published: Bool('List created portal rooms in the room directory.', true),
        join_rule: StringEnum(['public', 'invite'] as const, { default: 'public', description: 'Join rule of created portal rooms.' }),
        exclude: Type.Array(Type.String({ minLength: 1 }), {
          default: [],
          description: 'Channels that may never be bridged (case-insensitive).',
        }),
      },
      { default: {}, description: 'Portal rooms created on demand.' },
    ),
    mappings: Type.Record(
      Type.String({ pattern: '^[#&+!][^\\s,:]+$' }),
      section({
        room_ids: Type.Array(Type.String({ pattern: '^![^:]+:.+$' }), { minItems: 1, description: 'Matrix rooms linked to this channel.' }),
        key: Type.Optional(Type.String({ description: 'Channel key (+k) used to join.' })),
      }),
      { default: {}, description: 'Static links: `"#channel": {room_ids: ["!room:example.org"]}`. The bot must be invited to each room.' },
    ),
    membership: section(
      {
        matrix_to_irc: section(Direction('Matrix room members → IRC channel JOIN/PART', false, true), {
          default: {},
          description: 'Membership sync: Matrix room members → IRC channel JOIN/PART.',
        }),
        irc_to_matrix: section(
          {
            ...Direction('IRC channel members → Matrix ghost joins/leaves', false, true),
            require_matrix_joined: Bool(
              "Privacy filter (MAI `requireMatrixJoined`): bridge a channel's lines to Matrix only while every Matrix member of its rooms is on the IRC channel, for networks that require every reader to be visible. Lines are withheld for good, not delivered later; the room is told who is missing and, afterwards, how many lines it missed; `causeway_irc_privacy_withheld_lines_total` counts them. Pair with `matrix_to_irc.incremental` so members are connected as they join.",
              false,
            ),
          },
          { default: {}, description: 'Membership sync: IRC channel members → Matrix ghost joins/leaves.' },
        ),
        flood_delay_ms: Int('Delay between mirrored joins during an initial sync (drip-feed; MAI default 10 s).', 1000),
        initial_skip_idle_days: Type.Integer({
          minimum: 0,
          maximum: 30,
          default: 0,
          description:
            'With `matrix_to_irc.initial`: Matrix users with no activity through the bridge (a message, a join…) for this many days are left out of the initial sync (they connect when they next speak), so a start does not open thousands of idle connections (MAI `ignoreIdleUsersOnStartup`). 0 connects everyone; at most 30, as activity is kept for 30 days.',
        }),
        quit_debounce: section(
          {
            enabled: Bool(
              'Hold QUITs during a netsplit instead of making every ghost leave (and rejoin minutes later) in every room (MAI `quitDebounce`).',
              false,
            ),
            quits_per_second: Int('More QUITs than this within one second count as a netsplit.', 5, 1),
            delay_min_ms: Int('Shortest time a QUIT is held; it is dropped if the nick comes back first.', 3_600_000),
            delay_max_ms: Int('Longest time a QUIT is held (each gets a random delay between the two).', 7_200_000),
          },
          { default: {}, description: 'Netsplit debouncing of IRC QUITs.' },
        ),
      },
      { default: {}, description: 'Membership mirroring per direction.' },
    ),
    clients: section(
      {
        nick_template: Type.String({
          pattern: '\\$(DISPLAY|USERID|LOCALPART)',
          default: '$DISPLAY[m]',
          description:
            'Nick of a Matrix user on IRC: `$DISPLAY` (display name), `$LOCALPART`, `$USERID`. Made valid and unique predictably; the user is told the nick they got.',
        }),
        allow_nick_changes: Bool('Allow `!nick`; a chosen nick is remembered and ignores the template.', true),
        max_clients: Int(
          'Max simultaneous user connections to this network; at the cap the least recently active user is disconnected.',
          30,
          1,
        ),
        idle_timeout_s: Int(
          'Disconnect a user who sent nothing for this long; 0 = never. Not applied while `membership.matrix_to_irc.incremental` is on: room members then stay on their channels (MAI `idleTimeout`).',
          172800,
        ),
        realname_format: StringEnum(['mxid', 'reverse-mxid', 'display'] as const, {
          default: 'mxid',
          description: 'Realname (gecos): the Matrix ID, the reversed ID (org.example:alice), or the display name.',
        }),
        user_modes: Type.String({ pattern: '^([+-][A-Za-z]+)*$', default: '', description: 'User modes set after connecting, e.g. `+R`.' }),
        connect_rate_per_second: Type.Number({
          exclusiveMinimum: 0,
          default: 5,
          description: 'Connection attempts started per second for this network (servers Z-line hosts that connect too fast).',
        }),
        concurrent_reconnect_limit: Int('Registrations in flight at once; 0 = unlimited.', 50),
        connect_timeout_s: Int('Give up a connection attempt without a welcome after this long.', 30, 1),
        ping_interval_s: Int(
          'Send PING after this long without a PONG, to measure lag and keep the link busy; 0 = never (MAI `pingRateMs`).',
          60,
        ),
        ping_timeout_s: Int(
          "Treat a connection that received nothing for this long as dead and reconnect it; 0 = never. MAI waited 600 s (`pingTimeoutMs`), so a silently dropped link swallowed users' lines for ten minutes.",
          180,
        ),
        line_limit: Int('Max IRC lines a Matrix message may become; longer messages are uploaded and sent as a link.', 3, 1),
        queue: section(
          {
            max_messages: Int('Messages held per user while their connection is down.', 100, 1),
            max_age_s: Int('Held messages older than this are not sent (the user is told).', 300, 1),
          },
          { default: {}, description: 'Messages queued while a connection is (re)connecting; delivered in order or reported.' },
        ),
        ipv6_prefix: Type.Optional(
          Type.String({
            pattern: '^[0-9a-fA-F:]+::$|^[0-9a-fA-F:]+:$',
            description:
              'Give each user their own source IPv6 address from this /64-style prefix (e.g. `2001:db8:1:2::`). The host must be able to bind them.',
          }),
        ),
        flood_lines_per_second: Type.Number({
          exclusiveMinimum: 0,
          default: 1,
          description: 'Sustained lines per second per connection (InspIRCd default commandrate).',
        }),
        deaf_mode: Type.String({
          pattern: '^([A-Za-z]|auto)?$',
          default: 'auto',
          description:
            "The server's \"deaf\" user mode, or `auto`. Matrix users' connections are made deaf except two per channel (the one relaying it, the bot while it is there, and one standing by), so the server sends each channel line twice to the bridge instead of once per bridged user in the channel; the one standing by heard all along, so the relaying connection leaving loses nothing. `auto`: read from the server's version and user modes (004): `d` on InspIRCd with m_deaf and UnrealIRCd, `D` on Solanum, Charybdis, ratbox and Hybrid; off on any other server. A letter: that mode, whatever the server. Empty: off.",
        }),
        echo_message: Bool(
          "Ask the server to echo each line a Matrix user sends (IRCv3 echo-message) and record the msgid it gets, so an IRC user's reply (`+draft/reply`) to a line from Matrix becomes a Matrix reply. Costs one echoed line per line sent; ignored by servers without echo-message.",
          true,
        ),
        kick_on: section(
          {
            connection_failure: Bool(
              'Kick a user from the bridged rooms of their channels when their connection fails for good (K-line/ban, clone limit, bad password), so the rooms stop looking bridged for them.',
              true,
            ),
            user_quit: Bool('Kick a user from the bridged rooms of their channels after `!quit` (DM rooms excepted).', true),
            channel_join_failure: Bool(
              "Kick a user from a channel's bridged rooms when the IRC server refuses their JOIN (full, invite-only, banned, wrong key), so they do not look present where their messages cannot go. Told either way.",
              true,
            ),
          },
          { default: {}, description: 'When the bridge removes a Matrix user from rooms (MAI `kickOn`).' },
        ),
      },
      { default: {}, description: 'Connections of Matrix users.' },
    ),
    ghost_display_name: Type.String({
      minLength: 1,
      default: '$NICK',
      description: "Display name of IRC users' ghosts: `$NICK`, `$NETWORK` (the network key or `name`).",
    }),
    mode_power_map: Type.Record(Type.String({ pattern: '^[A-Za-z]$' }), Type.Integer({ minimum: 0, maximum: 100 }), {
      default: { o: 50, v: 1 },
      description: 'Channel prefix mode → Matrix power level (highest held wins).',
    }),
    power_level_grace_ms: Int(
      'Power-level changes from IRC modes are collected this long after the first and written as one `m.room.power_levels` event (MAI `powerLevelGracePeriodMs`); 0 writes each at once.',
      1000,
    ),
    private_messages: section(
      {
        enabled: Bool('Bridge private messages both ways (DM rooms).', true),
      },
      { default: {}, description: 'Private messages.' },
    ),
    excluded_users: Type.Array(Type.String({ minLength: 1, format: 'regex' }), {
      default: [],
      description: 'Regular expressions of Matrix user IDs that are never connected to IRC.',
    }),
  },
  { description: 'One IRC network.' },
);

export const IrcConfigSchema = section(
  {
    servers: Type.Record(Type.String({ pattern: '^[a-z0-9][a-z0-9.-]*$' }), ServerSchema, {
      default: {},
      description:
        'IRC networks, keyed by a short network name used in ghost IDs and aliases (`libera` → `@irc_libera_nick`, `#irc_libera_#chan`). Renaming a key orphans its ghosts and portals.',
    }),
    ident: section(
      {
        enabled: Bool("Run an RFC 1413 identd that answers with each user's username.", false),
        port: Type.Integer({ minimum: 1, maximum: 65535, default: 113, description: 'identd port (113 needs privileges; forward it).' }),
        address: Type.String({ minLength: 1, default: '0.0.0.0', description: 'identd bind address.' }),
      },
      { default: {}, description: 'identd.' },
    ),
    passwords: section(
      {
        encryption_key_file: Type.Optional(
          Type.String({
            minLength: 1,
            description:
              'File holding a 32-byte key (raw or 64 hex characters) for stored IRC passwords and client certificate keys. By default a key is generated into `<data_dir>/irc-passwords.key` on first use.',
          }),
        ),
      },
      {
        default: {},
        description: 'Per-user stored IRC passwords (`!storepass`) and client certificates (`!certfp`), AES-256-GCM at rest.',
      },
    ),
    provisioning: section(
      {
        request_timeout_s: Int(
          'How long a channel operator has to answer "yes" to a link request sent by the bot (MAI `requestTimeoutSeconds`).',
          300,
          1,
        ),
        room_limit: Int('Most rooms that may be plumbed (linked) across all networks; 0 = unlimited (MAI `roomLimit`).', 0),
        rules: section(
          {
            conflict: Type.Array(Type.String({ minLength: 1, format: 'regex' }), {
              default: [],
              description:
                "Regular expressions of Matrix user IDs that may not be in a room being linked, e.g. another IRC bridge's users (`^@irc_.*:example\\.org$`), so a room is never bridged to IRC twice. A link request for such a room is refused with 409 `IRC_DOUBLE_BRIDGE`.",
            }),
            exempt: Type.Array(Type.String({ minLength: 1, format: 'regex' }), {
              default: [],
              description: 'Regular expressions of Matrix user IDs that `conflict` does not apply to.',
            }),
          },
          { default: {}, description: 'Which rooms the provisioning API may link (MAI `rules.userIds`).' },
        ),
      },
      {
        default: {},
        description:
          'IRC provisioning routes (link/unlink with channel operator consent); served when the core `provisioning.enabled` is on.',
      },
    ),
    replies: section(
      {
        short_template: Type.String({
          pattern: '\\$REPLY',
          default: '$NICK: $REPLY',
          description:
            'How a Matrix reply to a recent message reads on IRC: `$NICK` (the author of the original), `$REPLY` (the reply) (MAI `shortReplyTemplate`).',
        }),
        long_template: Type.String({
          pattern: '\\$REPLY',
          default: '<$NICK> "$ORIGINAL" <- $REPLY',
          description:
            'How a reply to an older message reads: as `short_template`, plus `$ORIGINAL`, the quoted first line of the original (MAI `longReplyTemplate`).',
        }),
        short_window_s: Int('Replies to messages older than this many seconds use `long_template` (MAI `shortReplyTresholdSeconds`).', 300),
        quote_max_chars: Int('`$ORIGINAL` is cut to this many characters, then "..." (MAI `replySourceMaxLength`).', 32, 1),
      },
      { default: {}, description: 'Matrix replies rendered on IRC (besides the IRCv3 `+draft/reply` tag where the server has it).' },
    ),
    per_room_config: section(
      {
        enabled: Bool(
          "Let each room's moderators adjust settings for their room with an `org.matrix.appservice-irc.config` state event (MAI `perRoomConfig`; rooms configured for MAI keep their settings): `lineLimit` and `allowUnconnectedMatrixUsers`. Who may send it follows the room's power levels.",
          false,
        ),
        line_limit_max: Int('Highest `lineLimit` a room may set.', 5, 1),
        allow_unconnected_matrix_users: Bool(
          'Whether a room may turn the privacy filter (`membership.irc_to_matrix.require_matrix_joined`) off for itself with `allowUnconnectedMatrixUsers: true`.',
          true,
        ),
      },
      { default: {}, description: 'Settings that room moderators choose for their own room.' },
    ),
    mention_pills: StringEnum(['on', 'off', 'force-off'] as const, {
      default: 'on',
      description:
        "IRC lines that name a bridged Matrix user's nick become mentions (pills) that notify them (MAI `mapIrcMentionsToMatrix`). `on`: for everyone, users may opt out with `!feature mentions false`; `off`: only for users who opt in with `!feature mentions true`; `force-off`: never.",
    }),
    cmd_deny_list: Type.Array(Type.String({ pattern: '^[A-Z]+$' }), {
      default: [],
      description: 'Extra IRC commands refused by `!cmd` (PASS, USER, NICK, QUIT, CAP, AUTHENTICATE, PROTOCTL ... are always refused).',
    }),
    data_dir: Type.String({
      minLength: 1,
      default: './data',
      description: 'Where the connector keeps files (the generated password key).',
    }),
  },
  { default: {}, description: 'The IRC bridge.' },
);

export type IrcConfig = Static<typeof IrcConfigSchema>;
export type ServerConfig = Static<typeof ServerSchema>;
