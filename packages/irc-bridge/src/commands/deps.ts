/**
 * What the IRC bridge's admin-room commands work with: the bridge context, the networks, and
 * the users' stored passwords and feature choices. Not the connector itself, which registers
 * the commands (so neither imports the other).
 */
import type { BridgeContext, SecretStore } from '@causeway/bridge-core';
import type { IrcConfig } from '../config-schema';
import type { IrcNetworks } from '../network/registry';
import type { UserFeatures } from '../user-features';

export interface CommandDeps {
  ctx: BridgeContext<IrcConfig>;
  networks: IrcNetworks;
  /** `!storepass` passwords, sealed per user. */
  passwords: SecretStore;
  /** `!feature` choices. */
  features: UserFeatures;
}
