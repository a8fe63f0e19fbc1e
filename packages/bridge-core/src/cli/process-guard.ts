/**
 * What the running bridge does with an error nothing else caught. Node's default ends the
 * process, and with it every network and user of the bridge, on the first one: a single bad line
 * from a peer was enough. Modules isolate their own failures (a connector's event observers, the
 * core's remote-event queue); what still reaches here is a bug, logged with its stack.
 *
 * - An unhandled rejection: the promise's work is over and nothing waits on it; nothing was left
 *   half-done on a stack. Logged; the bridge keeps running.
 * - An uncaught exception: the callback that threw stopped midway. Logged; the bridge keeps
 *   running, unless they come in a burst (BURST within BURST_WINDOW_MS), which is a loop that
 *   will not recover: it then exits with code 1, for a supervisor to restart it clean.
 */
import type { Logger } from '../logging/logger';

export const BURST = 10;
const BURST_WINDOW_MS = 60_000;

export interface ProcessGuardOptions {
  /** Where `uncaughtException` and `unhandledRejection` come from (the process). */
  source: NodeJS.EventEmitter;
  log: Logger;
  exit(code: number): void;
  now?: () => number;
}

const describeError = (e: unknown) => (e instanceof Error ? (e.stack ?? `${e.name}: ${e.message}`) : String(e));

/** Installs the handlers; returns a function that removes them. */
export function guardProcess(opts: ProcessGuardOptions): () => void {
  const now = opts.now ?? Date.now;
  let recent: number[] = [];
  const onRejection = (reason: unknown) => {
    opts.log.error('unhandled promise rejection (the bridge keeps running)', { err: describeError(reason) });
  };
  const onException = (err: unknown) => {
    const t = now();
    recent = [...recent.filter((x) => t - x < BURST_WINDOW_MS), t];
    if (recent.length >= BURST) {
      opts.log.error(`uncaught exception, ${recent.length} within ${BURST_WINDOW_MS / 1000} s: exiting`, { err: describeError(err) });
      opts.exit(1);
      return;
    }
    opts.log.error('uncaught exception (the bridge keeps running)', { err: describeError(err) });
  };
  opts.source.on('unhandledRejection', onRejection);
  opts.source.on('uncaughtException', onException);
  return () => {
    opts.source.off('unhandledRejection', onRejection);
    opts.source.off('uncaughtException', onException);
  };
}
