/**
 * SlackMirror: what a call Slack accepted from one Matrix room becomes for the channel's other
 * rooms. A post or an edit is read as Slack answered it (the same translation as any Slack event);
 * an edit's id comes from the Matrix edit; a deletion is made by the copy's sender; a reaction is
 * the bot user's, or the puppet's when their token made it. Nothing without the Matrix room.
 */
import { strict as assert } from 'node:assert';
import type { Portal, RemoteEvent } from '@causeway/bridge-core';
import { SlackMirror } from '../../src/to-matrix/mirror';
import type { SlackToMatrix } from '../../src/to-matrix/slack-events';
import type { WorkspaceContext } from '../../src/workspace/workspace-context';
import type { StoredCall } from '../../src/to-slack/slack-call';
import type { SlackMessageEdit, SlackNewMessage, SlackReaction } from '../../src/slack';

const key = { network: 'acme', id: 'C1' };
const rooms: Portal[] = ['!a', '!b'].map((roomId) => ({ roomId, key, kind: 'plumbed', createdAt: 0 }));
const relay = { ghost: { network: 'acme', id: 'B1' }, displayName: 'Alice M' };

function setup() {
  const emitted: RemoteEvent[] = [];
  const seen: Array<SlackNewMessage | SlackMessageEdit | SlackReaction> = [];
  const ws = {
    name: 'acme',
    ctx: {
      portals: { getByKey: () => Promise.resolve(rooms) },
      remote: { emit: (ev: RemoteEvent) => Promise.resolve(void emitted.push(ev)) },
      log: { warn: (msg: string, meta: unknown) => assert.fail(`${msg} ${JSON.stringify(meta)}`) },
    },
    identity: { teamId: 'T1', botUserId: 'UBOT' },
    portalKey: (channel: string) => ({ network: 'acme', id: channel }),
    ghostKey: (userId: string) => ({ network: 'acme', id: userId }),
    users: { get: (userId: string) => Promise.resolve({ id: userId, displayName: userId === 'UBOT' ? 'Causeway' : 'Dave' }) },
    messageId: (channel: string, ts: string) => `${channel}/${ts}`,
    puppets: { of: (userId: string) => (userId === '@dave:x' ? { slackUserId: 'UDAVE' } : undefined) },
  } as unknown as WorkspaceContext;
  // Stands for the inbound translation: what it was given, and an event naming it.
  const toMatrix = {
    shown: (ev: SlackNewMessage | SlackMessageEdit | SlackReaction): Promise<RemoteEvent[]> => {
      seen.push(ev);
      const content = { kind: 'text' as const, body: 'text' in ev ? ev.text : ev.name };
      if (ev.kind === 'message') return Promise.resolve([{ type: 'message', portal: key, sender: relay, id: `C1/${ev.ts}`, content }]);
      if (ev.kind === 'message_changed')
        return Promise.resolve([{ type: 'edit', portal: key, sender: relay, targetId: `C1/${ev.targetTs}`, id: 'slack-edit', content }]);
      return Promise.resolve([
        {
          type: 'reaction',
          portal: key,
          sender: { ghost: { network: 'acme', id: ev.userId } },
          targetId: `C1/${ev.targetTs}`,
          key: ev.name,
        },
      ]);
    },
  } as unknown as SlackToMatrix;
  return { mirror: new SlackMirror(ws, toMatrix), emitted, seen };
}

const answer = { type: 'message', subtype: 'bot_message', bot_id: 'B1', username: 'Alice M', text: 'hi', ts: '1.000100' };

