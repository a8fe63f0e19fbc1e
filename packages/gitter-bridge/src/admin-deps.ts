/**
 * What the Gitter bridge's admin-room commands and provisioning API work with: the bridge
 * context, linking a Matrix room to a Gitter room, and the puppeted users' tokens. Not the
 * connector itself, which registers them (so neither imports the other).
 */
import type { BridgeContext, Portal } from '@causeway/bridge-core';
import type { GitterConfig } from './config-schema';
import type { Puppets } from './puppets';

interface GitterLinks {
  /** Links a Matrix room to a Gitter room (URI or id); a BridgeError says why it cannot. */
  link(roomId: string, uriOrId: string, actor: string): Promise<Portal>;
}

export interface AdminDeps {
  ctx: BridgeContext<GitterConfig>;
  links: GitterLinks;
  /** `!settoken` / `!removetoken`. */
  puppets: Pick<Puppets, 'set' | 'remove'>;
}
