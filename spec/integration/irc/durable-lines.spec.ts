/**
 * Matrix → IRC lines waiting in a flood queue when the bridge stops cleanly are kept (not reported
 * as failed) and go out after the next start, in order; their echoes still map IRC replies back
 * to the Matrix message (echo-message's msgid is recorded for the restored lines too).
 */
import { strict as assert } from 'node:assert';
import { startInspircd, connectObserver, type InspircdHandle, type Observer } from '@causeway/testing';
import { startIrcBridge, alias, ghostId, messages, eventually, noticesTo, type IrcBridge } from './support';

const bare = (line: string) => line.replace(/^@\S+ /, '');

describe('irc-bridge: lines from Matrix kept across a restart of the bridge', function () {
  this.timeout(90_000);
  let ircd: InspircdHandle;
  let b: IrcBridge;
  let olive: Observer | undefined;

  before(async () => {
    ircd = await startInspircd();
    b = await startIrcBridge(ircd, { clients: { flood_lines_per_second: 1 } });
  });
  after(async () => {
    await olive?.close().catch(() => undefined);
    await b?.fx.stop();
    await ircd?.dispose();
  });

  it('sends what waited in the flood queue after the restart, once, in order, and maps an IRC reply to a restored line', async () => {
    const alice = await b.fx.hs.registerUser('alice', { displayname: 'Alice' });
    olive = await connectObserver(ircd, 'olive');
    await olive.join('#kept');
    const roomId = await alice.join(alias('#kept'));
    await olive.waitFor((l) => /^:Alice\[m\]!\S+ JOIN :?#kept/i.test(bare(l)), 20_000);
    const N = 8;
    const events: string[] = [];
    for (let i = 0; i < N; i++) events.push(await alice.sendMessage(roomId, `k${i}`));
    const seen = () =>
      olive!.lines
        .map(bare)
        .map((l) => /PRIVMSG #kept :k(\d+)$/.exec(l))
        .filter((m) => m)
        .map((m) => Number(m![1]));
    await eventually(() => seen().length >= 2, 'the first lines out', 20_000);
    await b.fx.bridge.idle(); // every event handled: the rest wait in the flood queue
    assert.ok(seen().length < N, `lines still waiting at the stop (${seen().length} of ${N} out)`);

    await b.fx.restart();
    await eventually(() => seen().length >= N, 'every line on IRC', 40_000);
    assert.deepEqual(
      seen(),
      Array.from({ length: N }, (_, i) => i),
      'each once, in order',
    );
    assert.ok(!noticesTo(b.fx.hs, alice.userId).some((n) => /not delivered/.test(n)), 'nobody is told of a failure that did not happen');

    const last = olive.lines.find((l) => bare(l).endsWith(`PRIVMSG #kept :k${N - 1}`))!;
    const msgid = /^@\S*msgid=([^; ]+)/.exec(last)?.[1];
    assert.ok(msgid, `a msgid on ${last}`);
    await eventually(
      async () => (await b.fx.bridge.store.messages.getByEvent(roomId, events[N - 1])).length === 2,
      "the restored line's msgid recorded",
    );
    olive.raw(`@+draft/reply=${msgid} PRIVMSG #kept :got it`);
    const reply = await eventually(
      () => messages(b.fx.hs, roomId, ghostId('olive')).find((e) => e.content.body === 'got it'),
      'the reply in Matrix',
    );
    assert.equal(reply.content['m.relates_to']?.['m.in_reply_to']?.event_id, events[N - 1]);
  });
});
