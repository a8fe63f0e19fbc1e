/**
 * The core configuration schema: the single source of truth for what a bridge
 * config file may contain. Validation (loader.ts), the option reference
 * (docs.ts) and the TypeScript type all come from here.
 *
 * Convention: a property with a `default` is optional in the file but always
 * present after loading (the loader applies defaults), so the static type lists
 * it as required. `section()` builds such objects: it drops defaulted keys
 * from the JSON Schema `required` list while TypeBox's type keeps them.
 */
import { Type, type Static, type TSchema, type TObject } from '@sinclair/typebox';
import { section, StringEnum } from '../connector/config-schema';

export { section };

const USER_GLOB = '^@[^:\\s]+:[^\\s]+$';
const HTTP_URL = '^https?://[^\\s/]+(/[^\\s]*)?$';
const SERVER_NAME = '^[A-Za-z0-9.\\-]+(:[0-9]{1,5})?$|^\\[[0-9A-Fa-f:.]+\\](:[0-9]{1,5})?$';

const Port = (description: string, def?: number) =>
  Type.Integer({ minimum: 1, maximum: 65535, description, ...(def === undefined ? {} : { default: def }) });
const Positive = (description: string, def: number) => Type.Integer({ minimum: 1, description, default: def });

const HomeserverSchema = section(
  {
    url: Type.String({
      pattern: HTTP_URL,
      description: 'Client-server API base URL of the homeserver, e.g. https://matrix.example.org or http://127.0.0.1:8008.',
    }),
    domain: Type.String({ pattern: SERVER_NAME, description: 'The server name: the part after the colon in user IDs (example.org).' }),
    media_url: Type.Optional(
      Type.String({ pattern: HTTP_URL, description: 'Public base URL for media links shown to remote users, if different from `url`.' }),
    ),
  },
  { description: 'The homeserver the bridge serves.' },
);

const AppserviceSchema = section(
  {
    registration: Type.String({
      minLength: 1,
      default: './registration.yaml',
      description: 'Path of the registration file (generated with `-r` or on first start when missing).',
    }),
    bind_host: Type.String({ minLength: 1, default: '127.0.0.1', description: 'Address the appservice HTTP listener binds to.' }),
    port: Port('Port the appservice HTTP listener binds to (overridden by `-p`).', 9898),
    url: Type.Optional(
      Type.String({
        pattern: HTTP_URL,
        description:
          'URL the homeserver uses to reach this bridge; written into the registration. Defaults to http://<bind_host>:<port> (127.0.0.1 for a wildcard bind).',
      }),
    ),
    max_body_bytes: Type.Integer({
      minimum: 1024,
      default: 10 * 1024 * 1024,
      description: 'Largest request body (a transaction) accepted from the homeserver, in bytes.',
    }),
  },
  { default: {}, description: 'The HTTP listener the homeserver pushes transactions to.' },
);

