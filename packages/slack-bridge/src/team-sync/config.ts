// The `team_sync` section of a Slack workspace: a portal room for every public channel the app is
// in, created without anyone linking it, with the channel's name and topic kept in step.
import { Type } from '@sinclair/typebox';
import { section } from '@causeway/bridge-core';

export const TeamSyncSchema = section(
  {
    enabled: Type.Boolean({
      default: false,
      description:
        'Create a portal room for every public channel the app is a member of (at start, and when the app is added to one), and keep its name and topic in step.',
    }),
    join_public_channels: Type.Boolean({
      default: false,
      description:
        'The app joins every public channel itself (at start and when one is created, `channels:join`), so every public channel of the workspace gets a portal.',
    }),
    published: Type.Boolean({ default: false, description: 'List the portal rooms team sync creates in the room directory.' }),
  },
  { default: {}, description: 'Team sync: portals for the public channels of the workspace.' },
);
