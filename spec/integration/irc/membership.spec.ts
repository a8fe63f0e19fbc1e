/**
 * `membership.matrix_to_irc.initial`: at start every joined Matrix member of a bridged room is
 * connected and JOINs the channel without sending anything, drip-fed by `flood_delay_ms`;
 * excluded users are not.
 */
import { strict as assert } from 'node:assert';
import { startInspircd, type InspircdHandle } from '@causeway/testing';
import { connectObserver, type Observer } from '@causeway/testing';
import { startIrcBridge, alias, eventually, NET, type IrcBridge } from './support';

describe('irc-bridge: initial Matrix→IRC membership', function () {
  this.timeout(60_000);
  let ircd: InspircdHandle;
  let b: IrcBridge;
  let obs: Observer;
  // Mutated before the restart: the fixture re-validates the same connector config object.
  const membership = { matrix_to_irc: { initial: false, incremental: false }, flood_delay_ms: 400, initial_skip_idle_days: 0 };

  before(async () => {
    ircd = await startInspircd();
    b = await startIrcBridge(ircd, { membership, excluded_users: ['^@eve:'] });
    obs = await connectObserver(ircd, 'Witness');
  });
  after(async () => {
    await obs?.close().catch(() => undefined);
    await b?.fx.stop();
    await ircd?.dispose();
  });

  const names = async (channel: string): Promise<string[]> => {
    const from = obs.lines.length;
    obs.raw(`NAMES ${channel}`);
    await obs.waitFor((l) => / 366 /.test(l), 5000, from);
    return obs.lines
      .slice(from)
      .filter((l) => / 353 /.test(l))
      .flatMap((l) => l.replace(/^.* 353 \S+ \S+ \S+ :/, '').split(' '))
      .filter(Boolean)
      .map((n) =>
        n
          .replace(/^[~&@%+]+/, '')
          .replace(/!.*$/, '')
          .toLowerCase(),
      );
  };

  it('with the option on, a restart JOINs every joined member (not excluded ones), spaced by flood_delay_ms, without a message', async () => {
    const users = await Promise.all(['ann', 'ben', 'eve'].map((n) => b.fx.hs.registerUser(n)));
    let roomId = '';
    for (const u of users) roomId = await u.join(alias('#initial'));
    const net = b.connector().networks.get(NET)!;
    await eventually(() => net.botClient?.channels.has('#initial'), 'bot in #initial');
    await obs.join('#initial');
    // Without the option (and without incremental), joining the room did not put anyone on IRC.
    assert.deepEqual((await names('#initial')).sort(), ['cwbot', 'witness']);
    assert.deepEqual((await b.fx.bridge.portals.joinedMatrixUsers(roomId)).sort(), ['@ann:localhost', '@ben:localhost', '@eve:localhost']);

    membership.matrix_to_irc.initial = true;
    const from = obs.lines.length;
    await b.fx.restart();
    const ann = await obs.waitFor((l) => /:ann\[m\]!\S+ JOIN :?#initial/i.test(l), 20_000, from);
    const ben = await obs.waitFor((l) => /:ben\[m\]!\S+ JOIN :?#initial/i.test(l), 20_000, from);
    assert.deepEqual((await names('#initial')).sort(), ['ann[m]', 'ben[m]', 'cwbot', 'witness']);
    // Drip-fed: the joins are at least flood_delay_ms apart (server-time tags).
    const at = (l: string) => Date.parse(/^@\S*time=([^;\s]+)/.exec(l)?.[1] ?? '');
    if (!Number.isNaN(at(ann)) && !Number.isNaN(at(ben)))
      assert.ok(Math.abs(at(ben) - at(ann)) >= 350, `joins ${Math.abs(at(ben) - at(ann))} ms apart`);
    // Excluded users are never connected.
    await new Promise((r) => setTimeout(r, 1000));
    assert.ok(!obs.lines.slice(from).some((l) => /:eve\[m\]!/i.test(l)), 'eve stayed off IRC');
    assert.equal(b.connector().networks.get(NET)!.users.get('@eve:localhost'), undefined);
    // Nobody sent a message.
    assert.ok(!obs.lines.slice(from).some((l) => / PRIVMSG #initial /.test(l)));
  });

  it('with initial_skip_idle_days, the start-up sync leaves out members with no bridged activity lately', async () => {
    const [cat, dan] = await Promise.all(['cat', 'dan'].map((n) => b.fx.hs.registerUser(n)));
    const roomId = await cat.join(alias('#idle'));
    await dan.join(roomId);
    await obs.join('#idle');
    let from = obs.lines.length;
    await cat.sendMessage(roomId, 'hello'); // Cat talks (and so connects); Dan only reads
    await obs.waitFor((l) => /:cat\[m\]!\S+ PRIVMSG #idle :hello/i.test(l), 20_000, from);
    // Dan's joining counted as activity: make it ten days old, as the store would have it then.
    await b.fx.bridge.activity.flush();
    const tenDaysAgo = Date.now() - 10 * 86_400_000;
    await b.fx.bridge.store.kv.put('activity', 'matrix:@dan:localhost', { ts: tenDaysAgo }, { expiresAt: tenDaysAgo + 30 * 86_400_000 });
    membership.initial_skip_idle_days = 7;
    from = obs.lines.length;
    await b.fx.restart();
    await obs.waitFor((l) => /:cat\[m\]!\S+ JOIN :?#idle/i.test(l), 20_000, from);
    await new Promise((r) => setTimeout(r, 2000)); // the drip would have reached Dan by now
    assert.ok(!obs.lines.slice(from).some((l) => /:dan\[m\]!/i.test(l)), 'Dan (idle) was not connected');
    assert.equal(b.connector().networks.get(NET)!.users.get('@dan:localhost'), undefined);
  });
});
