import { strict as assert } from 'node:assert';
import { SendQueue, SendQueueStoppedError, type SendQueueOptions } from '../../src/slack/send-queue';
import { MemoryPendingSendStore, type PendingSend } from '../../src/slack/pending-sends';
import type { SendFailure } from '../../src/slack/send-errors';

/** Lets every pending promise chain run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
}

/** A clock whose sleeps end only when the test advances it. */
class FakeClock {
  t = 0;
  private sleepers: Array<{ at: number; resolve: () => void }> = [];
  readonly now = () => this.t;
  readonly sleep = (ms: number, signal: AbortSignal) =>
    new Promise<void>((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason as unknown);
      const s = { at: this.t + ms, resolve };
      this.sleepers.push(s);
      signal.addEventListener(
        'abort',
        () => {
          this.sleepers = this.sleepers.filter((x) => x !== s);
          reject(signal.reason as unknown);
        },
        { once: true },
      );
    });

  /** Moves time forward to `this.t + ms`, waking sleepers in time order. */
  async advance(ms: number): Promise<void> {
    const target = this.t + ms;
    for (;;) {
      await settle();
      const due = this.sleepers.filter((s) => s.at <= target).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.sleepers = this.sleepers.filter((s) => s !== due);
      this.t = Math.max(this.t, due.at);
      due.resolve();
    }
    this.t = target;
    await settle();
  }
}

class RateLimited extends Error {
  constructor(
    readonly retryAfterMs: number,
    readonly scope?: 'method' | 'key',
  ) {
    super('ratelimited');
  }
}
class Transient extends Error {}
class Permanent extends Error {}

const classify = (err: unknown): SendFailure =>
  err instanceof RateLimited
    ? { type: 'ratelimited', retryAfterMs: err.retryAfterMs, ...(err.scope ? { scope: err.scope } : {}) }
    : err instanceof Transient
      ? { type: 'transient' }
      : { type: 'permanent' };

interface Call {
  at: number;
  key: string;
  method: string;
  payload: string;
}

/** A fake Web API: records calls; `script` decides each call's outcome (default: ok). */
function harness(opts: Partial<SendQueueOptions<string, string>> = {}, script: (c: Call, n: number) => 'ok' | Error = () => 'ok') {
  const clock = new FakeClock();
  const calls: Call[] = [];
  const sent: string[] = [];
  const failed: string[] = [];
  const store = (opts.store as MemoryPendingSendStore<string>) ?? new MemoryPendingSendStore<string>();
  const queue = new SendQueue<string, string>({
    send: async (item: PendingSend<string>) => {
      const call = { at: clock.now(), key: item.key, method: item.method, payload: item.payload };
      calls.push(call);
      const outcome = script(call, calls.filter((c) => c.payload === item.payload).length);
      if (outcome !== 'ok') throw outcome;
      return `ts-of-${item.payload}`;
    },
    classify,
    store,
    onSent: (item) => void sent.push(item.payload),
    onFailed: (item) => void failed.push(item.payload),
    now: clock.now,
    sleep: clock.sleep,
    // The top of each jittered range: 1 s, 2 s, 4 s, then 8 s at most.
    retryDelay: (n: number) => Math.min(8000, 1000 * 2 ** (n - 1)),
    ...opts,
  });
  return { clock, calls, sent, failed, store, queue };
}

