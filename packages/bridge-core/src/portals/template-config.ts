/**
 * Which ghost and alias templates a bridge runs with: the configured ones or the connector's
 * defaults, checked against the networks its connector's config defines
 * (config/template-checks.ts); a template without `$NETWORK` names the single network.
 */
import type { ProtocolInfo } from '../connector/connector';
import { ConfigError } from '../config/errors';
import { templateProblems, type ConfiguredTemplates } from '../config/template-checks';
import { LocalpartTemplate } from './templates';

/**
 * The templates to run with: the configured ones, else the connector's defaults; a template
 * without `$NETWORK` names the single network. Throws a ConfigError naming the key when a
 * template without `$NETWORK` meets several networks.
 */
export function bridgeTemplates(
  templates: ConfiguredTemplates,
  defaults: ProtocolInfo['defaults'],
  networks?: readonly string[],
): { ghost: LocalpartTemplate; alias?: LocalpartTemplate } {
  const problems = templateProblems(templates, networks, defaults);
  if (problems.length) throw new ConfigError('the config is not valid', problems);
  const network = networks?.length === 1 ? networks[0] : undefined;
  const ghost = new LocalpartTemplate(templates.ghost ?? defaults.ghostLocalpartTemplate, { network });
  const aliasSrc = templates.alias ?? defaults.aliasLocalpartTemplate;
  return { ghost, alias: aliasSrc ? new LocalpartTemplate(aliasSrc, { escape: false, network }) : undefined };
}
