/**
 * The IRC bridge's section of the config file as the core validates it: its schema, the
 * networks it defines (each `irc.servers` key; with one, templates may leave out `$NETWORK`,
 * as matrix-appservice-irc's `@irc_$NICK` did) and the default templates to check.
 */
import type { ConnectorSection } from '@causeway/bridge-core';
import { IrcConfigSchema, type IrcConfig } from './config-schema';
import { IRC_PROTOCOL } from './protocol';

export function ircNetworkNames(config: Pick<IrcConfig, 'servers'>): readonly string[] {
  return Object.keys(config?.servers ?? {});
}

export const IRC_CONFIG_SECTION: ConnectorSection = {
  key: 'irc',
  schema: IrcConfigSchema,
  networkNames: (section) => ircNetworkNames(section as IrcConfig),
  defaults: IRC_PROTOCOL.defaults,
};
