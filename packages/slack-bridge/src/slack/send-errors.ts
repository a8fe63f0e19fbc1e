// How a failed Slack Web API call should be retried, read from the errors @slack/web-api throws
// (by their `code` strings, so this needs no SDK import). The connector's client must be built
// with `rejectRateLimitedCalls: true` and `retryConfig: { retries: 0 }` so that 429s and
// transient failures reach the send queue instead of being retried (out of order) by the SDK.

export type SendFailure =
  /** HTTP 429 / `ratelimited`: wait `retryAfterMs`; `scope` says who waits (default: the method). */
  | { type: 'ratelimited'; retryAfterMs: number; scope?: 'method' | 'key' }
  /** Worth retrying with backoff (network, 5xx, Slack-side trouble). */
  | { type: 'transient'; retryAfterMs?: number }
  /** Retrying cannot help (`channel_not_found`, `not_in_channel`, `invalid_auth`, bad arguments). */
  | { type: 'permanent' };

/** Platform error codes that describe Slack's trouble rather than the request. */
const TRANSIENT_PLATFORM_ERRORS = new Set(['internal_error', 'fatal_error', 'service_unavailable', 'request_timeout', 'timeout']);

/** Node network failures worth a retry. */
const TRANSIENT_SYSTEM_ERRORS = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);

const DEFAULT_RETRY_AFTER_MS = 1000;

function seconds(v: unknown): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN;
  return Number.isFinite(n) && n >= 0 ? n * 1000 : undefined;
}

function header(headers: unknown, name: string): unknown {
  if (!headers || typeof headers !== 'object') return undefined;
  for (const [k, v] of Object.entries(headers as Record<string, unknown>)) if (k.toLowerCase() === name) return v;
  return undefined;
}

/** Classifies an error thrown by a @slack/web-api call. */
export function classifySlackError(err: unknown): SendFailure {
  if (!err || typeof err !== 'object') return { type: 'permanent' };
  const e = err as { code?: unknown; retryAfter?: unknown; data?: unknown; statusCode?: unknown; headers?: unknown; name?: unknown };
  switch (e.code) {
    case 'slack_webapi_rate_limited_error':
      return { type: 'ratelimited', retryAfterMs: seconds(e.retryAfter) ?? DEFAULT_RETRY_AFTER_MS };
    case 'slack_webapi_platform_error': {
      const data =
        e.data && typeof e.data === 'object' ? (e.data as { error?: unknown; response_metadata?: { retryAfter?: unknown } }) : {};
      if (data.error === 'ratelimited')
        return { type: 'ratelimited', retryAfterMs: seconds(data.response_metadata?.retryAfter) ?? DEFAULT_RETRY_AFTER_MS };
      return typeof data.error === 'string' && TRANSIENT_PLATFORM_ERRORS.has(data.error) ? { type: 'transient' } : { type: 'permanent' };
    }
    case 'slack_webapi_request_error':
      return { type: 'transient' };
    case 'slack_webapi_http_error': {
      const status = typeof e.statusCode === 'number' ? e.statusCode : 0;
      const retryAfterMs = seconds(header(e.headers, 'retry-after'));
      if (status === 429) return { type: 'ratelimited', retryAfterMs: retryAfterMs ?? DEFAULT_RETRY_AFTER_MS };
      if (status >= 500 || status === 408) return retryAfterMs !== undefined ? { type: 'transient', retryAfterMs } : { type: 'transient' };
      return { type: 'permanent' };
    }
  }
  if (typeof e.code === 'string' && TRANSIENT_SYSTEM_ERRORS.has(e.code)) return { type: 'transient' };
  if (e.name === 'AbortError' || e.name === 'TimeoutError') return { type: 'transient' };
  // Anything else is a bug or a refusal; retrying forever would block the channel behind it.
  return { type: 'permanent' };
}
