/**
 * The Slack bridge's protocol identity and default naming. Ghosts are `@slack_<workspace>_<user ID>`
 * (the ID escaped into the localpart grammar: `U123` → `_u123`), portal aliases
 * `#slack_<workspace>_<channel ID>`; the bot (`slackbot`) stays outside the ghost namespace.
 */
import type { ProtocolInfo } from '@causeway/bridge-core';

export const SLACK_PROTOCOL: ProtocolInfo = {
  id: 'slack',
  displayName: 'Slack',
  defaults: {
    botLocalpart: 'slackbot',
    ghostLocalpartTemplate: 'slack_$NETWORK_$ID',
    aliasLocalpartTemplate: 'slack_$NETWORK_$ID',
  },
};
