/**
 * One IRC channel linked to two Matrix rooms: a Matrix user's line (said from their own IRC
 * connection, whose echo the bridge never relays) also shows in the other room, once, from the
 * ghost of the nick IRC users see it from, and not again in the room it came from; an edit follows.
 */
import { strict as assert } from 'node:assert';
import { startInspircd, connectObserver, type InspircdHandle, type Observer, type TestUser } from '@causeway/testing';
import { irc } from '@causeway/irc-bridge';
import { startIrcBridge, alias, ghostId, messages, eventually, BOT, NET, type IrcBridge } from './support';

describe('irc-bridge: a channel linked to several Matrix rooms', function () {
  this.timeout(60_000);
  let ircd: InspircdHandle;
  let b: IrcBridge;
  let alice: TestUser;
  let carol: TestUser;
  let olive: Observer;
  let roomA: string;
  let roomB: string;

  /** The ghost of a nick that needs escaping in a user ID (`[m]`), as the bridge names it. */
  const nickGhost = (nick: string) => b.fx.bridge.ghosts.userIdFor({ network: NET, id: irc.ircLower(nick) });
  const bodies = (roomId: string, sender?: string) => messages(b.fx.hs, roomId, sender).map((e) => String(e.content.body));
  const shown = (roomId: string, sender: string, body: string) =>
    eventually(() => messages(b.fx.hs, roomId, sender).find((e) => e.content.body === body), `"${body}" in ${roomId}`);

  before(async () => {
    ircd = await startInspircd();
    b = await startIrcBridge(ircd, { membership: { irc_to_matrix: { initial: false, incremental: true } } });
    alice = await b.fx.hs.registerUser('alice', { displayname: 'Alice' });
    carol = await b.fx.hs.registerUser('carol', { displayname: 'Carol' });
    olive = await connectObserver(ircd, 'Olive');
    await olive.join('#multi');
    const from = olive.lines.length;
    roomA = await alice.join(alias('#multi'));
    await olive.waitFor((l) => /^(@\S+ )?:Alice\[m\]!\S+ JOIN :?#multi/i.test(l), 20_000, from);
    roomB = await carol.createRoom({ preset: 'public_chat', invite: [BOT] });
    await b.fx.bridge.portals.link(roomB, { network: 'testnet', id: '#multi' }, { actor: '@admin:localhost' });
  });
  after(async () => {
    await olive?.close().catch(() => undefined);
    await b?.fx.stop();
    await ircd?.dispose();
  });

  it("shows a Matrix user's line in the other room from their nick's ghost, once, and an edit of it", async () => {
    const from = olive.lines.length;
    const eventId = await alice.sendMessage(roomA, 'hello from A');
    await olive.waitFor((l) => /:Alice\[m\]!\S+ PRIVMSG #multi :hello from A$/.test(l), 10_000, from);
    const mirror = await shown(roomB, nickGhost('Alice[m]'), 'hello from A');

    await carol.sendMessage(roomB, 'hello from B');
    await olive.waitFor((l) => /:Carol\[m\]!\S+ PRIVMSG #multi :hello from B$/.test(l), 10_000, from);
    await shown(roomA, nickGhost('Carol[m]'), 'hello from B');

    olive.raw('PRIVMSG #multi :sync');
    await shown(roomA, ghostId('Olive'), 'sync');
    await shown(roomB, ghostId('Olive'), 'sync');
    assert.deepEqual(bodies(roomB, nickGhost('Alice[m]')), ['hello from A'], 'once in B');
    assert.deepEqual(bodies(roomA, nickGhost('Carol[m]')), ['hello from B'], 'once in A');
    assert.deepEqual(bodies(roomA, nickGhost('Alice[m]')), [], 'not back in A');

    await alice.sendEvent(roomA, 'm.room.message', {
      msgtype: 'm.text',
      body: '* hello again from A',
      'm.new_content': { msgtype: 'm.text', body: 'hello again from A' },
      'm.relates_to': { rel_type: 'm.replace', event_id: eventId },
    });
    const edit = await eventually(
      () => b.fx.hs.roomTimeline(roomB).find((e) => e.content?.['m.relates_to']?.rel_type === 'm.replace'),
      'the edit in B',
    );
    assert.equal(edit.content['m.relates_to']?.event_id, mirror.event_id);
    assert.equal(edit.content['m.new_content']?.body, 'hello again from A');
    assert.equal(edit.sender, nickGhost('Alice[m]'));
  });
});
