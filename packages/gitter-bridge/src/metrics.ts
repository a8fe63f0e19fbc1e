/**
 * The Gitter bridge's own Prometheus series (`causeway_gitter_*`, through the contract's
 * ConnectorMetrics; the core already counts active users and rooms by network): API calls and
 * errors per account kind, rate-limit waits, stream reconnects and messages caught up after one.
 * docs/gitter-metrics.md describes them.
 */
import type { ConnectorCounter, ConnectorMetrics } from '@causeway/bridge-core';

export interface GitterMetrics {
  apiCalls: ConnectorCounter<'account'>;
  apiErrors: ConnectorCounter<'account' | 'kind'>;
  rateLimitWaits: ConnectorCounter<'account'>;
  streamReconnects: ConnectorCounter<'reason'>;
  catchUpMessages: ConnectorCounter;
  messages: ConnectorCounter<'direction'>;
}

export function gitterMetrics(m: ConnectorMetrics): GitterMetrics {
  return {
    apiCalls: m.counter('api_calls_total', 'Gitter REST requests sent (retries included), by account kind (relay or puppet).', ['account']),
    apiErrors: m.counter(
      'api_errors_total',
      'Gitter requests that failed, by account kind and error kind (unauthorized, forbidden, not_found, bad_request, edit_window, server, network).',
      ['account', 'kind'],
    ),
    rateLimitWaits: m.counter(
      'rate_limit_waits_total',
      'Gitter requests refused by the rate limit (429 or 403) and retried after the window ended.',
      ['account'],
    ),
    streamReconnects: m.counter('stream_reconnects_total', 'Room streams that ended and are reconnecting, by why they ended.', ['reason']),
    catchUpMessages: m.counter(
      'catch_up_messages_total',
      'Messages fetched through REST history after a stream (re)connected, i.e. sent while it was down.',
    ),
    messages: m.counter('messages_total', 'Messages bridged, by direction (gitter_to_matrix, matrix_to_gitter).', ['direction']),
  };
}
