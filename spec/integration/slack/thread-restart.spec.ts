/**
 * A Matrix reply to a Slack thread reply goes to the thread's root (Slack threads are one level deep
 * and refuse a `thread_ts` naming a reply). Which root a reply belongs to is stored, so this holds
 * across a bridge restart, for replies that came from Slack and for ones the bridge posted.
 */
import { strict as assert } from 'node:assert';
import { asString } from '@causeway/testing';
import { startSlackBridge, linkedRoom, ghostId, messages, eventually, type SlackBridge } from './support';

describe('slack-bridge: thread roots survive a restart', function () {
  this.timeout(60_000);
  let b: SlackBridge;
  let roomId: string;

  before(async () => {
    b = await startSlackBridge('socket');
    roomId = await linkedRoom(b);
  });
  after(async () => {
    await b?.stop();
  });

  const onSlack = (text: string) => eventually(() => b.slack.messages(b.general).find((m) => m.text === text), `"${text}" on Slack`);

  it('a Matrix reply after the restart to a reply in a Slack thread lands in that thread', async () => {
    const root = b.alice.post(b.general, 'root before restart');
    await eventually(() => messages(b, roomId, ghostId(b.alice.id)).find((e) => e.content.body === 'root before restart'), 'root');
    b.bob.reply(b.general, root.ts, 'slack reply before restart');
    const slackReply = await eventually(
      () => messages(b, roomId, ghostId(b.bob.id)).find((e) => e.content.body === 'slack reply before restart'),
      'Slack reply on Matrix',
    );
    // A message a Matrix user put in the thread, which the bridge posted there.
    await b.matrixAlice.sendMessage(roomId, {
      msgtype: 'm.text',
      body: 'matrix in thread before restart',
      'm.relates_to': {
        rel_type: 'm.thread',
        event_id: asString(slackReply.content['m.relates_to']?.event_id, 'the Slack reply’s thread root'),
      },
    });
    const mine = await onSlack('matrix in thread before restart');
    assert.equal(mine.threadTs, root.ts);
    const mineEv = await eventually(
      () => messages(b, roomId, b.matrixAlice.userId).find((e) => e.content.body === 'matrix in thread before restart'),
      'own thread message on Matrix',
    );
    await b.connector().idle();
    await b.fx.bridge.idle();

    await b.fx.restart();

    await b.matrixAlice.sendMessage(roomId, {
      msgtype: 'm.text',
      body: 'reply to the Slack reply',
      'm.relates_to': { 'm.in_reply_to': { event_id: slackReply.event_id } },
    });
    const r1 = await onSlack('reply to the Slack reply');
    assert.equal(r1.threadTs, root.ts);
    await b.matrixAlice.sendMessage(roomId, {
      msgtype: 'm.text',
      body: 'reply to the bridged thread message',
      'm.relates_to': { 'm.in_reply_to': { event_id: mineEv.event_id } },
    });
    const r2 = await onSlack('reply to the bridged thread message');
    assert.equal(r2.threadTs, root.ts);
  });
});
