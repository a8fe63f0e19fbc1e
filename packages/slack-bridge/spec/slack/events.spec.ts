import { strict as assert } from 'node:assert';
import { parseSlackPayload, parseSlackEvent } from '../../src/slack/parse-event';
import type { SlackEvent } from '../../src/slack/events';

const envelope = (event: unknown, extra: Record<string, unknown> = {}) => ({
  token: 'legacy',
  team_id: 'T1',
  api_app_id: 'A1',
  type: 'event_callback',
  event_id: 'Ev01',
  event_time: 1700000000,
  is_ext_shared_channel: false,
  authorizations: [{ team_id: 'T1', user_id: 'UBOT', is_bot: true }],
  event,
  ...extra,
});

function parse(event: unknown): SlackEvent {
  const p = parseSlackPayload(envelope(event));
  assert.equal(p.type, 'event_callback');
  return (p as { event: SlackEvent }).event;
}

const ctx = { eventId: 'Ev01', teamId: 'T1', apiAppId: 'A1', eventTime: 1700000000, isExtSharedChannel: false };

describe('slack events: classification', () => {
  it('a plain message, with the envelope context', () => {
    assert.deepEqual(
      parse({
        type: 'message',
        channel: 'C1',
        channel_type: 'channel',
        user: 'U2',
        team: 'T1',
        text: 'hi <@U3>',
        ts: '1700000001.000200',
        event_ts: '1700000001.000200',
        client_msg_id: 'uuid',
        blocks: [{ type: 'rich_text', elements: [] }],
      }),
      {
        kind: 'message',
        ctx,
        channel: 'C1',
        channelType: 'channel',
        ts: '1700000001.000200',
        text: 'hi <@U3>',
        blocks: [{ type: 'rich_text', elements: [] }],
        files: [],
        author: { userId: 'U2', teamId: 'T1' },
        isBroadcast: false,
        isEmote: false,
      },
    );
  });

  it('thread replies, broadcasts, roots whose thread_ts is their own ts, /me', () => {
    const reply = parse({
      type: 'message',
      channel: 'C1',
      user: 'U2',
      text: 'r',
      ts: '1700000002.000100',
      thread_ts: '1700000000.000100',
      parent_user_id: 'U9',
    });
    assert.equal(reply.kind === 'message' && reply.threadTs, '1700000000.000100');
    const bc = parse({
      type: 'message',
      subtype: 'thread_broadcast',
      channel: 'C1',
      user: 'U2',
      text: 'b',
      ts: '1700000003.000100',
      thread_ts: '1700000000.000100',
      root: {},
    });
    assert.ok(bc.kind === 'message' && bc.isBroadcast && bc.threadTs === '1700000000.000100');
    const root = parse({
      type: 'message',
      channel: 'C1',
      user: 'U2',
      text: 'root',
      ts: '1700000000.000100',
      thread_ts: '1700000000.000100',
      reply_count: 3,
    });
    assert.ok(root.kind === 'message' && root.threadTs === undefined);
    const me = parse({ type: 'message', subtype: 'me_message', channel: 'C1', user: 'U2', text: 'waves', ts: '1700000004.000100' });
    assert.ok(me.kind === 'message' && me.isEmote);
  });

  it('bot and app posts carry bot_id/app_id/username for echo suppression and display', () => {
    const e = parse({
      type: 'message',
      subtype: 'bot_message',
      channel: 'C1',
      text: 'from a bot',
      ts: '1700000005.000100',
      bot_id: 'B1',
      app_id: 'A1',
      username: 'alice (Matrix)',
      icons: { image_48: 'https://x.y/48.png', image_72: 'https://x.y/72.png' },
    });
    assert.deepEqual(e.kind === 'message' && e.author, {
      botId: 'B1',
      appId: 'A1',
      username: 'alice (Matrix)',
      iconUrl: 'https://x.y/72.png',
    });
    const own = parse({
      type: 'message',
      channel: 'C1',
      user: 'UBOT',
      text: 'echo',
      ts: '1700000006.000100',
      bot_id: 'B1',
      bot_profile: { app_id: 'A9', icons: { image_72: 'javascript:x' } },
    });
    assert.deepEqual(own.kind === 'message' && own.author, { userId: 'UBOT', botId: 'B1', appId: 'A9' });
  });

  it('file shares: files normalised, deleted and plan-hidden files marked unavailable', () => {
    const e = parse({
      type: 'message',
      subtype: 'file_share',
      channel: 'C1',
      user: 'U2',
      text: 'caption',
      ts: '1700000007.000100',
      files: [
        {
          id: 'F1',
          name: 'a.png',
          title: 'A',
          mimetype: 'image/png',
          filetype: 'png',
          size: 123,
          url_private: 'https://files.slack.com/a.png',
          url_private_download: 'https://files.slack.com/dl/a.png',
          thumb_360: 'https://files.slack.com/t360.png',
          thumb_720: 'https://files.slack.com/t720.png',
          original_w: 800,
          original_h: 600,
          mode: 'hosted',
        },
        { id: 'F2', mode: 'tombstone' },
        { id: 'F3', mode: 'hidden_by_limit', url_private: 'https://files.slack.com/c' },
        { id: 'not a file id!' },
        'junk',
      ],
    });
    assert.ok(e.kind === 'message');
    assert.deepEqual(e.files, [
      {
        id: 'F1',
        name: 'a.png',
        title: 'A',
        mimetype: 'image/png',
        filetype: 'png',
        size: 123,
        urlPrivate: 'https://files.slack.com/a.png',
        urlPrivateDownload: 'https://files.slack.com/dl/a.png',
        thumbUrl: 'https://files.slack.com/t720.png',
        width: 800,
        height: 600,
        mode: 'hosted',
        available: true,
      },
      { id: 'F2', mode: 'tombstone', available: false },
      { id: 'F3', urlPrivate: 'https://files.slack.com/c', mode: 'hidden_by_limit', available: false },
    ]);
  });

  it('edits: target ts, event ts, new content; tombstones and unchanged content (unfurls) are ignored', () => {
    const edit = parse({
      type: 'message',
      subtype: 'message_changed',
      hidden: true,
      channel: 'C1',
      ts: '1700000010.000100',
      event_ts: '1700000010.000100',
      message: {
        type: 'message',
        user: 'U2',
        text: 'new',
        ts: '1700000001.000200',
        edited: { user: 'U2', ts: '1700000010.000000' },
        thread_ts: '1700000000.000100',
      },
      previous_message: { type: 'message', user: 'U2', text: 'old', ts: '1700000001.000200' },
    });
    assert.deepEqual(edit, {
      kind: 'message_changed',
      ctx,
      channel: 'C1',
      eventTs: '1700000010.000100',
      targetTs: '1700000001.000200',
      text: 'new',
      files: [],
      author: { userId: 'U2' },
      isBroadcast: false,
      isEmote: false,
      threadTs: '1700000000.000100',
      editedBy: 'U2',
    });
    const unfurl = parse({
      type: 'message',
      subtype: 'message_changed',
      channel: 'C1',
      ts: '1700000011.000100',
      message: { user: 'U2', text: 'see <https://x.y>', ts: '1700000001.000200', attachments: [{ title: 'X' }] },
      previous_message: { user: 'U2', text: 'see <https://x.y>', ts: '1700000001.000200' },
    });
    assert.equal(unfurl.kind, 'ignored');
    const tomb = parse({
      type: 'message',
      subtype: 'message_changed',
      channel: 'C1',
      ts: '1700000012.000100',
      message: { subtype: 'tombstone', text: 'This message was deleted.', ts: '1700000000.000100' },
    });
    assert.equal(tomb.kind, 'ignored');
  });

  it('deletes: deleted ts from deleted_ts or previous_message, thread kept', () => {
    assert.deepEqual(
      parse({
        type: 'message',
        subtype: 'message_deleted',
        hidden: true,
        channel: 'C1',
        ts: '1700000020.000100',
        deleted_ts: '1700000001.000200',
        previous_message: { user: 'U2', text: 'x', ts: '1700000001.000200', thread_ts: '1700000000.000100' },
      }),
      {
        kind: 'message_deleted',
        ctx,
        channel: 'C1',
        eventTs: '1700000020.000100',
        deletedTs: '1700000001.000200',
        threadTs: '1700000000.000100',
        author: { userId: 'U2' },
      },
    );
    const noDeleted = parse({
      type: 'message',
      subtype: 'message_deleted',
      channel: 'C1',
      ts: '1700000020.000100',
      previous_message: { ts: '1700000001.000300' },
    });
    assert.ok(noDeleted.kind === 'message_deleted' && noDeleted.deletedTs === '1700000001.000300');
  });

  it('reactions on messages; on files they are ignored', () => {
    assert.deepEqual(
      parse({
        type: 'reaction_added',
        user: 'U2',
        reaction: '+1::skin-tone-2',
        item_user: 'U3',
        item: { type: 'message', channel: 'C1', ts: '1700000001.000200' },
        event_ts: '1700000030.000100',
      }),
      {
        kind: 'reaction',
        ctx,
        action: 'added',
        userId: 'U2',
        name: '+1::skin-tone-2',
        channel: 'C1',
        targetTs: '1700000001.000200',
        itemUser: 'U3',
        eventTs: '1700000030.000100',
      },
    );
    const removed = parse({
      type: 'reaction_removed',
      user: 'U2',
      reaction: 'partyparrot',
      item: { type: 'message', channel: 'C1', ts: '1700000001.000200' },
    });
    assert.ok(removed.kind === 'reaction' && removed.action === 'removed');
    assert.equal(parse({ type: 'reaction_added', user: 'U2', reaction: 'x', item: { type: 'file', file: 'F1' } }).kind, 'ignored');
  });

  it('membership from member_* events and channel_join/leave messages, told apart by source', () => {
    assert.deepEqual(parse({ type: 'member_joined_channel', user: 'U2', channel: 'C1', channel_type: 'C', team: 'T1', inviter: 'U3' }), {
      kind: 'membership',
      ctx,
      channel: 'C1',
      userId: 'U2',
      membership: 'join',
      source: 'event',
      inviter: 'U3',
      channelType: 'C',
    });
    const left = parse({ type: 'member_left_channel', user: 'U2', channel: 'C1', channel_type: 'C', team: 'T1' });
    assert.ok(left.kind === 'membership' && left.membership === 'leave' && left.source === 'event');
    assert.deepEqual(
      parse({
        type: 'message',
        subtype: 'channel_join',
        channel: 'C1',
        user: 'U2',
        text: '<@U2> has joined the channel',
        ts: '1700000040.000100',
        inviter: 'U3',
      }),
      {
        kind: 'membership',
        ctx,
        channel: 'C1',
        userId: 'U2',
        membership: 'join',
        source: 'message',
        inviter: 'U3',
        ts: '1700000040.000100',
      },
    );
    const leaveMsg = parse({ type: 'message', subtype: 'channel_leave', channel: 'C1', user: 'U2', text: 'left', ts: '1700000041.000100' });
    assert.ok(leaveMsg.kind === 'membership' && leaveMsg.membership === 'leave' && leaveMsg.source === 'message');
  });

  it('topic, purpose and renames (message subtypes and channel_rename)', () => {
    assert.deepEqual(
      parse({
        type: 'message',
        subtype: 'channel_topic',
        channel: 'C1',
        user: 'U2',
        topic: 'new topic',
        text: 'set the topic',
        ts: '1700000050.000100',
      }),
      {
        kind: 'topic',
        ctx,
        channel: 'C1',
        value: 'new topic',
        ts: '1700000050.000100',
        userId: 'U2',
      },
    );
    const cleared = parse({ type: 'message', subtype: 'channel_purpose', channel: 'C1', user: 'U2', purpose: '', ts: '1700000051.000100' });
    assert.ok(cleared.kind === 'purpose' && cleared.value === '');
    assert.deepEqual(
      parse({
        type: 'message',
        subtype: 'channel_name',
        channel: 'C1',
        user: 'U2',
        name: 'new-name',
        old_name: 'old-name',
        ts: '1700000052.000100',
      }),
      {
        kind: 'channel_renamed',
        ctx,
        channel: 'C1',
        name: 'new-name',
        source: 'message',
        oldName: 'old-name',
        userId: 'U2',
        ts: '1700000052.000100',
      },
    );
    assert.deepEqual(parse({ type: 'channel_rename', channel: { id: 'C1', name: 'new-name', created: 1600000000 } }), {
      kind: 'channel_renamed',
      ctx,
      channel: 'C1',
      name: 'new-name',
      source: 'event',
    });
  });

  it('user_change and team_join: profile normalised, best avatar', () => {
    assert.deepEqual(
      parse({
        type: 'user_change',
        user: {
          id: 'U2',
          team_id: 'T1',
          name: 'alice',
          real_name: 'Alice A',
          deleted: false,
          is_bot: false,
          profile: { display_name: 'ali', real_name: 'Alice Anders', image_72: 'https://x.y/72', image_192: 'https://x.y/192' },
        },
      }),
      {
        kind: 'user_change',
        ctx,
        user: {
          id: 'U2',
          teamId: 'T1',
          name: 'alice',
          realName: 'Alice Anders',
          displayName: 'ali',
          avatarUrl: 'https://x.y/192',
          isBot: false,
          deleted: false,
        },
      },
    );
    const joined = parse({ type: 'team_join', user: { id: 'U5', deleted: true, is_bot: true } });
    assert.deepEqual(joined, { kind: 'team_join', ctx, user: { id: 'U5', isBot: true, deleted: true } });
  });

  it('url_verification and app_rate_limited envelopes', () => {
    assert.deepEqual(parseSlackPayload({ token: 'x', challenge: 'c1', type: 'url_verification' }), {
      type: 'url_verification',
      challenge: 'c1',
    });
    assert.deepEqual(parseSlackPayload('{"type":"app_rate_limited","team_id":"T1","minute_rate_limited":1518467820,"api_app_id":"A1"}'), {
      type: 'app_rate_limited',
      teamId: 'T1',
      minuteRateLimited: 1518467820,
    });
  });

  it('accepts raw JSON text or a Buffer as well as parsed JSON', () => {
    const raw = JSON.stringify(envelope({ type: 'message', channel: 'C1', user: 'U2', text: 'hi', ts: '1700000001.000200' }));
    for (const body of [raw, Buffer.from(raw)]) {
      const p = parseSlackPayload(body);
      assert.ok(p.type === 'event_callback' && p.event.kind === 'message');
    }
  });
});

