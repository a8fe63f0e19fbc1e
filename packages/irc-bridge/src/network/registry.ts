/**
 * The configured IRC networks, by name: what admin-room commands and provisioning routes need
 * to find the network a request names. They are handed this rather than the connector, so the
 * connector can own them without the two importing each other.
 */
import { BridgeError } from '@causeway/bridge-core';
import type { IrcNetwork } from './irc-network';

export interface IrcNetworks {
  /** The network called `name` (an `irc.servers` key), if there is one. */
  get(name: string): IrcNetwork | undefined;
  /** The network called `name`; a BridgeError naming the known networks otherwise. */
  require(name: string): IrcNetwork;
  /** Every network, in configuration order. */
  list(): IrcNetwork[];
}

/** IrcNetworks over the connector's map of networks (filled at init). */
export class NetworkRegistry implements IrcNetworks {
  constructor(private readonly byName: ReadonlyMap<string, IrcNetwork>) {}

  get(name: string): IrcNetwork | undefined {
    return this.byName.get(name);
  }

  require(name: string): IrcNetwork {
    const n = this.byName.get(name);
    if (!n) throw new BridgeError(`There is no IRC network called ${name}. Known: ${[...this.byName.keys()].join(', ')}.`);
    return n;
  }

  list(): IrcNetwork[] {
    return [...this.byName.values()];
  }
}
