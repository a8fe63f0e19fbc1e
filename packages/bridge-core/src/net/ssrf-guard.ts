/**
 * Outgoing-request guard against server-side request forgery: decides whether
 * an IP address may be connected to, and wraps `dns.lookup` so the check runs
 * on the address a socket is about to connect to (not on an earlier, separate
 * resolution that DNS rebinding could make stale).
 *
 * Policy: only globally routable unicast addresses are allowed. Refused:
 * unspecified, loopback, private (RFC 1918), link-local, carrier-grade NAT,
 * multicast, broadcast, reserved/documentation/benchmarking ranges, IPv6
 * unique-local, Teredo and the other special-purpose IPv6 blocks. IPv6 forms
 * that embed an IPv4 address (IPv4-mapped, IPv4-translated, NAT64, 6to4) are
 * judged by the embedded address. Unparseable input is refused. An operator
 * allow-list of CIDRs (e.g. a homeserver on the LAN) overrides the policy.
 */
import * as dns from 'node:dns';
import type { LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

type Addr = ipaddr.IPv4 | ipaddr.IPv6;

/** Parsed allow-list: build once with `parseAllowList`, reuse for every check. */
export interface AllowList {
  readonly ranges: ReadonlyArray<readonly [Addr, number]>;
}

const EMPTY: AllowList = { ranges: [] };

/**
 * Parse CIDRs (`10.0.0.0/8`, `fd00::/8`) or single addresses (`192.168.1.5`,
 * taken as /32 or /128). Throws on an invalid entry, naming it.
 */
export function parseAllowList(entries: readonly string[] | undefined): AllowList {
  if (!entries?.length) return EMPTY;
  const ranges: Array<readonly [Addr, number]> = [];
  for (const raw of entries) {
    const entry = raw.trim();
    try {
      if (entry.includes('/')) {
        ranges.push(ipaddr.parseCIDR(entry));
      } else {
        const a = ipaddr.parse(entry);
        ranges.push([a, a.kind() === 'ipv4' ? 32 : 128]);
      }
    } catch {
      throw new Error(`invalid CIDR or IP address in allow-list: ${JSON.stringify(raw)}`);
    }
  }
  return { ranges };
}

function toAllowList(list: AllowList | readonly string[] | undefined): AllowList {
  if (!list) return EMPTY;
  return Array.isArray(list) ? parseAllowList(list as readonly string[]) : (list as AllowList);
}

function parseStrict(ip: string): Addr | undefined {
  const bare = ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip;
  // Only canonical dotted-quad IPv4 (no "127.1", "0x7f.0.0.1", "2130706433").
  if (ipaddr.IPv4.isValidFourPartDecimal(bare)) return ipaddr.IPv4.parse(bare);
  if (ipaddr.IPv6.isValid(bare)) return ipaddr.IPv6.parse(bare);
  return undefined;
}

/** The IPv4 address embedded in an IPv6 one (mapped, translated, NAT64, 6to4), if any. */
function embeddedIPv4(a: ipaddr.IPv6): ipaddr.IPv4 | undefined {
  const range = a.range();
  const b = a.toByteArray();
  switch (range) {
    case 'ipv4Mapped':
    case 'rfc6145':
    case 'rfc6052':
      return new ipaddr.IPv4(b.slice(12, 16));
    case '6to4':
      return new ipaddr.IPv4(b.slice(2, 6));
    default:
      return undefined;
  }
}

function inRanges(a: Addr, list: AllowList): boolean {
  for (const [net, bits] of list.ranges) {
    if (net.kind() === a.kind() && a.match(net, bits)) return true;
  }
  return false;
}

/** True when `ip` (IPv4-mapped forms judged as IPv4) falls in one of the list's ranges. */
export function isInAllowList(ip: string, allowList: AllowList | readonly string[]): boolean {
  const list = toAllowList(allowList);
  const addr = parseStrict(ip);
  if (!addr) return false;
  if (inRanges(addr, list)) return true;
  const v4 = addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress() ? (addr as ipaddr.IPv6).toIPv4Address() : undefined;
  return !!v4 && inRanges(v4, list);
}

/**
 * True when `ip` must not be connected to. Allow-listed addresses (or IPv6
 * addresses whose embedded IPv4 address is allow-listed) are never forbidden.
 */
export function isForbiddenAddress(ip: string, allowList?: AllowList | readonly string[]): boolean {
  const list = toAllowList(allowList);
  const addr = parseStrict(ip);
  if (!addr) return true;
  if (inRanges(addr, list)) return false;
  let effective: Addr = addr;
  if (addr.kind() === 'ipv6') {
    const v4 = embeddedIPv4(addr as ipaddr.IPv6);
    if (v4) {
      if (inRanges(v4, list)) return false;
      effective = v4;
    }
  }
  return effective.range() !== 'unicast';
}

/** Error raised (with code `ESSRFBLOCKED`) when a connection target is refused. */
export class ForbiddenAddressError extends Error {
  readonly code = 'ESSRFBLOCKED';
  constructor(
    readonly hostname: string,
    readonly address: string,
  ) {
    super(`Refusing to connect to ${hostname} (${address}): address is private, loopback or otherwise special-purpose`);
    this.name = 'ForbiddenAddressError';
  }
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void;

/**
 * A `lookup` for `net.connect`/`tls.connect` (and so for undici's `connect`
 * option): resolves like `dns.lookup`, then drops forbidden addresses. With
 * `all: true` (Node's happy-eyeballs) the allowed subset is returned; if
 * nothing is left the lookup fails with a ForbiddenAddressError, so the
 * socket never connects. Note: Node skips `lookup` for IP-literal hosts;
 * callers connecting to literals must check them with `isForbiddenAddress`.
 */
export function guardedLookup(allowList?: AllowList | readonly string[], baseLookup: typeof dns.lookup = dns.lookup): LookupFunction {
  const list = toAllowList(allowList);
  const fn = (hostname: string, options: dns.LookupOptions, callback: LookupCallback): void => {
    baseLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, options.all ? [] : '', undefined);
      const all = addresses;
      const allowed = all.filter((a) => !isForbiddenAddress(a.address, list));
      if (allowed.length === 0) {
        return callback(
          new ForbiddenAddressError(hostname, all.map((a) => a.address).join(', ') || 'no address'),
          options.all ? [] : '',
          undefined,
        );
      }
      if (options.all) return callback(null, allowed);
      callback(null, allowed[0].address, allowed[0].family);
    });
  };
  return fn;
}
