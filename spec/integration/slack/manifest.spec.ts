/**
 * config/slack-app-manifest.yaml holds exactly the scopes and event subscriptions the bridge uses:
 * every Web API method the code names is allowed by a manifest bot scope, every method the code
 * calls with a puppet's user token by a manifest user scope (Slack's method table in the emulator,
 * packages/testing/src/slack/scopes.ts), every manifest scope is needed by a method, an event
 * subscription or a documented use; every event type the bridge dispatches on is subscribed and
 * every subscription is dispatched on; and the bridge works end to end, relay and a logged-in
 * puppet, as an app created from the manifest (the emulator refuses what its scopes do not allow).
 */
import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { SLACK_METHODS, SLACK_EVENT_SCOPES, type SlackConversation } from '@causeway/testing';
import { linkedRoom, ghostId, messages, eventually, type SlackBridge } from './support';
import { startPuppetBridge, adminRoom, puppetLogin } from './puppet-support';

const ROOT = path.join(__dirname, '../../..');
const manifest = parse(readFileSync(path.join(ROOT, 'config/slack-app-manifest.yaml'), 'utf8')) as {
  oauth_config: { redirect_urls?: string[]; scopes: { bot: string[]; user?: string[] } };
  settings: { event_subscriptions: { bot_events: string[]; user_events?: string[] }; socket_mode_enabled: boolean };
};
const scopes = new Set(manifest.oauth_config.scopes.bot);
const events = manifest.settings.event_subscriptions.bot_events;
const userScopes = new Set(manifest.oauth_config.scopes.user ?? []);
const userEvents = manifest.settings.event_subscriptions.user_events ?? [];
const SRC = path.join(ROOT, 'packages/slack-bridge/src');

/** Scopes used other than through a Web API method or an event subscription, and why. */
const OTHER_USES: Record<string, string> = {
  'chat:write.customize': 'username and icon_url on chat.postMessage (Matrix users under their own name)',
  'files:read': 'downloading url_private of shared files with the bot token',
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? sourceFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Web API methods `files` name: any string literal that is a Slack method, and the SDK's `client.<ns>.<method>(`. */
function methodsIn(files: string[]): Set<string> {
  const used = new Set<string>();
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/'([a-z]+(?:\.[a-zA-Z]+)+)'/g)) if (SLACK_METHODS[m[1]]) used.add(m[1]);
    for (const m of text.matchAll(/client\.([a-z]+)\.([a-zA-Z]+)\(/g)) used.add(`${m[1]}.${m[2]}`);
  }
  return used;
}

/**
 * Where calls go out with a puppet's user token: the puppet code itself (its client, the OAuth
 * callback's auth.test with the new token), and the sender's calls and uploads, which
 * puppets/puppet-send makes with the user's client when the Matrix sender is logged in.
 */
const USER_TOKEN_FILES = [
  ...sourceFiles(path.join(SRC, 'puppets')),
  path.join(SRC, 'to-slack/slack-sender.ts'),
  path.join(SRC, 'to-slack/upload.ts'),
];

/** Conversation kinds a user-token call acts on: all four (puppets post in channels, private channels, DMs and group DMs) but these. */
const USER_CALL_KINDS: Record<string, ConversationKind[]> = {
  'conversations.members': ['im', 'mpim'], // who is in a DM or group DM (direct-messages)
  'conversations.open': ['im'], // a DM with one Slack user (direct-messages: `users: ghost.id`)
  'conversations.setTopic': ['channel', 'group'], // Matrix topics of channel portals (to-slack/room-meta: not in DMs)
  'conversations.rename': ['channel', 'group'], // Matrix room names, with rename_channels (to-slack/room-meta)
};
type ConversationKind = 'channel' | 'group' | 'im' | 'mpim';

/** The scopes a token of `kind` needs for `method` on conversations of the given kinds. */
function scopesFor(method: string, kind: 'bot' | 'user', kinds: ConversationKind[]): string[] {
  const spec = SLACK_METHODS[method];
  assert.ok(spec, `${method} is a Slack Web API method the emulator knows`);
  assert.ok(kind in spec.tokens, `${method} may be called with a ${kind} token`);
  const need = spec.tokens[kind];
  if (!need) return [];
  if (typeof need === 'string') return [need];
  return kinds.map((k) => need[k]).filter((s): s is string => !!s);
}

