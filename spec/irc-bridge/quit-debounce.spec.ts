/**
 * Netsplit debouncing (membership.quit_debounce, MAI's quitDebounce): a burst of QUITs does not
 * empty every room; a nick back within the delay never left, the others leave later.
 */
import { strict as assert } from 'node:assert';
import { startInspircd, type InspircdHandle } from '../harness/inspircd';
import { connectObserver, type Observer } from '../harness/inspircd/observer';
import { QuitDebounce } from '../../packages/irc-bridge/src/network/quit-debounce';
import { startIrcBridge, alias, ghostId, eventually, type IrcBridge } from './support';

describe('irc-bridge: netsplit debouncing of QUITs', function () {
  this.timeout(60_000);

  it('holds QUITs beyond the rate, drops a held leave when the nick is back in that channel, applies the rest after the delay', async () => {
    let now = 0;
    const applied: string[] = [];
    const leaves = (n: string, ...channels: string[]) => new Map(channels.map((c) => [c, () => { applied.push(`${n}${c}`); }]));
    const q = new QuitDebounce({ enabled: true, quitsPerSecond: 2, delayMinMs: 40, delayMaxMs: 60, now: () => now, random: () => 0.5 });
    for (const n of ['a', 'b', 'c', 'd', 'e']) q.quit(n, leaves(n, '#x'));
    q.quit('g', leaves('g', '#x', '#y'));
    assert.deepEqual(applied, ['a#x', 'b#x'], 'the first two of the burst at once');
    assert.equal(q.heldCount, 4);
    assert.equal(q.rejoined('d', '#x'), true);
    assert.equal(q.rejoined('g', '#y'), true, 'g is back in #y only');
    assert.equal(q.rejoined('g', '#z'), false, 'g was never in #z');
    await new Promise((r) => setTimeout(r, 80));
    assert.deepEqual(applied, ['a#x', 'b#x', 'c#x', 'e#x', 'g#x'], 'd stayed; g left #x, where it did not come back, and stayed in #y');
    now += 5000; // a quiet second later: applied at once again
    q.quit('f', leaves('f', '#x'));
    assert.deepEqual(applied.at(-1), 'f#x');
    const off = new QuitDebounce({ enabled: false, quitsPerSecond: 1, delayMinMs: 1, delayMaxMs: 1 });
    let n = 0;
    for (let i = 0; i < 5; i++) off.quit(`x${i}`, new Map([['#x', () => { n++; }]]));
    assert.equal(n, 5, 'disabled: nothing is held');
  });

  describe('through InspIRCd', () => {
    let ircd: InspircdHandle;
    let b: IrcBridge;
    const observers: Observer[] = [];
    before(async () => {
      ircd = await startInspircd();
      b = await startIrcBridge(ircd, {
        membership: { irc_to_matrix: { initial: false, incremental: true }, quit_debounce: { enabled: true, quits_per_second: 2, delay_min_ms: 3000, delay_max_ms: 3500 } },
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
      for (const n of nicks) { const o = await connectObserver(ircd, n); observers.push(o); await o.join('#split'); }
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
      await eventually(() => nicks.filter((n) => b.fx.hs.membership(roomId, ghostId(n)) === 'leave').length === 5, 'the others left after the delay', 15_000);
      assert.equal(b.fx.hs.membership(roomId, ghostId(back)), 'join', `${back} never left`);
    });
  });
});
