/**
 * The IRC bridge end to end: a real InspIRCd, the homeserver emulator and the
 * real Bridge. IRC-side assertions come from an independent observer client,
 * Matrix-side ones from the emulator's rooms: what users on each side see.
 */
import { strict as assert } from 'node:assert';
import { asString, startInspircd, type InspircdHandle } from '@causeway/testing';
import { connectObserver, type Observer } from '@causeway/testing';
import type { TestUser } from '@causeway/testing';
import { startIrcBridge, alias, ghostId, noticesTo, messages, eventually, BOT, type IrcBridge } from './support';

describe('irc-bridge: Matrix <-> IRC through InspIRCd and the homeserver emulator', function () {
  this.timeout(60_000);
  let ircd: InspircdHandle;
  let b: IrcBridge;
  let alice: TestUser;
  const observers: Observer[] = [];

  const observer = async (nick: string, channel?: string) => {
    const o = withoutTags(await connectObserver(ircd, nick));
    observers.push(o);
    if (channel) await o.join(channel);
    return o;
  };
  /** Alice joins the portal by alias; resolves when her IRC connection is in the channel. */
  const portal = async (user: TestUser, channel: string, nick: string, witness?: Observer) => {
    const from = witness?.lines.length ?? 0;
    const roomId = await user.join(alias(channel));
    if (witness) await witness.waitFor((l) => new RegExp(`^:${esc(nick)}!\\S+ JOIN :?${channel}`, 'i').test(l), 20_000, from);
    return roomId;
  };

  before(async () => {
    ircd = await startInspircd();
    b = await startIrcBridge(ircd, { membership: { irc_to_matrix: { initial: false, incremental: true } } });
    alice = await b.fx.hs.registerUser('alice', { displayname: 'Alice' });
  });
  after(async () => {
    await Promise.all(observers.map((o) => o.close().catch(() => undefined)));
    await b?.fx.stop();
    await ircd?.dispose();
  });

  it('creates a portal on an alias join; messages cross both ways with the right sender and display name', async () => {
    const olive = await observer('Olive', '#flow');
    const roomId = await portal(alice, '#flow', 'Alice[m]', olive);
    assert.ok(await b.fx.bridge.portals.getByRoom(roomId));
    const from = olive.lines.length;
    await alice.sendMessage(roomId, 'hello irc');
    await olive.waitFor((l) => /^:Alice\[m\]!\S+ PRIVMSG #flow :hello irc$/.test(l), 10_000, from);

    olive.raw('PRIVMSG #flow :hi matrix');
    const ev = await eventually(
      () => messages(b.fx.hs, roomId, ghostId('Olive')).find((e) => e.content.body === 'hi matrix'),
      'IRC line in Matrix',
    );
    assert.equal(ev.content.msgtype, 'm.text');
    assert.equal(b.fx.hs.profile(ghostId('Olive'))?.displayname, 'Olive');
    // Alice's own line was not echoed back into the room by the bot.
    assert.equal(messages(b.fx.hs, roomId).filter((e) => e.content.body === 'hello irc').length, 1);
  });

  it('carries formatting, emotes and notices both ways', async () => {
    const olive = await observer('Olive2', '#fmt');
    const roomId = await portal(alice, '#fmt', 'Alice[m]', olive);
    let from = olive.lines.length;
    await alice.sendMessage(roomId, {
      msgtype: 'm.text',
      body: 'bold move',
      format: 'org.matrix.custom.html',
      formatted_body: '<b>bold</b> move',
    });
    await olive.waitFor((l) => l.endsWith('PRIVMSG #fmt :\x02bold\x02 move'), 10_000, from);
    from = olive.lines.length;
    await alice.sendMessage(roomId, { msgtype: 'm.emote', body: 'waves' });
    await olive.waitFor((l) => l.endsWith('PRIVMSG #fmt :\x01ACTION waves\x01'), 10_000, from);
    from = olive.lines.length;
    await alice.sendMessage(roomId, { msgtype: 'm.notice', body: 'fyi' });
    await olive.waitFor((l) => /^:Alice\[m\]!\S+ NOTICE #fmt :fyi$/.test(l), 10_000, from);

    olive.raw('PRIVMSG #fmt :\x02strong\x02 and \x1dslanted\x1d');
    const f = await eventually(
      () => messages(b.fx.hs, roomId, ghostId('Olive2')).find((e) => e.content.body === 'strong and slanted'),
      'formatted line',
    );
    assert.match(asString(f.content.formatted_body, 'formatted_body'), /<b>strong<\/b> and <i>slanted<\/i>/);
    olive.raw('PRIVMSG #fmt :\x01ACTION dances\x01');
    await eventually(
      () => messages(b.fx.hs, roomId, ghostId('Olive2')).find((e) => e.content.msgtype === 'm.emote' && e.content.body === 'dances'),
      'emote',
    );
    olive.raw('NOTICE #fmt :heads up');
    await eventually(
      () => messages(b.fx.hs, roomId, ghostId('Olive2')).find((e) => e.content.msgtype === 'm.notice' && e.content.body === 'heads up'),
      'notice',
    );
  });

  it('splits long and multi-line messages at the real budget, and uploads beyond line_limit with a link', async () => {
    const olive = await observer('Olive3', '#long');
    const roomId = await portal(alice, '#long', 'Alice[m]', olive);
    // Two lines → two PRIVMSGs.
    let from = olive.lines.length;
    await alice.sendMessage(roomId, 'first line\nsecond line');
    await olive.waitFor((l) => l.endsWith('PRIVMSG #long :second line'), 10_000, from);
    assert.ok(olive.lines.slice(from).some((l) => l.endsWith('PRIVMSG #long :first line')));
    // ~900 bytes of words: 3 lines (within line_limit), each within 512 bytes, nothing lost.
    const words = Array.from({ length: 150 }, (_, i) => `w${i}é`).join(' ');
    from = olive.lines.length;
    await alice.sendMessage(roomId, words);
    await olive.waitFor((l) => l.includes('w149é'), 10_000, from);
    const parts = olive.lines.slice(from).filter((l) => /^:Alice\[m\]!\S+ PRIVMSG #long :/.test(l));
    assert.ok(parts.length >= 2 && parts.length <= 3, `lines: ${parts.length}`);
    for (const p of parts) assert.ok(Buffer.byteLength(p) + 2 <= 512, `line of ${Buffer.byteLength(p)} bytes`);
    assert.equal(
      parts
        .map((p) => p.replace(/^:\S+ PRIVMSG #long :/, ''))
        .join(' ')
        .replace(/\s+/g, ' '),
      words,
    );
    // 3,000 characters: beyond line_limit → uploaded, IRC gets the first line and a link.
    const huge = 'x'.repeat(1000) + ' ' + 'y'.repeat(1000) + ' ' + 'z'.repeat(998);
    from = olive.lines.length;
    await alice.sendMessage(roomId, huge);
    const line = await olive.waitFor((l) => l.includes('full message at <'), 10_000, from);
    const url = /<(http[^>]+)>/.exec(line)![1];
    const m = /\/download\/([^/]+)\/([^/]+)/.exec(url)!;
    assert.equal(b.fx.hs.mediaBytes(`mxc://${m[1]}/${m[2]}`)?.toString('utf8'), huge);
    assert.ok(olive.lines.slice(from).filter((l) => l.includes('PRIVMSG #long')).length <= 3);
  });

  it('CR/LF in a message, a display name and a topic never becomes an IRC command', async () => {
    const olive = await observer('Olive4', '#inj');
    await observer('Watcher', '#secret');
    const watcher = observers[observers.length - 1];
    const roomId = await portal(alice, '#inj', 'Alice[m]', olive);
    let from = olive.lines.length;
    await alice.sendMessage(roomId, 'hi\r\nQUIT :pwned\nJOIN #secret');
    await olive.waitFor((l) => l.endsWith('PRIVMSG #inj :JOIN #secret'), 10_000, from);
    assert.ok(olive.lines.slice(from).some((l) => l.endsWith('PRIVMSG #inj :QUIT :pwned')));
    // A user whose display name carries a line break.
    const mallory = await b.fx.hs.registerUser('mallory', { displayname: 'Mal\r\nJOIN #secret\r\nQUIT :x' });
    from = olive.lines.length;
    const mRoom = await mallory.join(alias('#inj'));
    const joinLine = await olive.waitFor((l) => / JOIN :?#inj/i.test(l) && /^:Mal/.test(l), 20_000, from);
    assert.match(joinLine, /^:MalJOIN_secret_QUIT_x\[m\]!|^:Mal\S*!/);
    // A topic with a line break (Alice needs ops → PL 50 to change the topic).
    olive.raw('MODE #inj +o Alice[m]');
    await eventually(() => b.fx.hs.stateEvent(roomId, 'm.room.power_levels')?.content.users?.['@alice:localhost'] === 50, 'PL 50');
    from = olive.lines.length;
    await alice.sendState(roomId, 'm.room.topic', '', { topic: 'safe\r\nPART #inj :bye' });
    const topic = await olive.waitFor((l) => / TOPIC #inj :/.test(l), 10_000, from);
    assert.match(topic, /TOPIC #inj :safe PART #inj :bye$/);
    await mallory.sendMessage(mRoom, 'done');
    await olive.waitFor((l) => l.endsWith('PRIVMSG #inj :done'), 10_000, from);
    assert.ok(!olive.lines.slice(from).some((l) => /^\S+ (PART|QUIT) /.test(l)), olive.lines.slice(from).join('\n'));
    assert.ok(!watcher.lines.some((l) => /^:(Alice|Mal)\S* JOIN/.test(l)), watcher.lines.join('\n'));
  });

  it('gives two users with the same display name predictable nicks and tells the second', async () => {
    const olive = await observer('Olive5', '#twins');
    const sam1 = await b.fx.hs.registerUser('sam1', { displayname: 'Sam' });
    const sam2 = await b.fx.hs.registerUser('sam2', { displayname: 'Sam' });
    await portal(sam1, '#twins', 'Sam[m]', olive);
    await portal(sam2, '#twins', 'Sam[m]2', olive);
    const told = await eventually(
      () => noticesTo(b.fx.hs, '@sam2:localhost').find((n) => n.includes('Sam[m]2')),
      'collision notice',
      15_000,
    );
    assert.match(told, /Sam\[m\] is already in use.*Sam\[m\]2/);
    assert.equal(noticesTo(b.fx.hs, '@sam1:localhost').filter((n) => /already in use/.test(n)).length, 0);
  });

  it('bridges private messages both ways', async () => {
    const pat = await observer('Pat');
    const carol = await b.fx.hs.registerUser('carol', { displayname: 'Carol' });
    const room = await portal(carol, '#pmbase', 'Carol[m]');
    await carol.sendMessage(room, 'connecting');
    await eventually(
      () => b.connector().networks.get('testnet')!.users.get('@carol:localhost')?.status === 'connected',
      'carol connected',
      20_000,
    );
    pat.raw('PRIVMSG Carol[m] :psst carol');
    const dm = await eventually(
      () =>
        b.fx.hs.rooms
          .allRoomIds()
          .find(
            (r) =>
              b.fx.hs.membership(r, '@carol:localhost') === 'invite' &&
              messages(b.fx.hs, r, ghostId('Pat')).some((e) => e.content.body === 'psst carol'),
          ),
      'DM room with the PM',
      15_000,
    );
    await carol.join(dm);
    const from = pat.lines.length;
    await carol.sendMessage(dm, 'hello pat');
    await pat.waitFor((l) => /^:Carol\[m\]!\S+ PRIVMSG Pat :hello pat$/.test(l), 10_000, from);
  });

  it('relays each IRC line once however many Matrix users share the channel, and keeps relaying when the bot is banned from it', async () => {
    const op = await observer('Ona', '#crowd'); // first in the channel: operator
    const roomId = await portal(alice, '#crowd', 'Alice[m]', op);
    const dan = await b.fx.hs.registerUser('dan', { displayname: 'Dan' });
    await portal(dan, '#crowd', 'Dan[m]', op);
    op.raw('PRIVMSG #crowd :one for all');
    await eventually(() => messages(b.fx.hs, roomId, ghostId('Ona')).some((e) => e.content.body === 'one for all'), 'line relayed');
    // The bot goes: kicked and banned, so it cannot re-join. A Matrix user's connection relays from now on.
    op.raw('MODE #crowd +b CwBot!*@*');
    op.raw('KICK #crowd CwBot :not you');
    const net = b.connector().networks.get('testnet')!;
    await eventually(() => net.channels.listener('#crowd')?.startsWith('@'), 'a user connection listens', 15_000);
    op.raw('PRIVMSG #crowd :still heard');
    await eventually(
      () => messages(b.fx.hs, roomId, ghostId('Ona')).some((e) => e.content.body === 'still heard'),
      'line relayed by a user connection',
      15_000,
    );
    // A later line as a barrier (a room's events apply in order), then count: each line exactly once.
    op.raw('PRIVMSG #crowd :last one');
    await eventually(() => messages(b.fx.hs, roomId, ghostId('Ona')).some((e) => e.content.body === 'last one'), 'last line');
    const bodies = messages(b.fx.hs, roomId, ghostId('Ona')).map((e) => e.content.body);
    assert.deepEqual(
      bodies.filter((x) => x !== undefined && ['one for all', 'still heard', 'last one'].includes(x)),
      ['one for all', 'still heard', 'last one'],
    );
  });

  it('syncs topics, joins, parts, kicks (with reasons), +o as power level and nick changes', async () => {
    const op = await observer('Opal', '#mem'); // first in the channel: operator
    const roomId = await portal(alice, '#mem', 'Alice[m]', op);
    // IRC topic → room topic.
    op.raw('TOPIC #mem :the irc topic');
    await eventually(() => b.fx.hs.stateEvent(roomId, 'm.room.topic')?.content.topic === 'the irc topic', 'topic in Matrix');
    // +o → power level 50 for the Matrix user behind the nick.
    op.raw('MODE #mem +o Alice[m]');
    await eventually(() => b.fx.hs.stateEvent(roomId, 'm.room.power_levels')?.content.users?.['@alice:localhost'] === 50, 'PL 50');
    // Matrix topic → IRC.
    let from = op.lines.length;
    await alice.sendState(roomId, 'm.room.topic', '', { topic: 'from matrix' });
    await op.waitFor((l) => /^:Alice\[m\]!\S+ TOPIC #mem :from matrix$/.test(l), 10_000, from);
    // IRC join/part → ghost join/leave with reason.
    const quinn = await observer('Quinn', '#mem');
    await eventually(() => b.fx.hs.membership(roomId, ghostId('Quinn')) === 'join', 'ghost joined');
    quinn.raw('PART #mem :gotta go');
    await eventually(() => b.fx.hs.membership(roomId, ghostId('Quinn')) === 'leave', 'ghost left');
    assert.match(asString(b.fx.hs.stateEvent(roomId, 'm.room.member', ghostId('Quinn'))?.content.reason, 'reason'), /gotta go/);
    // Nick change → old ghost leaves, new ghost joins with the new display name.
    const rex = await observer('Rex', '#mem');
    await eventually(() => b.fx.hs.membership(roomId, ghostId('Rex')) === 'join', 'rex joined');
    rex.raw('NICK Rexford');
    await eventually(
      () => b.fx.hs.membership(roomId, ghostId('Rexford')) === 'join' && b.fx.hs.membership(roomId, ghostId('Rex')) === 'leave',
      'nick change',
    );
    assert.equal(b.fx.hs.profile(ghostId('Rexford'))?.displayname, 'Rexford');
    // A Matrix kick of an IRC user (Alice is now a moderator) → KICK from her connection.
    from = op.lines.length;
    await alice.kick(roomId, ghostId('Rexford'), 'be nice');
    await op.waitFor((l) => /^:Alice\[m\]!\S+ KICK #mem Rexford :be nice$/.test(l), 10_000, from);
    // An IRC kick of the Matrix user → Matrix kick with the reason.
    op.raw('KICK #mem Alice[m] :out you go');
    await eventually(() => b.fx.hs.membership(roomId, '@alice:localhost') === 'leave', 'alice kicked');
    assert.match(asString(b.fx.hs.stateEvent(roomId, 'm.room.member', '@alice:localhost')?.content.reason, 'reason'), /out you go/);
    // Matrix join/leave → IRC JOIN/PART with the reason.
    from = op.lines.length;
    await alice.join(roomId);
    await op.waitFor((l) => /^:Alice\[m\]!\S+ JOIN :?#mem/.test(l), 10_000, from);
    await alice.leave(roomId, 'see you');
    await op.waitFor((l) => /^:Alice\[m\]!\S+ PART #mem :"?see you"?$/.test(l), 10_000, from);
  });
});

/** The observer's lines without IRCv3 tags (`@time=...;msgid=... `), so assertions read like plain IRC. */
function withoutTags(o: Observer): Observer {
  const strip = (l: string) => l.replace(/^@\S+ /, '');
  return {
    nick: o.nick,
    get lines() {
      return o.lines.map(strip);
    },
    raw: (line) => o.raw(line),
    join: (channel) => o.join(channel),
    waitFor: (pred, timeoutMs, fromIndex) => o.waitFor((l) => pred(strip(l)), timeoutMs, fromIndex).then(strip),
    whois: (nick) => o.whois(nick),
    close: () => o.close(),
  };
}

function esc(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
void BOT;