/** The `case '…'` labels between `from` and `to` in a source file. */
function caseLabels(file: string, from: string, to?: string): string[] {
  const text = readFileSync(path.join(SRC, file), 'utf8');
  const start = text.indexOf(from);
  assert.ok(start >= 0, `${file} has ${from}`);
  const end = to ? text.indexOf(to, start) : text.length;
  return [...text.slice(start, end).matchAll(/case '([a-z_.]+)'/g)].map((m) => m[1]);
}

/** The event types the bridge acts on, from each place raw Slack events are dispatched (workspace/slack-workspace.ts). */
function eventTypesHandled(): Set<string> {
  const puppetEvents = readFileSync(path.join(SRC, 'puppets/puppet-events.ts'), 'utf8');
  return new Set([
    ...caseLabels('slack/parse-event.ts', 'export function parseSlackEvent', 'export function parseSlackPayload'),
    ...caseLabels('team-sync/team-sync.ts', 'async onPayload', 'private async publicChannels'),
    ...[...puppetEvents.matchAll(/ev\?\.type !== '([a-z_]+)'/g)].map((m) => m[1]),
  ]);
}

/** The event type a subscription delivers (message subscriptions arrive as `message`). */
const typeOf = (sub: string) => (sub.startsWith('message.') ? 'message' : sub);