const BridgeSchema = section(
  {
    bot: section(
      {
        localpart: Type.Optional(
          Type.String({
            pattern: '^[a-z0-9._=\\-/]+$',
            description: "Localpart of the bridge bot; defaults to the connector's (e.g. `_irc_bot`).",
          }),
        ),
        displayname: Type.Optional(Type.String({ description: 'Display name of the bridge bot.' })),
        avatar_url: Type.Optional(Type.String({ pattern: '^mxc://[^/]+/.+$', description: 'Avatar of the bridge bot, as an mxc:// URI.' })),
      },
      { default: {}, description: 'The bridge bot user (the registration `sender_localpart`).' },
    ),
    ghost_localpart_template: Type.Optional(
      Type.String({
        pattern: '\\$ID',
        description:
          "Localpart template for ghost users (`$ID` = escaped remote ID, `$NETWORK` = network); overrides the connector's default. `$NETWORK` may be left out when the bridge has one network (matrix-appservice-irc's `irc_$NICK` style); with several it is required. Changing it after users exist orphans the old ghosts.",
      }),
    ),
    alias_localpart_template: Type.Optional(
      Type.String({
        pattern: '\\$ID',
        description:
          "Localpart template for portal room aliases (`$ID` = remote ID as it is, `$NETWORK` = network); overrides the connector's default. `$NETWORK` may be left out when the bridge has one network (`irc_$ID` gives `#irc_#channel`); with several it is required.",
      }),
    ),
    admins: Type.Array(Type.String({ pattern: USER_GLOB }), {
      default: [],
      description: 'Matrix users with bridge admin rights: full user IDs or globs such as `@*:example.org`.',
    }),
    permissions: Type.Optional(
      section(
        {
          users: Type.Array(Type.String({ pattern: USER_GLOB }), {
            description:
              'Users allowed to use the bridge, as user IDs or globs. Default: everyone on the homeserver domain (`@*:<domain>`).',
          }),
        },
        { description: 'Who may use the bridge.' },
      ),
    ),
    ban_lists: section(
      {
        rooms: Type.Array(Type.String({ pattern: '^[!#][^:]+:.+$' }), {
          default: [],
          description:
            'Policy rooms (MSC2313 ban lists, as Mjolnir, Draupnir and community moderation lists publish them), by room ID or alias. Users an `m.ban` user rule matches may not use the bridge: nothing they send is relayed and their remote connections are closed. The bot joins each room (invite it to private ones); bridge admins are never banned by a list.',
        }),
      },
      { default: {}, description: 'Ban lists the bridge follows (MAI `banLists`).' },
    ),
    portal_rooms: section(
      {
        federate: Type.Boolean({
          default: true,
          description:
            'Whether users of other homeservers may join the portal rooms the bridge creates (`m.federate`). Cannot be changed for a room once it exists.',
        }),
        room_version: Type.String({
          pattern: '^([0-9A-Za-z.-]+)?$',
          default: '',
          description: "Room version of created portal rooms; empty: the homeserver's default.",
        }),
      },
      { default: {}, description: 'Portal rooms the bridge creates on demand.' },
    ),
    dm_rooms: section(
      {
        federate: Type.Boolean({
          default: true,
          description:
            'Whether the DM rooms ghosts open for private messages may federate (`m.federate`); with false, only users of this homeserver can have them.',
        }),
      },
      { default: {}, description: 'DM rooms the bridge opens for private messages from the remote network.' },
    ),
    drop_matrix_messages_after_s: Type.Integer({
      minimum: 0,
      default: 0,
      description:
        'Matrix messages older than this many seconds when they reach the bridge (origin_server_ts; e.g. queued while the bridge was down) are not sent to the remote network, and their sender is told privately; 0 sends everything however late.',
    }),
  },
  { default: {}, description: 'Bridge identity and permissions.' },
);

const DatabaseSchema = section(
  {
    engine: StringEnum(['nedb', 'postgres'] as const, {
      default: 'nedb',
      description: 'Storage backend: embedded NeDB files or PostgreSQL.',
    }),
    nedb: section(
      {
        directory: Type.String({ minLength: 1, default: './data', description: 'Directory holding the NeDB files.' }),
      },
      { default: {}, description: 'Embedded store settings (engine: nedb).' },
    ),
    postgres: Type.Optional(
      section(
        {
          connection_string: Type.String({
            pattern: '^postgres(ql)?://',
            description:
              'libpq URI, e.g. postgresql://bridge:secret@localhost/bridge. Use `!env` or `!file` to keep the password out of the file.',
          }),
          max_connections: Positive('Size of the connection pool.', 10),
        },
        { description: 'PostgreSQL settings (engine: postgres).' },
      ),
    ),
    message_retention_days: Type.Integer({
      minimum: 0,
      default: 30,
      description:
        'How long the message map (Matrix event ↔ remote message) is kept for edits, replies, reactions and redactions; 0 keeps it forever. The embedded store holds it in memory (about 0.4 KB per bridged message; `causeway_message_map_records` shows how many), so keep this bounded there.',
    }),
  },
  { default: {}, description: 'Where portals, ghosts and the message map are stored.' },
);

const DeliverySchema = section(
  {
    max_rooms_in_flight: Positive('How many rooms are processed concurrently (events within a room stay ordered).', 32),
    high_water_mark_events: Positive('Queued events above which the bridge slows acknowledging homeserver transactions.', 1000),
    handler_retries: Type.Integer({
      minimum: 0,
      default: 3,
      description: 'Retries of a failed event handler before the event is reported as not delivered.',
    }),
    fsync: StringEnum(['always', 'batch', 'never'] as const, {
      default: 'batch',
      description:
        "When the transaction journal and the embedded store's durable queues (queues.db) are flushed to disk. A crash or kill of the bridge process loses nothing acknowledged with any of them; against a power loss or kernel crash: `always` waits for the disk on every write (loses nothing), `batch` syncs every 100 ms (can lose the last 100 ms), `never` leaves it to the OS (can lose what it had not written back). PostgreSQL commits are durable by themselves.",
    }),
  },
  { default: {}, description: 'Event delivery from the homeserver to the connector.' },
);

