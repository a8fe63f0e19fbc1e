/**
 * Netsplit debouncing (membership.quit_debounce, MAI's quitDebounce): a burst of QUITs does not
 * empty every room; a nick back within the delay never left, the others leave later.
 */
import { strict as assert } from 'node:assert';
import { startInspircd, type InspircdHandle } from '@causeway/testing';
import { connectObserver, type Observer } from '@causeway/testing';
import { startIrcBridge, alias, ghostId, eventually, type IrcBridge } from './support';

describe('irc-bridge: netsplit debouncing of QUITs', function () {
  this.timeout(60_000);

  describe('through InspIRCd', () => {
    let ircd: InspircdHandle;
    let b: IrcBridge;
    const observers: Observer[] = [];
    before(async () => {
      ircd = await startInspircd();
      b = await startIrcBridge(ircd, {
        membership: {
          irc_to_matrix: { initial: false, incremental: true },
          quit_debounce: { enabled: true, quits_per_second: 2, delay_min_ms: 3000, delay_max_ms: 3500 },
        },
      });
    });
    after(async () => {
      await Promise.all(observers.map((o) => o.close().catch(() => undefined)));
      await b?.fx.stop();
      await ircd?.dispose();
    });

    it('a burst of QUITs leaves the ghosts in the room; one that rejoins stays, the others leave after the delay', async () => {
      const alice = await b.fx.hs.registerUser('alice');
      const roomId = await alice.join(alias('#split'));
      const nicks = ['Sp1', 'Sp2', 'Sp3', 'Sp4', 'Sp5', 'Sp6'];
      for (const n of nicks) {
        const o = await connectObserver(ircd, n);
        observers.push(o);
        await o.join('#split');
      }
      await eventually(() => nicks.every((n) => b.fx.hs.membership(roomId, ghostId(n)) === 'join'), 'ghosts joined');
      // The split: all six quit at once.
      for (const o of observers.splice(0)) o.raw('QUIT :*.net *.split');
      await new Promise((r) => setTimeout(r, 1500));
      const left = nicks.filter((n) => b.fx.hs.membership(roomId, ghostId(n)) === 'leave');
      assert.equal(left.length, 2, `only the first two left at once: ${left.join(',')}`);
      // One of the held nicks comes back before its delay.
      const back = nicks.find((n) => !left.includes(n))!;
      const o = await connectObserver(ircd, back);
      observers.push(o);
      await o.join('#split');
      await eventually(
        () => nicks.filter((n) => b.fx.hs.membership(roomId, ghostId(n)) === 'leave').length === 5,
        'the others left after the delay',
        15_000,
      );
      assert.equal(b.fx.hs.membership(roomId, ghostId(back)), 'join', `${back} never left`);
    });
  });
});
