import { strict as assert } from 'node:assert';
import { createHmac } from 'node:crypto';
import { verifySlackSignature, verifySlackRequest, signSlackRequest } from '../../src/slack/signature';

const secret = '8f742231b10e8888abcd99yyyzzz85a5';
const body = '{"token":"x","team_id":"T1","type":"event_callback","event":{"type":"message","text":"héllo"}}';
const now = 1_700_000_000_000;
const ts = String(now / 1000);

describe('slack request signatures', () => {
  it('accepts what Slack signs: v0= hex HMAC-SHA256 of "v0:<ts>:<raw body>"', () => {
    // Computed independently of the module under test.
    const expected = `v0=${createHmac('sha256', secret).update(`v0:${ts}:${body}`).digest('hex')}`;
    assert.deepEqual(signSlackRequest(secret, body, now / 1000), { timestamp: ts, signature: expected });
    assert.deepEqual(verifySlackSignature({ signingSecret: secret, timestamp: ts, signature: expected, rawBody: body, now }), { ok: true });
    assert.deepEqual(verifySlackSignature({ signingSecret: secret, timestamp: ts, signature: expected, rawBody: Buffer.from(body), now }), {
      ok: true,
    });
  });

  it('verifies the raw bytes: re-serialised JSON or any changed byte fails', () => {
    const { signature } = signSlackRequest(secret, body, now / 1000);
    const reserialised = JSON.stringify(JSON.parse(body), null, 1);
    assert.deepEqual(verifySlackSignature({ signingSecret: secret, timestamp: ts, signature, rawBody: reserialised, now }), {
      ok: false,
      reason: 'signature_mismatch',
    });
    assert.deepEqual(verifySlackSignature({ signingSecret: secret, timestamp: ts, signature, rawBody: body.replace('T1', 'T2'), now }), {
      ok: false,
      reason: 'signature_mismatch',
    });
    assert.deepEqual(verifySlackSignature({ signingSecret: 'other-secret', timestamp: ts, signature, rawBody: body, now }), {
      ok: false,
      reason: 'signature_mismatch',
    });
    // The timestamp is part of what is signed.
    const later = String(now / 1000 + 1);
    assert.deepEqual(verifySlackSignature({ signingSecret: secret, timestamp: later, signature, rawBody: body, now }), {
      ok: false,
      reason: 'signature_mismatch',
    });
  });

  it('signs bytes, not text: a non-UTF-8 body verifies as received', () => {
    const raw = Buffer.from([0x7b, 0xff, 0xfe, 0x7d]);
    const { timestamp, signature } = signSlackRequest(secret, raw, now / 1000);
    assert.deepEqual(verifySlackSignature({ signingSecret: secret, timestamp, signature, rawBody: raw, now }), { ok: true });
  });

  it('refuses timestamps more than 300 s away, either way (replays)', () => {
    for (const skew of [-301, 301, -86_400]) {
      const t = now / 1000 + skew;
      const s = signSlackRequest(secret, body, t);
      assert.deepEqual(
        verifySlackSignature({ signingSecret: secret, ...s, rawBody: body, now }),
        { ok: false, reason: 'stale_timestamp' },
        String(skew),
      );
    }
    for (const skew of [-300, 299]) {
      const s = signSlackRequest(secret, body, now / 1000 + skew);
      assert.deepEqual(verifySlackSignature({ signingSecret: secret, ...s, rawBody: body, now }), { ok: true }, String(skew));
    }
    const s = signSlackRequest(secret, body, now / 1000 - 600);
    assert.deepEqual(verifySlackSignature({ signingSecret: secret, ...s, rawBody: body, now, maxSkewSeconds: 900 }), { ok: true });
  });

  it('names what is missing or malformed', () => {
    const { signature } = signSlackRequest(secret, body, now / 1000);
    const v = (timestamp: string | string[] | undefined, sig: string | string[] | undefined, signingSecret = secret) =>
      verifySlackSignature({ signingSecret, timestamp, signature: sig, rawBody: body, now });
    assert.deepEqual(v(undefined, signature), { ok: false, reason: 'missing_timestamp' });
    assert.deepEqual(v(ts, undefined), { ok: false, reason: 'missing_signature' });
    for (const bad of ['', 'abc', '1.5', '-1', '1e9', '12345678901234'])
      assert.deepEqual(v(bad, signature), { ok: false, reason: 'malformed_timestamp' }, bad);
    for (const bad of [
      '',
      'v0=',
      'v1=' + signature.slice(3),
      signature.slice(3),
      signature + '00',
      signature.slice(0, -1),
      'v0=' + 'g'.repeat(64),
    ]) {
      assert.deepEqual(v(ts, bad), { ok: false, reason: 'malformed_signature' }, bad);
    }
    assert.deepEqual(v([ts, ts], signature), { ok: false, reason: 'malformed_timestamp' });
    assert.deepEqual(v(ts, [signature, signature]), { ok: false, reason: 'malformed_signature' });
    assert.deepEqual(v(ts, signature, ''), { ok: false, reason: 'no_signing_secret' });
  });

  it('accepts upper-case hex, which is the same signature', () => {
    const { signature } = signSlackRequest(secret, body, now / 1000);
    assert.deepEqual(
      verifySlackSignature({
        signingSecret: secret,
        timestamp: ts,
        signature: 'v0=' + signature.slice(3).toUpperCase(),
        rawBody: body,
        now,
      }),
      { ok: true },
    );
  });

  it('reads the headers from a Node header object', () => {
    const s = signSlackRequest(secret, body, now / 1000);
    const headers = { 'x-slack-request-timestamp': s.timestamp, 'x-slack-signature': s.signature, 'content-type': 'application/json' };
    assert.deepEqual(verifySlackRequest(headers, body, secret, { now }), { ok: true });
    assert.deepEqual(verifySlackRequest({}, body, secret, { now }), { ok: false, reason: 'missing_timestamp' });
  });

  it('failure reasons never carry the secret or the expected signature', () => {
    const expected = signSlackRequest(secret, body, now / 1000).signature;
    const r = verifySlackSignature({ signingSecret: secret, timestamp: ts, signature: 'v0=' + '0'.repeat(64), rawBody: body, now });
    const text = JSON.stringify(r);
    assert.ok(!text.includes(secret) && !text.includes(expected.slice(3)), text);
  });
});
