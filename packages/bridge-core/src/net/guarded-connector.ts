/**
 * An undici connector that refuses to open a socket to a forbidden address (ssrf-guard.ts). The
 * address checked is the one the socket connects to, so DNS rebinding (a first answer public, the
 * next private) cannot slip past it:
 * - names are resolved by `guardedLookup`, which hands the socket only allowed addresses;
 * - IP-literal hosts (Node does not call `lookup` for them) are checked here;
 * - the connected socket's peer address is checked again before anything is sent.
 */
import type * as dns from 'node:dns';
import * as net from 'node:net';
import { buildConnector } from 'undici';
import { ForbiddenAddressError, guardedLookup, isForbiddenAddress, type AllowList } from './ssrf-guard';

export function guardedConnector(allow: AllowList, opts: { timeoutMs: number; lookup?: typeof dns.lookup }): buildConnector.connector {
  const base = buildConnector({ lookup: guardedLookup(allow, opts.lookup), timeout: opts.timeoutMs });
  return (o, cb) => {
    const host = o.hostname.replace(/^\[(.*)\]$/, '$1');
    if (net.isIP(host) && isForbiddenAddress(host, allow)) return cb(new ForbiddenAddressError(host, host), null);
    base(o, (err, socket) => {
      if (err || !socket) return cb(err ?? new Error('connect failed'), null);
      const peer = socket.remoteAddress;
      if (!peer || isForbiddenAddress(peer, allow)) {
        socket.destroy();
        return cb(new ForbiddenAddressError(host, peer ?? 'unknown'), null);
      }
      cb(null, socket);
    });
  };
}
