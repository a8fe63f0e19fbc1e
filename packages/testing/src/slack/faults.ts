// Failures a spec injects: for Web API calls, 429 storms with Retry-After, `{ok:false}`
// errors, non-200 statuses and dropped connections, each for a method (or every method, or a
// predicate over the caller) a number of times; for Socket Mode, acks the emulator ignores; for
// the Events API, bad signatures and stale timestamps on the next deliveries.
import type { TokenKind } from './scopes';

export interface CallInfo {
  method: string;
  appId?: string;
  teamId?: string;
  userId?: string;
  tokenKind?: TokenKind;
}

/** A method name, `*` for every method, or a predicate. */
export type CallMatcher = string | ((call: CallInfo) => boolean);

export type WebFault =
  | { kind: 'ratelimited'; retryAfter: number }
  | { kind: 'error'; error: string; extra?: Record<string, unknown> }
  | { kind: 'http'; status: number; body?: string }
  | { kind: 'reset' }
  /** The call takes effect, then the connection is cut before the answer (a lost answer). */
  | { kind: 'lost-answer' };

export interface FaultOptions {
  /** How many matching calls fail (default 1; Infinity until cancelled). */
  times?: number;
  /** Let this many matching calls through first. */
  after?: number;
}

export interface FaultHandle {
  readonly remaining: number;
  readonly triggered: number;
  cancel(): void;
}

interface Rule<F> {
  match: (x: CallInfo) => boolean;
  fault: F;
  remaining: number;
  skip: number;
  triggered: number;
}

function matcher(m: CallMatcher): (c: CallInfo) => boolean {
  if (typeof m === 'function') return m;
  return m === '*' ? () => true : (c) => c.method === m;
}

function handleOf(rules: Rule<unknown>[], rule: Rule<unknown>): FaultHandle {
  return {
    get remaining() {
      return rule.remaining;
    },
    get triggered() {
      return rule.triggered;
    },
    cancel() {
      const i = rules.indexOf(rule);
      if (i >= 0) rules.splice(i, 1);
    },
  };
}

export type SignatureFault = { kind: 'bad' } | { kind: 'stale'; skewSeconds: number };

export class Faults {
  private web: Rule<WebFault>[] = [];
  private acks: Rule<null>[] = [];
  private signatures: Rule<SignatureFault>[] = [];

  private add<F>(list: Rule<F>[], match: (c: CallInfo) => boolean, fault: F, opts: FaultOptions): FaultHandle {
    const rule: Rule<F> = { match, fault, remaining: opts.times ?? 1, skip: opts.after ?? 0, triggered: 0 };
    list.push(rule);
    return handleOf(list, rule);
  }

  private take<F>(list: Rule<F>[], info: CallInfo): F | undefined {
    for (const rule of list) {
      if (rule.remaining <= 0 || !rule.match(info)) continue;
      if (rule.skip > 0) {
        rule.skip--;
        continue;
      }
      rule.remaining--;
      rule.triggered++;
      return rule.fault;
    }
    return undefined;
  }

  /** HTTP 429, `Retry-After: <retryAfter>` and `ratelimited` (a storm with `times: Infinity`). */
  rateLimit(method: CallMatcher, opts: FaultOptions & { retryAfter?: number } = {}): FaultHandle {
    return this.add(this.web, matcher(method), { kind: 'ratelimited', retryAfter: opts.retryAfter ?? 1 }, opts);
  }

  /** HTTP 200 `{"ok":false,"error":error}`. */
  error(method: CallMatcher, error: string, opts: FaultOptions & { extra?: Record<string, unknown> } = {}): FaultHandle {
    return this.add(this.web, matcher(method), { kind: 'error', error, extra: opts.extra }, opts);
  }

  /** A non-200 answer such as Slack's 500/503 pages. */
  httpStatus(method: CallMatcher, status: number, opts: FaultOptions & { body?: string } = {}): FaultHandle {
    return this.add(this.web, matcher(method), { kind: 'http', status, body: opts.body }, opts);
  }

  /** The connection is dropped without an answer. */
  reset(method: CallMatcher, opts: FaultOptions = {}): FaultHandle {
    return this.add(this.web, matcher(method), { kind: 'reset' }, opts);
  }

  /** The call is carried out (a post is posted), then the connection is cut: the caller never learns it worked. */
  lostAnswer(method: CallMatcher, opts: FaultOptions = {}): FaultHandle {
    return this.add(this.web, matcher(method), { kind: 'lost-answer' }, opts);
  }

  takeWebFault(call: CallInfo): WebFault | undefined {
    return this.take(this.web, call);
  }

  /** Socket Mode acks for the app's next envelopes are ignored, so they are redelivered. */
  dropAcks(opts: FaultOptions & { appId?: string } = {}): FaultHandle {
    return this.add(this.acks, (c) => !opts.appId || c.appId === opts.appId, null, opts);
  }

  takeDroppedAck(appId: string): boolean {
    return this.take(this.acks, { method: 'ack', appId }) !== undefined;
  }

  /** The next Events API deliveries are signed with the wrong secret. */
  badSignature(opts: FaultOptions & { appId?: string } = {}): FaultHandle {
    return this.add(this.signatures, (c) => !opts.appId || c.appId === opts.appId, { kind: 'bad' }, opts);
  }

  /** The next Events API deliveries carry a timestamp `skewSeconds` (default 600) in the past. */
  staleTimestamp(opts: FaultOptions & { appId?: string; skewSeconds?: number } = {}): FaultHandle {
    return this.add(
      this.signatures,
      (c) => !opts.appId || c.appId === opts.appId,
      { kind: 'stale', skewSeconds: opts.skewSeconds ?? 600 },
      opts,
    );
  }

  takeSignatureFault(appId: string): SignatureFault | undefined {
    return this.take(this.signatures, { method: 'event', appId });
  }

  clear(): void {
    this.web.length = 0;
    this.acks.length = 0;
    this.signatures.length = 0;
  }
}
