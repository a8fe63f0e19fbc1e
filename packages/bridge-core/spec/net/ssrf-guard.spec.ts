import { strict as assert } from 'node:assert';
import type * as dns from 'node:dns';
import * as net from 'node:net';
import { ForbiddenAddressError, guardedLookup, isForbiddenAddress, isInAllowList, parseAllowList } from '../../src/net/ssrf-guard';

describe('net/ssrf-guard', () => {
  it('refuses special-purpose IPv4 addresses', () => {
    for (const ip of [
      '127.0.0.1',
      '127.8.9.10',
      '10.1.2.3',
      '172.16.0.1',
      '172.31.255.255',
      '192.168.1.1',
      '169.254.169.254',
      '0.0.0.0',
      '100.64.0.1',
      '100.127.255.254',
      '224.0.0.1',
      '239.255.255.250',
      '255.255.255.255',
      '192.0.2.1',
      '198.18.0.1',
      '240.0.0.1',
    ]) {
      assert.equal(isForbiddenAddress(ip), true, ip);
    }
  });

  it('allows public unicast addresses', () => {
    for (const ip of ['8.8.8.8', '1.1.1.1', '93.184.216.34', '172.32.0.1', '100.128.0.1', '2606:4700:4700::1111', '2a01:4f8::1']) {
      assert.equal(isForbiddenAddress(ip), false, ip);
    }
  });

  it('refuses special-purpose IPv6 addresses and IPv4 embedded in IPv6', () => {
    for (const ip of [
      '::1',
      '::',
      'fe80::1',
      'fe80::1%eth0',
      'fc00::1',
      'fd12:3456::1',
      'ff02::1',
      '::ffff:127.0.0.1',
      '::ffff:10.0.0.1',
      '::ffff:7f00:1',
      '64:ff9b::7f00:1',
      '64:ff9b::a00:1',
      '2002:7f00:1::1',
      '2002:c0a8:101::1',
      '2001:db8::1',
      '2001::1',
      '[::1]',
    ]) {
      assert.equal(isForbiddenAddress(ip), true, ip);
    }
    // NAT64 / 6to4 of a public address are fine.
    assert.equal(isForbiddenAddress('64:ff9b::808:808'), false);
    assert.equal(isForbiddenAddress('::ffff:8.8.8.8'), false);
  });

  it('refuses what it cannot parse, including non-canonical IPv4 forms', () => {
    for (const ip of ['', 'localhost', '127.1', '0x7f.0.0.1', '2130706433', '1.2.3', 'not an ip']) {
      assert.equal(isForbiddenAddress(ip), true, ip);
    }
  });

  it('honours the allow-list (CIDRs and single addresses, IPv4-mapped forms too)', () => {
    const list = parseAllowList(['192.168.1.0/24', '127.0.0.1', 'fd00::/8']);
    assert.equal(isForbiddenAddress('192.168.1.20', list), false);
    assert.equal(isForbiddenAddress('192.168.2.20', list), true);
    assert.equal(isForbiddenAddress('127.0.0.1', list), false);
    assert.equal(isForbiddenAddress('127.0.0.2', list), true);
    assert.equal(isForbiddenAddress('::ffff:127.0.0.1', list), false);
    assert.equal(isForbiddenAddress('fd00::5', list), false);
    assert.equal(isForbiddenAddress('::1', list), true);
    assert.equal(isForbiddenAddress('127.0.0.1', ['127.0.0.0/8']), false);
    assert.equal(isInAllowList('::ffff:192.168.1.9', list), true);
    assert.equal(isInAllowList('8.8.8.8', list), false);
  });

  it('rejects an invalid allow-list entry, naming it', () => {
    assert.throws(() => parseAllowList(['10.0.0.0/8', 'lan']), /"lan"/);
    assert.throws(() => parseAllowList(['10.0.0.0/33']), /10\.0\.0\.0\/33/);
  });

  describe('guardedLookup', () => {
    const fakeDns = (answers: Record<string, Array<{ address: string; family: number }>>) =>
      ((host: string, _opts: unknown, cb: (err: NodeJS.ErrnoException | null, a: dns.LookupAddress[]) => void) => {
        const a = answers[host];
        if (!a) return cb(Object.assign(new Error('ENOTFOUND'), { code: 'ENOTFOUND' }), []);
        cb(null, a);
      }) as unknown as typeof dns.lookup;
    const dnsTable = fakeDns({
      'evil.test': [{ address: '127.0.0.1', family: 4 }],
      'mixed.test': [
        { address: '10.0.0.1', family: 4 },
        { address: '93.184.216.34', family: 4 },
      ],
      'good.test': [{ address: '93.184.216.34', family: 4 }],
    });
    const run = (host: string, all: boolean, allow?: string[]) =>
      new Promise<{ err: NodeJS.ErrnoException | null; addr: string | dns.LookupAddress[]; family?: number }>((resolve) => {
        guardedLookup(allow, dnsTable)(host, { all }, (err, addr, family) => resolve({ err, addr, family }));
      });

    it('fails a name that resolves only to forbidden addresses', async () => {
      const r = await run('evil.test', false);
      assert.ok(r.err instanceof ForbiddenAddressError);
      assert.equal(r.err.code, 'ESSRFBLOCKED');
      assert.match(r.err.message, /127\.0\.0\.1/);
    });

    it('keeps only allowed addresses (single and all:true forms)', async () => {
      assert.deepEqual(await run('mixed.test', false), { err: null, addr: '93.184.216.34', family: 4 });
      const all = await run('mixed.test', true);
      assert.equal(all.err, null);
      assert.deepEqual(all.addr, [{ address: '93.184.216.34', family: 4 }]);
    });

    it('lets an allow-listed private address through', async () => {
      const r = await run('evil.test', false, ['127.0.0.1/32']);
      assert.equal(r.err, null);
      assert.equal(r.addr, '127.0.0.1');
    });

    it('passes DNS errors through', async () => {
      const r = await run('missing.test', false);
      assert.equal(r.err?.code, 'ENOTFOUND');
    });

    it('stops a real socket before it connects to a name resolving to loopback', async () => {
      let accepted = 0;
      const server = net.createServer((s) => {
        accepted++;
        s.destroy();
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const port = (server.address() as net.AddressInfo).port;
      try {
        const err = await new Promise<Error>((resolve) => {
          const sock = net.connect({ host: 'evil.test', port, lookup: guardedLookup(undefined, dnsTable) });
          sock.on('connect', () => resolve(new Error('connected')));
          sock.on('error', resolve);
        });
        assert.ok(err instanceof ForbiddenAddressError, String(err));
        assert.equal(accepted, 0);
      } finally {
        await new Promise<void>((r) => server.close(() => r()));
      }
    });
  });
});
