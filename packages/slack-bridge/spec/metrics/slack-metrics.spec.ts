import { strict as assert } from 'node:assert';
import { WebAPIHTTPError, WebAPIPlatformError, WebAPIRateLimitedError, WebAPIRequestError } from '@slack/web-api';
import { errorLabel } from '../../src/metrics/slack-metrics';

describe('slack metrics: the error label of a failed call', () => {
  it('is the Slack error code, or the kind of failure', () => {
    assert.equal(errorLabel(new WebAPIPlatformError({ ok: false, error: 'channel_not_found' })), 'channel_not_found');
    assert.equal(errorLabel(new WebAPIRateLimitedError(3)), 'ratelimited');
    assert.equal(errorLabel(new WebAPIHTTPError(503, 'Service Unavailable', {})), 'http_503');
    assert.equal(errorLabel(new WebAPIRequestError(new Error('ECONNRESET'))), 'request_error');
    assert.equal(errorLabel(new Error('bug')), 'other');
  });

  it('never carries odd text into a label', () => {
    assert.equal(errorLabel(new WebAPIPlatformError({ ok: false, error: 'x"} 1\nfake_metric 2' })), 'other');
    assert.equal(errorLabel(new WebAPIPlatformError({ ok: false, error: 'a'.repeat(200) })), 'other');
  });
});
