/**
 * What crosses the Slack bridge besides plain text, both ways: formatting (mrkdwn and rich_text →
 * sanitised HTML, HTML → mrkdwn), emotes and notices, mentions and pills, room pings, edits,
 * deletions, reactions (Unicode and custom emoji), threads and replies, files, channel name and
 * topic, joins and leaves.
 */
import { strict as assert } from 'node:assert';
import http from 'node:http';
import { asString, grantPower } from '@causeway/testing';
import type { AddressInfo } from 'node:net';
import { startSlackBridge, linkedRoom, ghostId, messages, eventually, BOT, type SlackBridge } from './support';

// A 1×1 PNG.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==', 'base64');

describe('slack-bridge: content both ways', function () {
  this.timeout(60_000);
  let b: SlackBridge;
  let roomId: string;
  let emojiServer: http.Server;

  const fromAlice = (body: string) =>
    eventually(() => messages(b, roomId, ghostId(b.alice.id)).find((e) => e.content.body === body), `"${body}" on Matrix`);
  const onSlack = (text: string) => eventually(() => b.slack.posted(b.app, b.general).find((m) => m.text === text), `"${text}" on Slack`);
  const settle = async () => {
    await b.slack.waitForDeliveries(b.app);
    await b.connector().idle();
    await b.fx.bridge.idle();
  };

  before(async () => {
    b = await startSlackBridge('socket');
    roomId = await linkedRoom(b);
    emojiServer = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'image/png' }).end(PNG));
    await new Promise<void>((r) => emojiServer.listen(0, '127.0.0.1', r));
    b.slack.addCustomEmoji(b.team, 'partyparrot', `http://127.0.0.1:${(emojiServer.address() as AddressInfo).port}/parrot.png`);
  });
  after(async () => {
    await b?.stop();
    emojiServer?.close();
  });

  it('Slack formatting, mentions and <!channel> become sanitised HTML, pills and an @room ping', async () => {
    b.alice.post(b.general, `*bold* _it_ ~gone~ \`code\` <@${b.bob.id}> <!channel> <script>x</script>`);
    const ev = await eventually(
      () => messages(b, roomId, ghostId(b.alice.id)).find((e) => String(e.content.body).startsWith('bold')),
      'formatted message',
    );
    const html = String(ev.content.formatted_body);
    assert.match(html, /<strong>bold<\/strong>/);
    assert.match(html, /<em>it<\/em>/);
    assert.match(html, /<del>gone<\/del>/);
    assert.match(html, /<code>code<\/code>/);
    assert.ok(html.includes(`https://matrix.to/#/${ghostId(b.bob.id)}`), html);
    assert.ok(!html.includes('<script>'), html);
    assert.deepEqual(ev.content['m.mentions'], { user_ids: [ghostId(b.bob.id)], room: true });
  });

  it('Matrix HTML, pills and @room become mrkdwn, <@U…> and <!channel>', async () => {
    // Bob's ghost exists once he has spoken.
    b.bob.post(b.general, 'bob here');
    await eventually(() => messages(b, roomId, ghostId(b.bob.id)).length > 0, 'bob on Matrix');
    await b.matrixAlice.sendMessage(roomId, {
      msgtype: 'm.text',
      body: 'bold bob @room <b>',
      format: 'org.matrix.custom.html',
      formatted_body: `<b>bold</b> <a href="https://matrix.to/#/${ghostId(b.bob.id)}">bob</a> @room &lt;b&gt;`,
      'm.mentions': { user_ids: [ghostId(b.bob.id)], room: true },
    });
    await onSlack(`*bold* <@${b.bob.id}> <!channel> &lt;b&gt;`);

    await b.matrixAlice.sendMessage(roomId, {
      msgtype: 'm.text',
      body: 'styles',
      format: 'org.matrix.custom.html',
      formatted_body:
        '<i>it</i> <del>st</del> <code>c</code><pre><code>block\nline</code></pre><blockquote>quoted</blockquote>' +
        '<ul><li>one</li><li>two</li></ul><ol><li>first</li></ol><p><a href="https://example.org/x">link</a></p>',
    });
    await onSlack('_it_ ~st~ `c`\n```block\nline```\n> quoted\n• one\n• two\n1. first\n<https://example.org/x|link>');
    // Without @room in m.mentions, the text "@room" pings nobody on Slack.
    await b.matrixAlice.sendMessage(roomId, { msgtype: 'm.text', body: 'hello @room', 'm.mentions': {} });
    await onSlack('hello @room');
  });

  it('emotes and notices cross both ways', async () => {
    b.alice.me(b.general, 'waves');
    const emote = await fromAlice('waves');
    assert.equal(emote.content.msgtype, 'm.emote');
    await b.matrixAlice.sendMessage(roomId, { msgtype: 'm.emote', body: 'dances' });
    await onSlack('_dances_');
    await b.matrixAlice.sendMessage(roomId, { msgtype: 'm.notice', body: 'fyi' });
    await onSlack('fyi');

    // Another app's post (a bot) is a notice from a ghost of that bot, under the name it posted with.
    const other = b.slack.createApp({ name: 'Deploybot' });
    const { botToken, botUserId } = b.slack.install(other, b.team);
    b.alice.invite(b.general, botUserId);
    const res = await fetch(`${b.slack.apiUrl}chat.postMessage`, {
      method: 'POST',
      headers: { authorization: `Bearer ${botToken}`, 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify({ channel: b.general.id, text: 'deployed v2', username: 'Deploys' }),
    });
    assert.equal(((await res.json()) as { ok: boolean }).ok, true);
    const notice = await eventually(() => messages(b, roomId).find((e) => e.content.body === 'deployed v2'), 'bot post on Matrix');
    assert.equal(notice.content.msgtype, 'm.notice');
    assert.equal(b.fx.hs.profile(notice.sender)?.displayname, 'Deploys');
  });

  it('edits cross both ways (message_changed ↔ m.replace, chat.update)', async () => {
    const m = b.alice.post(b.general, 'typo here');
    const ev = await fromAlice('typo here');
    b.alice.edit(b.general, m.ts, 'fixed here');
    const edit = await eventually(
      () => messages(b, roomId, ghostId(b.alice.id)).find((e) => e.content['m.new_content']?.body === 'fixed here'),
      'edit on Matrix',
    );
    assert.equal(edit.content['m.relates_to']?.rel_type, 'm.replace');
    assert.equal(edit.content['m.relates_to']?.event_id, ev.event_id);

    const mine = await b.matrixAlice.sendMessage(roomId, 'before edit');
    const post = await onSlack('before edit');
    await b.matrixAlice.sendMessage(roomId, {
      msgtype: 'm.text',
      body: '* after edit',
      'm.new_content': { msgtype: 'm.text', body: 'after edit' },
      'm.relates_to': { rel_type: 'm.replace', event_id: mine },
    });
    await eventually(() => b.slack.message(b.general, post.ts)?.text === 'after edit', 'chat.update on Slack');
    await settle();
    // The bridge's own edit did not come back as a second edit.
    assert.equal(messages(b, roomId).filter((e) => e.content['m.new_content']?.body === 'after edit').length, 1);
  });

  it('deletions cross both ways', async () => {
    const m = b.alice.post(b.general, 'delete me');
    const ev = await fromAlice('delete me');
    b.alice.delete(b.general, m.ts);
    await eventually(
      () => b.fx.hs.roomTimeline(roomId).find((e) => e.type === 'm.room.redaction' && e.redacts === ev.event_id),
      'redaction on Matrix',
    );

    const mine = await b.matrixAlice.sendMessage(roomId, 'retract this');
    const post = await onSlack('retract this');
    await b.matrixAlice.redact(roomId, mine);
    await eventually(() => b.slack.message(b.general, post.ts)?.deleted, 'chat.delete on Slack');

    // A Slack user's message removed by a Matrix moderator stays on Slack, and the moderator is told.
    const kept = b.alice.post(b.general, 'not ours to delete');
    const keptEv = await fromAlice('not ours to delete');
    await b.matrixAlice.redact(roomId, keptEv.event_id);
    await eventually(
      () =>
        b.fx.hs.rooms
          .allRoomIds()
          .some((r) =>
            b.fx.hs
              .roomTimeline(r)
              .some((e) => e.sender === BOT && String(e.content?.body).includes('Slack does not let the bridge delete')),
          ),
      'the moderator told',
    );
    assert.ok(!b.slack.message(b.general, kept.ts)?.deleted);
  });

  it('reactions cross both ways: Unicode ↔ shortcodes, custom emoji as images', async () => {
    const m = b.alice.post(b.general, 'react to me');
    const ev = await fromAlice('react to me');
    b.bob.react(b.general, m.ts, 'thumbsup');
    await eventually(
      () =>
        b.fx.hs
          .roomTimeline(roomId)
          .find(
            (e) =>
              e.type === 'm.reaction' &&
              e.sender === ghostId(b.bob.id) &&
              e.content['m.relates_to']?.key === '👍' &&
              e.content['m.relates_to']?.event_id === ev.event_id,
          ),
      '👍 on Matrix',
    );
    b.bob.react(b.general, m.ts, 'partyparrot');
    const parrot = await eventually(
      () =>
        b.fx.hs.roomTimeline(roomId).find((e) => e.type === 'm.reaction' && String(e.content['m.relates_to']?.key).startsWith('mxc://')),
      'custom emoji reaction',
    );
    assert.deepEqual(b.fx.hs.mediaBytes(asString(parrot.content['m.relates_to']?.key, 'reaction key')), PNG);

    const tada = () => b.slack.message(b.general, m.ts)?.reactions.find((r) => r.name === 'tada' && r.users.includes(b.botUserId));
    const r1 = await b.matrixAlice.sendEvent(roomId, 'm.reaction', {
      'm.relates_to': { rel_type: 'm.annotation', event_id: ev.event_id, key: '🎉' },
    });
    await eventually(tada, 'tada on Slack');
    // A second Matrix user's 🎉 is the same bot reaction; it goes only when both are taken back.
    const other = await b.fx.hs.registerUser('mbob', { displayname: 'Bob M' });
    await other.join(roomId);
    const r2 = await other.sendEvent(roomId, 'm.reaction', {
      'm.relates_to': { rel_type: 'm.annotation', event_id: ev.event_id, key: '🎉' },
    });
    await settle();
    await b.matrixAlice.redact(roomId, r1);
    await settle();
    assert.ok(tada(), 'still there while Bob M reacts');
    await other.redact(roomId, r2);
    await eventually(() => !tada(), 'tada removed from Slack');

    // Slack → Matrix removal: the ghost's reaction is redacted.
    b.bob.unreact(b.general, m.ts, 'thumbsup');
    const thumbs = b.fx.hs.roomTimeline(roomId).find((e) => e.type === 'm.reaction' && e.content['m.relates_to']?.key === '👍')!;
    await eventually(
      () => b.fx.hs.roomTimeline(roomId).find((e) => e.type === 'm.room.redaction' && e.redacts === thumbs.event_id),
      '👍 redacted on Matrix',
    );
  });

  it('threads and replies cross both ways (thread_ts ↔ m.thread, broadcasts as replies)', async () => {
    const root = b.alice.post(b.general, 'thread root');
    const rootEv = await fromAlice('thread root');
    b.bob.reply(b.general, root.ts, 'in the thread');
    const reply = await eventually(
      () => messages(b, roomId, ghostId(b.bob.id)).find((e) => e.content.body === 'in the thread'),
      'thread reply',
    );
    assert.equal(reply.content['m.relates_to']?.rel_type, 'm.thread');
    assert.equal(reply.content['m.relates_to']?.event_id, rootEv.event_id);
    b.bob.reply(b.general, root.ts, 'also to the channel', { broadcast: true });
    const bc = await eventually(
      () => messages(b, roomId, ghostId(b.bob.id)).find((e) => e.content.body === 'also to the channel'),
      'broadcast',
    );
    assert.equal(bc.content['m.relates_to']?.['m.in_reply_to']?.event_id, rootEv.event_id);
    assert.notEqual(bc.content['m.relates_to']?.rel_type, 'm.thread');

    await b.matrixAlice.sendMessage(roomId, {
      msgtype: 'm.text',
      body: 'matrix in thread',
      'm.relates_to': {
        rel_type: 'm.thread',
        event_id: rootEv.event_id,
        is_falling_back: true,
        'm.in_reply_to': { event_id: rootEv.event_id },
      },
    });
    const t = await eventually(() => b.slack.messages(b.general).find((m) => m.text === 'matrix in thread'), 'thread reply on Slack');
    assert.equal(t.threadTs, root.ts);
    // A reply to a thread reply goes to the thread's root (Slack threads are one level deep), and to the channel.
    await b.matrixAlice.sendMessage(roomId, {
      msgtype: 'm.text',
      body: 'matrix reply',
      'm.relates_to': { 'm.in_reply_to': { event_id: reply.event_id } },
    });
    const r = await eventually(() => b.slack.messages(b.general).find((m) => m.text === 'matrix reply'), 'reply on Slack');
    assert.equal(r.threadTs, root.ts);
    assert.equal(r.subtype, 'thread_broadcast');
  });

  it('files cross both ways (url_private with the token; three-step upload)', async () => {
    b.alice.upload(b.general, { name: 'cat.png', data: PNG, comment: 'a cat' });
    const img = await eventually(
      () => messages(b, roomId, ghostId(b.alice.id)).find((e) => e.content.msgtype === 'm.image'),
      'image on Matrix',
    );
    assert.deepEqual(b.fx.hs.mediaBytes(asString(img.content.url, 'url')), PNG);
    await fromAlice('a cat');

    const mxc = await b.matrixAlice.upload(PNG, 'image/png', 'dog.png');
    await b.matrixAlice.sendMessage(roomId, {
      msgtype: 'm.image',
      body: 'dog.png',
      url: mxc,
      info: { mimetype: 'image/png', size: PNG.length },
    });
    const post = await eventually(
      () => b.slack.messages(b.general).find((m) => m.files?.length && b.slack.file(m.files[0]).name === 'dog.png'),
      'file on Slack',
    );
    assert.deepEqual(b.slack.file(post.files![0]).data, PNG);
    assert.ok(b.slack.calls('files.completeUploadExternal').length >= 1);
    assert.equal(b.slack.calls('files.upload').length, 0);
  });

  it('channel topic, purpose and name changes reach the room; joins and leaves move ghosts', async () => {
    // The room's owner lets the bridge change its name and topic.
    await grantPower(b.fx.hs, b.matrixAlice, roomId, BOT, 100);
    b.alice.setTopic(b.general, 'the new topic');
    await eventually(() => b.fx.hs.stateEvent(roomId, 'm.room.topic')?.content.topic === 'the new topic', 'topic');
    // A topic comes as Slack writes text (escaped, links and mentions in angle brackets): the room
    // gets it as a Slack reader sees it.
    b.alice.setTopic(b.general, `Q&amp;A &lt;weekly&gt;: <https://example.org/faq|the FAQ>, ask <@${b.bob.id}>`);
    const shown = await eventually(() => {
      const t = b.fx.hs.stateEvent(roomId, 'm.room.topic')?.content.topic;
      return t?.startsWith('Q&A') ? t : undefined;
    }, 'escaped topic');
    assert.ok(shown.startsWith('Q&A <weekly>: '), shown);
    assert.ok(!/&amp;|&lt;|<https|<@/.test(shown), shown);
    assert.ok(shown.includes('the FAQ') && shown.includes('Bob Smith'), shown);
    b.alice.setPurpose(b.general, 'what we do');
    await eventually(() => b.fx.hs.stateEvent(roomId, 'm.room.topic')?.content.topic === 'what we do', 'purpose as topic');
    b.alice.rename(b.general, 'renamed');
    await eventually(() => b.fx.hs.stateEvent(roomId, 'm.room.name')?.content.name === 'renamed', 'name');

    // Everyone is in #general for good: joins and leaves are seen in another channel.
    const lounge = b.slack.createChannel(b.team, { name: 'lounge', members: [b.alice, b.botUserId] });
    const loungeRoom = await linkedRoom(b, lounge);
    const carol = b.slack.createUser(b.team, { name: 'carol', realName: 'Carol' });
    carol.join(lounge);
    await eventually(() => b.fx.hs.membership(loungeRoom, ghostId(carol.id)) === 'join', 'carol joined');
    assert.equal(b.fx.hs.profile(ghostId(carol.id))?.displayname, 'Carol');
    carol.leave(lounge);
    await eventually(() => b.fx.hs.membership(loungeRoom, ghostId(carol.id)) === 'leave', 'carol left');
    assert.equal(b.fx.hs.membership(loungeRoom, BOT), 'join');
  });
});
