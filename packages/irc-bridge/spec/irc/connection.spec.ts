import { strict as assert } from 'node:assert';
import { pickHost } from '../../src/irc/connection';

describe('irc-bridge: picking a server address', () => {
  it('each connection picks among address and additional_addresses; "only" leaves address out', () => {
    const seen = (o: Parameters<typeof pickHost>[0]) => new Set([0, 0.3, 0.5, 0.7, 0.99].map((r) => pickHost(o, () => r)));
    assert.deepEqual([...seen({ host: 'a' })], ['a']);
    assert.deepEqual([...seen({ host: 'a', additionalHosts: ['b', 'c'] })].sort(), ['a', 'b', 'c']);
    assert.deepEqual([...seen({ host: 'a', additionalHosts: ['b', 'c'], onlyAdditionalHosts: true })].sort(), ['b', 'c']);
  });
});
