// Slack request signing (v0): `v0=` + hex HMAC-SHA256 of "v0:<timestamp>:<raw body>" keyed
// with the app's signing secret, sent with X-Slack-Request-Timestamp. Receivers refuse
// timestamps more than 300 s from their clock.
import { createHmac } from 'node:crypto';

export function slackSignature(signingSecret: string, timestamp: number | string, body: string | Buffer): string {
  const hmac = createHmac('sha256', signingSecret);
  hmac.update(`v0:${timestamp}:`);
  hmac.update(body);
  return `v0=${hmac.digest('hex')}`;
}

/** Headers of a signed request sent at `timestamp` (unix seconds). */
export function signedHeaders(
  signingSecret: string,
  body: string | Buffer,
  timestamp = Math.floor(Date.now() / 1000),
): Record<string, string> {
  return {
    'x-slack-request-timestamp': String(timestamp),
    'x-slack-signature': slackSignature(signingSecret, timestamp, body),
  };
}