describe('slack-bridge: the app manifest', function () {
  this.timeout(60_000);

  it('allows every Web API method the code calls with the bot token, and asks for no bot scope nothing uses', () => {
    // Everything but the puppet code (which holds no bot client) calls with the bot token, the sender and uploads included.
    const used = methodsIn(sourceFiles(SRC).filter((f) => !f.startsWith(path.join(SRC, 'puppets') + path.sep)));
    for (const expected of [
      'chat.postMessage',
      'chat.update',
      'chat.delete',
      'reactions.add',
      'users.info',
      'files.getUploadURLExternal',
      'conversations.list',
    ]) {
      assert.ok(used.has(expected), `the scan finds ${expected}`);
    }
    const needed = new Set<string>();
    for (const method of used) {
      // The bot links public and private channels; DMs are the puppets' (user tokens, below).
      for (const scope of scopesFor(method, 'bot', ['channel', 'group'])) {
        assert.ok(scopes.has(scope), `${method} needs bot scope ${scope}, which the manifest lacks`);
        needed.add(scope);
      }
    }
    for (const ev of events) {
      const allowed = SLACK_EVENT_SCOPES[ev];
      assert.ok(allowed, `${ev} is a known event subscription`);
      const held = allowed.filter((s) => scopes.has(s));
      assert.ok(allowed.length === 0 || held.length > 0, `${ev} needs bot scope ${allowed.join(' or ')}`);
      held.forEach((s) => needed.add(s));
    }
    for (const s of Object.keys(OTHER_USES)) needed.add(s);
    assert.deepEqual(
      [...scopes].filter((s) => !needed.has(s)),
      [],
      'bot scopes in the manifest that nothing uses',
    );
  });

  it('allows every Web API method the code calls with a user token, and asks for no user scope nothing uses', () => {
    const used = methodsIn(USER_TOKEN_FILES);
    for (const expected of [
      'chat.postMessage',
      'reactions.add',
      'files.completeUploadExternal',
      'conversations.open',
      'conversations.members',
    ]) {
      assert.ok(used.has(expected), `the scan finds ${expected} among user-token calls`);
    }
    const needed = new Set<string>();
    for (const method of used) {
      if (method === 'oauth.v2.access') continue; // made with the client credentials, no token
      for (const scope of scopesFor(method, 'user', USER_CALL_KINDS[method] ?? ['channel', 'group', 'im', 'mpim'])) {
        assert.ok(userScopes.has(scope), `${method} with a user token needs ${scope}, which the manifest's user scopes lack`);
        needed.add(scope);
      }
    }
    for (const ev of userEvents) {
      const allowed = SLACK_EVENT_SCOPES[ev];
      assert.ok(allowed, `${ev} is a known event subscription`);
      const held = allowed.filter((s) => userScopes.has(s));
      assert.ok(allowed.length === 0 || held.length > 0, `user event ${ev} needs user scope ${allowed.join(' or ')}`);
      held.forEach((s) => needed.add(s));
    }
    assert.deepEqual(
      [...userScopes].filter((s) => !needed.has(s)),
      [],
      'user scopes in the manifest that nothing uses',
    );
    // The OAuth redirect: a placeholder for `puppeting.redirect_url`, which the config accepts.
    const [redirect, ...more] = manifest.oauth_config.redirect_urls ?? [];
    assert.deepEqual(more, []);
    assert.match(redirect ?? '', /^https:\/\/[^/\s]+\/[A-Za-z0-9/_.-]*$/, 'one redirect URL of the shape puppeting.redirect_url takes');
  });

  it('subscribes to exactly the events the bridge acts on', () => {
    const handled = eventTypesHandled();
    for (const expected of ['message', 'reaction_added', 'user_change', 'channel_created', 'channel_archive', 'tokens_revoked']) {
      assert.ok(handled.has(expected), `the scan finds ${expected} handled`);
    }
    const subscribed = [...events, ...userEvents];
    for (const ev of subscribed) assert.ok(handled.has(typeOf(ev)), `${ev} (${typeOf(ev)}) is subscribed but nothing acts on it`);
    for (const type of handled) {
      assert.ok(
        subscribed.some((ev) => typeOf(ev) === type),
        `the bridge acts on ${type} but the manifest does not subscribe to it`,
      );
    }
    // Messages per conversation type: the bot's in the channels and private channels it links, the
    // puppets' in their DMs and group DMs (the bot is in none: puppets/direct-messages).
    const dms = readFileSync(path.join(SRC, 'puppets/direct-messages.ts'), 'utf8');
    assert.ok(dms.includes(`channelType === 'im'`) && dms.includes(`channelType === 'mpim'`));
    assert.deepEqual(
      events.filter((e) => e.startsWith('message.')),
      ['message.channels', 'message.groups'],
    );
    assert.deepEqual(
      userEvents.filter((e) => e.startsWith('message.')),
      ['message.im', 'message.mpim'],
    );
  });

  describe('an app created from the manifest', () => {
    let b: SlackBridge;
    let roomId: string;

    before(async () => {
      const appOptions = { botScopes: [...scopes], botEvents: events, userScopes: [...userScopes], userEvents };
      b = await startPuppetBridge('socket', { appOptions });
      roomId = await linkedRoom(b);
    });
    after(async () => {
      await b?.stop();
    });

    it('relays messages, edits, reactions, files, topics and profiles both ways without a missing scope', async () => {
      const m = b.alice.post(b.general, 'from slack');
      const ev = await eventually(
        () => messages(b, roomId, ghostId(b.alice.id)).find((e) => e.content.body === 'from slack'),
        'Slack → Matrix',
      );
      b.bob.react(b.general, m.ts, 'thumbsup');
      b.alice.edit(b.general, m.ts, 'from slack, edited');
      b.alice.upload(b.general, { name: 'a.txt', data: Buffer.from('text file') });
      b.bob.updateProfile({ displayName: 'Bobby' });
      await b.matrixAlice.sendMessage(roomId, 'from matrix');
      await b.matrixAlice.sendEvent(roomId, 'm.reaction', {
        'm.relates_to': { rel_type: 'm.annotation', event_id: ev.event_id, key: '👀' },
      });
      const mxc = await b.matrixAlice.upload(Buffer.from('bytes'), 'text/plain', 'b.txt');
      await b.matrixAlice.sendMessage(roomId, { msgtype: 'm.file', body: 'b.txt', url: mxc, info: { mimetype: 'text/plain' } });
      await eventually(() => b.slack.posted(b.app, b.general).some((p) => p.text === 'from matrix'), 'Matrix → Slack');
      await b.matrixAlice.sendState(roomId, 'm.room.topic', '', { topic: 'topic from matrix' });
      await eventually(() => b.slack.conversation(b.general.id).topic.value === 'topic from matrix', 'topic on Slack');
      await eventually(() => b.slack.message(b.general, m.ts)?.reactions.some((r) => r.name === 'eyes'), 'reaction on Slack');
      await eventually(
        () => b.slack.messages(b.general).some((p) => p.files?.length && b.slack.file(p.files[0]).name === 'b.txt'),
        'file on Slack',
      );
      await eventually(() => messages(b, roomId, ghostId(b.alice.id)).some((e) => e.content.msgtype === 'm.file'), 'file on Matrix');
      await eventually(
        () => b.fx.hs.profile(ghostId(b.bob.id))?.displayname === 'Bobby' || !b.fx.hs.userExists(ghostId(b.bob.id)),
        'profile',
      );
      await b.slack.waitForDeliveries(b.app);
      await b.connector().idle();
      const refused = b.slack.calls().filter((c) => c.error === 'missing_scope' || c.error === 'not_allowed_token_type');
      assert.deepEqual(
        refused.map((c) => `${c.method}: ${c.error}`),
        [],
      );
    });

    it("logs a puppet in with the manifest's user scopes; they post, upload, react, set topics and DM as themselves without a missing scope", async () => {
      const m = b.matrixAlice;
      const admin = await adminRoom(b, m);
      const link = new URL(/https?:\/\/\S+/.exec(await admin.command('!login'))![0]);
      assert.deepEqual(
        link.searchParams.get('user_scope')!.split(',').sort(),
        [...userScopes].sort(),
        "login asks for the manifest's user scopes",
      );
      await puppetLogin(b, admin, b.alice);
      const mine = (conv: SlackConversation, text: string) =>
        b.slack.messages(conv).find((x) => x.text === text && x.user === b.alice.id && x.via === 'user-token');

      await m.sendMessage(roomId, 'as myself');
      const post = await eventually(() => mine(b.general, 'as myself'), 'her own post on Slack');
      const mxc = await m.upload(Buffer.from('mine'), 'text/plain', 'mine.txt');
      await m.sendMessage(roomId, { msgtype: 'm.file', body: 'mine.txt', url: mxc, info: { mimetype: 'text/plain' } });
      await eventually(
        () =>
          b.slack.messages(b.general).some((x) => x.user === b.alice.id && x.files?.length && b.slack.file(x.files[0]).name === 'mine.txt'),
        'her own file on Slack',
      );
      await m.sendState(roomId, 'm.room.topic', '', { topic: 'her topic' });
      await eventually(() => b.slack.conversation(b.general.id).topic.creator === b.alice.id, 'her topic on Slack');
      const eventId = messages(b, roomId, m.userId).find((e) => e.content.body === 'as myself')!.event_id;
      await m.sendEvent(roomId, 'm.reaction', { 'm.relates_to': { rel_type: 'm.annotation', event_id: eventId, key: '👍' } });
      await eventually(() => b.slack.message(b.general, post.ts)?.reactions.some((r) => r.users.includes(b.alice.id)), 'her reaction');

      // A DM arrives through the manifest's user events, and her answer goes out with her token.
      const dm = b.bob.openDm(b.alice);
      b.bob.post(dm, 'psst');
      const dmRoom = await eventually(
        () => b.fx.hs.rooms.allRoomIds().find((r) => messages(b, r, ghostId(b.bob.id)).some((e) => e.content.body === 'psst')),
        'the DM on Matrix',
      );
      await m.join(dmRoom);
      await m.sendMessage(dmRoom, 'psst back');
      await eventually(() => mine(dm, 'psst back'), 'her DM answer on Slack');

      await b.slack.waitForDeliveries(b.app);
      await b.connector().idle();
      const userCalls = b.slack.calls().filter((c) => c.tokenKind === 'user');
      assert.ok(userCalls.some((c) => c.method === 'files.completeUploadExternal' && c.ok));
      assert.deepEqual(
        b.slack
          .calls()
          .filter((c) => c.error === 'missing_scope' || c.error === 'not_allowed_token_type')
          .map((c) => `${c.method} (${c.tokenKind}): ${c.error}`),
        [],
      );
    });
  });
});
