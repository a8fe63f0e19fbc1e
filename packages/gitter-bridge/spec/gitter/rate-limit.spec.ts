import { strict as assert } from 'node:assert';
import { RateLimitTracker } from '../../src/gitter/rate-limit';

const headers = (h: Record<string, string | number>) => ({
  get: (n: string) => (h[n.toLowerCase()] === undefined ? null : String(h[n.toLowerCase()])),
});

describe('gitter-bridge: rate-limit tracker', () => {
  let now: number;
  let slept: number[];
  const tracker = (opts: { reserve?: number } = {}) =>
    new RateLimitTracker({
      now: () => now,
      sleep: async (ms) => {
        slept.push(ms);
        now += ms;
      },
      marginMs: 0,
      ...opts,
    });
  beforeEach(() => {
    now = 1_700_000_000_000;
    slept = [];
  });

  it('goes without waiting while the window has requests left, then waits until X-RateLimit-Reset (epoch ms)', async () => {
    const t = tracker();
    await t.acquire();
    t.update(headers({ 'x-ratelimit-limit': 100, 'x-ratelimit-remaining': 1, 'x-ratelimit-reset': now + 30_000 }));
    await t.acquire();
    assert.deepEqual(slept, []);
    await t.acquire();
    assert.deepEqual(slept, [30_000]);
    assert.equal(t.waits, 1);
    await t.acquire();
    assert.deepEqual(slept, [30_000], 'a new window: nothing known, no wait');
  });

  it('a refusal waits for the reset it names, else Retry-After, else a whole window', async () => {
    const t = tracker();
    t.refused(headers({ 'x-ratelimit-reset': now + 5_000 }));
    await t.acquire();
    t.refused(headers({ 'retry-after': 7 }));
    await t.acquire();
    t.refused(headers({}));
    await t.acquire();
    assert.deepEqual(slept, [5_000, 7_000, 60_000]);
  });

  it('keeps the lowest count of a window when answers arrive out of order, and a reserve spare', async () => {
    const t = tracker({ reserve: 2 });
    const reset = now + 10_000;
    t.update(headers({ 'x-ratelimit-remaining': 2, 'x-ratelimit-reset': reset }));
    t.update(headers({ 'x-ratelimit-remaining': 5, 'x-ratelimit-reset': reset }));
    assert.equal(t.snapshot().remaining, 2);
    await t.acquire();
    assert.deepEqual(slept, [10_000], 'two left is the reserve: wait');
  });
});
