/**
 * What the IRC bridge adds to the core's bridge-info room state (MSC2346): the network's
 * human name from the server config and `irc://` links a client can open in an IRC client.
 * Links follow the irc: URI draft, `irc[s]://host:port/<channel>`, with the channel
 * percent-encoded so its `#` is not read as a URL fragment; `ircs` when the bridge itself
 * connects with TLS, since that is the port the link names.
 */
import type { BridgeInfoDisplay } from '@causeway/bridge-core';
import type { ServerConfig } from './config-schema';

type Server = Pick<ServerConfig, 'address' | 'port' | 'tls'>;

function ircServerUrl(server: Server): string {
  const host = server.address.includes(':') ? `[${server.address}]` : server.address; // IPv6 literal
  return `${server.tls.enabled ? 'ircs' : 'irc'}://${host}:${server.port}`;
}

function ircChannelUrl(server: Server, channel: string): string {
  return `${ircServerUrl(server)}/${encodeURIComponent(channel)}`;
}

/** `networkName` is the config key; `server.name` (the display name) wins when set. */
export function ircBridgeInfo(networkName: string, server: Server & Pick<ServerConfig, 'name'>, channel: string): BridgeInfoDisplay {
  return {
    network: { displayname: server.name ?? networkName, external_url: ircServerUrl(server) },
    channel: { displayname: channel, external_url: ircChannelUrl(server, channel) },
  };
}
