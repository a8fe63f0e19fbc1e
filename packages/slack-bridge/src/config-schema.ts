/**
 * The `slack:` section of the config file: one schema is the validator, the TypeScript type and the
 * option reference. Each workspace is one Slack app installation: a bot token plus either an
 * app-level token (Socket Mode) or a signing secret (Events API over HTTP on the bridge's own
 * listener). Which of the two a workspace uses is decided by which one is set; both or neither is
 * a config error (`checkWorkspaces`).
 */
import { Type, type Static } from '@sinclair/typebox';
import { ConfigError, section } from '@causeway/bridge-core';
import { PuppetingSchema } from './puppets/config';
import { TeamSyncSchema } from './team-sync/config';

export const WorkspaceSchema = section(
  {
    bot_token: Type.String({
      pattern: '^xoxb-\\S+$',
      description: 'The app\'s bot token (`xoxb-…`), from "OAuth & Permissions" after installing the app.',
    }),
    app_token: Type.Optional(
      Type.String({
        pattern: '^xapp-\\S+$',
        description:
          'App-level token (`xapp-…`, scope `connections:write`): the workspace uses Socket Mode. Leave out to use the Events API with `signing_secret`.',
      }),
    ),
    signing_secret: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          "The app's signing secret: the workspace uses the Events API, delivered to `events_path` on the appservice listener and checked by signature. Leave out with `app_token`.",
      }),
    ),
    events_path: Type.Optional(
      Type.String({
        pattern: '^/[A-Za-z0-9/_.-]*$',
        description: 'Path of the Events API request URL on the appservice listener (default `/slack/events/<workspace key>`).',
      }),
    ),
    api_url: Type.String({
      default: 'https://slack.com/api/',
      pattern: '^https?://\\S+$',
      description: "Base URL of the Slack Web API (the SDK's `slackApiUrl`). Only change it to reach Slack through a proxy.",
    }),
    name: Type.Optional(
      Type.String({ description: 'Human-readable workspace name shown in bridge info (defaults to the team name Slack reports).' }),
    ),
    rename_channels: Type.Boolean({
      default: false,
      description:
        "Rename the Slack channel when a linked room's Matrix name changes (`conversations.rename`, the name made a valid channel name: lower-case, `-` for spaces, at most 80 characters). Off by default: renaming a channel is intrusive, and Slack lets only its creator or a workspace admin do it. Topic changes always cross.",
    }),
    puppeting: Type.Optional(PuppetingSchema),
    team_sync: Type.Optional(TeamSyncSchema),
  },
  { description: 'One Slack workspace (an app installation).' },
);

export const SlackConfigSchema = section(
  {
    workspaces: Type.Record(Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,31}$' }), WorkspaceSchema, {
      description: 'The workspaces to bridge, by a short name of your choice (used in ghost IDs, aliases and commands).',
    }),
    relay: section(
      {
        username_template: Type.String({
          minLength: 1,
          default: '$DISPLAYNAME',
          description:
            "Name a Matrix user's messages appear under on Slack (`chat:write.customize`); `$DISPLAYNAME` and `$USERID` are replaced.",
        }),
      },
      { default: {}, description: 'How Matrix users appear on Slack.' },
    ),
    dedupe_window_hours: Type.Integer({
      minimum: 1,
      default: 6,
      description:
        'How long the `event_id` of every Slack event is kept, so a redelivery (Events API retries, Socket Mode re-sends) is bridged once, also across a restart. Slack gives up redelivering within minutes.',
    }),
  },
  { description: 'The Slack bridge.' },
);

export type SlackConfig = Static<typeof SlackConfigSchema>;
export type WorkspaceConfig = Static<typeof WorkspaceSchema>;

/** The transport of a workspace, checked: exactly one of `app_token` and `signing_secret`. */
export function checkWorkspaces(config: SlackConfig): void {
  const problems: string[] = [];
  const names = Object.keys(config.workspaces);
  if (names.length === 0) problems.push('slack.workspaces: at least one workspace is needed');
  for (const [name, w] of Object.entries(config.workspaces)) {
    if (w.app_token && w.signing_secret)
      problems.push(`slack.workspaces.${name}: set either app_token (Socket Mode) or signing_secret (Events API), not both`);
    if (!w.app_token && !w.signing_secret)
      problems.push(`slack.workspaces.${name}: set app_token (Socket Mode) or signing_secret (Events API)`);
  }
  const paths = new Map<string, string>();
  for (const [name, w] of Object.entries(config.workspaces)) {
    if (!w.signing_secret) continue;
    const p = eventsPath(name, w);
    const other = paths.get(p);
    if (other) problems.push(`slack.workspaces.${name}.events_path: ${p} is also the path of workspace ${other}`);
    paths.set(p, name);
  }
  if (problems.length) throw new ConfigError('The slack section of the config is not valid', problems);
}

/** Where a workspace's Events API requests arrive on the appservice listener. */
export function eventsPath(name: string, w: Pick<WorkspaceConfig, 'events_path'>): string {
  return w.events_path ?? `/slack/events/${name}`;
}
