// Slack request signing for the Events API over HTTP: `X-Slack-Signature: v0=<hex>` where hex is
// HMAC-SHA256(signing secret, `v0:<X-Slack-Request-Timestamp>:<raw body bytes>`). Verification is
// over the raw bytes as received (never re-serialised JSON), compares in constant time, and
// refuses timestamps more than five minutes from local time so a captured request cannot be
// replayed later. A failure names its reason for logs and metrics; no reason carries the secret,
// the expected signature or the body.
import { createHmac, timingSafeEqual } from 'node:crypto';

export type SignatureFailure =
  | 'no_signing_secret'
  | 'missing_timestamp'
  | 'malformed_timestamp'
  | 'stale_timestamp'
  | 'missing_signature'
  | 'malformed_signature'
  | 'signature_mismatch';

export type SignatureResult = { ok: true } | { ok: false; reason: SignatureFailure };

/** A header as Node's `IncomingHttpHeaders` has it: repeated headers arrive as an array. */
type HeaderValue = string | string[] | undefined;

export interface VerifyRequestOptions {
  signingSecret: string;
  /** `X-Slack-Request-Timestamp`. */
  timestamp: HeaderValue;
  /** `X-Slack-Signature`. */
  signature: HeaderValue;
  /** The request body exactly as received. */
  rawBody: Buffer | string;
  /** Current time in ms (default `Date.now()`); injectable for tests. */
  now?: number;
  /** Accepted clock distance in seconds (default 300, Slack's own recommendation). */
  maxSkewSeconds?: number;
}

export const SLACK_SIGNATURE_HEADER = 'x-slack-signature';
export const SLACK_TIMESTAMP_HEADER = 'x-slack-request-timestamp';

const SIGNATURE_RE = /^v0=([0-9a-fA-F]{64})$/;
const TIMESTAMP_RE = /^\d{1,12}$/;

function single(v: HeaderValue): string | undefined {
  // A repeated header is ambiguous; treat it as malformed rather than pick one.
  if (Array.isArray(v)) return v.length === 1 ? v[0] : '';
  return v;
}

function hmac(secret: string, timestamp: string, rawBody: Buffer | string): Buffer {
  const h = createHmac('sha256', secret);
  h.update(`v0:${timestamp}:`, 'utf8');
  h.update(typeof rawBody === 'string' ? Buffer.from(rawBody, 'utf8') : rawBody);
  return h.digest();
}

/** Verifies a Slack Events API request. */
export function verifySlackSignature(opts: VerifyRequestOptions): SignatureResult {
  if (!opts.signingSecret) return { ok: false, reason: 'no_signing_secret' };
  const timestamp = single(opts.timestamp);
  const signature = single(opts.signature);
  if (timestamp === undefined) return { ok: false, reason: 'missing_timestamp' };
  if (!TIMESTAMP_RE.test(timestamp.trim())) return { ok: false, reason: 'malformed_timestamp' };
  if (signature === undefined) return { ok: false, reason: 'missing_signature' };
  const m = SIGNATURE_RE.exec(signature.trim());
  if (!m) return { ok: false, reason: 'malformed_signature' };
  const nowSeconds = (opts.now ?? Date.now()) / 1000;
  const maxSkew = opts.maxSkewSeconds ?? 300;
  if (Math.abs(nowSeconds - Number(timestamp.trim())) > maxSkew) return { ok: false, reason: 'stale_timestamp' };
  const expected = hmac(opts.signingSecret, timestamp.trim(), opts.rawBody);
  const given = Buffer.from(m[1], 'hex');
  // Both are 32 bytes (the format check guarantees it), as timingSafeEqual requires.
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'signature_mismatch' };
  return { ok: true };
}

/** Reads the two headers from a Node-style (lower-cased) header object and verifies. */
export function verifySlackRequest(
  headers: Readonly<Record<string, HeaderValue>>,
  rawBody: Buffer | string,
  signingSecret: string,
  opts: { now?: number; maxSkewSeconds?: number } = {},
): SignatureResult {
  return verifySlackSignature({
    signingSecret,
    timestamp: headers[SLACK_TIMESTAMP_HEADER],
    signature: headers[SLACK_SIGNATURE_HEADER],
    rawBody,
    ...opts,
  });
}

/**
 * Signs a request body as Slack would (for the emulator and tests; production only verifies).
 * `timestampSeconds` defaults to now.
 */
export function signSlackRequest(
  signingSecret: string,
  rawBody: Buffer | string,
  timestampSeconds = Math.floor(Date.now() / 1000),
): { timestamp: string; signature: string } {
  const timestamp = String(Math.trunc(timestampSeconds));
  return { timestamp, signature: `v0=${hmac(signingSecret, timestamp, rawBody).toString('hex')}` };
}
