import { strict as assert } from 'node:assert';
import { startInspircd, type InspircdHandle } from '@causeway/testing';
import { connectObserver } from '@causeway/testing';
import { IrcConnectionPool } from '../../src/irc/connection-pool';
import { ConnectScheduler } from '../../src/irc/reconnect-scheduler';
import { reconnectDelay } from '../../src/network/reconnect-delay';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}
/** Max starts within any half-open 1 s window. */
function maxPerSecond(starts: number[]): number {
  let max = 0;
  for (let i = 0; i < starts.length; i++) {
    let n = 0;
    for (let j = i; j < starts.length && starts[j] < starts[i] + 1000; j++) n++;
    max = Math.max(max, n);
  }
  return max;
}

describe('irc backoff and scheduler', () => {
  it('backoff grows exponentially with jitter, capped, honouring retry-after', () => {
    const lo = reconnectDelay({ random: () => 0 });
    const hi = reconnectDelay({ random: () => 0.999 });
    assert.ok(hi(1, 0) < 1000);
    assert.equal(lo(2, 0), 1000);
    assert.equal(lo(4, 0), 4000);
    assert.ok(hi(30, 0) <= 300_000);
    assert.equal(lo(1, 60_000), 60_000);
  });

  it('scheduler keeps FIFO order, the start rate and the concurrency limit', async () => {
    const s = new ConnectScheduler({ connectsPerSecond: 50, maxConcurrent: 3 });
    let inFlight = 0;
    let peak = 0;
    const order: number[] = [];
    await Promise.all(
      Array.from(
        { length: 20 },
        (_, i) =>
          s.schedule(async () => {
            order.push(i);
            peak = Math.max(peak, ++inFlight);
            await sleep(30);
            inFlight--;
          }).promise,
      ),
    );
    assert.deepEqual(
      order,
      Array.from({ length: 20 }, (_, i) => i),
    );
    assert.ok(peak <= 3);
    assert.ok(maxPerSecond(s.startLog) <= 51);
    for (let i = 1; i < s.startLog.length; i++) assert.ok(s.startLog[i] - s.startLog[i - 1] >= 19);
  });
});

