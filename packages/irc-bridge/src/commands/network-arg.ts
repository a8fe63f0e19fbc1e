/**
 * `[server]` in admin commands: optional when one network is configured,
 * required otherwise (MAI's convention).
 */
import { CommandUsageError } from '@causeway/bridge-core';
import type { IrcNetwork } from '../network/irc-network';
import type { IrcNetworks } from '../network/registry';
import type { PooledClient } from '../irc';

export function pickNetwork(networks: IrcNetworks, raw: string | undefined): { network: IrcNetwork; rest: string[] } {
  const tokens = (raw ?? '').trim().split(/\s+/).filter(Boolean);
  const named = tokens[0] ? networks.get(tokens[0]) : undefined;
  if (named) return { network: named, rest: tokens.slice(1) };
  return { network: onlyNetwork(networks), rest: tokens };
}

/** The rest of the line after an optional network name, spacing kept (for !cmd). */
export function pickNetworkRaw(networks: IrcNetworks, raw: string | undefined): { network: IrcNetwork; rest: string } {
  const text = (raw ?? '').trim();
  const first = text.split(/\s+/)[0];
  const named = first ? networks.get(first) : undefined;
  if (named) return { network: named, rest: text.slice(first.length).trim() };
  return { network: onlyNetwork(networks), rest: text };
}

/** With no network named: the only one there is, or a usage error listing them. */
function onlyNetwork(networks: IrcNetworks): IrcNetwork {
  const all = networks.list();
  if (all.length === 1) return all[0];
  throw new CommandUsageError(`Name the network first; one of: ${all.map((n) => n.name).join(', ')}.`);
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
