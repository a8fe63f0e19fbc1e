/**
 * The networks the IRC bridge's config section defines: each `irc.servers` key. With one network,
 * templates may leave out `$NETWORK`, as matrix-appservice-irc's `@irc_$NICK` did.
 */
import type { IrcConfig } from './config-schema';

export function ircNetworkNames(config: Pick<IrcConfig, 'servers'>): readonly string[] {
  return Object.keys(config?.servers ?? {});
}
