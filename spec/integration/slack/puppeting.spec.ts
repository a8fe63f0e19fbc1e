/**
 * Puppeting: a Matrix user links their own Slack account with OAuth v2. `login` in the admin room
 * gives an authorize link whose state is bound to them, single use and expiring; the bridge serves
 * the redirect on its own listener, exchanges the code (oauth.v2.access) and stores the user token
 * sealed. Their messages, edits and reactions then come from their Slack account, and are not
 * echoed back; a token Slack revokes (tokens_revoked, or an error on send) is told to them and the
 * message is relayed instead; `logout` revokes (auth.revoke) and forgets.
 */
import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { HomeserverEmulator, type TestUser } from '@causeway/testing';
import { startSlackBridge, linkedRoom, messages, ghostId, eventually, BOT, WS, type SlackBridge } from './support';
import { startPuppetBridge, adminRoom, puppetLogin, botMessages } from './puppet-support';

const REDIRECT = 'https://bridge.example.org/slack/oauth';

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

describe('slack-bridge: puppeting (OAuth v2 user tokens)', function () {
  this.timeout(60_000);
  let b: SlackBridge;
  let m: TestUser;
  let admin: string;
  let roomId: string;

  const botMessages = (room: string) =>
    b.fx.hs
      .roomTimeline(room)
      .filter((e) => e.sender === BOT && e.type === 'm.room.message')
      .map((e) => String(e.content.body));
  const command = async (text: string) => {
    const before = botMessages(admin).length;
    await m.sendMessage(admin, text);
    return eventually(() => botMessages(admin)[before], `reply to ${text}`, 20_000);
  };
  const callback = async (query: Record<string, string>) => {
    const res = await fetch(`${b.fx.asUrl}/slack/oauth?${new URLSearchParams(query).toString()}`);
    return { status: res.status, text: await res.text(), headers: res.headers };
  };
  /** `login`, Alice approving on Slack, and the browser coming back: the whole flow. */
  const login = async () => {
    const reply = await command('!login');
    const url = new URL(/https?:\/\/\S+/.exec(reply)![0]);
    const code = b.slack.issueOAuthCode(b.app, b.alice, {
      userScopes: url.searchParams.get('user_scope')!.split(','),
      redirectUri: url.searchParams.get('redirect_uri')!,
    });
    const noticesBefore = botMessages(admin).length;
    const r = await callback({ code, state: url.searchParams.get('state')! });
    assert.equal(r.status, 200, r.text);
    await eventually(
      () =>
        botMessages(admin)
          .slice(noticesBefore)
          .find((t) => /You are logged in/.test(t)),
      'login notice',
    );
    return { url, state: url.searchParams.get('state')! };
  };
  const onSlack = (text: string) => b.slack.messages(b.general).filter((x) => x.text === text);

  before(async () => {
    b = await startSlackBridge('socket', {
      workspace: (app) => ({ puppeting: { client_id: app.clientId, client_secret: app.clientSecret, redirect_url: REDIRECT } }),
      emulator: { rateLimits: false },
    });
    m = b.matrixAlice;
    admin = await m.createRoom({ is_direct: true, invite: [BOT], preset: 'trusted_private_chat' });
    await eventually(() => b.fx.hs.membership(admin, BOT) === 'join' && botMessages(admin).length > 0, 'admin room greeting');
    roomId = await linkedRoom(b);
  });
  after(async () => {
    await b?.stop();
  });

  it('login gives an authorize link bound to the user; the redirect refuses unknown states and stores nothing', async () => {
    const reply = await command('!login');
    const url = new URL(/https?:\/\/\S+/.exec(reply)![0]);
    assert.equal(url.origin + url.pathname, 'https://slack.com/oauth/v2/authorize');
    assert.equal(url.searchParams.get('client_id'), b.app.clientId);
    assert.equal(url.searchParams.get('redirect_uri'), REDIRECT);
    assert.equal(url.searchParams.get('team'), b.team.id);
    assert.match(url.searchParams.get('user_scope')!, /(^|,)chat:write(,|$)/);
    const state = url.searchParams.get('state')!;
    assert.ok(state.length >= 40);
    // A forged state, and none at all, are refused before Slack is asked anything.
    const exchanges = b.slack.calls('oauth.v2.access').length;
    const code = b.slack.issueOAuthCode(b.app, b.alice, { userScopes: ['chat:write'], redirectUri: REDIRECT });
    assert.equal((await callback({ code, state: `${state.slice(0, -4)}AAAA` })).status, 400);
    assert.equal((await callback({ code })).status, 400);
    assert.equal(b.slack.calls('oauth.v2.access').length, exchanges);
    // Cancelled on Slack's page: the user is told, the state is spent.
    const cancelled = await callback({ error: 'access_denied', state });
    assert.equal(cancelled.status, 400);
    await eventually(() => botMessages(admin).find((t) => /not completed \(access_denied\)/.test(t)), 'cancel notice');
    assert.equal((await callback({ code, state })).status, 400, 'a state is good for one callback');
    assert.equal(b.connector().workspace(WS).puppets.of(m.userId), undefined);
  });

  it('a completed login stores the token sealed and the user posts as themselves, not echoed back', async () => {
    const { state } = await login();
    const token = b.slack.grantUserToken(b.app, b.alice, []);
    assert.match(token, /^xoxp-/);
    await b.fx.bridge.idle();
    for (const file of filesUnder(b.fx.dataDir)) assert.ok(!readFileSync(file).includes(token), `${file} holds the token`);
    assert.ok(!botMessages(admin).some((t) => t.includes(token)));
    // The state was used: the same redirect again does nothing.
    assert.equal((await callback({ code: 'x', state })).status, 400);
    assert.match(await command('!whoami'), new RegExp(`${WS}: logged in as alice \\(${b.alice.id}\\)`));

    await m.sendMessage(roomId, 'from my own account');
    const [post] = await eventually(() => (onSlack('from my own account').length ? onSlack('from my own account') : undefined), 'post');
    assert.equal(post.user, b.alice.id);
    assert.equal(post.via, 'user-token');
    assert.equal(post.botId, undefined);
    assert.equal(post.username, undefined);
    // Her ghost never says it on Matrix (the bridge's own post came back as her Slack activity).
    await b.connector().idle();
    await b.fx.bridge.idle();
    assert.deepEqual(
      messages(b, roomId, ghostId(b.alice.id)).map((e) => e.content.body),
      [],
    );

    // Edits and reactions are hers too, and not echoed either.
    const eventId = messages(b, roomId, m.userId).find((e) => e.content.body === 'from my own account')!.event_id;
    await m.sendEvent(roomId, 'm.room.message', {
      msgtype: 'm.text',
      body: '* fixed',
      'm.new_content': { msgtype: 'm.text', body: 'fixed' },
      'm.relates_to': { rel_type: 'm.replace', event_id: eventId },
    });
    await eventually(() => b.slack.message(b.general, post.ts)?.text === 'fixed', 'edit on Slack');
    assert.equal(b.slack.message(b.general, post.ts)!.edited?.user, b.alice.id);
    await m.sendEvent(roomId, 'm.reaction', { 'm.relates_to': { rel_type: 'm.annotation', event_id: eventId, key: '👍' } });
    await eventually(() => b.slack.message(b.general, post.ts)?.reactions.find((r) => r.users.includes(b.alice.id)), 'reaction on Slack');
    await b.slack.waitForDeliveries(b.app);
    await b.connector().idle();
    await b.fx.bridge.idle();
    const fromGhost = b.fx.hs.roomTimeline(roomId).filter((e) => e.sender === ghostId(b.alice.id));
    assert.deepEqual(
      fromGhost.filter((e) => e.type !== 'm.room.member'),
      [],
      'nothing of hers echoed back',
    );

    // What she does on Slack herself still reaches the room (other Matrix users must see it).
    b.alice.post(b.general, 'typed in the Slack app');
    await eventually(
      () => messages(b, roomId, ghostId(b.alice.id)).find((e) => e.content.body === 'typed in the Slack app'),
      'her own Slack post',
    );
  });

  it('the login survives a restart (the sealed token is read back)', async () => {
    await b.fx.restart();
    assert.match(await command('!whoami'), new RegExp(`${WS}: logged in as alice \\(${b.alice.id}\\)`));
    await m.sendMessage(roomId, 'after the restart');
    const [post] = await eventually(() => (onSlack('after the restart').length ? onSlack('after the restart') : undefined), 'post');
    assert.equal(post.user, b.alice.id);
    assert.equal(post.via, 'user-token');
  });

  it('a token refused on send is told to the user and the message is relayed, not dropped', async () => {
    const token = b.slack.grantUserToken(b.app, b.alice, []);
    b.slack.revokeToken(token, 'token_revoked');
    await m.sendMessage(roomId, 'after the revoke');
    const [post] = await eventually(() => (onSlack('after the revoke').length ? onSlack('after the revoke') : undefined), 'relayed post');
    assert.equal(post.botId !== undefined, true, 'sent by the bot');
    assert.equal(post.username, 'Alice M');
    await eventually(
      () => botMessages(admin).find((t) => /no longer accepts your login to acme \(Slack answered token_revoked\)/.test(t)),
      'revoke notice',
    );
    assert.equal(b.connector().workspace(WS).puppets.of(m.userId), undefined);
    assert.match(await command('!whoami'), /acme: not logged in/);
    assert.equal(onSlack('after the revoke').length, 1, 'sent once');
  });

  it('tokens_revoked from Slack ends the login at once, with a notice; later messages are relayed', async () => {
    await login();
    assert.ok(b.connector().workspace(WS).puppets.of(m.userId));
    const noticesBefore = botMessages(admin).length;
    b.slack.revokeUserAuthorization(b.app, b.alice);
    await eventually(
      () =>
        botMessages(admin)
          .slice(noticesBefore)
          .find((t) => /no longer accepts your login.*revoked/.test(t)),
      'notice',
    );
    assert.equal(b.connector().workspace(WS).puppets.of(m.userId), undefined);
    await m.sendMessage(roomId, 'relayed again');
    const [post] = await eventually(() => (onSlack('relayed again').length ? onSlack('relayed again') : undefined), 'relayed post');
    assert.equal(post.username, 'Alice M');
    assert.ok(post.botId);
  });

  it('logout revokes the token at Slack (auth.revoke) and forgets it', async () => {
    await login();
    const token = b.slack.grantUserToken(b.app, b.alice, []);
    const revokes = b.slack.calls('auth.revoke').length;
    assert.match(await command('!logout'), /Logged out of acme: the token is revoked and forgotten/);
    assert.equal(b.slack.calls('auth.revoke').length, revokes + 1);
    // Slack forgot the token: it is simply invalid now.
    const r = await fetch(`${b.slack.apiUrl}auth.test`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    assert.equal(((await r.json()) as { error?: string }).error, 'invalid_auth');
    assert.match(await command('!logout'), /You are not logged in to acme/);
    await m.sendMessage(roomId, 'after logout');
    const [post] = await eventually(() => (onSlack('after logout').length ? onSlack('after logout') : undefined), 'relayed post');
    assert.ok(post.botId);
  });
});

describe('slack-bridge: puppeting and ban lists', function () {
  this.timeout(60_000);
  let b: SlackBridge;

  after(async () => {
    await b?.stop();
  });

  it('a user a followed ban list starts to ban loses their Slack login (revoked at Slack) and is told', async () => {
    const hs = await HomeserverEmulator.start({ serverName: 'localhost' });
    const mod = await hs.registerUser('mod');
    const policy = await mod.createRoom({ preset: 'public_chat' });
    b = await startPuppetBridge('socket', { hs, core: { bridge: { admins: ['@admin:localhost'], ban_lists: { rooms: [policy] } } } });
    await eventually(() => hs.membership(policy, BOT) === 'join', 'the bot follows the ban list');
    const admin = await adminRoom(b, b.matrixAlice);
    await puppetLogin(b, admin, b.alice);
    const token = b.slack.grantUserToken(b.app, b.alice, []);
    const revokes = b.slack.calls('auth.revoke').length;
    await mod.sendState(policy, 'm.policy.rule.user', 'malice', { entity: b.matrixAlice.userId, recommendation: 'm.ban', reason: 'spam' });
    await eventually(() => b.connector().workspace(WS).puppets.of(b.matrixAlice.userId) === undefined, 'login dropped');
    assert.equal(b.slack.calls('auth.revoke').length, revokes + 1);
    const r = await fetch(`${b.slack.apiUrl}auth.test`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    assert.equal(((await r.json()) as { error?: string }).error, 'invalid_auth');
    await eventually(() => botMessages(b, admin.roomId).find((t) => /you may no longer use this bridge/.test(t)), 'told');
  });
});
