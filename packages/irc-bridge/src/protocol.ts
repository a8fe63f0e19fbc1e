/**
 * The IRC bridge's protocol identity and default naming. Ghosts are
 * `@irc_<network>_<nick>`, portal aliases `#irc_<network>_<#channel>`; both are
 * exclusive namespaces in the generated registration (`irc_.+_.+`), and the bot
 * (`irc_bridge`) stays outside the ghost pattern's reach (no second `_`).
 */
import type { ProtocolInfo } from '@causeway/bridge-core';
import { ROOM_CONFIG_TYPE } from './network/room-config';

const GHOST_TEMPLATE = 'irc_$NETWORK_$ID';
const ALIAS_TEMPLATE = 'irc_$NETWORK_$ID';

export const IRC_PROTOCOL: ProtocolInfo = {
  id: 'irc',
  displayName: 'IRC',
  defaults: {
    botLocalpart: 'ircbridge',
    ghostLocalpartTemplate: GHOST_TEMPLATE,
    aliasLocalpartTemplate: ALIAS_TEMPLATE,
  },
  // Rooms' own settings (irc.per_room_config), read on each message: cached and kept current by the core.
  stateEventTypes: [ROOM_CONFIG_TYPE],
};
