// The Slack bridge's own Prometheus series (`causeway_slack_*`, through the contract's
// ConnectorMetrics; active users and rooms per workspace are the core's `*_by_network` series):
// Web API calls and errors by method and token kind, rate-limit waits, and how long a Slack event
// took to reach Matrix. docs/slack-metrics.md describes them.
import type { ConnectorCounter, ConnectorHistogram, ConnectorMetrics } from '@causeway/bridge-core';

export type TokenKind = 'bot' | 'user';

export interface SlackMetrics {
  apiCalls: ConnectorCounter<'workspace' | 'method' | 'token'>;
  apiErrors: ConnectorCounter<'workspace' | 'method' | 'error'>;
  rateLimitWaits: ConnectorCounter<'workspace' | 'method'>;
  rateLimitWaitSeconds: ConnectorHistogram<'workspace' | 'method'>;
  eventToMatrix: ConnectorHistogram<'workspace' | 'event'>;
}

export function slackMetrics(m: ConnectorMetrics): SlackMetrics {
  return {
    apiCalls: m.counter(
      'api_calls_total',
      'Slack Web API calls made, by workspace, method and token kind (bot, or a puppet user token); the SDK retrying within one call counts once.',
      ['workspace', 'method', 'token'],
    ),
    apiErrors: m.counter(
      'api_errors_total',
      'Slack Web API calls that failed, by workspace, method and error (the Slack error code such as channel_not_found, ratelimited, http_<status>, or request_error when no answer came).',
      ['workspace', 'method', 'error'],
    ),
    rateLimitWaits: m.counter(
      'rate_limit_waits_total',
      'Times a Slack call waited out a rate limit (HTTP 429 and Retry-After) before being tried again, by workspace and method.',
      ['workspace', 'method'],
    ),
    rateLimitWaitSeconds: m.histogram(
      'rate_limit_wait_seconds',
      'How long each rate-limit wait was (the Retry-After Slack asked for).',
      ['workspace', 'method'],
      [0.5, 1, 2, 5, 10, 30, 60, 120],
    ),
    eventToMatrix: m.histogram(
      'event_to_matrix_seconds',
      "From a Slack event's own timestamp to the bridge having applied it to Matrix, for events that changed something on Matrix, by event type.",
      ['workspace', 'event'],
      [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    ),
  };
}

/** The `error` label of a failed call: the Slack error code, else what kind of failure it was. */
export function errorLabel(err: unknown): string {
  const e = err as { code?: unknown; data?: { error?: unknown }; statusCode?: unknown } | undefined;
  if (e?.code === 'slack_webapi_rate_limited_error') return 'ratelimited';
  const code = e?.data?.error;
  if (typeof code === 'string' && /^[a-z0-9_.]{1,64}$/.test(code)) return code;
  if (e?.code === 'slack_webapi_http_error' && typeof e.statusCode === 'number') return `http_${e.statusCode}`;
  if (e?.code === 'slack_webapi_request_error') return 'request_error';
  return 'other';
}

/** A send waited `delayMs` for a rate limit (the send queue's own wait: its client hands 429s back). */
export function countRateLimitWait(ws: { metrics: SlackMetrics; name: string }, method: string, delayMs: number): void {
  const labels = { workspace: ws.name, method };
  ws.metrics.rateLimitWaits.inc(labels);
  ws.metrics.rateLimitWaitSeconds.observe(labels, delayMs / 1000);
}
