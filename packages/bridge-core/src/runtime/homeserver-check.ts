/**
 * The start-up round trip with the homeserver, in the background so the
 * bridge never blocks on a homeserver that starts later than it does.
 *
 * It asks the homeserver to ping us back (Matrix 1.7 appservice ping), which
 * proves both directions at once: our as_token and URL (we reach it) and its
 * hs_token and our registration URL (it reaches us). Each failure gets a log
 * line that says what to fix; a rejected as_token is fatal and reported once.
 *
 * Homeservers older than Matrix 1.7 have no ping. They say so with
 * `M_UNRECOGNIZED`, but not always with 404: Synapse before 1.7x answers an
 * unknown endpoint 400. Any 4xx with that errcode therefore means "not
 * supported", and the as_token is checked with `whoami` instead, once (the
 * homeserver → bridge direction then goes unchecked, and the log says so).
 */
import type { Intent } from '../matrix/intent';
import { MatrixError } from '../util/matrix-error';
import { MatrixTokenError } from '../matrix/http-client';
import { backoffDelay, type BackoffPolicy } from '../util/backoff';
import type { Logger } from '../logging/logger';

export interface HomeserverCheckOptions {
  bot: Intent;
  appserviceId: string;
  homeserverUrl: string;
  log: Logger;
  /** Called once when the homeserver rejects our as_token: the bridge cannot work. */
  onFatal(err: Error): void;
  backoff?: BackoffPolicy;
}

/** Why the homeserver could not reach us, in the operator's terms. */
function explain(err: MatrixError): string {
  switch (err.errcode) {
    case 'M_URL_NOT_SET':
      return 'the registration has no url: the homeserver cannot push events to the bridge';
    case 'M_CONNECTION_FAILED':
      return 'the homeserver cannot connect to the bridge: check `url` in the registration and the listener address';
    case 'M_CONNECTION_TIMEOUT':
      return 'the homeserver timed out reaching the bridge: check `url` in the registration and firewalls';
    case 'M_BAD_STATUS':
      return "the bridge refused the homeserver's call: the hs_token in the homeserver's copy of the registration differs from ours";
    case 'M_FORBIDDEN':
      return 'the homeserver says this as_token belongs to another appservice: check `id` in the registration';
    default:
      return `${err.errcode}: ${err.message}`;
  }
}

export type HomeserverCheckOutcome = 'ok' | 'fatal' | 'unsupported';

export class HomeserverCheck {
  private stopped = false;
  private timer?: NodeJS.Timeout;
  /** The homeserver has no appservice ping: later rounds only retry the whoami. */
  private pingUnsupported = false;
  private settle!: (outcome: HomeserverCheckOutcome) => void;
  /** Resolves once the check has a final answer (it keeps retrying until then). */
  readonly settled = new Promise<HomeserverCheckOutcome>((resolve) => {
    this.settle = resolve;
  });

  constructor(private readonly opts: HomeserverCheckOptions) {}

  start(): void {
    void this.attempt(0);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private async attempt(n: number): Promise<void> {
    if (this.stopped) return;
    const { bot, appserviceId, log } = this.opts;
    try {
      await bot.ensureRegistered();
      if (!this.pingUnsupported) {
        try {
          // One attempt per round: this loop owns the retry schedule (and the log line).
          const { duration_ms } = await bot.ping(appserviceId, `causeway-startup-${Date.now()}`, { maxRetries: 0 });
          log.info(`homeserver round trip OK: it reached the bridge in ${duration_ms} ms`);
          this.settle('ok');
          return;
        } catch (err) {
          if (!isUnrecognized(err)) throw err;
          this.pingUnsupported = true;
        }
      }
      const me = await bot.whoami({ maxRetries: 0 });
      if (me.user_id !== bot.userId) {
        log.warn(
          `the homeserver says the as_token belongs to ${me.user_id}, not ${bot.userId}: check sender_localpart in the homeserver's copy of the registration`,
        );
      }
      log.info(
        'the homeserver does not support the appservice ping (Matrix < 1.7): the as_token was checked with whoami; ' +
          'whether the homeserver can reach the bridge is not checked (watch for transactions arriving)',
      );
      this.settle('unsupported');
    } catch (err) {
      if (err instanceof MatrixTokenError) {
        log.error(`the homeserver rejected the as_token: ${err.message}`);
        this.opts.onFatal(err);
        this.settle('fatal');
        return;
      }
      const why =
        err instanceof MatrixError && err.status !== 0
          ? explain(err)
          : `cannot reach the homeserver at ${this.opts.homeserverUrl} (${String(err)})`;
      const delay = backoffDelay(n, this.opts.backoff ?? { baseMs: 2_000, maxMs: 60_000, maxRetries: Infinity });
      log.warn(`homeserver check failed: ${why}; retrying in ${Math.round(delay / 1000)} s`);
      this.timer = setTimeout(() => void this.attempt(n + 1), delay);
      this.timer.unref();
    }
  }
}

/** "No such endpoint", as homeservers of every age say it: M_UNRECOGNIZED with 404, 405 or (Synapse < 1.7x) 400. */
function isUnrecognized(err: unknown): boolean {
  return err instanceof MatrixError && err.errcode === 'M_UNRECOGNIZED' && err.status >= 400 && err.status < 500;
}
