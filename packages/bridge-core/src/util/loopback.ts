/**
 * Whether a bind address only accepts connections from this machine. A host name other than
 * `localhost` counts as reachable from elsewhere: what it resolves to is not known here.
 */
import { isIPv4, isIPv6 } from 'node:net';

export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIPv4(h)) return h.startsWith('127.');
  if (isIPv6(h)) return h === '::1' || /^(0{0,4}:){7}0{0,3}1$/.test(h) || /^::ffff:127\.\d+\.\d+\.\d+$/.test(h);
  return false;
}
