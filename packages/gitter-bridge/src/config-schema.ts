/**
 * The `gitter:` section of the config file. One schema is the validator, the TypeScript type,
 * the option reference and the sample's checker. Base URLs are configuration because the public
 * Gitter API is gone: the bridge talks to any deployment compatible with the v1 REST and HTTP
 * streaming APIs.
 */
import { Type, type Static } from '@sinclair/typebox';
import { section } from '@causeway/bridge-core';

const Bool = (description: string, def: boolean) => Type.Boolean({ description, default: def });
const Int = (description: string, def: number, minimum = 0) => Type.Integer({ description, default: def, minimum });
const Url = (description: string, def: string) => Type.String({ description, default: def, pattern: '^https?://[^\\s?#]+$' });

export const GitterConfigSchema = section(
  {
    rest_base_url: Url('Base URL of the Gitter v1 REST API.', 'https://api.gitter.im/v1'),
    stream_base_url: Url('Base URL of the Gitter v1 HTTP streaming API.', 'https://stream.gitter.im/v1'),
    relay: section(
      {
        token: Type.String({
          minLength: 1,
          description:
            'API token of the relay account: it reads the linked rooms and posts for Matrix users who have not set a token of their own. Never logged.',
        }),
        sender_prefix: Bool(
          "Start each relayed message with the Matrix sender's name in bold (`**Alice**: hi`), so Gitter users see who wrote it.",
          true,
        ),
      },
      { description: 'The relay account.' },
    ),
    puppeting: section(
      {
        enabled: Bool(
          'Let Matrix users store their own Gitter token (`!settoken` in their admin room): their messages then come from their own Gitter account.',
          false,
        ),
        encryption_key_file: Type.Optional(
          Type.String({
            minLength: 1,
            description:
              'Key file sealing stored tokens (32 raw bytes or 64 hex characters). Default: generated on first use into `<data_dir>/gitter-passwords.key`.',
          }),
        ),
      },
      { default: {}, description: 'Per-user Gitter tokens.' },
    ),
    portals: section(
      {
        aliases: Bool(
          'Create a portal room when someone joins `#gitter_<room uri>:<domain>` (the alias template over the room URI), if the relay account can join that Gitter room.',
          true,
        ),
        published: Bool('List portal rooms created from aliases in the room directory.', false),
      },
      { default: {}, description: 'Rooms created on demand.' },
    ),
    stream: section(
      {
        stall_timeout_ms: Int("Reconnect a room's stream after this long without a byte (keep-alives included).", 90_000, 100),
        reconnect_base_ms: Int('First reconnect delay of a dropped stream (doubling, jittered).', 1000, 1),
        reconnect_max_ms: Int('Longest reconnect delay.', 60_000, 1),
      },
      { default: {}, description: 'The per-room HTTP streams.' },
    ),
    membership: section(
      {
        poll_interval_s: Int(
          "How often each linked room's member list is read to mirror Gitter joins and leaves (Gitter's chat stream does not carry them); 0 = never. Each read costs one request per 100 members of the relay's 100 a minute.",
          300,
        ),
        max_members: Int('Rooms with more members than this are read only up to it (joins and leaves beyond it are missed).', 5000, 1),
      },
      { default: {}, description: 'Gitter joins and leaves → ghost joins and leaves.' },
    ),
    history_lookup_pages: Int(
      'Pages of 100 messages searched for a send whose answer was lost (after a restart or a cut connection) before it is sent again.',
      3,
      1,
    ),
  },
  { description: 'The Gitter bridge.' },
);

export type GitterConfig = Static<typeof GitterConfigSchema>;
