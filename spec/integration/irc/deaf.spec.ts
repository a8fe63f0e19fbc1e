/**
 * clients.deaf_mode against a real InspIRCd (m_deaf, user mode +d), with the default `auto`
 * (the letter read from the server's 004): Matrix users' connections are deaf but the two that
 * hear each channel, so the server sends each channel line to the bridge twice at most; when
 * the relaying connection leaves, the one standing by relays, and the next one starts to hear.
 */
import { strict as assert } from 'node:assert';
import { startInspircd, type InspircdHandle } from '@causeway/testing';
import { connectObserver, type Observer } from '@causeway/testing';
import type { TestUser } from '@causeway/testing';
import { startIrcBridge, alias, ghostId, messages, eventually, type IrcBridge } from './support';

describe('irc-bridge: deaf connections (clients.deaf_mode: auto)', function () {
  this.timeout(60_000);
  let ircd: InspircdHandle;
  let b: IrcBridge;
  let alice: TestUser;
  let dan: TestUser;
  let op: Observer;

  /** The user modes InspIRCd reports for `nick` to an operator (379 RPL_WHOISMODES). */
  const modesOf = async (nick: string) => {
    const line = (await op.whois(nick)).find((l) => / 379 /.test(l)) ?? '';
    return /modes \+(\S*)/.exec(line)?.[1] ?? '';
  };
  const joinPortal = async (user: TestUser, nick: string) => {
    const from = op.lines.length;
    const roomId = await user.join(alias('#hush'));
    await op.waitFor((l) => new RegExp(`^(@\\S+ )?:${nick.replace(/[[\]]/g, '\\$&')}!\\S+ JOIN :?#hush`, 'i').test(l), 20_000, from);
    return roomId;
  };

  before(async () => {
    ircd = await startInspircd();
    b = await startIrcBridge(ircd); // clients.deaf_mode: auto, the default
    alice = await b.fx.hs.registerUser('alice', { displayname: 'Alice' });
    dan = await b.fx.hs.registerUser('dan', { displayname: 'Dan' });
    op = await connectObserver(ircd, 'Hester');
    op.raw(`OPER ${ircd.oper.name} ${ircd.oper.password}`);
    await op.waitFor((l) => / 381 /.test(l), 5000);
    await op.join('#hush'); // first in the channel: channel operator
  });
  after(async () => {
    await op?.close().catch(() => undefined);
    await b?.fx.stop();
    await ircd?.dispose();
  });

  it("users' connections are deaf but one, which stands by while the bot relays; a line arrives once; when the bot is kicked nothing said right after is lost", async () => {
    const roomId = await joinPortal(alice, 'Alice[m]');
    await joinPortal(dan, 'Dan[m]');
    // The bot relays and Alice (the first user in) stands by, hearing; Dan hears nothing.
    await eventually(async () => (await modesOf('Dan[m]')).includes('d'), 'Dan deaf', 15_000);
    assert.ok(!(await modesOf('Alice[m]')).includes('d'), 'Alice stands by, hearing');
    assert.ok(!(await modesOf('CwBot')).includes('d'), 'the relay bot hears');

    op.raw('PRIVMSG #hush :while the bot relays');
    await eventually(
      () => messages(b.fx.hs, roomId, ghostId('Hester')).some((e) => e.content.body === 'while the bot relays'),
      'relayed by the bot',
    );

    // The bot is kicked and banned, and the next line follows at once, before any MODE could
    // change: Alice's connection heard it all along, so it is relayed.
    op.raw('MODE #hush +b CwBot!*@*');
    op.raw('KICK #hush CwBot :not you');
    op.raw('PRIVMSG #hush :right after the kick');
    await eventually(
      () => messages(b.fx.hs, roomId, ghostId('Hester')).some((e) => e.content.body === 'right after the kick'),
      "relayed by Alice's connection",
      15_000,
    );
    // Dan now stands by in the bot's place.
    await eventually(async () => !(await modesOf('Dan[m]')).includes('d'), 'Dan hears again', 15_000);
    op.raw('PRIVMSG #hush :barrier');
    await eventually(() => messages(b.fx.hs, roomId, ghostId('Hester')).some((e) => e.content.body === 'barrier'), 'barrier line');
    const bodies = messages(b.fx.hs, roomId, ghostId('Hester')).map((e) => e.content.body);
    assert.deepEqual(bodies, ['while the bot relays', 'right after the kick', 'barrier'], 'each line once, in order');

    // Matrix → IRC still works from a deaf connection, and the server still echoes its lines
    // (echo-message), so an IRC reply to one maps back to the Matrix event.
    const from = op.lines.length;
    const danEvent = await dan.sendMessage(roomId, 'deaf but not mute');
    const line = await op.waitFor((l) => /:Dan\[m\]!\S+ PRIVMSG #hush :deaf but not mute$/.test(l), 10_000, from);
    const msgid = /(?:^@|;)msgid=([^; ]+)/.exec(line)?.[1];
    assert.ok(msgid, `a msgid on ${line}`);
    await b.fx.bridge.idle();
    op.raw(`@+draft/reply=${msgid} PRIVMSG #hush :heard you`);
    const reply = await eventually(
      () => messages(b.fx.hs, roomId, ghostId('Hester')).find((e) => e.content.body === 'heard you'),
      'the IRC reply',
      15_000,
    );
    assert.equal(reply.content['m.relates_to']?.['m.in_reply_to']?.event_id, danEvent);
  });
});
