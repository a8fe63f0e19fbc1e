/**
 * The flood queue's `prepare` step: what the bucket lets out is handed over together first (the
 * bridge stores that those lines are being sent, see durable-lines.ts) and written once that has
 * settled, still in order; lines without anything to prepare are not held.
 */
import { strict as assert } from 'node:assert';
import { FloodQueue } from '../../src/irc/flood-queue';

function deferred() {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
const tick = () => new Promise((r) => setImmediate(r));

describe('irc flood queue: prepare before writing', () => {
  it('hands over the run the bucket allows in one call and writes it, in order, once that settles; later lines wait behind', async () => {
    const sent: string[] = [];
    const calls: string[][] = [];
    let gate = deferred();
    const q = new FloodQueue<string>((s) => sent.push(s), {
      burst: 3,
      ratePerSecond: 1000,
      prepare: (items) => {
        calls.push(items);
        return gate.promise;
      },
    });
    q.resume();
    for (const s of ['a', 'b', 'c']) q.push(s, 'PRIVMSG');
    assert.deepEqual(sent, [], 'nothing written before the prepare step settles');
    assert.deepEqual(calls, [['a']], 'the first push prepares what is affordable then');
    q.push('d', 'PRIVMSG');
    const first = gate;
    gate = deferred();
    first.resolve();
    await tick();
    // 'a' is out; b, c (and what the bucket allows of d) were prepared together, in one call.
    assert.deepEqual(sent, ['a']);
    assert.deepEqual(calls[1].slice(0, 2), ['b', 'c']);
    gate.resolve();
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(sent, ['a', 'b', 'c', 'd']);
    assert.equal(calls.flat().filter((s) => s === 'b').length, 1, 'a line is prepared once');
  });

  it('writes at once when there is nothing to wait for, and after a failed prepare too', async () => {
    const sent: string[] = [];
    const q = new FloodQueue<string>((s) => sent.push(s), {
      burst: 4,
      ratePerSecond: 1000,
      prepare: (items) => (items.includes('durable') ? Promise.reject(new Error('store down')) : undefined),
    });
    q.resume();
    q.push('plain', 'PRIVMSG');
    assert.deepEqual(sent, ['plain'], 'no promise: no hop');
    q.push('durable', 'PRIVMSG');
    await tick();
    assert.deepEqual(sent, ['plain', 'durable'], 'better sent than stuck');
  });

  it('keeps prepared lines queued when paused meanwhile (a disconnect hands them over)', async () => {
    const sent: string[] = [];
    const gate = deferred();
    const q = new FloodQueue<string>((s) => sent.push(s), { burst: 2, ratePerSecond: 1000, prepare: () => gate.promise });
    q.resume();
    q.push('x', 'PRIVMSG');
    q.pause();
    gate.resolve();
    await tick();
    assert.deepEqual(sent, []);
    assert.deepEqual(
      q.takeAll().map((i) => i.item),
      ['x'],
    );
  });
});
