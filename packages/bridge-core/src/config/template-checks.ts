/**
 * The config rule for ghost and alias templates: `$NETWORK` is what tells two networks'
 * users and channels apart, so with several networks every template must have it. A bridge
 * with one network does not need it: matrix-appservice-irc deployments mostly run one network
 * per bridge with `@irc_$NICK` and `#irc_$CHANNEL`, and their users know those names; such a
 * template names the one network there is (bridge/template-config.ts). One template per network,
 * as MAI had, is not offered: a bridge's ghosts and portals share one namespace in its registration.
 */
import type { ProtocolInfo } from '../connector/connector';

export interface ConfiguredTemplates {
  /** `bridge.ghost_localpart_template` as configured (undefined: the connector's default). */
  ghost?: string;
  /** `bridge.alias_localpart_template` as configured (undefined: the connector's default). */
  alias?: string;
}

/**
 * What is wrong with the templates for these networks, one line per problem naming the key.
 * `networks` undefined: the connector does not say which networks it has; nothing to check.
 */
export function templateProblems(
  templates: ConfiguredTemplates,
  networks: readonly string[] | undefined,
  defaults?: ProtocolInfo['defaults'],
): string[] {
  if (!networks || networks.length < 2) return [];
  const out: string[] = [];
  const check = (template: string | undefined, key: string, what: string) => {
    if (template === undefined || template.includes('$NETWORK')) return;
    out.push(
      `${key}: "${template}" has no $NETWORK, but ${networks.length} networks are configured (${networks.join(', ')}): ` +
        `${what} would not say which network it belongs to; add $NETWORK (e.g. "${template.replace('$ID', () => '$NETWORK_$ID')}")`,
    );
  };
  check(
    templates.ghost ?? defaults?.ghostLocalpartTemplate,
    templates.ghost !== undefined ? 'bridge.ghost_localpart_template' : "bridge.ghost_localpart_template (the connector's default)",
    "a ghost's user ID",
  );
  check(
    templates.alias ?? defaults?.aliasLocalpartTemplate,
    templates.alias !== undefined ? 'bridge.alias_localpart_template' : "bridge.alias_localpart_template (the connector's default)",
    "a portal's alias",
  );
  return out;
}
