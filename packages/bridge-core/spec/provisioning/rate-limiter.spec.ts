import { strict as assert } from 'node:assert';
import { RateLimiter } from '../../src/provisioning/rate-limiter';

describe('provisioning/rate-limiter', () => {
  it('allows a burst up to the limit, then refuses with the time until the next token', () => {
    let t = 0;
    const rl = new RateLimiter({ perMinute: 6, now: () => t });
    for (let i = 0; i < 6; i++) assert.equal(rl.take('a').allowed, true);
    const d = rl.take('a');
    assert.equal(d.allowed, false);
    assert.equal(d.retryAfterMs, 10_000);
    t += 9_999;
    assert.equal(rl.take('a').allowed, false);
    t += 1;
    assert.equal(rl.take('a').allowed, true);
    assert.equal(rl.take('a').allowed, false);
  });

  it('keeps keys independent', () => {
    const rl = new RateLimiter({ perMinute: 1, now: () => 0 });
    assert.equal(rl.take('a').allowed, true);
    assert.equal(rl.take('a').allowed, false);
    assert.equal(rl.take('b').allowed, true);
  });

  it('refills to capacity at most, and forgets idle keys when sweeping', () => {
    let t = 0;
    const rl = new RateLimiter({ perMinute: 2, now: () => t, sweepThreshold: 2 });
    rl.take('a');
    rl.take('b');
    t += 3_600_000;
    rl.take('c'); // sweep: a and b are full again
    assert.equal(rl.size, 1);
    assert.equal(rl.take('c').allowed, true);
    assert.equal(rl.take('c').allowed, false);
  });

  it('rejects a non-positive limit', () => {
    assert.throws(() => new RateLimiter({ perMinute: 0 }));
  });
});
