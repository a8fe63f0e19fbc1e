/**
 * Whether the homeserver can be reached, as one shared answer. When it cannot
 * (a restart for an upgrade: connections refused, then 502s from the proxy in
 * front of it), everything that needs it waits here instead of each retrying
 * on its own: one prober at a time asks a cheap question (`probe`) on a
 * growing, jittered delay, and the first answer — the prober's or any other
 * request's — opens the gate for all of them at once.
 *
 * What counts as unreachable: see `isUnreachable`. A homeserver that answers
 * at all (2xx, 4xx, even a 500 from the handler) is reachable.
 */
import { MatrixError } from '../util/matrix-error';
import { backoffDelay, type BackoffPolicy } from '../util/backoff';
import type { Logger } from '../logging/logger';

/** Statuses a reverse proxy answers for a homeserver behind it that is down or restarting. */
const GATEWAY_DOWN = new Set([502, 503, 504]);

/** An error that says the homeserver did not answer (refused, reset, timed out, or a proxy in front of it said so). */
export function isUnreachable(err: unknown): boolean {
  return err instanceof MatrixError && (err.status === 0 || GATEWAY_DOWN.has(err.status));
}

export interface HomeserverGateOptions {
  /** One request that succeeds when the homeserver answers (no retries of its own). */
  probe(): Promise<unknown>;
  /** Delay between probes; default 1 s doubling to 30 s, with jitter. */
  backoff?: Omit<BackoffPolicy, 'maxRetries'>;
  log: Logger;
  /** Told each time the answer changes. */
  onChange?(reachable: boolean): void;
  random?: () => number;
}

export class HomeserverGate {
  private up = true;
  private since = Date.now();
  private waiters: Array<() => void> = [];
  private downListeners: Array<() => void> = [];
  private attempt = 0;
  private timer: NodeJS.Timeout | undefined;
  private probing = false;
  private stopped = false;
  private readonly backoff: BackoffPolicy;

  constructor(private readonly opts: HomeserverGateOptions) {
    this.backoff = { baseMs: 1000, maxMs: 30_000, ...opts.backoff, maxRetries: Infinity };
  }

  get reachable(): boolean {
    return this.up;
  }

  /** Resolves once the homeserver is reachable (at once when it is). */
  whenReachable(): Promise<void> {
    if (this.up) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Called each time the gate closes (to store what would otherwise wait in memory). */
  onDown(fn: () => void): void {
    this.downListeners.push(fn);
  }

  /** A request found the homeserver unreachable: close the gate and start probing. */
  reportDown(reason: string): void {
    if (this.stopped || !this.up) return;
    this.up = false;
    this.since = Date.now();
    this.attempt = 0;
    this.opts.log.warn('homeserver unreachable: remote events wait (stored) until it answers again', { reason });
    this.opts.onChange?.(false);
    for (const fn of this.downListeners) fn();
    this.schedule();
  }

  /** A request got an answer: the homeserver is reachable. */
  reportUp(): void {
    if (this.up) return;
    this.up = true;
    const downMs = Date.now() - this.since;
    this.since = Date.now();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.opts.log.info('homeserver reachable again', { downSeconds: Math.round(downMs / 1000) });
    this.opts.onChange?.(true);
    const w = this.waiters;
    this.waiters = [];
    for (const fn of w) fn();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    if (this.stopped || this.up || this.timer || this.probing) return;
    const delay = backoffDelay(this.attempt++, this.backoff, this.opts.random);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.runProbe();
    }, delay);
    this.timer.unref();
  }

  private async runProbe(): Promise<void> {
    if (this.stopped || this.up) return;
    this.probing = true;
    try {
      await this.opts.probe();
      this.probing = false;
      this.reportUp();
    } catch (err) {
      this.probing = false;
      // Anything but "no answer" means it answers (a 404 from a proxy path, say): let the work try.
      if (!isUnreachable(err)) this.reportUp();
      else this.schedule();
    }
  }
}