describe('slack events: untrusted input never throws', () => {
  const ignoredReason = (event: unknown) => {
    const e = parse(event);
    assert.equal(e.kind, 'ignored', JSON.stringify(event));
    return (e as { reason: string }).reason;
  };

  it('malformed messages are ignored with a reason', () => {
    const msg = { type: 'message', channel: 'C1', user: 'U2', text: 'hi', ts: '1700000001.000200' };
    assert.match(ignoredReason({ ...msg, channel: undefined }), /channel/);
    assert.match(ignoredReason({ ...msg, channel: 'C1/../../x' }), /channel/);
    assert.match(ignoredReason({ ...msg, ts: '1700000001' }), /ts/);
    assert.match(ignoredReason({ ...msg, ts: 1700000001.0002 }), /ts/);
    assert.match(ignoredReason({ ...msg, user: undefined }), /user or bot/);
    assert.match(ignoredReason({ ...msg, text: '' }), /empty/);
    assert.match(ignoredReason({ ...msg, subtype: 42 }), /subtype/);
    assert.match(ignoredReason({ ...msg, subtype: 'message_replied' }), /message_replied/);
    assert.match(ignoredReason({ ...msg, subtype: 'channel_archive' }), /channel_archive/);
    assert.match(
      ignoredReason({ type: 'message', subtype: 'message_changed', channel: 'C1', ts: '1700000001.000200' }),
      /without a message/,
    );
    assert.match(ignoredReason({ type: 'message', subtype: 'message_deleted', channel: 'C1', ts: '1700000001.000200' }), /timestamps/);
    assert.match(
      ignoredReason({
        type: 'reaction_added',
        user: 'U2',
        reaction: 'has space',
        item: { type: 'message', channel: 'C1', ts: '1700000001.000200' },
      }),
      /malformed/,
    );
    assert.match(ignoredReason({ type: 'channel_rename', channel: 'C1' }), /malformed/);
    assert.match(ignoredReason({ type: 'user_change', user: { id: 42 } }), /user/);
    assert.match(ignoredReason({ type: 'app_mention', channel: 'C1', user: 'U2', text: 'x', ts: '1700000001.000200' }), /app_mention/);
    assert.match(ignoredReason({}), /without a type/);
    assert.match(ignoredReason(null), /not an object/);
  });

  it('a fuzz of junk shapes: always a result, never an exception', () => {
    const junk: unknown[] = [
      undefined,
      null,
      0,
      '',
      'x',
      [],
      {},
      { type: null },
      { type: 'event_callback', event: [] },
      { type: 'event_callback', event: 'x' },
      { type: 'url_verification' },
      { type: 42 },
    ];
    const fields = [
      'type',
      'subtype',
      'channel',
      'user',
      'text',
      'ts',
      'thread_ts',
      'files',
      'blocks',
      'message',
      'previous_message',
      'item',
      'reaction',
      'deleted_ts',
      'bot_id',
      'icons',
      'bot_profile',
      'edited',
    ];
    const values: unknown[] = [
      undefined,
      null,
      1,
      -1,
      NaN,
      '',
      'C1',
      '1700000001.000200',
      'message',
      'message_changed',
      'message_deleted',
      'reaction_added',
      'bot_message',
      [],
      [null],
      {},
      { ts: 5 },
      { type: 'message', channel: 'C1', ts: '1.2' },
      { __proto__: { polluted: true } },
    ];
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 3000; i++) {
      const event: Record<string, unknown> = {};
      for (const f of fields) if (rand() < 0.5) event[f] = values[Math.floor(rand() * values.length)];
      junk.push(envelope(event), event);
    }
    junk.push('{"type":"event_callback","event":', Buffer.from([0xff, 0xfe]));
    for (const j of junk) {
      assert.doesNotThrow(() => parseSlackPayload(j));
      assert.doesNotThrow(() => parseSlackEvent(j));
    }
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it('envelope fields of the wrong type are left out of the context', () => {
    const e = parseSlackEvent(
      { type: 'member_joined_channel', user: 'U2', channel: 'C1' },
      { event_id: 'Ev 1; DROP', team_id: { x: 1 }, event_time: 'now' },
    );
    assert.deepEqual(e.kind === 'membership' && e.ctx, {});
  });
});
