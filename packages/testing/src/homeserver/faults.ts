// Fault injection on the client-server side: the emulator can answer like an
// overloaded or broken Synapse (429s, 5xx, slowness, hangs, dropped connections)
// so bridges' retry/backoff code is tested against the real failure shapes.
//
// Targeting: an endpoint key (see router.ts, e.g. "PUT /rooms/{roomId}/send/{eventType}/{txnId}"),
// a predicate over the request, or nothing (= every request). Requests made by
// TestUser helpers are exempt unless the fault sets `includeTestClients`.
import { normaliseKey } from './router';

export interface RequestInfo {
  method: string;
  /** Endpoint key, or "<METHOD> <unrecognized>" for unknown paths. */
  key: string;
  /** Raw path (no query string). */
  path: string;
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
  fromTestClient: boolean;
}

export type EndpointMatcher = string | ((req: RequestInfo) => boolean);

export type FaultKind =
  | { kind: 'rateLimit'; retryAfterMs: number; omitHeader?: boolean; omitBodyField?: boolean }
  | { kind: 'error'; status: number; errcode: string; message?: string }
  | { kind: 'timeout'; holdMs?: number; then?: 'reset' | 'continue'; until?: Promise<void> }
  | { kind: 'reset' };

export interface FaultOptions {
  /** How many matching requests to fail (default 1; Infinity for "until cleared"). */
  times?: number;
  /** Let this many matching requests through untouched first (default 0). */
  after?: number;
  /** Also hit requests from TestUser helpers (default false). */
  includeTestClients?: boolean;
}

export interface FaultHandle {
  /** Faults still to fire. */
  readonly remaining: number;
  /** Faults fired so far. */
  readonly triggered: number;
  cancel(): void;
}

interface Rule {
  match: (r: RequestInfo) => boolean;
  fault: FaultKind;
  remaining: number;
  skip: number;
  triggered: number;
  includeTestClients: boolean;
}

interface LatencyRule {
  match: (r: RequestInfo) => boolean;
  ms: number;
  jitterMs: number;
  endpoint: EndpointMatcher | undefined;
}

function toPredicate(endpoint: EndpointMatcher | undefined): (r: RequestInfo) => boolean {
  if (endpoint === undefined) return () => true;
  if (typeof endpoint === 'function') return endpoint;
  const key = normaliseKey(endpoint);
  return (r) => r.key === key;
}

export class FaultInjector {
  private rules: Rule[] = [];
  private latency: LatencyRule[] = [];
  private globalLatency = { ms: 0, jitterMs: 0 };

  /** Generic form; the helpers below cover the usual cases. */
  inject(endpoint: EndpointMatcher | undefined, fault: FaultKind, opts: FaultOptions = {}): FaultHandle {
    const rule: Rule = {
      match: toPredicate(endpoint),
      fault,
      remaining: opts.times ?? 1,
      skip: opts.after ?? 0,
      triggered: 0,
      includeTestClients: opts.includeTestClients ?? false,
    };
    this.rules.push(rule);
    const rules = this.rules;
    return {
      get remaining() {
        return rule.remaining;
      },
      get triggered() {
        return rule.triggered;
      },
      cancel() {
        rule.remaining = 0;
        const i = rules.indexOf(rule);
        if (i >= 0) rules.splice(i, 1);
      },
    };
  }

  /** N × 429 M_LIMIT_EXCEEDED with `retry_after_ms` and a `Retry-After` header (seconds, rounded up). */
  rateLimit(
    endpoint?: EndpointMatcher,
    opts: FaultOptions & { retryAfterMs?: number; omitHeader?: boolean; omitBodyField?: boolean } = {},
  ): FaultHandle {
    return this.inject(
      endpoint,
      { kind: 'rateLimit', retryAfterMs: opts.retryAfterMs ?? 1000, omitHeader: opts.omitHeader, omitBodyField: opts.omitBodyField },
      opts,
    );
  }

  /** N × 5xx (default 500) with errcode M_UNKNOWN. */
  serverError(endpoint?: EndpointMatcher, opts: FaultOptions & { status?: number; errcode?: string; message?: string } = {}): FaultHandle {
    return this.inject(
      endpoint,
      { kind: 'error', status: opts.status ?? 500, errcode: opts.errcode ?? 'M_UNKNOWN', message: opts.message },
      opts,
    );
  }

