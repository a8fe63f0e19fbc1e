import { strict as assert } from 'node:assert';
import type { App as BoltApp } from '@slack/bolt';
import type { WebAPIPlatformError } from '@slack/web-api';
import { asObject, asString, at, type JsonObject } from '../../src/spec-json';
import { eventually, startSocketBolt, startWorkspace, webClient, type Workspace } from './helpers';

/** An event as Bolt hands it to the listener: its fields are whatever the emulator sent. */
type Ev = JsonObject;

describe('slack emulator: side effects as events (received by Bolt)', () => {
  let w: Workspace;
  let bolt: BoltApp;
  let events: Ev[];

  /** Waits until Bolt has seen every event the emulator emitted so far. */
  async function settled(): Promise<Ev[]> {
    await w.slack.waitForDeliveries(w.app);
    await eventually(() => events.length === w.slack.deliveries(w.app).length, 'Bolt to see every delivered event');
    return events;
  }
  const ofType = (type: string, subtype?: string) =>
    events.filter((e) => e.type === type && (subtype === undefined || e.subtype === subtype));

  beforeEach(async () => {
    w = await startWorkspace();
    events = [];
    bolt = await startSocketBolt(w.slack, w.app, w.inst, { ignoreSelf: false });
    bolt.event(/.*/, async ({ event }) => {
      events.push(asObject(event, 'event'));
    });
    await bolt.start();
  });
  afterEach(async () => {
    await bolt.stop().catch(() => undefined);
    assert.deepEqual(w.slack.web.internalErrors, []);
    await w.slack.stop();
  });

  it('a message typed in a client carries client_msg_id, escaped mrkdwn and a rich_text block', async () => {
    const m = w.alice.post(w.general, `hi <@${w.bob.id}> *a < b* & :wave:`);
    const [e] = await settled();
    assert.equal(e.type, 'message');
    assert.equal(e.subtype, undefined);
    assert.equal(e.user, w.alice.id);
    assert.equal(e.team, w.team.id);
    assert.equal(e.ts, m.ts);
    assert.equal(e.event_ts, m.ts);
    assert.equal(e.channel_type, 'channel');
    assert.equal(e.text, `hi <@${w.bob.id}> *a &lt; b* &amp; :wave:`);
    assert.match(asString(e.client_msg_id, 'client_msg_id'), /^[0-9a-f-]{36}$/);
    assert.equal(e.bot_id, undefined);
    assert.deepEqual(at(e, 'blocks', 0, 'elements'), [
      {
        type: 'rich_text_section',
        elements: [
          { type: 'text', text: 'hi ' },
          { type: 'user', user_id: w.bob.id },
          { type: 'text', text: ' ' },
          { type: 'text', text: 'a < b', style: { bold: true } },
          { type: 'text', text: ' & ' },
          { type: 'emoji', name: 'wave' },
        ],
      },
    ]);
  });

  it('a bot post carries bot_id, app_id and bot_profile; with a username override it is a bot_message', async () => {
    const plain = await w.bot.chat.postMessage({ channel: w.general.id, text: 'from the bridge' });
    const custom = await w.bot.chat.postMessage({
      channel: w.general.id,
      text: 'as alice',
      username: 'alice (Matrix)',
      icon_url: 'https://example.org/a.png',
    });
    const [p, c] = await settled();
    assert.equal(p.ts, plain.ts);
    assert.equal(p.user, w.inst.botUserId);
    assert.equal(p.bot_id, w.inst.botId);
    assert.equal(p.app_id, w.app.id);
    assert.equal(at(p, 'bot_profile', 'app_id'), w.app.id);
    assert.equal(c.ts, custom.ts);
    assert.equal(c.subtype, 'bot_message');
    assert.equal(c.username, 'alice (Matrix)');
    assert.deepEqual(c.icons, { image_48: 'https://example.org/a.png', image_72: 'https://example.org/a.png' });
    assert.equal(c.bot_id, w.inst.botId);
    assert.equal(c.user, undefined);
    assert.equal(w.slack.posted(w.app).length, 2);
  });

  it('overrides need chat:write.customize: without it the post is an ordinary bot post', async () => {
    const inst = w.slack.install(w.slack.createApp({ name: 'plain', botScopes: ['chat:write'], botEvents: [] }), w.team);
    const x = w.slack.createChannel(w.team, { name: 'x', members: [inst.botUserId] });
    const r = await webClient(w.slack, inst.botToken).chat.postMessage({ channel: x.id, text: 'hi', username: 'ignored' });
    const stored = w.slack.message(x, r.ts!)!;
    assert.equal(stored.subtype, undefined);
    assert.equal(stored.username, undefined);
  });

  it('threads: replies carry thread_ts and parent_user_id; a broadcast is a thread_broadcast with its root', async () => {
    const root = w.alice.post(w.general, 'root');
    const reply = w.bob.reply(w.general, root.ts, 'in thread');
    const bcast = w.bob.reply(w.general, root.ts, 'also to channel', { broadcast: true });
    const botReply = await w.bot.chat.postMessage({
      channel: w.general.id,
      text: 'bot reply',
      thread_ts: root.ts,
      reply_broadcast: true,
      username: 'lost on broadcast',
    });
    const [, r, b, br] = await settled();
    assert.deepEqual([r.ts, r.thread_ts, r.parent_user_id, r.subtype], [reply.ts, root.ts, w.alice.id, undefined]);
    assert.deepEqual([b.ts, b.subtype, b.thread_ts], [bcast.ts, 'thread_broadcast', root.ts]);
    assert.equal(at(b, 'root', 'ts'), root.ts);
    assert.equal(at(b, 'root', 'reply_count'), 2);
    assert.deepEqual([br.ts, br.subtype, br.username, br.bot_id], [botReply.ts, 'thread_broadcast', undefined, w.inst.botId]);
    const history = await w.bot.conversations.history({ channel: w.general.id });
    assert.deepEqual(
      history.messages!.map((m) => m.text),
      ['bot reply', 'also to channel', 'root'],
    );
    assert.equal(history.messages![2].reply_count, 3);
    const replies = await w.bot.conversations.replies({ channel: w.general.id, ts: reply.ts });
    assert.deepEqual(
      replies.messages!.map((m) => m.text),
      ['root', 'in thread', 'also to channel', 'bot reply'],
    );
  });

  it('edits produce message_changed with message and previous_message', async () => {
    const m = w.alice.post(w.general, 'old');
    w.alice.edit(w.general, m.ts, 'new');
    const bot = await w.bot.chat.postMessage({ channel: w.general.id, text: 'v1' });
    await w.bot.chat.update({ channel: w.general.id, ts: bot.ts!, text: 'v2' });
    await assert.rejects(
      w.bot.chat.update({ channel: w.general.id, ts: m.ts, text: 'not mine' }),
      (e: WebAPIPlatformError) => e.data.error === 'cant_update_message',
    );
    await settled();
    const [user, byBot] = ofType('message', 'message_changed');
    assert.equal(user.hidden, true);
    assert.equal(at(user, 'message', 'ts'), m.ts);
    assert.equal(at(user, 'message', 'text'), 'new');
    assert.deepEqual(at(user, 'message', 'edited'), { user: w.alice.id, ts: user.ts });
    assert.notEqual(user.ts, m.ts);
    assert.equal(at(user, 'previous_message', 'text'), 'old');
    assert.equal(at(user, 'previous_message', 'ts'), m.ts);
    assert.equal(at(byBot, 'message', 'text'), 'v2');
    assert.equal(at(byBot, 'message', 'bot_id'), w.inst.botId);
    assert.equal(at(byBot, 'previous_message', 'text'), 'v1');
  });

  it('deletes produce message_deleted; a thread root with replies becomes a tombstone', async () => {
    const bot = await w.bot.chat.postMessage({ channel: w.general.id, text: 'to delete' });
    await w.bot.chat.delete({ channel: w.general.id, ts: bot.ts! });
    const alices = w.alice.post(w.general, 'alice says');
    await assert.rejects(
      w.bot.chat.delete({ channel: w.general.id, ts: alices.ts }),
      (e: WebAPIPlatformError) => e.data.error === 'cant_delete_message',
    );
    const root = w.alice.post(w.general, 'root');
    w.bob.reply(w.general, root.ts, 'reply');
    w.alice.delete(w.general, root.ts);
    await settled();
    const [deleted] = ofType('message', 'message_deleted');
    assert.equal(deleted.deleted_ts, bot.ts);
    assert.equal(at(deleted, 'previous_message', 'text'), 'to delete');
    assert.equal(deleted.hidden, true);
    const tomb = ofType('message', 'message_changed').at(-1)!;
    assert.equal(at(tomb, 'message', 'subtype'), 'tombstone');
    assert.equal(at(tomb, 'message', 'ts'), root.ts);
    assert.equal(at(tomb, 'previous_message', 'text'), 'root');
    assert.equal(w.slack.message(w.general, bot.ts!)!.deleted, true);
  });

  it('reactions produce reaction_added / reaction_removed with item and item_user', async () => {
    const bot = await w.bot.chat.postMessage({ channel: w.general.id, text: 'react' });
    w.alice.react(w.general, bot.ts!, 'thumbsup');
    await w.bot.reactions.add({ channel: w.general.id, timestamp: bot.ts!, name: 'tada' });
    await assert.rejects(
      w.bot.reactions.add({ channel: w.general.id, timestamp: bot.ts!, name: 'tada' }),
      (e: WebAPIPlatformError) => e.data.error === 'already_reacted',
    );
    w.alice.unreact(w.general, bot.ts!, 'thumbsup');
    await settled();
    const added = ofType('reaction_added');
    assert.deepEqual(
      added.map((e) => [e.user, e.reaction, e.item_user]),
      [
        [w.alice.id, 'thumbsup', w.inst.botUserId],
        [w.inst.botUserId, 'tada', w.inst.botUserId],
      ],
    );
    assert.deepEqual(added[0].item, { type: 'message', channel: w.general.id, ts: bot.ts });
    assert.deepEqual(
      ofType('reaction_removed').map((e) => e.reaction),
      ['thumbsup'],
    );
    assert.deepEqual(w.slack.message(w.general, bot.ts!)!.reactions, [{ name: 'tada', users: [w.inst.botUserId] }]);
  });

  it('membership: join, invite and leave produce member_* events and channel_join / channel_leave messages', async () => {
    const random = w.slack.createChannel(w.team, { name: 'random', members: [w.alice] });
    await w.bot.conversations.join({ channel: random.id });
    w.alice.invite(random, w.bob);
    w.bob.leave(random);
    await settled();
    assert.deepEqual(
      ofType('member_joined_channel').map((e) => [e.user, e.channel, e.channel_type, e.inviter]),
      [
        [w.inst.botUserId, random.id, 'C', undefined],
        [w.bob.id, random.id, 'C', w.alice.id],
      ],
    );
    assert.deepEqual(
      ofType('message', 'channel_join').map((e) => [e.user, e.inviter]),
      [
        [w.inst.botUserId, undefined],
        [w.bob.id, w.alice.id],
      ],
    );
    assert.deepEqual(
      ofType('member_left_channel').map((e) => [e.user, e.channel]),
      [[w.bob.id, random.id]],
    );
    assert.deepEqual(
      ofType('message', 'channel_leave').map((e) => e.user),
      [w.bob.id],
    );
  });

  it('rename, topic and purpose produce channel_rename and channel_name / channel_topic / channel_purpose messages', async () => {
    w.alice.rename(w.general, 'lobby');
    w.alice.setTopic(w.general, 'Welcome!');
    w.alice.setPurpose(w.general, 'Chat');
    await settled();
    const [rename] = ofType('channel_rename');
    assert.deepEqual([at(rename, 'channel', 'id'), at(rename, 'channel', 'name')], [w.general.id, 'lobby']);
    const [name] = ofType('message', 'channel_name');
    assert.deepEqual([name.old_name, name.name, name.user], ['general', 'lobby', w.alice.id]);
    assert.equal(ofType('message', 'channel_topic')[0].topic, 'Welcome!');
    assert.equal(ofType('message', 'channel_purpose')[0].purpose, 'Chat');
    const info = await w.bot.conversations.info({ channel: w.general.id });
    assert.deepEqual([info.channel!.name, info.channel!.topic!.value, info.channel!.previous_names], ['lobby', 'Welcome!', ['general']]);
  });

  it('a profile change produces user_change with the whole user', async () => {
    w.alice.updateProfile({ displayName: 'Ally', avatar: { data: Buffer.from('fake-png'), contentType: 'image/png' } });
    await settled();
    const [e] = ofType('user_change');
    assert.equal(at(e, 'user', 'id'), w.alice.id);
    assert.equal(at(e, 'user', 'profile', 'display_name'), 'Ally');
    const avatar = await fetch(asString(at(e, 'user', 'profile', 'image_72'), 'image_72'));
    assert.equal(avatar.status, 200);
    assert.equal(Buffer.from(await avatar.arrayBuffer()).toString(), 'fake-png');
    assert.equal((await w.bot.users.info({ user: w.alice.id })).user!.profile!.display_name, 'Ally');
    w.slack.deactivateUser(w.bob);
    await settled();
    assert.deepEqual(
      ofType('user_change').map((c) => [at(c, 'user', 'id'), at(c, 'user', 'deleted')]),
      [
        [w.alice.id, false],
        [w.bob.id, true],
      ],
    );
  });

  it('delivers only where the bot is a member and only subscribed events', async () => {
    const elsewhere = w.slack.createChannel(w.team, { name: 'elsewhere', members: [w.alice, w.bob] });
    w.alice.post(elsewhere, 'not for the bot');
    const quiet = w.slack.createApp({ name: 'quiet', botEvents: ['message.channels'] });
    const quietInst = w.slack.install(quiet, w.team);
    w.alice.invite(w.general, quietInst.botUserId);
    const m = w.alice.post(w.general, 'for both');
    w.bob.react(w.general, m.ts, 'eyes');
    await settled();
    assert.ok(!events.some((e) => e.channel === elsewhere.id));
    const quietTypes = w.slack.deliveries(quiet).map((d) => `${d.event.type as string}/${(d.event.subtype as string | undefined) ?? ''}`);
    assert.deepEqual(quietTypes, ['message/channel_join', 'message/']);
    assert.ok(events.some((e) => e.type === 'reaction_added'));
  });

  it('DMs and group DMs: the bot opens them, posts there, and hears the people in them', async () => {
    const dm = await w.bot.conversations.open({ users: w.alice.id });
    assert.match(dm.channel!.id!, /^D/);
    assert.equal((await w.bot.conversations.open({ users: w.alice.id })).already_open, true);
    const toUser = await w.bot.chat.postMessage({ channel: w.alice.id, text: 'to the user ID' });
    assert.equal(toUser.channel, dm.channel!.id);
    w.alice.post(dm.channel!.id!, 'hello bot');
    const group = await w.bot.conversations.open({ users: `${w.alice.id},${w.bob.id}` });
    assert.equal((group.channel as { is_mpim?: boolean }).is_mpim, true);
    w.bob.post(group.channel!.id!, 'hello all');
    const hidden = w.alice.openDm(w.bob);
    w.alice.post(hidden, 'just us');
    await settled();
    const fromPeople = events.filter((e) => e.type === 'message' && !e.bot_id);
    assert.deepEqual(
      fromPeople.map((e) => [e.text, e.channel_type]),
      [
        ['hello bot', 'im'],
        ['hello all', 'mpim'],
      ],
    );
    const list = await w.bot.conversations.list({ types: 'im,mpim' });
    assert.deepEqual(list.channels!.map((c) => c.id).sort(), [dm.channel!.id, group.channel!.id].sort());
    assert.equal(((await w.bot.conversations.info({ channel: dm.channel!.id! })).channel as { user?: string }).user, w.alice.id);
    await assert.rejects(
      w.bot.conversations.history({ channel: hidden.id }),
      (e: WebAPIPlatformError) => e.data.error === 'channel_not_found',
    );
  });

  it('a post with a user token comes from that user, and the bot hears it', async () => {
    const token = w.slack.grantUserToken(w.app, w.alice, ['chat:write', 'channels:read']);
    const asAlice = webClient(w.slack, token);
    assert.equal((await asAlice.auth.test()).user_id, w.alice.id);
    const r = await asAlice.chat.postMessage({ channel: w.general.id, text: 'puppeted' });
    const [e] = await settled();
    assert.deepEqual([e.ts, e.user, e.bot_id, e.text], [r.ts, w.alice.id, undefined, 'puppeted']);
    assert.equal(w.slack.message(w.general, r.ts!)!.via, 'user-token');
    await assert.rejects(
      asAlice.chat.update({
        channel: w.general.id,
        ts: (await w.bot.chat.postMessage({ channel: w.general.id, text: 'bot' })).ts!,
        text: 'x',
      }),
      (err: WebAPIPlatformError) => err.data.error === 'cant_update_message',
    );
  });

  it('user events reach the app through an authorizing user who can see them', async () => {
    const app = w.slack.createApp({ name: 'puppets', botEvents: [], userEvents: ['message.im'], socketMode: true });
    w.slack.install(app, w.team);
    w.slack.grantUserToken(app, w.alice, ['im:history']);
    const dm = w.bob.openDm(w.alice);
    w.bob.post(dm, 'psst');
    const [d] = w.slack.deliveries(app);
    assert.equal(d.event.channel_type, 'im');
    assert.deepEqual(d.payload.authorizations, [
      { enterprise_id: null, team_id: w.team.id, user_id: w.alice.id, is_bot: false, is_enterprise_install: false },
    ]);
    w.bob.post(w.bob.openDm(w.slack.createUser(w.team, { name: 'carol' })), 'not alice');
    assert.equal(w.slack.deliveries(app).length, 1);
  });
});
