import { strict as assert } from 'node:assert';
import { WebAPIHTTPError, WebAPIPlatformError, WebAPIRateLimitedError, WebAPIRequestError } from '@slack/web-api';
import { classifySlackError } from '../../src/slack/send-errors';

describe('slack Web API error classification', () => {
  it('rate limiting: the SDK error with its retryAfter seconds, a ratelimited platform error, an HTTP 429', () => {
    assert.deepEqual(classifySlackError(new WebAPIRateLimitedError(30)), { type: 'ratelimited', retryAfterMs: 30_000 });
    assert.deepEqual(
      classifySlackError(new WebAPIPlatformError({ ok: false, error: 'ratelimited', response_metadata: { retryAfter: 7 } })),
      { type: 'ratelimited', retryAfterMs: 7000 },
    );
    assert.deepEqual(classifySlackError(new WebAPIHTTPError(429, 'Too Many Requests', { 'Retry-After': '12' })), {
      type: 'ratelimited',
      retryAfterMs: 12_000,
    });
    assert.deepEqual(classifySlackError(new WebAPIHTTPError(429, 'Too Many Requests', {})), { type: 'ratelimited', retryAfterMs: 1000 });
  });

  it('transient: network errors, 5xx, Slack-side platform errors', () => {
    assert.deepEqual(classifySlackError(new WebAPIRequestError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))), {
      type: 'transient',
    });
    assert.deepEqual(classifySlackError(new WebAPIHTTPError(503, 'Service Unavailable', { 'retry-after': '3' })), {
      type: 'transient',
      retryAfterMs: 3000,
    });
    assert.deepEqual(classifySlackError(new WebAPIHTTPError(500, 'Internal', {})), { type: 'transient' });
    for (const error of ['internal_error', 'fatal_error', 'service_unavailable', 'request_timeout']) {
      assert.deepEqual(classifySlackError(new WebAPIPlatformError({ ok: false, error })), { type: 'transient' }, error);
    }
    assert.deepEqual(classifySlackError(Object.assign(new Error('x'), { code: 'ETIMEDOUT' })), { type: 'transient' });
  });

  it('permanent: request errors Slack will repeat, other HTTP statuses, unknown errors', () => {
    for (const error of ['channel_not_found', 'not_in_channel', 'invalid_auth', 'is_archived', 'msg_too_long', 'invalid_blocks']) {
      assert.deepEqual(classifySlackError(new WebAPIPlatformError({ ok: false, error })), { type: 'permanent' }, error);
    }
    assert.deepEqual(classifySlackError(new WebAPIHTTPError(404, 'Not Found', {})), { type: 'permanent' });
    for (const e of [new TypeError('bug'), undefined, null, 'string', 42, {}])
      assert.deepEqual(classifySlackError(e), { type: 'permanent' });
  });
});
