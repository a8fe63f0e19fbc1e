/**
 * Sub-millisecond timers that do not spin. libuv counts timers in whole milliseconds, so
 * setTimeout(2) fires 2–3 ms later and an emulated 2 ms latency becomes ~2.5 ms. Waiting out the
 * last millisecond with setImmediate turns is precise but keeps a core busy for as long as any
 * request waits: on a 2-core machine that core is taken from the bridge under test.
 *
 * Here one helper thread sleeps in Atomics.wait (a futex with a microsecond timeout) until the
 * earliest deadline and posts the expired timers back; the waiting thread's event loop stays idle
 * until the message arrives. Deadlines are epoch milliseconds (performance.timeOrigin +
 * performance.now()), the same clock on every thread.
 */
import { Worker, MessageChannel, type MessagePort } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';

/** The helper thread (plain JS, so it needs no loader). */
const THREAD_SOURCE = `
const { workerData, receiveMessageOnPort } = require('node:worker_threads');
const { performance } = require('node:perf_hooks');
const wake = new Int32Array(workerData.wake);
const port = workerData.port;
const now = () => performance.timeOrigin + performance.now();
const due = []; // [at, id] pairs, kept sorted by at
for (;;) {
  const seen = Atomics.load(wake, 0);
  for (let m; (m = receiveMessageOnPort(port));) {
    const [at, id] = m.message;
    let i = due.length;
    while (i > 0 && due[i - 1][0] > at) i--;
    due.splice(i, 0, [at, id]);
  }
  const t = now();
  let n = 0;
  while (n < due.length && due[n][0] <= t) n++;
  if (n) port.postMessage(due.splice(0, n).map((d) => d[1]));
  const wait = due.length ? due[0][0] - now() : Infinity;
  if (wait > 0) Atomics.wait(wake, 0, seen, wait === Infinity ? undefined : wait);
}
`;

class TimerThread {
  private readonly wake = new Int32Array(new SharedArrayBuffer(4));
  private readonly port: MessagePort;
  private readonly waiting = new Map<number, () => void>();
  private nextId = 1;

  constructor() {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    const worker = new Worker(THREAD_SOURCE, { eval: true, workerData: { wake: this.wake.buffer, port: port2 }, transferList: [port2] });
    worker.unref();
    this.port.on('message', (ids: number[]) => {
      for (const id of ids) {
        const resolve = this.waiting.get(id);
        this.waiting.delete(id);
        resolve?.();
      }
      if (this.waiting.size === 0) this.port.unref();
    });
    this.port.unref();
  }

  at(deadline: number): { promise: Promise<void>; cancel(): void } {
    const id = this.nextId++;
    const promise = new Promise<void>((resolve) => this.waiting.set(id, resolve));
    this.port.ref(); // a pending timer keeps the process alive, as setTimeout does
    this.port.postMessage([deadline, id]);
    Atomics.add(this.wake, 0, 1);
    Atomics.notify(this.wake, 0);
    return {
      promise,
      cancel: () => {
        const resolve = this.waiting.get(id);
        this.waiting.delete(id);
        if (this.waiting.size === 0) this.port.unref();
        resolve?.();
      },
    };
  }
}

let thread: TimerThread | undefined;

/** Epoch milliseconds with sub-millisecond resolution (comparable across threads). */
export const preciseNow = (): number => performance.timeOrigin + performance.now();

/** Resolves at `deadline` (epoch ms, see preciseNow) to within ~0.1 ms, or at once when `signal` aborts. */
export function preciseSleepUntil(deadline: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted || deadline <= preciseNow()) return Promise.resolve();
  thread ??= new TimerThread();
  const timer = thread.at(deadline);
  if (!signal) return timer.promise;
  const onAbort = () => timer.cancel();
  signal.addEventListener('abort', onAbort, { once: true });
  return timer.promise.finally(() => signal.removeEventListener('abort', onAbort));
}
