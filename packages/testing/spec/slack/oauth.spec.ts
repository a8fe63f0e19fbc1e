import { strict as assert } from 'node:assert';
import type { WebAPIPlatformError } from '@slack/web-api';
import { startWorkspace, webClient, type Workspace } from './helpers';

describe('slack emulator: OAuth and user tokens', () => {
  let w: Workspace;
  beforeEach(async () => {
    w = await startWorkspace();
  });
  afterEach(async () => {
    assert.deepEqual(w.slack.web.internalErrors, []);
    await w.slack.stop();
  });

  it('oauth.v2.access exchanges a code the user approved for an xoxp- token acting as that user', async () => {
    const code = w.slack.issueOAuthCode(w.app, w.alice, {
      userScopes: ['chat:write', 'channels:history', 'reactions:write'],
      redirectUri: 'https://bridge.example/oauth',
    });
    const anon = webClient(w.slack);
    const r = await anon.oauth.v2.access({
      client_id: w.app.clientId,
      client_secret: w.app.clientSecret,
      code,
      redirect_uri: 'https://bridge.example/oauth',
    });
    assert.equal(r.app_id, w.app.id);
    assert.equal(r.team?.id, w.team.id);
    assert.equal(r.access_token, undefined);
    const user = r.authed_user!;
    assert.equal(user.id, w.alice.id);
    assert.equal(user.token_type, 'user');
    assert.match(user.access_token!, /^xoxp-/);
    assert.deepEqual(user.scope!.split(',').sort(), ['channels:history', 'chat:write', 'reactions:write']);
    const asAlice = webClient(w.slack, user.access_token);
    const me = await asAlice.auth.test();
    assert.deepEqual([me.user_id, me.bot_id], [w.alice.id, undefined]);
    const posted = await asAlice.chat.postMessage({ channel: w.general.id, text: 'from Matrix, as me' });
    const stored = w.slack.message(w.general, posted.ts!)!;
    assert.deepEqual([stored.user, stored.botId, stored.via, stored.postedByApp], [w.alice.id, undefined, 'user-token', w.app.id]);
    await asAlice.reactions.add({ channel: w.general.id, timestamp: posted.ts!, name: 'heart' });
    assert.deepEqual(stored.reactions, [{ name: 'heart', users: [w.alice.id] }]);
    // The call log keeps neither the client secret nor the issued token.
    const [logged] = w.slack.calls('oauth.v2.access');
    assert.equal(logged.args.client_secret, undefined);
    assert.equal((logged.response.authed_user as { access_token: string }).access_token, '[redacted]');
    // The user token has only what was granted.
    await assert.rejects(asAlice.users.info({ user: w.bob.id }), (e: WebAPIPlatformError) => e.data.error === 'missing_scope');
  });

  it('accepts the client credentials as HTTP Basic auth and installs the bot when bot scopes are granted', async () => {
    const app = w.slack.createApp({ name: 'second' });
    const code = w.slack.issueOAuthCode(app, w.bob, { botScopes: ['chat:write', 'channels:read'] });
    const basic = Buffer.from(`${app.clientId}:${app.clientSecret}`).toString('base64');
    const raw = await fetch(`${w.slack.apiUrl}oauth.v2.access`, {
      method: 'POST',
      headers: { authorization: `Basic ${basic}` },
      body: new URLSearchParams({ code }),
    });
    const r = (await raw.json()) as {
      ok: boolean;
      access_token: string;
      token_type: string;
      bot_user_id: string;
      scope: string;
      authed_user: { id: string };
    };
    assert.equal(r.ok, true);
    assert.match(r.access_token, /^xoxb-/);
    assert.equal(r.token_type, 'bot');
    assert.deepEqual(r.authed_user, { id: w.bob.id });
    assert.equal((await webClient(w.slack, r.access_token).auth.test()).user_id, r.bot_user_id);
  });

  it('refuses a reused code, a wrong secret, an unknown client and a different redirect_uri', async () => {
    const anon = webClient(w.slack);
    const code = w.slack.issueOAuthCode(w.app, w.alice, { userScopes: ['chat:write'], redirectUri: 'https://a.example/cb' });
    const err = (p: Promise<unknown>) =>
      p.then(
        () => 'ok',
        (e: WebAPIPlatformError) => e.data.error,
      );
    assert.equal(await err(anon.oauth.v2.access({ client_id: w.app.clientId, client_secret: 'nope', code })), 'bad_client_secret');
    assert.equal(await err(anon.oauth.v2.access({ client_id: 'nobody', client_secret: w.app.clientSecret, code })), 'invalid_client_id');
    assert.equal(
      await err(
        anon.oauth.v2.access({ client_id: w.app.clientId, client_secret: w.app.clientSecret, code, redirect_uri: 'https://b.example/cb' }),
      ),
      'bad_redirect_uri',
    );
    assert.equal(
      await err(
        anon.oauth.v2.access({ client_id: w.app.clientId, client_secret: w.app.clientSecret, code, redirect_uri: 'https://a.example/cb' }),
      ),
      'ok',
    );
    assert.equal(
      await err(
        anon.oauth.v2.access({ client_id: w.app.clientId, client_secret: w.app.clientSecret, code, redirect_uri: 'https://a.example/cb' }),
      ),
      'invalid_code',
    );
  });

  it('uninstalling sends tokens_revoked and app_uninstalled, then the tokens answer token_revoked', async () => {
    const userToken = w.slack.grantUserToken(w.app, w.alice, ['chat:write']);
    w.slack.uninstall(w.app, w.team);
    const types = w.slack.deliveries(w.app).map((d) => d.event.type);
    assert.deepEqual(types, ['tokens_revoked', 'app_uninstalled']);
    assert.deepEqual(w.slack.deliveries(w.app)[0].event.tokens, { oauth: [w.alice.id], bot: [w.inst.botUserId] });
    for (const token of [w.inst.botToken, userToken]) {
      await assert.rejects(webClient(w.slack, token).auth.test(), (e: WebAPIPlatformError) => e.data.error === 'token_revoked');
    }
    w.alice.post(w.general, 'nobody listens');
    assert.equal(w.slack.deliveries(w.app).length, 2);
  });
});