  /** Arbitrary error response (any status/errcode), e.g. a 403 M_FORBIDDEN or 502 from a proxy. */
  error(
    endpoint: EndpointMatcher | undefined,
    status: number,
    errcode: string,
    opts: FaultOptions & { message?: string } = {},
  ): FaultHandle {
    return this.inject(endpoint, { kind: 'error', status, errcode, message: opts.message }, opts);
  }

  /**
   * Hold N requests unanswered for `holdMs`, or forever (until stop) if omitted. After
   * the hold the connection is dropped (`then: 'reset'`, default) or the request is
   * processed normally (`then: 'continue'`: a slow answer the client may already
   * have given up on — its effects still happen, like a real overloaded server).
   */
  timeout(endpoint?: EndpointMatcher, opts: FaultOptions & { holdMs?: number; then?: 'reset' | 'continue' } = {}): FaultHandle {
    return this.inject(endpoint, { kind: 'timeout', holdMs: opts.holdMs, then: opts.then }, opts);
  }

  /**
   * Hold N requests until `release()`, then handle them as usual: for a spec that needs several
   * requests in flight at once however slowly the machine starts them (no race with a timer).
   */
  hold(endpoint?: EndpointMatcher, opts: FaultOptions = {}): FaultHandle & { release(): void } {
    let open!: () => void;
    const until = new Promise<void>((resolve) => (open = resolve));
    const handle = this.inject(endpoint, { kind: 'timeout', then: 'continue', until }, opts);
    return Object.assign(handle, {
      release() {
        handle.cancel();
        open();
      },
    });
  }

  /** Destroy the socket of N requests without answering (client sees ECONNRESET / "socket hang up"). */
  reset(endpoint?: EndpointMatcher, opts: FaultOptions = {}): FaultHandle {
    return this.inject(endpoint, { kind: 'reset' }, opts);
  }

  /**
   * Add `ms` (± up to `jitterMs`) to every matching request. Without an endpoint it
   * sets the global latency; with one it sets (replaces) that endpoint's latency,
   * which is added on top of the global one. `ms = 0` clears. The handler runs
   * `ms` after the request arrived (measured precisely, not with a bare timer),
   * so a request answers in `ms` plus the emulator's own processing time.
   */
  setLatency(ms: number, endpoint?: EndpointMatcher, jitterMs = 0): void {
    if (endpoint === undefined) {
      this.globalLatency = { ms, jitterMs };
      return;
    }
    this.latency = this.latency.filter((l) => l.endpoint !== endpoint);
    if (ms > 0 || jitterMs > 0) this.latency.push({ match: toPredicate(endpoint), ms, jitterMs, endpoint });
  }

  /** Remove every fault and all latency. */
  clear(): void {
    this.rules.length = 0;
    this.latency = [];
    this.globalLatency = { ms: 0, jitterMs: 0 };
  }

  /** Number of faults still armed. */
  pending(): number {
    return this.rules.reduce((n, r) => n + r.remaining, 0);
  }

  /** @internal latency to apply to this request. */
  latencyFor(r: RequestInfo): number {
    if (r.fromTestClient) return 0;
    let ms = jitter(this.globalLatency.ms, this.globalLatency.jitterMs);
    for (const l of this.latency) if (l.match(r)) ms += jitter(l.ms, l.jitterMs);
    return ms;
  }

  /** @internal consumes and returns the fault for this request, if any. */
  take(r: RequestInfo): FaultKind | undefined {
    if (this.rules.length === 0) return undefined;
    for (let i = 0; i < this.rules.length; i++) {
      const rule = this.rules[i];
      if (rule.remaining <= 0) continue;
      if (r.fromTestClient && !rule.includeTestClients) continue;
      if (!rule.match(r)) continue;
      if (rule.skip > 0) {
        rule.skip--;
        continue;
      }
      rule.remaining--;
      rule.triggered++;
      if (rule.remaining <= 0) this.rules.splice(i, 1);
      return rule.fault;
    }
    return undefined;
  }
}

function jitter(ms: number, j: number): number {
  return j > 0 ? Math.max(0, ms + (Math.random() * 2 - 1) * j) : ms;
}
