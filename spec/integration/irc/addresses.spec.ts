/**
 * `additional_addresses` / `only_additional_addresses` (MAI additionalAddresses): connections
 * spread over several servers of one network; `address` still names the network.
 */
import { strict as assert } from 'node:assert';
import { ConfigError } from '@causeway/bridge-core';
import { parseConfig } from '@causeway/bridge-core/tools';
import { IrcConfigSchema } from '@causeway/irc-bridge';
import { IrcConnector } from '@causeway/irc-bridge';
import { startInspircd, type InspircdHandle } from '@causeway/testing';
import { connectObserver, type Observer } from '@causeway/testing';
import { startIrcBridge, alias, ghostId, messages, eventually, type IrcBridge } from './support';

describe('irc-bridge: additional server addresses', function () {
  this.timeout(60_000);

  it('only_additional_addresses without any additional address is a config error naming the key', () => {
    const yaml =
      'homeserver: {url: http://127.0.0.1:8008, domain: example.org}\nirc:\n  servers:\n    net:\n      address: irc.example.org\n      only_additional_addresses: true\n';
    const { connector } = parseConfig(yaml, { key: 'irc', schema: IrcConfigSchema });
    assert.throws(
      () => new IrcConnector().init({ config: connector } as never),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.problems.includes('irc.servers.net.only_additional_addresses: needs at least one entry in additional_addresses'),
    );
  });

  describe('through InspIRCd', () => {
    let ircd: InspircdHandle;
    let b: IrcBridge;
    let olive: Observer;
    before(async () => {
      ircd = await startInspircd();
      // `address` does not resolve: only the additional address can connect anyone.
      b = await startIrcBridge(ircd, { address: 'irc.invalid', additional_addresses: [ircd.host], only_additional_addresses: true });
    });
    after(async () => {
      await olive?.close().catch(() => undefined);
      await b?.fx.stop();
      await ircd?.dispose();
    });

    it('the bot and users connect through the additional address; lines cross both ways', async () => {
      olive = await connectObserver(ircd, 'olive');
      await olive.join('#spread');
      const alice = await b.fx.hs.registerUser('alice', { displayname: 'alice' });
      const roomId = await alice.join(alias('#spread'));
      const from = olive.lines.length;
      await alice.sendMessage(roomId, 'hello over there');
      await olive.waitFor((l) => /:alice\[m\]!\S+ PRIVMSG #spread :hello over there$/.test(l), 20_000, from);
      olive.raw('PRIVMSG #spread :hello back');
      await eventually(
        () => messages(b.fx.hs, roomId, ghostId('olive')).some((e) => e.content.body === 'hello back'),
        'the line reaches Matrix',
      );
    });
  });
});
