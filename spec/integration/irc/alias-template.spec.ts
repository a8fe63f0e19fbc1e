import { strict as assert } from 'node:assert';
import { startInspircd, type InspircdHandle } from '@causeway/testing';
import { connectObserver, type Observer } from '@causeway/testing';
import { eventually } from '@causeway/testing/bridge';
import { startIrcBridge, NET, type IrcBridge } from './support';

describe('irc-bridge: an operator-chosen alias template', function () {
  this.timeout(60_000);
  let ircd: InspircdHandle;
  let b: IrcBridge;
  let obs: Observer;

  before(async () => {
    ircd = await startInspircd();
    b = await startIrcBridge(
      ircd,
      {},
      { core: { bridge: { admins: ['@admin:localhost'], alias_localpart_template: 'chat_$NETWORK_$ID' } } },
    );
    obs = await connectObserver(ircd, 'Watcher');
  });
  after(async () => {
    await obs?.close().catch(() => undefined);
    await b?.fx.stop();
    await ircd?.dispose();
  });

  it('creates portals for aliases in the configured form and relays through them', async () => {
    const ann = await b.fx.hs.registerUser('ann', { displayname: 'Ann' });
    const roomId = await ann.join(`#chat_${NET}_#templated:localhost`);
    const portal = await eventually(() => b.fx.bridge.portals.getByRoom(roomId), 'portal');
    assert.deepEqual(portal.key, { network: NET, id: '#templated' });
    await obs.join('#templated');
    await ann.sendMessage(roomId, 'hello via the template');
    await obs.waitFor((l) => /PRIVMSG #templated :hello via the template/.test(l), 15_000);
    // The default form is not this bridge's namespace any more.
    const other = await ann.request('POST', `/_matrix/client/v3/join/${encodeURIComponent(`#irc_${NET}_#templated:localhost`)}`, {});
    assert.equal(other.status, 404);
    // Third-party lookups answer with the configured form too.
    const loc = await b.connector().lookupLocation({ network: NET, channel: '#templated' });
    assert.deepEqual(
      loc.map((l) => l.alias),
      [`#chat_${NET}_#templated:localhost`],
    );
  });
});
