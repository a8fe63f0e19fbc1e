/**
 * `[server]` in admin commands: optional when one network is configured,
 * required otherwise (MAI's convention).
 */
import { CommandUsageError } from '@causeway/bridge-core';
import type { IrcConnector } from '../connector';
import type { IrcNetwork } from '../network/irc-network';
import type { PooledClient } from '../irc';

export function pickNetwork(connector: IrcConnector, raw: string | undefined): { network: IrcNetwork; rest: string[] } {
  const tokens = (raw ?? '').trim().split(/\s+/).filter(Boolean);
  if (tokens[0] && connector.networks.has(tokens[0])) return { network: connector.networks.get(tokens[0])!, rest: tokens.slice(1) };
  if (connector.networks.size === 1) return { network: [...connector.networks.values()][0], rest: tokens };
  throw new CommandUsageError(`Name the network first; one of: ${[...connector.networks.keys()].join(', ')}.`);
}

/** The rest of the line after an optional network name, spacing kept (for !cmd). */
export function pickNetworkRaw(connector: IrcConnector, raw: string | undefined): { network: IrcNetwork; rest: string } {
  const text = (raw ?? '').trim();
  const first = text.split(/\s+/)[0];
  if (first && connector.networks.has(first)) return { network: connector.networks.get(first)!, rest: text.slice(first.length).trim() };
  if (connector.networks.size === 1) return { network: [...connector.networks.values()][0], rest: text };
  throw new CommandUsageError(`Name the network first; one of: ${[...connector.networks.keys()].join(', ')}.`);
}

/** Waits (bounded) until a user's connection is registered; commands like !whois need a live link. */
export async function connected(client: PooledClient, timeoutMs = 20_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (client.status !== 'connected' || client.connection.state !== 'registered') {
    if (client.status === 'failed' || client.status === 'stopped' || Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}