const MatrixClientSchema = section(
  {
    max_connections: Positive('Maximum concurrent HTTP connections to the homeserver.', 64),
    request_timeout_ms: Positive('Timeout of one homeserver request, in milliseconds.', 30000),
    max_retries: Type.Integer({ minimum: 0, default: 5, description: 'Retries of a failed or rate-limited homeserver request.' }),
    max_outage_wait_s: Type.Integer({
      minimum: 1,
      default: 3600,
      description:
        'How long remote events (messages, edits, membership changes, ...) wait for a homeserver that cannot be reached (connection refused or reset, timeouts, 502/503/504 from its proxy), e.g. during a restart. They wait in order per room, stored so that a restart of the bridge keeps them, while one probe at a time checks whether the homeserver is back. Past this many seconds an event is given up: its sender on the remote network is told and causeway_remote_events_undeliverable_total counts it.',
    }),
  },
  { default: {}, description: 'The client the bridge uses to call the homeserver.' },
);

const LoggingSchema = section(
  {
    level: StringEnum(['error', 'warn', 'info', 'debug', 'trace'] as const, { default: 'info', description: 'Lowest level written.' }),
    format: StringEnum(['text', 'json'] as const, { default: 'text', description: 'One line of text or one JSON object per entry.' }),
    file: Type.Optional(Type.String({ minLength: 1, description: 'Also write the log to this file (stdout is always used).' })),
  },
  { default: {}, description: 'Logging. Tokens and passwords are always masked.' },
);

const MetricsSchema = section(
  {
    enabled: Type.Boolean({ default: false, description: 'Serve Prometheus metrics.' }),
    bind_host: Type.String({ minLength: 1, default: '127.0.0.1', description: 'Address the metrics listener binds to.' }),
    port: Port('Port the metrics listener binds to.', 9001),
    bearer_token: Type.Optional(Type.String({ minLength: 16, description: 'If set, scrapes must send `Authorization: Bearer <token>`.' })),
    public: Type.Boolean({
      default: false,
      description:
        'Serve /metrics without a bearer token on an address other machines can reach (bind_host not loopback). Without it such a config is refused at start: set bearer_token, bind to 127.0.0.1, or set this to true when a firewall or proxy already guards the port.',
    }),
  },
  { default: {}, description: 'Prometheus metrics endpoint (/metrics).' },
);

const ProvisioningSchema = section(
  {
    enabled: Type.Boolean({
      default: false,
      description: 'Serve the provisioning API (link/unlink rooms from a widget or integration manager).',
    }),
    secret: Type.Optional(
      Type.String({
        minLength: 32,
        description:
          'Shared secret (at least 32 characters) for server-to-server provisioning calls; Matrix users authenticate with OpenID tokens instead.',
      }),
    ),
    path_prefix: Type.String({ pattern: '^/', default: '/_matrix/provision', description: 'URL path prefix of the provisioning API.' }),
    port: Type.Optional(Port('Separate port for the provisioning API; by default it shares the appservice listener.')),
    rate_limit: section(
      {
        enabled: Type.Boolean({ default: true, description: 'Rate-limit provisioning requests.' }),
        per_user_per_minute: Positive('Requests allowed per Matrix user per minute.', 30),
        per_ip_per_minute: Positive('Requests allowed per client IP per minute.', 60),
      },
      { default: {}, description: 'Request rate limits.' },
    ),
    trusted_proxies: Type.Array(Type.String({ format: 'cidr' }), {
      default: [],
      description:
        'Addresses or CIDR ranges of reverse proxies in front of the API whose X-Forwarded-For is believed, so per-IP rate limits and audit lines see the real client. Without it every client behind a proxy shares one address.',
    }),
    openid: section(
      {
        allowed_ips: Type.Optional(
          Type.Array(Type.String({ format: 'cidr' }), {
            description:
              "CIDR ranges of private addresses that OpenID userinfo lookups on other homeservers may reach (for a homeserver on the LAN found by server discovery). Private and loopback addresses are refused otherwise. Not needed for the bridge's own homeserver, whose users are looked up at `homeserver.url`.",
          }),
        ),
        overrides: Type.Record(
          Type.String({ pattern: SERVER_NAME }),
          Type.String({
            pattern: HTTP_URL,
            description:
              'Base URL (scheme://host[:port]) that serves `/_matrix/federation/v1/openid/userinfo` for the server named by the key.',
          }),
          {
            default: {},
            description:
              'Server name → base URL (http or https) where that homeserver answers OpenID userinfo lookups, e.g. `{ "chat.example.lan": "http://10.0.0.5:8008" }`: used as given, without server discovery or the address checks, like `homeserver.url` is for the bridge\'s own homeserver (matrix-appservice-bridge\'s `openIdOverride`).',
          },
        ),
        timeout_ms: Positive("Timeout of the OpenID userinfo lookup on the user's homeserver, in milliseconds.", 10000),
        max_response_bytes: Positive('Largest userinfo response accepted, in bytes.', 65536),
      },
      { default: {}, description: 'Verification of OpenID tokens presented by Matrix users.' },
    ),
  },
  { default: {}, description: 'Provisioning API.' },
);

