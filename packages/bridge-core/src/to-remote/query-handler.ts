/**
 * Answers the homeserver's questions about the bridge's namespaces: "does this
 * user exist?" (create the ghost) and "does this alias exist?" (create the
 * portal room with that alias), plus third-party protocol lookups. Each answer
 * is given only after the thing exists, as the spec requires.
 */
import type { BridgeConnector } from '../connector/connector';
import { supports } from '../connector/capabilities';
import type { AppserviceHandlers } from '../appservice/http-server';
import type { Logger } from '../logging/logger';
import { parseUserId } from '../connector/ids';
import type { GhostManager } from '../portals/ghost-manager';
import type { PortalManager } from '../portals/portal-manager';

export interface QueryDeps {
  connector: BridgeConnector;
  ghosts: GhostManager;
  portals: PortalManager;
  domain: string;
  log: Logger;
}

export class QueryHandler {
  constructor(private readonly deps: QueryDeps) {}

  handlers(): AppserviceHandlers {
    const c = this.deps.connector;
    const tp = supports(c, 'thirdParty') ? c : undefined;
    const protocolId = c.protocol.id;
    return {
      onUserQuery: (userId) => this.user(userId),
      onAliasQuery: (alias) => this.alias(alias),
      thirdParty: tp && {
        protocol: async (p) => (p === protocolId ? tp.protocolMetadata() : undefined),
        locations: async (p, fields) =>
          p === protocolId ? this.withProtocol(await tp.lookupLocation(fields as Record<string, string>)) : undefined,
        users: async (p, fields) =>
          p === protocolId ? this.withProtocol(await tp.lookupUser(fields as Record<string, string>)) : undefined,
      },
    };
  }

  private withProtocol<T extends object>(items: T[]): Array<T & { protocol: string }> | undefined {
    return items.length ? items.map((i) => ({ ...i, protocol: this.deps.connector.protocol.id })) : undefined;
  }

  private async user(userId: string): Promise<boolean> {
    const c = this.deps.connector;
    const parsed = parseUserId(userId);
    if (!parsed || parsed.domain !== this.deps.domain || !supports(c, 'ghosts')) return false;
    const found = await c.resolveGhost(parsed.localpart);
    if (!found || this.deps.ghosts.userIdFor(found.key) !== userId) return false;
    await this.deps.ghosts.intent(found.key, { displayName: found.displayName });
    return true;
  }

  private async alias(alias: string): Promise<boolean> {
    const c = this.deps.connector;
    const m = /^#([^:]+):(.+)$/.exec(alias);
    if (!m || m[2] !== this.deps.domain || !supports(c, 'aliases')) return false;
    const info = await c.resolveAlias(m[1]);
    if (!info) return false;
    await this.deps.portals.ensurePortalRoom(info, { aliasLocalpart: m[1] });
    this.deps.log.info('portal room created for alias query', { alias });
    return true;
  }
}
