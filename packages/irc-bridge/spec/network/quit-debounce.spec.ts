import { strict as assert } from 'node:assert';
import { QuitDebounce } from '../../src/network/quit-debounce';

describe('irc-bridge: netsplit debouncing of QUITs', () => {
  it('holds QUITs beyond the rate, drops a held leave when the nick is back in that channel, applies the rest after the delay', async () => {
    let now = 0;
    const applied: string[] = [];
    const leaves = (n: string, ...channels: string[]) =>
      new Map(
        channels.map((c) => [
          c,
          () => {
            applied.push(`${n}${c}`);
          },
        ]),
      );
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
    for (let i = 0; i < 5; i++)
      off.quit(
        `x${i}`,
        new Map([
          [
            '#x',
            () => {
              n++;
            },
          ],
        ]),
      );
    assert.equal(n, 5, 'disabled: nothing is held');
  });
});
