import { strict as assert } from 'node:assert';
import { preciseNow, preciseSleepUntil } from '../src/precise-timer';

describe('harness: precise timers (helper thread, no busy-wait)', () => {
  it('never resolves before its deadline, and resolves timers in deadline order', async () => {
    const start = preciseNow();
    const order: number[] = [];
    const late: number[] = [];
    await Promise.all(
      [30, 5, 20, 10, 10.5].map(async (ms) => {
        await preciseSleepUntil(start + ms);
        late.push(preciseNow() - (start + ms));
        order.push(ms);
      }),
    );
    assert.deepEqual(order, [5, 10, 10.5, 20, 30]);
    assert.ok(
      late.every((l) => l >= 0),
      `early: ${late.join(', ')}`,
    );
  });

  it('an abort resolves at once; a past deadline resolves without the thread', async () => {
    const ac = new AbortController();
    const far = preciseSleepUntil(preciseNow() + 60_000, ac.signal);
    ac.abort();
    await far;
    await preciseSleepUntil(preciseNow() - 1);
  });
});
