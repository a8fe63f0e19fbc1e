/**
 * config/slack-app-manifest.yaml holds exactly the bot scopes and event subscriptions the bridge
 * uses: every Web API method the code names is allowed by a manifest scope (Slack's method table in
 * the emulator, packages/testing/src/slack/scopes.ts), every manifest scope is needed by a method,
 * an event subscription or a documented use, and the bridge works end to end as an app created
 * from the manifest (the emulator refuses what its scopes do not allow).
 */
import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { SLACK_METHODS, SLACK_EVENT_SCOPES } from '@causeway/testing';
import { startSlackBridge, linkedRoom, ghostId, messages, eventually, type SlackBridge } from './support';

const ROOT = path.join(__dirname, '../../..');
const manifest = parse(readFileSync(path.join(ROOT, 'config/slack-app-manifest.yaml'), 'utf8')) as {
  oauth_config: { scopes: { bot: string[]; user?: string[] } };
  settings: { event_subscriptions: { bot_events: string[] }; socket_mode_enabled: boolean };
};
const scopes = new Set(manifest.oauth_config.scopes.bot);
const events = manifest.settings.event_subscriptions.bot_events;

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

/** Web API methods the bridge's code names: any string literal that is a Slack method, and the SDK's `client.<ns>.<method>(`. */
function methodsUsed(): Set<string> {
  const used = new Set<string>();
  for (const file of sourceFiles(path.join(ROOT, 'packages/slack-bridge/src'))) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/'([a-z]+(?:\.[a-zA-Z]+)+)'/g)) if (SLACK_METHODS[m[1]]) used.add(m[1]);
    for (const m of text.matchAll(/client\.([a-z]+)\.([a-zA-Z]+)\(/g)) used.add(`${m[1]}.${m[2]}`);
  }
  return used;
}

/** The bot scopes a method may need for the conversations the bridge links (public and private channels). */
function botScopesFor(method: string): string[] {
  const spec = SLACK_METHODS[method];
  assert.ok(spec, `${method} is a Slack Web API method the emulator knows`);
  assert.ok('bot' in spec.tokens, `${method} may be called with a bot token`);
  const need = spec.tokens.bot;
  if (!need) return [];
  if (typeof need === 'string') return [need];
  return [need.channel, need.group].filter((s): s is string => !!s);
}

describe('slack-bridge: the app manifest', function () {
  this.timeout(60_000);

  it('allows every Web API method the code calls, and asks for no scope nothing uses', () => {
    const used = methodsUsed();
    for (const expected of [
      'chat.postMessage',
      'chat.update',
      'chat.delete',
      'reactions.add',
      'users.info',
      'files.getUploadURLExternal',
    ]) {
      assert.ok(used.has(expected), `the scan finds ${expected}`);
    }
    const needed = new Set<string>();
    for (const method of used) {
      for (const scope of botScopesFor(method)) {
        assert.ok(scopes.has(scope), `${method} needs ${scope}, which the manifest lacks`);
        needed.add(scope);
      }
    }
    for (const ev of events) {
      const allowed = SLACK_EVENT_SCOPES[ev];
      assert.ok(allowed, `${ev} is a known event subscription`);
      const held = allowed.filter((s) => scopes.has(s));
      assert.ok(allowed.length === 0 || held.length > 0, `${ev} needs ${allowed.join(' or ')}`);
      held.forEach((s) => needed.add(s));
    }
    for (const s of Object.keys(OTHER_USES)) needed.add(s);
    assert.deepEqual(
      [...scopes].filter((s) => !needed.has(s)),
      [],
      'scopes in the manifest that nothing uses',
    );
    assert.equal(manifest.oauth_config.scopes.user, undefined, 'relay mode asks for no user scopes');
  });

  it('subscribes to exactly the events the bridge acts on', () => {
    const parser = readFileSync(path.join(ROOT, 'packages/slack-bridge/src/slack/parse-event.ts'), 'utf8');
    for (const ev of events) {
      const type = ev.startsWith('message.') ? 'message' : ev;
      assert.ok(parser.includes(`case '${type}'`), `${ev} (${type}) is parsed`);
    }
  });

  describe('an app created from the manifest', () => {
    let b: SlackBridge;
    let roomId: string;

    before(async () => {
      b = await startSlackBridge('socket', { appOptions: { botScopes: [...scopes], botEvents: events } });
      roomId = await linkedRoom(b);
    });
    after(async () => {
      await b?.stop();
    });

    it('relays messages, edits, reactions, files and profiles both ways without a missing scope', async () => {
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
  });
});