const StateCacheSchema = section(
  {
    max_rooms: Positive('Rooms whose state is kept in memory.', 10000),
    max_concurrent_requests: Positive('Concurrent state fetches from the homeserver.', 4),
    warm_on_start: Type.Boolean({ default: true, description: "Fetch the state of the bridge's rooms at startup." }),
    persist: Type.Boolean({ default: false, description: 'Keep the cache on disk across restarts.' }),
    event_types: Type.Array(Type.String({ minLength: 1 }), {
      default: [
        'm.room.member',
        'm.room.power_levels',
        'm.room.join_rules',
        'm.room.name',
        'm.room.topic',
        'm.room.encryption',
        'm.room.canonical_alias',
        'm.room.create',
      ],
      description:
        "State event types cached. The bridge always adds the ones it needs itself (these defaults) and those its connector reads (e.g. `org.matrix.appservice-irc.config` for the IRC bridge's per-room settings), so this only ever adds types.",
    }),
  },
  { default: {}, description: 'Room state cache.' },
);

/** Properties of the core config, for composing with a connector section. */
const MediaProxySchema = section(
  {
    public_url: Type.Optional(
      Type.String({
        pattern: HTTP_URL,
        description:
          'Public base URL of the appservice listener (usually behind a reverse proxy) under which remote users open Matrix media via signed `/_causeway/media/v1/...` links. Unset: links point at `homeserver.media_url`, which only works on homeservers that still serve unauthenticated media.',
      }),
    ),
    link_lifetime_days: Type.Integer({
      minimum: 0,
      default: 0,
      description: 'Days a media link stays valid; 0 = forever (links in chat history keep working).',
    }),
    max_bytes: Positive('Largest file the proxy serves, in bytes.', 100 * 1024 * 1024),
    max_concurrent_downloads: Positive(
      'Downloads from the homeserver at once; more requests wait (a few) or get 503 with Retry-After. Each may hold up to max_bytes in memory.',
      4,
    ),
    cache_bytes: Type.Integer({
      minimum: 0,
      default: 32 * 1024 * 1024,
      description: 'Memory for recently served files, in bytes, so a link many people open is downloaded once; 0 disables it.',
    }),
  },
  { default: {}, description: 'Serving Matrix media to remote networks (homeservers require authentication for media since Matrix 1.11).' },
);

const RemoteFetchSchema = section(
  {
    allowed_private_ips: Type.Array(Type.String({ format: 'cidr' }), {
      default: [],
      description:
        'Addresses or CIDR ranges that URLs chosen by remote networks and their users (ghost avatars, custom emoji, attachments) may reach although they are private, loopback, link-local or otherwise special-purpose, e.g. `[10.0.5.20]` for a media server on your LAN. Empty: such URLs are only fetched from public addresses, so a remote user cannot make the bridge request 127.0.0.1, 169.254.169.254 (cloud metadata) or hosts inside your network. The homeserver and the network API URLs you configured are reached as given; this list covers only URLs the remote side hands out (Slack file and upload URLs included, even on the API host).',
    }),
  },
  {
    default: {},
    description: 'Fetching URLs that remote networks and their users chose (avatars, custom emoji, attachments): where they may lead.',
  },
);

const CoreConfigProperties = {
  homeserver: HomeserverSchema,
  appservice: AppserviceSchema,
  bridge: BridgeSchema,
  database: DatabaseSchema,
  data_dir: Type.String({
    minLength: 1,
    default: './data',
    description: "Directory for the bridge's own files (transaction journal etc.).",
  }),
  delivery: DeliverySchema,
  matrix_client: MatrixClientSchema,
  logging: LoggingSchema,
  metrics: MetricsSchema,
  provisioning: ProvisioningSchema,
  state_cache: StateCacheSchema,
  media_proxy: MediaProxySchema,
  remote_fetch: RemoteFetchSchema,
};

export const CoreConfigSchema = section(CoreConfigProperties, { description: 'Causeway bridge configuration (core sections).' });

/** The core configuration as the loader returns it: every default applied. */
export type CoreConfig = Static<typeof CoreConfigSchema>;

/**
 * The whole file's schema: core sections plus the connector's section under `key`.
 * The connector section may be omitted when its schema requires nothing.
 */
export function composeConfigSchema(connector?: { key: string; schema: TSchema }): TObject {
  if (!connector) return CoreConfigSchema;
  if (connector.key in CoreConfigProperties) throw new Error(`connector config key "${connector.key}" clashes with a core section`);
  const required = (connector.schema as { required?: string[] }).required;
  const connectorSchema =
    required?.length || connector.schema.default !== undefined ? connector.schema : { ...connector.schema, default: {} };
  return section({ ...CoreConfigProperties, [connector.key]: connectorSchema }, { description: CoreConfigSchema.description });
}
