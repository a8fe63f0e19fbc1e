// The `puppeting` section of a Slack workspace: how Matrix users link their own Slack account with
// OAuth v2 (the app's client ID and secret, and the redirect URL Slack sends the browser back to,
// which the bridge serves on its appservice listener). Without it, `login` is refused and every
// Matrix user is relayed through the bot.
import { Type, type Static } from '@sinclair/typebox';
import { section } from '@causeway/bridge-core';

/**
 * What a puppet token needs (the same list as the app manifest's user scopes): post, edit, delete,
 * react and upload files as the user in channels, DMs and group DMs; find a post whose answer was
 * lost (history); receive their DMs (message.im/mpim); list a DM's members; open a DM.
 */
const DEFAULT_USER_SCOPES = [
  'chat:write',
  'channels:history',
  'groups:history',
  'im:history',
  'mpim:history',
  'im:read',
  'mpim:read',
  'im:write',
  'channels:write',
  'groups:write',
  'reactions:write',
  'files:write',
  'files:read',
];

export const PuppetingSchema = section(
  {
    client_id: Type.String({ minLength: 1, description: 'The app\'s Client ID ("Basic Information" in the app settings).' }),
    client_secret: Type.String({ minLength: 1, description: "The app's Client Secret." }),
    redirect_url: Type.String({
      pattern: '^https?://[^/\\s]+/[A-Za-z0-9/_.-]*$',
      description:
        'The OAuth redirect URL, as listed under "OAuth & Permissions" → Redirect URLs: a public URL that reaches the appservice listener; its path is served there.',
    }),
    authorize_url: Type.String({
      default: 'https://slack.com/oauth/v2/authorize',
      pattern: '^https?://\\S+$',
      description: "Slack's authorization page the `login` link points at.",
    }),
    user_scopes: Type.Array(Type.String({ minLength: 1 }), {
      default: DEFAULT_USER_SCOPES,
      description: 'User-token scopes asked for at login (they must be listed in the app manifest).',
    }),
    login_ttl_s: Type.Integer({
      minimum: 60,
      maximum: 3600,
      default: 600,
      description: 'How long a `login` link stays usable (it is good for one login).',
    }),
    encryption_key_file: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'Key file sealing stored user tokens (32 raw bytes or 64 hex characters). Default: generated on first use into `<data_dir>/slack-passwords.key`.',
      }),
    ),
  },
  { description: 'Puppeting: Matrix users log in to Slack with OAuth v2 (`login` in their admin room) and then post as themselves.' },
);

export type PuppetingConfig = Static<typeof PuppetingSchema>;

/** The path of the redirect URL: where the OAuth callback is served on the appservice listener. */
export function redirectPath(cfg: Pick<PuppetingConfig, 'redirect_url'>): string {
  return new URL(cfg.redirect_url).pathname;
}
