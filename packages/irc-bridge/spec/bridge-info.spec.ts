/**
 * What an IRC portal's bridge-info state shows a Matrix client: the network's configured name
 * and irc:// links an IRC client can open (the provisioning spec checks it end to end).
 */
import { strict as assert } from 'node:assert';
import { ircBridgeInfo } from '../src/bridge-info';

const server = (over: Record<string, unknown> = {}) => ({
  address: 'irc.example.org',
  port: 6667,
  tls: { enabled: false, allow_self_signed: false },
  ...over,
});

describe('irc-bridge: bridge-info display data', () => {
  it('names the network from the config and links the channel with its "#" encoded', () => {
    assert.deepEqual(ircBridgeInfo('libera', server({ name: 'Libera.Chat' }), '#matrix'), {
      network: { displayname: 'Libera.Chat', external_url: 'irc://irc.example.org:6667' },
      channel: { displayname: '#matrix', external_url: 'irc://irc.example.org:6667/%23matrix' },
    });
    assert.equal(ircBridgeInfo('libera', server(), '#matrix').network?.displayname, 'libera');
  });

  it('links with ircs:// on a TLS network, and brackets an IPv6 address', () => {
    assert.equal(
      ircBridgeInfo('n', server({ port: 6697, tls: { enabled: true, allow_self_signed: false } }), '&local').channel?.external_url,
      'ircs://irc.example.org:6697/%26local',
    );
    assert.equal(ircBridgeInfo('n', server({ address: '2001:db8::1' }), '#c').channel?.external_url, 'irc://[2001:db8::1]:6667/%23c');
  });
});
