/**
 * The Gitter bridge's protocol identity and default naming. Gitter is one network, so templates
 * leave out `$NETWORK`: ghosts are `@gitter_<username>`, portal aliases `#gitter_<room uri>`
 * (e.g. `#gitter_acme/chat:example.org`); the bot (`gitterbot`) stays outside the ghost pattern.
 */
import type { ProtocolInfo } from '@causeway/bridge-core';

/** The one network name: the `network` of every portal and ghost key. */
export const GITTER_NETWORK = 'gitter';

export const GITTER_PROTOCOL: ProtocolInfo = {
  id: 'gitter',
  displayName: 'Gitter',
  defaults: {
    botLocalpart: 'gitterbot',
    ghostLocalpartTemplate: 'gitter_$ID',
    aliasLocalpartTemplate: 'gitter_$ID',
  },
};
