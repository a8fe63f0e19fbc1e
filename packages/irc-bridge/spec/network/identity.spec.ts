import { strict as assert } from 'node:assert';
import * as net from 'node:net';
import { ipv6For } from '../../src/network/identity';

const canonical = (ip: string) => new URL(`http://[${ip}]/`).hostname.replace(/^\[|\]$/g, '');
/** Every 16-bit group of an IPv6 address, expanded. */
function groups(ip: string): number[] {
  const [head, tail] = canonical(ip).split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail ? tail.split(':') : [];
  const mid = tail !== undefined ? new Array<string>(8 - h.length - t.length).fill('0') : [];
  return [...h, ...mid, ...t].map((g) => parseInt(g, 16));
}

describe('irc-bridge: per-user IPv6 addresses', () => {
  describe('ipv6For', () => {
    const prefix = '2001:db8:1:2::';
    it('is deterministic per user, a valid address inside the /64 prefix, and differs between users', () => {
      const a = ipv6For(prefix, '@alice:example.org');
      assert.equal(ipv6For(prefix, '@alice:example.org'), a);
      assert.equal(net.isIPv6(a), true, a);
      assert.deepEqual(groups(a).slice(0, 4), [0x2001, 0xdb8, 1, 2]);
      const ids = Array.from({ length: 500 }, (_, i) => `@user${i}:example.org`);
      const addrs = new Set(ids.map((id) => canonical(ipv6For(prefix, id))));
      assert.equal(addrs.size, ids.length, 'distinct addresses');
      for (const ip of addrs) assert.deepEqual(groups(ip).slice(0, 4), [0x2001, 0xdb8, 1, 2], ip);
      assert.notEqual(canonical(ipv6For(prefix, '@bob:example.org')), canonical(a));
    });
    it('accepts the prefix spellings the schema allows and keeps the same address for them', () => {
      const a = ipv6For('2001:db8:1:2::', '@alice:example.org');
      assert.equal(canonical(ipv6For('2001:db8:1:2:', '@alice:example.org')), canonical(a));
      // A shorter prefix is padded with zero groups to /64.
      assert.deepEqual(groups(ipv6For('fd00::', '@alice:example.org')).slice(0, 4), [0xfd00, 0, 0, 0]);
    });
  });
});