describe('slack send queue', () => {
  it('keeps each channel in order with one call in flight, channels in parallel', async () => {
    const clock = new FakeClock();
    const inFlight = new Map<string, () => void>();
    const log: string[] = [];
    const queue = new SendQueue<string, string>({
      send: (item) =>
        new Promise((resolve) => {
          log.push(`start ${item.payload}`);
          inFlight.set(item.payload, () => resolve(item.payload));
        }),
      classify,
      retryDelay: () => 1000,
      now: clock.now,
      sleep: clock.sleep,
    });
    await queue.start();
    const results: string[] = [];
    const ps = [
      ['C1', 'a1'],
      ['C1', 'a2'],
      ['C2', 'b1'],
      ['C1', 'a3'],
    ].map(([k, p]) => queue.enqueue(k, 'chat.postMessage', p).then((r) => void results.push(r)));
    await settle();
    assert.deepEqual(log, ['start a1', 'start b1']);
    inFlight.get('b1')!();
    await settle();
    assert.deepEqual(log, ['start a1', 'start b1']);
    inFlight.get('a1')!();
    await settle();
    assert.deepEqual(log, ['start a1', 'start b1', 'start a2']);
    inFlight.get('a2')!();
    await settle();
    inFlight.get('a3')!();
    await Promise.all(ps);
    assert.deepEqual(results, ['b1', 'a1', 'a2', 'a3']);
    assert.equal(queue.pending(), 0);
    await queue.idle();
  });

  it('a 429 holds that method for every channel for Retry-After; other methods go on; nothing is reordered', async () => {
    const h = harness({}, (c, n) => (c.payload === 'a1' && n === 1 ? new RateLimited(30_000) : 'ok'));
    await h.queue.start();
    const done = [h.queue.enqueue('C1', 'chat.postMessage', 'a1'), h.queue.enqueue('C1', 'chat.postMessage', 'a2')];
    await settle();
    assert.equal(h.queue.blockedUntil('chat.postMessage'), 30_000);
    done.push(h.queue.enqueue('C2', 'chat.postMessage', 'b1'));
    assert.equal(await h.queue.enqueue('C3', 'reactions.add', 'r1'), 'ts-of-r1');
    await h.clock.advance(29_999);
    assert.deepEqual(
      h.calls.map((c) => [c.payload, c.at]),
      [
        ['a1', 0],
        ['r1', 0],
      ],
    );
    await h.clock.advance(1);
    await Promise.all(done);
    assert.deepEqual(
      h.calls.filter((c) => c.key === 'C1').map((c) => [c.payload, c.at]),
      [
        ['a1', 0],
        ['a1', 30_000],
        ['a2', 30_000],
      ],
    );
    assert.deepEqual(
      h.calls.filter((c) => c.key === 'C2').map((c) => [c.payload, c.at]),
      [['b1', 30_000]],
    );
    assert.equal(h.queue.blockedUntil('chat.postMessage'), undefined);
    assert.deepEqual(h.failed, []);
  });

  it('a 429 scoped to the channel holds only that channel', async () => {
    const h = harness({}, (c, n) => (c.payload === 'a1' && n === 1 ? new RateLimited(5_000, 'key') : 'ok'));
    await h.queue.start();
    const a = [h.queue.enqueue('C1', 'chat.postMessage', 'a1'), h.queue.enqueue('C1', 'chat.postMessage', 'a2')];
    await settle();
    await h.queue.enqueue('C2', 'chat.postMessage', 'b1');
    assert.equal(h.calls.find((c) => c.payload === 'b1')!.at, 0);
    await h.clock.advance(5_000);
    await Promise.all(a);
    assert.deepEqual(
      h.calls.filter((c) => c.key === 'C1').map((c) => [c.payload, c.at]),
      [
        ['a1', 0],
        ['a1', 5_000],
        ['a2', 5_000],
      ],
    );
  });

  it('retries transient failures with exponential backoff, holding the rest of the channel', async () => {
    const h = harness({}, (c, n) => (c.payload === 'a1' && n <= 4 ? new Transient('502') : 'ok'));
    await h.queue.start();
    const p1 = h.queue.enqueue('C1', 'chat.postMessage', 'a1');
    const p2 = h.queue.enqueue('C1', 'chat.postMessage', 'a2');
    await h.clock.advance(60_000);
    assert.equal(await p1, 'ts-of-a1');
    assert.equal(await p2, 'ts-of-a2');
    // Delays 1 s, 2 s, 4 s, then capped at 8 s (random() = 1 takes the top of each range).
    assert.deepEqual(
      h.calls.map((c) => [c.payload, c.at]),
      [
        ['a1', 0],
        ['a1', 1000],
        ['a1', 3000],
        ['a1', 7000],
        ['a1', 15_000],
        ['a2', 15_000],
      ],
    );
    assert.deepEqual(h.sent, ['a1', 'a2']);
    assert.equal(h.store.size, 0);
  });

  it('a permanent failure rejects that send, is reported, and the channel moves on', async () => {
    const h = harness({}, (c) => (c.payload === 'a1' ? new Permanent('channel_not_found') : 'ok'));
    await h.queue.start();
    const p1 = h.queue.enqueue('C1', 'chat.postMessage', 'a1');
    const p2 = h.queue.enqueue('C1', 'chat.postMessage', 'a2');
    await assert.rejects(p1, /channel_not_found/);
    assert.equal(await p2, 'ts-of-a2');
    assert.deepEqual(h.failed, ['a1']);
    assert.deepEqual(h.sent, ['a2']);
    assert.equal(h.store.size, 0);
  });

  it('gives up after maxFailures transient failures; rate limiting does not count', async () => {
    const h = harness({ maxFailures: 3 }, (c, n) => (n % 2 === 1 ? new RateLimited(100) : new Transient('x')));
    await h.queue.start();
    const p = h.queue.enqueue('C1', 'chat.postMessage', 'a1');
    const rejected = assert.rejects(p, Transient);
    await h.clock.advance(60_000);
    await rejected;
    // Three transient failures, each after a 429 that did not count.
    assert.equal(h.calls.length, 6);
    assert.deepEqual(h.failed, ['a1']);
  });

  it('a 429 with Retry-After 0 still waits a second rather than hammering Slack', async () => {
    const h = harness({}, (c, n) => (n <= 3 ? new RateLimited(0) : 'ok'));
    await h.queue.start();
    const p = h.queue.enqueue('C1', 'chat.postMessage', 'a1');
    await h.clock.advance(10_000);
    assert.equal(await p, 'ts-of-a1');
    assert.deepEqual(
      h.calls.map((c) => c.at),
      [0, 1000, 2000, 3000],
    );
  });

  it('spaces sends of a method per channel when asked (chat.postMessage about 1/s)', async () => {
    const h = harness({ minIntervalMs: { 'chat.postMessage': 1000 } });
    await h.queue.start();
    const ps = [
      h.queue.enqueue('C1', 'chat.postMessage', 'a1'),
      h.queue.enqueue('C1', 'chat.postMessage', 'a2'),
      h.queue.enqueue('C1', 'reactions.add', 'r1'),
      h.queue.enqueue('C2', 'chat.postMessage', 'b1'),
    ];
    await h.clock.advance(5_000);
    await Promise.all(ps);
    assert.deepEqual(
      h.calls.map((c) => [c.payload, c.at]),
      [
        ['a1', 0],
        ['b1', 0],
        ['a2', 1000],
        ['r1', 1000],
      ],
    );
  });

  it('keeps pending sends in its store: a restarted queue sends them in their order and reports each', async () => {
    const store = new MemoryPendingSendStore<string>();
    const first = harness({ store }, () => new RateLimited(60_000));
    await first.queue.start();
    const old = ['a1', 'a2', 'a3'].map((p) => first.queue.enqueue('C1', 'chat.postMessage', p));
    const oldRejections = old.map((p) => assert.rejects(p, SendQueueStoppedError));
    await settle();
    assert.equal(store.size, 3);
    await first.queue.stop();
    await Promise.all(oldRejections);
    assert.equal(store.size, 3);
    await assert.rejects(first.queue.enqueue('C1', 'chat.postMessage', 'late'), SendQueueStoppedError);

    const second = harness({ store });
    assert.equal(await second.queue.start(), 3);
    const fresh = second.queue.enqueue('C1', 'chat.postMessage', 'a4');
    assert.equal(await fresh, 'ts-of-a4');
    await second.queue.idle();
    assert.deepEqual(
      second.calls.map((c) => c.payload),
      ['a1', 'a2', 'a3', 'a4'],
    );
    assert.deepEqual(second.sent, ['a1', 'a2', 'a3', 'a4']);
    assert.equal(store.size, 0);
  });

  it('a send Slack accepted is not sent again when the store fails to forget it', async () => {
    const store = new MemoryPendingSendStore<string>();
    const errors: unknown[] = [];
    store.remove = async () => {
      throw new Error('disk full');
    };
    const h = harness({ store, onError: (e) => void errors.push(e) });
    await h.queue.start();
    assert.equal(await h.queue.enqueue('C1', 'chat.postMessage', 'a1'), 'ts-of-a1');
    await h.queue.idle();
    assert.equal(h.calls.length, 1);
    assert.match(String(errors[0]), /disk full/);
  });

  it('a store that refuses an item makes enqueue reject: the caller knows it was not queued', async () => {
    const store = new MemoryPendingSendStore<string>();
    store.add = async () => {
      throw new Error('db down');
    };
    const h = harness({ store });
    await h.queue.start();
    await assert.rejects(h.queue.enqueue('C1', 'chat.postMessage', 'a1'), /db down/);
    assert.equal(h.calls.length, 0);
  });

  it('failures of hooks and of the classifier do not stop the queue', async () => {
    const h = harness(
      {
        onSent: () => {
          throw new Error('hook');
        },
        classify: () => {
          throw new Error('classifier');
        },
      },
      (c) => (c.payload === 'a1' ? new Error('odd') : 'ok'),
    );
    await h.queue.start();
    const p1 = h.queue.enqueue('C1', 'chat.postMessage', 'a1');
    const p2 = h.queue.enqueue('C1', 'chat.postMessage', 'a2');
    await assert.rejects(p1, /odd/);
    assert.equal(await p2, 'ts-of-a2');
  });
});