describe("slack-bridge: mirroring Matrix operations to the channel's other rooms", () => {
  it('a post: the message as Slack answered it, from the room it came from', async () => {
    const { mirror, emitted, seen } = setup();
    const stored: StoredCall = { eventId: '$e', roomId: '!a', call: { method: 'chat.postMessage', args: { channel: 'C1', text: 'hi' } } };
    await mirror.delivered(stored, { ts: '1.000100', message: answer });
    assert.equal(seen[0]?.kind, 'message');
    assert.deepEqual(seen[0]?.kind === 'message' && [seen[0].channel, seen[0].ts, seen[0].author.username], ['C1', '1.000100', 'Alice M']);
    assert.deepEqual(
      emitted.map((e) => [e.type, e.originRoomId]),
      [['message', '!a']],
    );
  });

  it("an edit: read as a change of the message, its id from the Matrix edit; a deletion by the copy's sender", async () => {
    const { mirror, emitted, seen } = setup();
    await mirror.delivered(
      { eventId: '$post', roomId: '!a', call: { method: 'chat.postMessage', args: { channel: 'C1', text: 'hi' } } },
      { ts: '1.000100', message: answer },
    );
    await mirror.delivered(
      { eventId: '$edit', roomId: '!a', call: { method: 'chat.update', args: { channel: 'C1', ts: '1.000100', text: 'hey' } } },
      { message: { ...answer, text: 'hey', edited: { user: 'UBOT', ts: '2.000000' } } },
    );
    const change = seen[1];
    assert.deepEqual(change?.kind === 'message_changed' && [change.targetTs, change.eventTs, change.text], ['1.000100', '2.000000', 'hey']);
    const edit = emitted[1];
    assert.deepEqual(edit?.type === 'edit' && [edit.targetId, edit.id], ['C1/1.000100', 'C1/1.000100~m$edit']);

    await mirror.delivered({ eventId: '$del', roomId: '!a', call: { method: 'chat.delete', args: { channel: 'C1', ts: '1.000100' } } }, {});
    await mirror.delivered(
      { eventId: '$del2', roomId: '!a', call: { method: 'chat.delete', args: { channel: 'C1', ts: '9.000000' } } },
      {},
    );
    assert.deepEqual(
      emitted.slice(2).map((e) => [e.type, e.sender]),
      [
        ['delete', { ghost: relay.ghost }],
        ['delete', { bot: true }],
      ],
    );
  });

  it("a reaction: the bot user's, or the puppeted user's when their own token made it", async () => {
    const { mirror, seen } = setup();
    const call = { method: 'reactions.add' as const, args: { channel: 'C1', timestamp: '1.000100', name: '+1' } };
    await mirror.delivered({ eventId: '$r1', roomId: '!a', call }, {});
    await mirror.delivered({ eventId: '$r2', roomId: '!a', call, puppet: '@dave:x' }, { asUser: true });
    // A replayed Matrix reaction sent again is not shown again.
    await mirror.delivered({ eventId: '$r2', roomId: '!a', call, puppet: '@dave:x' }, { asUser: true });
    // Their token was dead: the bot made it.
    await mirror.delivered({ eventId: '$r3', roomId: '!a', call: { ...call, method: 'reactions.remove' }, puppet: '@dave:x' }, {});
    assert.deepEqual(
      seen.map((e) => e.kind === 'reaction' && [e.userId, e.action]),
      [
        ['UBOT', 'added'],
        ['UDAVE', 'added'],
        ['UBOT', 'removed'],
      ],
    );
  });

  it('an upload: the Matrix file, in its thread, from the Slack user that uploaded it', async () => {
    const { mirror, emitted } = setup();
    const call = {
      method: 'files.upload-external' as const,
      args: { channel: 'C1', mxc: 'mxc://x/pic', name: 'pic.png', mimetype: 'image/png', thread_ts: '1.000100' },
    };
    await mirror.delivered({ eventId: '$f1', roomId: '!a', call }, { ts: '3.000000' });
    await mirror.delivered({ eventId: '$f2', roomId: '!a', call, puppet: '@dave:x' }, { ts: '4.000000', asUser: true });
    assert.deepEqual(
      emitted.map((e) => e.type === 'message' && [e.id, e.sender, e.content.kind, e.content.media?.mxc, e.threadRoot]),
      [
        ['C1/3.000000', { ghost: { network: 'acme', id: 'UBOT' }, displayName: 'Causeway' }, 'image', 'mxc://x/pic', 'C1/1.000100'],
        ['C1/4.000000', { ghost: { network: 'acme', id: 'UDAVE' }, displayName: 'Dave' }, 'image', 'mxc://x/pic', 'C1/1.000100'],
      ],
    );
  });

  it('nothing without the Matrix room, nor for a post Slack answered without the message', async () => {
    const { mirror, emitted } = setup();
    await mirror.delivered(
      { eventId: '$t', call: { method: 'chat.postMessage', args: { channel: 'C1', text: 'hi' } } },
      { ts: '1.0', message: answer },
    );
    await mirror.delivered(
      { eventId: '$u', roomId: '!a', call: { method: 'chat.postMessage', args: { channel: 'C1', text: 'hi' } } },
      { ts: '1.0' },
    );
    assert.deepEqual(emitted, []);
  });
});
