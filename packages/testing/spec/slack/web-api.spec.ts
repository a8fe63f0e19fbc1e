import { strict as assert } from 'node:assert';
import { ErrorCode, type WebAPIPlatformError, type WebAPIRateLimitedError } from '@slack/web-api';
import { parseTs } from '../../src/slack/ids';
import { METHOD_HANDLERS } from '../../src/slack/methods';
import { METHODS } from '../../src/slack/scopes';
import { startWorkspace, webClient, type Workspace } from './helpers';

type ErrorData = WebAPIPlatformError['data'] & { needed?: string; provided?: string };

async function platformError(p: Promise<unknown>): Promise<ErrorData> {
  try {
    await p;
  } catch (err) {
    assert.equal((err as { code?: string }).code, ErrorCode.PlatformError, String(err));
    return (err as WebAPIPlatformError).data;
  }
  assert.fail('the call succeeded');
}

describe('slack emulator: Web API', () => {
  let w: Workspace;
  beforeEach(async () => {
    w = await startWorkspace();
  });
  afterEach(async () => {
    assert.deepEqual(w.slack.web.internalErrors, []);
    await w.slack.stop();
  });

  it('answers auth.test for the bot token with its bot user and bot ID', async () => {
    const r = await w.bot.auth.test();
    assert.equal(r.user_id, w.inst.botUserId);
    assert.equal(r.bot_id, w.inst.botId);
    assert.equal(r.team_id, w.team.id);
    assert.equal(r.url, 'https://acme.slack.com/');
  });

  it('accepts form, JSON and multipart bodies with the token in the Authorization header', async () => {
    // Form: the SDK's default encoding (blocks travel as a JSON string inside the form).
    const form = await w.bot.chat.postMessage({
      channel: w.general.id,
      text: 'form',
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'form' } }],
    });
    // Multipart: the SDK switches to it when an argument is binary.
    const multi = await w.bot.apiCall('chat.postMessage', {
      channel: w.general.id,
      text: 'multipart',
      attachment_bytes: Buffer.from([0, 1, 2]),
    });
    const json = await fetch(`${w.slack.apiUrl}chat.postMessage`, {
      method: 'POST',
      headers: { authorization: `Bearer ${w.inst.botToken}`, 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify({ channel: w.general.id, text: 'json', unfurl_links: false }),
    }).then((r) => r.json() as Promise<{ ok: boolean; ts: string }>);
    assert.equal(json.ok, true);
    assert.deepEqual(
      w.slack.calls('chat.postMessage').map((c) => c.bodyKind),
      ['form', 'multipart', 'json'],
    );
    const texts = w.slack.messages(w.general).map((m) => m.text);
    assert.deepEqual(texts, ['form', 'multipart', 'json']);
    assert.deepEqual(w.slack.message(w.general, form.ts!)!.blocks, [{ type: 'section', text: { type: 'mrkdwn', text: 'form' } }]);
    assert.ok(multi.ok);
  });

  it('accepts a token form field but not inside a JSON body, and warns about a JSON body without charset', async () => {
    const viaField = await fetch(`${w.slack.apiUrl}auth.test`, {
      method: 'POST',
      body: new URLSearchParams({ token: w.inst.botToken }),
    }).then((r) => r.json() as Promise<Record<string, unknown>>);
    assert.equal(viaField.ok, true);
    const inJson = await fetch(`${w.slack.apiUrl}auth.test`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: w.inst.botToken }),
    }).then((r) => r.json() as Promise<Record<string, unknown>>);
    assert.equal(inJson.error, 'not_authed');
    const noCharset = await fetch(`${w.slack.apiUrl}auth.test`, {
      method: 'POST',
      headers: { authorization: `Bearer ${w.inst.botToken}`, 'content-type': 'application/json' },
      body: '{}',
    }).then((r) => r.json() as Promise<Record<string, unknown>>);
    assert.equal(noCharset.ok, true);
    assert.equal(noCharset.warning, 'missing_charset');
  });

  it('answers not_authed, invalid_auth and unknown_method on HTTP 200', async () => {
    const bare = await fetch(`${w.slack.apiUrl}auth.test`, { method: 'POST' });
    assert.equal(bare.status, 200);
    assert.deepEqual(await bare.json(), { ok: false, error: 'not_authed' });
    assert.equal((await platformError(webClient(w.slack, 'xoxb-made-up').auth.test())).error, 'invalid_auth');
    const unknown = await platformError(w.bot.apiCall('chat.frobnicate', {}));
    assert.equal(unknown.error, 'unknown_method');
  });

  it('answers missing_scope with needed and provided scopes', async () => {
    const inst = w.slack.install(w.slack.createApp({ name: 'narrow', botScopes: ['chat:write', 'channels:read'], botEvents: [] }), w.team);
    const narrow = webClient(w.slack, inst.botToken);
    const users = await platformError(narrow.users.info({ user: w.alice.id }));
    assert.equal(users.error, 'missing_scope');
    assert.equal(users.needed, 'users:read');
    assert.deepEqual(users.provided!.split(',').sort(), ['channels:read', 'chat:write']);
    assert.deepEqual(users.response_metadata?.acceptedScopes, ['users:read']);
    // A private channel needs groups:read, which this token lacks; a public one is fine.
    const secret = w.slack.createChannel(w.team, { name: 'secret', private: true, members: [w.alice, inst.botUserId] });
    assert.equal((await platformError(narrow.conversations.info({ channel: secret.id }))).needed, 'groups:read');
    assert.equal((await narrow.conversations.info({ channel: w.general.id })).channel?.name, 'general');
  });

  it('answers token_revoked (or the chosen error) once a token is revoked, and invalid_auth after auth.revoke', async () => {
    await w.bot.auth.test();
    w.slack.revokeToken(w.inst.botToken);
    assert.equal((await platformError(w.bot.chat.postMessage({ channel: w.general.id, text: 'x' }))).error, 'token_revoked');
    w.slack.revokeToken(w.inst.botToken, 'invalid_auth');
    assert.equal((await platformError(w.bot.auth.test())).error, 'invalid_auth');
    w.slack.restoreToken(w.inst.botToken);
    assert.equal(((await w.bot.auth.revoke()) as { revoked?: boolean }).revoked, true);
    assert.equal((await platformError(w.bot.auth.test())).error, 'invalid_auth');
  });

  it('answers an injected 429 storm with Retry-After, per method', async () => {
    const storm = w.slack.faults.rateLimit('chat.postMessage', { times: Infinity, retryAfter: 7 });
    const raw = await fetch(`${w.slack.apiUrl}chat.postMessage`, {
      method: 'POST',
      headers: { authorization: `Bearer ${w.inst.botToken}` },
      body: new URLSearchParams({ channel: w.general.id, text: 'x' }),
    });
    assert.equal(raw.status, 429);
    assert.equal(raw.headers.get('retry-after'), '7');
    assert.deepEqual(await raw.json(), { ok: false, error: 'ratelimited' });
    const rejecting = webClient(w.slack, w.inst.botToken, { rejectRateLimitedCalls: true });
    await assert.rejects(
      rejecting.chat.postMessage({ channel: w.general.id, text: 'x' }),
      (err: WebAPIRateLimitedError) => err.code === ErrorCode.RateLimitedError && err.retryAfter === 7,
    );
    // Other methods are not affected.
    assert.equal((await rejecting.conversations.info({ channel: w.general.id })).ok, true);
    storm.cancel();
    assert.equal((await rejecting.chat.postMessage({ channel: w.general.id, text: 'after' })).ok, true);
    assert.deepEqual(
      w.slack.messages(w.general).map((m) => m.text),
      ['after'],
    );
  });

  it('enforces its own per-method limits and lets a retrying client through after Retry-After', async () => {
    w.slack.rateLimits.configure('reactions.add', { perMinute: 60, burst: 1 });
    const { ts } = w.alice.post(w.general, 'react to me');
    await w.bot.reactions.add({ channel: w.general.id, timestamp: ts, name: 'wave' });
    const rejecting = webClient(w.slack, w.inst.botToken, { rejectRateLimitedCalls: true });
    await assert.rejects(
      rejecting.reactions.add({ channel: w.general.id, timestamp: ts, name: 'tada' }),
      (err: WebAPIRateLimitedError) => err.retryAfter === 1,
    );
    // The SDK's own retry honours Retry-After and then succeeds.
    const patient = webClient(w.slack, w.inst.botToken, { retryConfig: { retries: 1, minTimeout: 0, maxTimeout: 0 } });
    await patient.reactions.add({ channel: w.general.id, timestamp: ts, name: 'tada' });
    assert.deepEqual(
      w.slack.message(w.general, ts)!.reactions.map((r) => r.name),
      ['wave', 'tada'],
    );
  });

  it('refuses what modern apps cannot use: files.upload, rtm.connect, as_user, app tokens on bot methods', async () => {
    assert.equal((await platformError(w.bot.apiCall('files.upload', { channels: w.general.id, content: 'x' }))).error, 'method_deprecated');
    assert.equal((await platformError(w.bot.rtm.connect())).error, 'not_allowed_token_type');
    assert.equal(
      (await platformError(w.bot.chat.postMessage({ channel: w.general.id, text: 'x', as_user: true }))).error,
      'as_user_not_supported',
    );
    const appLevel = webClient(w.slack, w.app.appToken);
    assert.equal((await platformError(appLevel.chat.postMessage({ channel: w.general.id, text: 'x' }))).error, 'not_allowed_token_type');
    assert.equal((await platformError(w.bot.apps.connections.open({}))).error, 'not_allowed_token_type');
    // apps.connections.open insists on the header.
    const viaField = await fetch(`${w.slack.apiUrl}apps.connections.open`, {
      method: 'POST',
      body: new URLSearchParams({ token: w.app.appToken }),
    });
    assert.equal(((await viaField.json()) as { error: string }).error, 'not_authed');
    const opened = await appLevel.apps.connections.open({});
    assert.match(opened.url!, /^ws:\/\/127\.0\.0\.1:\d+\/link\/\?ticket=/);
    assert.deepEqual(w.slack.messages(w.general), []);
  });

  it('keeps ts strictly increasing per channel in the Slack format', async () => {
    const results = await Promise.all(
      Array.from({ length: 15 }, (_, i) => w.bot.chat.postMessage({ channel: w.general.id, text: `m${i}` })),
    );
    for (const r of results) assert.match(r.ts!, /^\d{10}\.\d{6}$/);
    const stored = w.slack.messages(w.general).map((m) => parseTs(m.ts)!);
    for (let i = 1; i < stored.length; i++) assert.ok(stored[i] > stored[i - 1]);
    assert.equal(new Set(results.map((r) => r.ts)).size, 15);
  });

  it('pages history newest first and users with next_cursor', async () => {
    for (let i = 0; i < 5; i++) w.alice.post(w.general, `m${i}`);
    const seen: string[] = [];
    for await (const page of w.bot.paginate('conversations.history', { channel: w.general.id, limit: 2 })) {
      seen.push(...((page as { messages?: { text: string }[] }).messages ?? []).map((m) => m.text));
    }
    assert.deepEqual(seen, ['m4', 'm3', 'm2', 'm1', 'm0']);
    const first = await w.bot.conversations.history({ channel: w.general.id, limit: 5 });
    assert.equal(first.has_more, false);
    assert.equal(first.response_metadata?.next_cursor, '');
    for (let i = 0; i < 3; i++) w.slack.createUser(w.team, { name: `u${i}` });
    const names: string[] = [];
    for await (const page of w.bot.paginate('users.list', { limit: 2 }))
      names.push(...((page as { members?: { name: string }[] }).members ?? []).map((m) => m.name));
    assert.deepEqual(names.sort(), ['alice', 'bob', 'causeway', 'u0', 'u1', 'u2']);
  });

  it('tells a bot that is not in a channel so, and posts in public ones with chat:write.public', async () => {
    const elsewhere = w.slack.createChannel(w.team, { name: 'elsewhere', members: [w.alice] });
    assert.equal((await platformError(w.bot.chat.postMessage({ channel: elsewhere.id, text: 'x' }))).error, 'not_in_channel');
    assert.equal((await platformError(w.bot.conversations.history({ channel: elsewhere.id }))).error, 'not_in_channel');
    const hidden = w.slack.createChannel(w.team, { name: 'hidden', private: true, members: [w.alice] });
    assert.equal((await platformError(w.bot.chat.postMessage({ channel: hidden.id, text: 'x' }))).error, 'channel_not_found');
    const pub = w.slack.install(
      w.slack.createApp({ name: 'public', botScopes: ['chat:write', 'chat:write.public'], botEvents: [] }),
      w.team,
    );
    assert.equal((await webClient(w.slack, pub.botToken).chat.postMessage({ channel: elsewhere.id, text: 'hello' })).ok, true);
    const joined = await w.bot.conversations.join({ channel: elsewhere.id });
    assert.equal(joined.channel?.is_member, true);
    assert.equal((await w.bot.chat.postMessage({ channel: elsewhere.id, text: 'now' })).ok, true);
  });

  it('lists public channels to all and private ones to members; users.conversations lists memberships', async () => {
    const open = w.slack.createChannel(w.team, { name: 'open', members: [w.alice] });
    const mine = w.slack.createChannel(w.team, { name: 'mine', private: true, members: [w.alice, w.inst.botUserId] });
    w.slack.createChannel(w.team, { name: 'theirs', private: true, members: [w.alice] });
    const all = await w.bot.conversations.list({ types: 'public_channel,private_channel' });
    assert.deepEqual(all.channels!.map((c) => [c.name, c.is_private, c.is_member]).sort(), [
      ['general', false, true],
      ['mine', true, true],
      ['open', false, false],
    ]);
    const member = await w.bot.users.conversations({ types: 'public_channel,private_channel' });
    assert.deepEqual(member.channels!.map((c) => c.id).sort(), [w.general.id, mine.id].sort());
    assert.ok(!member.channels!.some((c) => c.id === open.id));
  });

  it('has a handler for every method in the scope table and no other', () => {
    assert.deepEqual(Object.keys(METHOD_HANDLERS).sort(), Object.keys(METHODS).sort());
  });
});
