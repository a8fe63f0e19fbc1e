/**
 * The IRC bridge's section of the config file as the core validates it outside the bridge
 * process (`migrate-mai-config` checks what it writes): its schema, its networks and the default
 * templates to check.
 */
import type { ConnectorSection } from '@causeway/bridge-core/tools';
import { IrcConfigSchema, type IrcConfig } from '../config-schema';
import { IRC_PROTOCOL } from '../protocol';
import { ircNetworkNames } from '../config-section';

export const IRC_CONFIG_SECTION: ConnectorSection = {
  key: 'irc',
  schema: IrcConfigSchema,
  networkNames: (section) => ircNetworkNames(section as IrcConfig),
  defaults: IRC_PROTOCOL.defaults,
};
