/**
 * Where the outcome of a Matrix → Gitter operation is awaited, by its `ref` (derived from the
 * Matrix event id), whichever account's queue settles it: the handler that queued it, a
 * redelivered event that finds it stored from the last run, or an operation moved from a
 * puppet whose token stopped working to the relay. Outcomes settled before anyone waits (a
 * queue resumed at start) are kept a while for the redelivered event that will ask. An optional
 * listener hears every outcome once, as it settles (the connector mirrors deliveries to a Gitter
 * room's other Matrix rooms from there).
 */
import type { SendOutcome } from './gitter';

const KEEP = 2000;

export class Outcomes {
  private readonly waiting = new Map<string, Array<(o: SendOutcome) => void>>();
  private readonly settled = new Map<string, SendOutcome>();

  constructor(private readonly onSettled?: (outcome: SendOutcome) => void) {}

  wait(ref: string): Promise<SendOutcome> {
    const done = this.settled.get(ref);
    if (done) return Promise.resolve(done);
    return new Promise((resolve) => {
      const list = this.waiting.get(ref) ?? [];
      list.push(resolve);
      this.waiting.set(ref, list);
    });
  }

  settle(ref: string, outcome: SendOutcome): void {
    this.onSettled?.(outcome);
    const list = this.waiting.get(ref);
    this.waiting.delete(ref);
    if (list) for (const resolve of list) resolve(outcome);
    else {
      this.settled.set(ref, outcome);
      if (this.settled.size > KEEP) this.settled.delete(this.settled.keys().next().value!);
    }
  }
}
