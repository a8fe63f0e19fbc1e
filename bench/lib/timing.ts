/** Clocks, pacing and waiting, shared by the bench scripts and their child processes. */

/** Wall clock with sub-millisecond resolution, comparable across processes on one host. */
export const now = (): number => performance.timeOrigin + performance.now();

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Paces `count` sends at `rate` per second (checked every 2 ms; no bursts beyond what is due). Returns seconds taken. */
export async function paced(count: number, rate: number, send: (i: number) => void): Promise<number> {
  const start = now();
  let i = 0;
  while (i < count) {
    const due = Math.min(count, Math.floor(((now() - start) / 1000) * rate) + 1);
    while (i < due) send(i++);
    if (i < count) await sleep(2);
  }
  return (now() - start) / 1000;
}

/** Polls `check` until it holds; throws naming `what` after `timeoutMs`. */
export async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Waits until `count()` reaches n or the deadline passes; returns the last count (a shortfall is a loss, not an error). */
export async function collect(count: () => Promise<number>, n: number, deadlineMs: number): Promise<number> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const c = await count();
    if (c >= n || Date.now() >= deadline) return c;
    await sleep(100);
  }
}