describe('irc connection pool (real InspIRCd)', function () {
  this.timeout(60000);
  let h: InspircdHandle;
  before(async () => {
    h = await startInspircd({ klines: [{ mask: 'klined@*', reason: 'harness ban' }] });
  });
  after(async () => h?.dispose());

  it('reconnects 50 clients after a server restart within the configured connect rate', async () => {
    const scheduler = new ConnectScheduler({ connectsPerSecond: 25, maxConcurrent: 20 });
    const pool = new IrcConnectionPool({
      server: { host: h.host, port: h.port, flood: { burst: 5, ratePerSecond: 20 } },
      maxClients: 100,
      scheduler,
      reconnectDelay: reconnectDelay({ firstRetryMaxMs: 300, baseMs: 300, maxMs: 2000 }),
    });
    const connected = new Map<string, number>();
    const disconnected = new Set<string>();
    pool.on('connected', (k) => connected.set(k, (connected.get(k) ?? 0) + 1));
    pool.on('disconnected', (k, reason, willRetry) => {
      assert.equal(willRetry, true, `${k}: ${reason.kind}`);
      disconnected.add(k);
    });
    try {
      for (let i = 0; i < 50; i++) pool.acquire(`@u${i}:hs`, { nick: `mass${i}`, username: 'mass', realname: `@u${i}:hs` });
      await until(() => connected.size === 50, 20000, '50 initial connections');
      assert.ok(maxPerSecond(scheduler.startLog) <= 26, `initial rate ${maxPerSecond(scheduler.startLog)}/s`);
      const startsBefore = scheduler.startLog.length;
      assert.equal(startsBefore, 50);

      await h.restart();
      await until(() => disconnected.size === 50, 10000, 'all disconnects');
      await until(() => [...connected.values()].every((n) => n === 2), 30000, 'all 50 reconnected');
      const reconnectStarts = scheduler.startLog.slice(startsBefore);
      assert.ok(reconnectStarts.length >= 50);
      assert.ok(maxPerSecond(reconnectStarts) <= 26, `reconnect rate ${maxPerSecond(reconnectStarts)}/s`);
      for (const k of pool.keys()) assert.equal(pool.get(k)!.status, 'connected');
      // Same nicks as before (deterministic), each connected exactly once more.
      assert.deepEqual(
        pool
          .keys()
          .map((k) => pool.get(k)!.connection.nick)
          .sort(),
        Array.from({ length: 50 }, (_, i) => `mass${i}`).sort(),
      );
    } finally {
      await pool.shutdown();
    }
  });

  it('messages sent while disconnected are delivered in order after reconnect, none lost', async () => {
    const scheduler = new ConnectScheduler({ connectsPerSecond: 20, maxConcurrent: 5 });
    const undelivered: string[] = [];
    const pool = new IrcConnectionPool({
      server: { host: h.host, port: h.port, flood: { burst: 3, ratePerSecond: 20 } },
      scheduler,
      reconnectDelay: reconnectDelay({ firstRetryMaxMs: 100, baseMs: 200, maxMs: 1000 }),
      onUndelivered: (_k, m, reason) => undelivered.push(`${m.text}: ${reason}`),
    });
    try {
      const c = pool.acquire('@sender:hs', { nick: 'sender', username: 'snd', realname: 'x' });
      await c.join('#queue');
      await until(() => c.status === 'connected', 10000, 'connect');
      // Sent while connected: a burst that is still in the flood queue when the server dies.
      const early = Array.from({ length: 10 }, (_, i) => c.say('#queue', `early ${i}`));
      scheduler.pause(); // hold reconnects until the witness is back in the channel
      await h.stop();
      await until(() => c.status !== 'connected', 5000, 'disconnect');
      const late = Array.from({ length: 10 }, (_, i) => c.say('#queue', `late ${i}`));
      await h.start();
      const obs = await connectObserver(h, 'witness');
      await obs.join('#queue');
      const from = obs.lines.length;
      scheduler.resume();
      const reports = await Promise.all([...early, ...late]);
      await obs.waitFor(() => obs.lines.slice(from).filter((l) => /PRIVMSG #queue :late 9$/.test(l)).length > 0, 10000, from);
      const got = obs.lines
        .slice(from)
        .filter((l) => / PRIVMSG #queue :/.test(l))
        .map((l) => l.slice(l.indexOf('PRIVMSG #queue :') + 16));
      // Early lines written before the crash may have been lost in the dying server's buffers;
      // every line not written then is resent, and order is preserved.
      const expectedTail = Array.from({ length: 10 }, (_, i) => `late ${i}`);
      assert.deepEqual(got.slice(-10), expectedTail);
      const earlyGot = got.slice(0, -10);
      assert.deepEqual(
        earlyGot,
        [...earlyGot].sort((a, b) => Number(a.split(' ')[1]) - Number(b.split(' ')[1])),
      );
      assert.ok(
        reports.every((r) => r.delivered),
        JSON.stringify(reports.filter((r) => !r.delivered)),
      );
      assert.deepEqual(undelivered, []);
      await obs.close();
    } finally {
      await pool.shutdown();
    }
  });

  it('a K-lined user fails fatally, is not retried, and queued messages are reported undelivered', async () => {
    const undelivered: string[] = [];
    const failed: string[] = [];
    const pool = new IrcConnectionPool({
      server: { host: h.host, port: h.port },
      scheduler: { connectsPerSecond: 20 },
      reconnectDelay: reconnectDelay({ firstRetryMaxMs: 50, baseMs: 50, maxMs: 100 }),
      onUndelivered: (_k, m, reason) => undelivered.push(`${m.text}|${reason}`),
    });
    pool.on('failed', (k, reason) => failed.push(`${k}:${reason.kind}`));
    try {
      const c = pool.acquire('@bad:hs', { nick: 'badguy', username: 'klined', realname: 'x' });
      const pending = c.say('#x', 'queued before the ban');
      const report = await pending;
      assert.equal(report.delivered, false);
      assert.match(report.reason ?? '', /banned/);
      await sleep(1000);
      assert.equal(c.status, 'failed');
      assert.equal(c.connectAttempts, 1, 'never retried');
      assert.deepEqual(failed, ['@bad:hs:banned']);
      assert.equal(undelivered.length, 1);
      const after = await c.say('#x', 'after');
      assert.equal(after.delivered, false);
    } finally {
      await pool.shutdown();
    }
  });

  it('a KICK read after the user asked to re-join does not make the bridge forget the channel', async () => {
    const pool = new IrcConnectionPool({
      server: { host: h.host, port: h.port, flood: { ratePerSecond: 20 } },
      scheduler: { connectsPerSecond: 50 },
      reconnectDelay: reconnectDelay(),
    });
    const op = await connectObserver(h, 'raceOp');
    try {
      await op.join('#race'); // first in: operator
      const c = pool.acquire('@racer:hs', { nick: 'racer', username: 'r', realname: 'x' });
      await until(() => c.status === 'connected', 10000, 'connect');
      let from = op.lines.length;
      await c.join('#race');
      await op.waitFor((l) => /:racer!\S+ JOIN :?#race/.test(l), 5000, from);
      // The op kicks; before the bridge's connection reads the KICK (the event loop is busy), the
      // user re-joins from Matrix. The KICK it then reads predates that JOIN.
      from = op.lines.length;
      op.raw('KICK #race racer :out');
      const busyUntil = Date.now() + 300;
      while (Date.now() < busyUntil) {
        /* the KICK reaches racer's socket unread */
      }
      void c.join('#race');
      await op.waitFor((l) => /:racer!\S+ JOIN :?#race/.test(l), 5000, from);
      await sleep(100);
      assert.ok(c.channels.has('#race'), 'the re-joined channel is still wanted');
      // The user's later leave therefore reaches IRC.
      from = op.lines.length;
      await c.part('#race', 'bye');
      await op.waitFor((l) => /:racer!\S+ PART #race/.test(l), 5000, from);
      // A KICK with no re-join pending is final.
      await c.join('#race');
      await op.waitFor((l) => /:racer!\S+ JOIN :?#race/.test(l), 5000, from);
      op.raw('KICK #race racer :again');
      await until(() => !c.channels.has('#race'), 5000, 'channel forgotten after a plain KICK');
    } finally {
      await op.close();
      await pool.shutdown();
    }
  });

  it('a KICK that follows a re-join the server ignored (the user was still in) is final, however soon it comes', async () => {
    const pool = new IrcConnectionPool({
      server: { host: h.host, port: h.port, flood: { ratePerSecond: 20 } },
      scheduler: { connectsPerSecond: 50 },
      reconnectDelay: reconnectDelay(),
    });
    const op = await connectObserver(h, 'raceOp2');
    try {
      await op.join('#race2');
      const c = pool.acquire('@racer2:hs', { nick: 'racer2', username: 'r', realname: 'x' });
      await until(() => c.status === 'connected', 10000, 'connect');
      let from = op.lines.length;
      await c.join('#race2');
      await op.waitFor((l) => /:racer2!\S+ JOIN :?#race2/.test(l), 5000, from);
      await sleep(200);
      // Joining again while in the channel: the server ignores it. The KICK comes after it.
      from = op.lines.length;
      await c.join('#race2');
      await sleep(100);
      op.raw('KICK #race2 racer2 :now');
      await op.waitFor((l) => /KICK #race2 racer2/.test(l), 5000, from);
      await until(() => !c.channels.has('#race2'), 3000, 'channel forgotten though the KICK came right after a re-join');
      // Nothing re-joins it after a reconnect.
      c.connection.destroySocket();
      await until(() => c.status === 'connected', 10000, 'reconnect');
      await sleep(500);
      assert.ok(!op.lines.slice(from).some((l) => /:racer2!\S+ JOIN :?#race2/.test(l)), op.lines.slice(from).join('\n'));
    } finally {
      await op.close();
      await pool.shutdown();
    }
  });

  it('at maxClients the least recently active client is evicted (one)', async () => {
    const evicted: string[] = [];
    const pool = new IrcConnectionPool({
      server: { host: h.host, port: h.port },
      maxClients: 2,
      scheduler: { connectsPerSecond: 50 },
      reconnectDelay: reconnectDelay(),
    });
    pool.on('evicted', (k, why) => evicted.push(`${k}:${why}`));
    try {
      const a = pool.acquire('a', { nick: 'evA', username: 'e', realname: 'x' });
      const b = pool.acquire('b', { nick: 'evB', username: 'e', realname: 'x' });
      await until(() => a.status === 'connected' && b.status === 'connected', 10000, 'a and b');
      await sleep(10);
      await b.say('evA', 'b is active');
      pool.acquire('c', { nick: 'evC', username: 'e', realname: 'x' });
      assert.deepEqual(evicted, ['a:client_limit']);
      assert.deepEqual(pool.keys().sort(), ['b', 'c']);
      assert.equal(a.status, 'stopped');
    } finally {
      await pool.shutdown();
    }
  });
});
