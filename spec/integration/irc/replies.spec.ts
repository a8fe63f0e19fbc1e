/**
 * Replies across the bridge with IRCv3 tags, through a real InspIRCd (message-tags, msgid,
 * echo-message) and the homeserver emulator. IRC users are plain irc-framework observers that
 * negotiate message-tags, so they see (and send) the `+draft/reply` client tag as any IRCv3 client.
 */
import { strict as assert } from 'node:assert';
import { startInspircd, type InspircdHandle } from '@causeway/testing';
import { connectObserver, type Observer } from '@causeway/testing';
import type { EventContent, TestUser } from '@causeway/testing';
import { startIrcBridge, alias, ghostId, messages, eventually, noticesTo, NET, type IrcBridge } from './support';

/** The tags of a raw IRC line, unescaped as an IRCv3 client does. */
function tagsOf(line: string): Record<string, string> {
  if (!line.startsWith('@')) return {};
  const out: Record<string, string> = {};
  for (const tag of line.slice(1, line.indexOf(' ')).split(';')) {
    const eq = tag.indexOf('=');
    const key = eq === -1 ? tag : tag.slice(0, eq);
    const raw = eq === -1 ? '' : tag.slice(eq + 1);
    out[key] = raw.replace(
      /\\(.?)/g,
      (_m, c: string) => (({ ':': ';', s: ' ', r: '\r', n: '\n', '\\': '\\' }) as Record<string, string>)[c] ?? c,
    );
  }
  return out;
}

/** The line without its tags. */
const bare = (line: string) => line.replace(/^@\S+ /, '');

describe('irc-bridge: replies as IRCv3 +draft/reply tags, both ways', function () {
  this.timeout(60_000);
  let ircd: InspircdHandle;
  let b: IrcBridge;
  let alice: TestUser;
  let bob: TestUser;
  const observers: Observer[] = [];

  const observer = async (nick: string, channel: string) => {
    const o = await connectObserver(ircd, nick);
    observers.push(o);
    await o.join(channel);
    return o;
  };
  /** A Matrix user joins the portal; resolves once their IRC connection is in the channel. */
  const portal = async (user: TestUser, channel: string, nick: string, witness: Observer) => {
    const from = witness.lines.length;
    const roomId = await user.join(alias(channel));
    await witness.waitFor((l) => bare(l).startsWith(`:${nick}!`) && / JOIN :?#/i.test(bare(l)), 20_000, from);
    return roomId;
  };
  /** What an IRC observer receives for a PRIVMSG to `channel` ending with `text`. */
  const line = (o: Observer, from: number, nick: string, channel: string, text: string) =>
    o.waitFor((l) => bare(l).startsWith(`:${nick}!`) && bare(l).endsWith(` PRIVMSG ${channel} :${text}`), 10_000, from);
  const matrixEvent = (roomId: string, sender: string, body: string) =>
    eventually(() => messages(b.fx.hs, roomId, sender).find((e) => e.content.body === body), `"${body}" in Matrix`);
  /** The msgid of the first PRIVMSG/NOTICE `o` receives from `nick` to `channel` (after `from`) that `pred` accepts. */
  const msgidOf = async (o: Observer, from: number, nick: string, channel: string, pred: (command: string, text: string) => boolean) => {
    const got = await o.waitFor(
      (l) => {
        const m = /^:([^!]+)!\S+ (PRIVMSG|NOTICE) (\S+) :(.*)$/.exec(bare(l));
        return !!m && m[1] === nick && m[3] === channel && pred(m[2], m[4]);
      },
      10_000,
      from,
    );
    const msgid = tagsOf(got).msgid;
    assert.ok(msgid, `a msgid on ${got}`);
    return msgid;
  };
  /** An IRC user replies to `msgid`; resolves with the Matrix event that reply became. */
  const ircReply = async (o: Observer, channel: string, msgid: string, text: string, roomId: string) => {
    o.raw(`@+draft/reply=${msgid} PRIVMSG ${channel} :${text}`);
    return matrixEvent(roomId, ghostId(o.nick), text);
  };
  /** A Matrix edit (m.replace) of `eventId` to `body`. */
  const edit = (user: TestUser, roomId: string, eventId: string, body: string, msgtype = 'm.text') =>
    user.sendMessage(roomId, {
      msgtype,
      body: `* ${body}`,
      'm.new_content': { msgtype, body },
      'm.relates_to': { rel_type: 'm.replace', event_id: eventId },
    });
  const repliedTo = (ev: { content: EventContent }) => ev.content['m.relates_to']?.['m.in_reply_to']?.event_id;
  /** 2,998 characters: beyond line_limit (3), so uploaded and sent as a link. */
  const huge = 'x'.repeat(1000) + ' ' + 'y'.repeat(1000) + ' ' + 'z'.repeat(998);

  before(async () => {
    ircd = await startInspircd();
    b = await startIrcBridge(ircd, { membership: { irc_to_matrix: { initial: false, incremental: true } } });
    alice = await b.fx.hs.registerUser('alice', { displayname: 'Alice' });
    bob = await b.fx.hs.registerUser('bob', { displayname: 'Bob' });
  });
  after(async () => {
    await Promise.all(observers.map((o) => o.close().catch(() => undefined)));
    await b?.fx.stop();
    await ircd?.dispose();
  });

  it('an IRC reply to a line from IRC becomes a Matrix reply to that line, without a fallback quote', async () => {
    const olive = await observer('Olive', '#rep1');
    const pat = await observer('Pat', '#rep1');
    const roomId = await portal(alice, '#rep1', 'Alice[m]', olive);
    const from = pat.lines.length;
    olive.raw('PRIVMSG #rep1 :who broke the build?');
    const msgid = tagsOf(await line(pat, from, 'Olive', '#rep1', 'who broke the build?')).msgid;
    assert.ok(msgid, 'the server gives each line a msgid');
    const original = await matrixEvent(roomId, ghostId('Olive'), 'who broke the build?');

    pat.raw(`@+draft/reply=${msgid} PRIVMSG #rep1 :not me`);
    const reply = await matrixEvent(roomId, ghostId('Pat'), 'not me');
    assert.equal(reply.content['m.relates_to']?.['m.in_reply_to']?.event_id, original.event_id);
    assert.equal(reply.content.body, 'not me');
    assert.equal(reply.content.formatted_body, undefined);
    assert.ok(reply.content['m.mentions']?.user_ids?.includes(ghostId('Olive')), 'the replied-to user is mentioned');
  });

  it('an IRC reply (+draft/reply or +reply) to any line of a message from Matrix becomes a Matrix reply to it', async () => {
    const olive = await observer('Olive2', '#rep2');
    const roomId = await portal(alice, '#rep2', 'Alice[m]', olive);
    const from = olive.lines.length;
    const eventId = await alice.sendMessage(roomId, 'lunch?\nmy treat');
    const first = tagsOf(await line(olive, from, 'Alice[m]', '#rep2', 'lunch?')).msgid;
    const second = tagsOf(await line(olive, from, 'Alice[m]', '#rep2', 'my treat')).msgid;
    assert.ok(first && second && first !== second);

    olive.raw(`@+draft/reply=${first} PRIVMSG #rep2 :yes please`);
    const yes = await matrixEvent(roomId, ghostId('Olive2'), 'yes please');
    assert.equal(yes.content['m.relates_to']?.['m.in_reply_to']?.event_id, eventId);
    assert.deepEqual(yes.content['m.mentions']?.user_ids, ['@alice:localhost'], 'Alice is notified');

    olive.raw(`@+reply=${second} PRIVMSG #rep2 :thanks!`);
    const thanks = await matrixEvent(roomId, ghostId('Olive2'), 'thanks!');
    assert.equal(thanks.content['m.relates_to']?.['m.in_reply_to']?.event_id, eventId);
  });

  it('a reply tag with an unknown msgid arrives as a plain message', async () => {
    const olive = await observer('Olive3', '#rep3');
    const roomId = await portal(alice, '#rep3', 'Alice[m]', olive);
    olive.raw('@+draft/reply=NoSuchMsgid0000 PRIVMSG #rep3 :replying to history');
    const ev = await matrixEvent(roomId, ghostId('Olive3'), 'replying to history');
    assert.equal(ev.content['m.relates_to'], undefined);
    assert.equal(ev.content.msgtype, 'm.text');
  });

  it('a Matrix reply to an IRC line reaches IRC with +draft/reply=<its msgid>, and keeps the "nick: text" form', async () => {
    const olive = await observer('Olive4', '#rep4');
    const pat = await observer('Pat4', '#rep4');
    const roomId = await portal(alice, '#rep4', 'Alice[m]', olive);
    let from = pat.lines.length;
    olive.raw('PRIVMSG #rep4 :anyone around?');
    const msgid = tagsOf(await line(pat, from, 'Olive4', '#rep4', 'anyone around?')).msgid;
    const original = await matrixEvent(roomId, ghostId('Olive4'), 'anyone around?');

    from = pat.lines.length;
    await alice.sendMessage(roomId, {
      msgtype: 'm.text',
      body: '> <@irc_testnet_olive4:localhost> anyone around?\n\nI am',
      'm.relates_to': { 'm.in_reply_to': { event_id: original.event_id } },
    });
    // The nick comes from the ghost's (case-folded) ID.
    const got = await line(pat, from, 'Alice[m]', '#rep4', 'olive4: I am');
    assert.equal(tagsOf(got)['+draft/reply'], msgid);
  });

  it('a Matrix reply to a message from Matrix carries the msgid its first line got on IRC', async () => {
    const olive = await observer('Olive5', '#rep5');
    const roomId = await portal(alice, '#rep5', 'Alice[m]', olive);
    await portal(bob, '#rep5', 'Bob[m]', olive);
    let from = olive.lines.length;
    const question = await bob.sendMessage(roomId, 'ship it?');
    const msgid = tagsOf(await line(olive, from, 'Bob[m]', '#rep5', 'ship it?')).msgid;
    // Bob's line is recorded under the msgid of its echo: an IRC reply to it maps back to his event.
    olive.raw(`@+draft/reply=${msgid} PRIVMSG #rep5 :ok`);
    const ok = await matrixEvent(roomId, ghostId('Olive5'), 'ok');
    assert.equal(ok.content['m.relates_to']?.['m.in_reply_to']?.event_id, question);

    from = olive.lines.length;
    await alice.sendMessage(roomId, { msgtype: 'm.text', body: 'yes', 'm.relates_to': { 'm.in_reply_to': { event_id: question } } });
    const got = await line(olive, from, 'Alice[m]', '#rep5', 'Bob[m]: yes');
    assert.equal(tagsOf(got)['+draft/reply'], msgid);
  });

  it('a hostile msgid in the message map cannot inject tags or commands when a Matrix user replies to it', async () => {
    const olive = await observer('Olive6', '#rep6');
    const watcher = await observer('Watcher6', '#other6');
    const roomId = await portal(alice, '#rep6', 'Alice[m]', olive);
    // A msgid as a hostile server (or a corrupted store) could hand us: every separator the wire knows.
    const hostile = 'x;+evil=1 :Mallet!m@h PRIVMSG #rep6 :fake\r\nJOIN #other6\r\nQUIT :pwned\\';
    await b.fx.bridge.remote.emit({
      type: 'message',
      portal: { network: NET, id: '#rep6' },
      sender: { ghost: { network: NET, id: 'mallet' }, displayName: 'Mallet' },
      id: hostile,
      content: { kind: 'text', body: 'bait' },
    });
    const bait = await matrixEvent(roomId, ghostId('mallet'), 'bait');

    const from = olive.lines.length;
    await alice.sendMessage(roomId, { msgtype: 'm.text', body: 'nope', 'm.relates_to': { 'm.in_reply_to': { event_id: bait.event_id } } });
    const got = await line(olive, from, 'Alice[m]', '#rep6', 'mallet: nope');
    const tags = tagsOf(got);
    assert.equal(tags['+draft/reply'], hostile, 'the value arrives intact, as data');
    assert.equal(tags['+evil'], undefined);
    await alice.sendMessage(roomId, 'still here');
    await line(olive, from, 'Alice[m]', '#rep6', 'still here');
    const after = olive.lines.slice(from).map(bare);
    assert.ok(!after.some((l) => /^:Alice\[m\]!\S+ (QUIT|JOIN|PART)\b/.test(l)), after.join('\n'));
    assert.equal(after.filter((l) => / PRIVMSG #rep6 :/.test(l)).length, 2, after.join('\n'));
    assert.ok(!watcher.lines.some((l) => /Alice\[m\]/.test(l)), watcher.lines.join('\n'));
  });

  it('an IRC reply to the line a Matrix edit became is a Matrix reply to the edited message; no earlier line loses its mapping', async () => {
    const olive = await observer('Olive7', '#rep7');
    const roomId = await portal(alice, '#rep7', 'Alice[m]', olive);
    await portal(bob, '#rep7', 'Bob[m]', olive);
    let from = olive.lines.length;
    const original = await alice.sendMessage(roomId, 'the build is broken on main again');
    const originalMsgid = await msgidOf(
      olive,
      from,
      'Alice[m]',
      '#rep7',
      (c, t) => c === 'PRIVMSG' && t === 'the build is broken on main again',
    );

    from = olive.lines.length;
    const fix = await edit(alice, roomId, original, 'the build is fixed on main again');
    const sedMsgid = await msgidOf(olive, from, 'Alice[m]', '#rep7', (c, t) => c === 'PRIVMSG' && t === 's/broken/fixed/');
    const nice = await ircReply(olive, '#rep7', sedMsgid, 'nice work', roomId);
    assert.equal(repliedTo(nice), original, 'the reply points at the message Matrix users see, not the edit event');
    assert.notEqual(repliedTo(nice), fix);
    assert.deepEqual(nice.content['m.mentions']?.user_ids, ['@alice:localhost'], 'Alice is notified');

    // A second edit is a line of its own; replies to it, to the first edit's line and to the
    // message's own line all reach the message.
    from = olive.lines.length;
    await edit(alice, roomId, original, 'all green now');
    const starMsgid = await msgidOf(olive, from, 'Alice[m]', '#rep7', (c, t) => c === 'PRIVMSG' && t === '* all green now');
    assert.equal(new Set([originalMsgid, sedMsgid, starMsgid]).size, 3);
    for (const [msgid, text] of [
      [starMsgid, 'great'],
      [sedMsgid, 'agreed, nice'],
      [originalMsgid, 'was it broken?'],
    ]) {
      assert.equal(repliedTo(await ircReply(olive, '#rep7', msgid, text, roomId)), original, text);
    }

    // A Matrix reply to the edited message still points IRC at the message's own line.
    from = olive.lines.length;
    await bob.sendMessage(roomId, { msgtype: 'm.text', body: 'thanks', 'm.relates_to': { 'm.in_reply_to': { event_id: original } } });
    const got = await line(olive, from, 'Bob[m]', '#rep7', 'Alice[m]: thanks');
    assert.equal(tagsOf(got)['+draft/reply'], originalMsgid);
  });

  it('an edit beyond line_limit goes out as one line with a link to the full text, and a reply to that line maps to the edited message', async () => {
    const olive = await observer('Olive8', '#rep8');
    const roomId = await portal(alice, '#rep8', 'Alice[m]', olive);
    let from = olive.lines.length;
    const original = await alice.sendMessage(roomId, 'short draft');
    await line(olive, from, 'Alice[m]', '#rep8', 'short draft');

    from = olive.lines.length;
    await edit(alice, roomId, original, huge);
    const linkMsgid = await msgidOf(
      olive,
      from,
      'Alice[m]',
      '#rep8',
      (c, t) => c === 'PRIVMSG' && t.startsWith('* xxx') && t.includes('(full message at <'),
    );
    const linkLine = olive.lines.slice(from).find((l) => tagsOf(l).msgid === linkMsgid)!;
    const m = /\/download\/([^/]+)\/([^/>]+)/.exec(linkLine)!;
    assert.equal(b.fx.hs.mediaBytes(`mxc://${m[1]}/${m[2]}`)?.toString('utf8'), huge, 'the upload holds the whole new text');
    await alice.sendMessage(roomId, 'after the edit');
    await line(olive, from, 'Alice[m]', '#rep8', 'after the edit');
    const sent = olive.lines
      .slice(from)
      .map(bare)
      .filter((l) => /^:Alice\[m\]!\S+ PRIVMSG #rep8 :/.test(l));
    assert.equal(sent.length, 2, `the edit is one line, not the whole text:\n${sent.join('\n')}`);

    assert.equal(repliedTo(await ircReply(olive, '#rep8', linkMsgid, 'too long to read', roomId)), original);
  });

  it('IRC replies to an emote, a notice, an edited notice and the link line of an uploaded long message map to their Matrix events', async () => {
    const olive = await observer('Olive9', '#rep9');
    const roomId = await portal(alice, '#rep9', 'Alice[m]', olive);
    const cases: Array<{ send: () => Promise<string>; pred: (command: string, text: string) => boolean; reply: string }> = [
      {
        send: () => alice.sendMessage(roomId, { msgtype: 'm.emote', body: 'waves' }),
        pred: (c, t) => c === 'PRIVMSG' && t === '\x01ACTION waves\x01',
        reply: 'hi alice',
      },
      {
        send: () => alice.sendMessage(roomId, { msgtype: 'm.notice', body: 'deploy at five' }),
        pred: (c, t) => c === 'NOTICE' && t === 'deploy at five',
        reply: 'noted',
      },
      {
        send: () => alice.sendMessage(roomId, { msgtype: 'm.text', body: huge }),
        pred: (c, t) => c === 'PRIVMSG' && t.includes('(full message at <'),
        reply: 'long one',
      },
    ];
    for (const k of cases) {
      const from = olive.lines.length;
      const eventId = await k.send();
      const msgid = await msgidOf(olive, from, 'Alice[m]', '#rep9', k.pred);
      assert.equal(repliedTo(await ircReply(olive, '#rep9', msgid, k.reply, roomId)), eventId, k.reply);
    }
    // An edit keeps the message's kind (a NOTICE here), and its line maps to the notice.
    let from = olive.lines.length;
    const notice = await alice.sendMessage(roomId, { msgtype: 'm.notice', body: 'maintenance window tonight at ten' });
    await msgidOf(olive, from, 'Alice[m]', '#rep9', (c, t) => c === 'NOTICE' && t === 'maintenance window tonight at ten');
    from = olive.lines.length;
    await edit(alice, roomId, notice, 'maintenance window tonight at eleven', 'm.notice');
    // "ten" is also inside "maintenance": the substitution takes a neighbour so it names one place.
    const sedMsgid = await msgidOf(olive, from, 'Alice[m]', '#rep9', (c, t) => c === 'NOTICE' && t === 's/at ten/at eleven/');
    assert.equal(repliedTo(await ircReply(olive, '#rep9', sedMsgid, 'eleven it is', roomId)), notice);
  });

  it('a line the server refuses (404 in a moderated channel) is not waited for: replies and later lines in that room are not held behind its echo', async () => {
    const mona = await observer('Mona', '#rep10'); // first in: channel operator
    const roomId = await portal(alice, '#rep10', 'Alice[m]', mona);
    mona.raw('MODE #rep10 +m');
    await mona.waitFor((l) => / MODE #rep10 :?\+m/.test(bare(l)), 5000);
    await alice.sendMessage(roomId, 'nobody hears this');
    await eventually(() => noticesTo(b.fx.hs, alice.userId).some((n) => /could not be sent to #rep10/.test(n)), 'the refusal told', 15_000);
    // The connection stopped waiting for the refused line's echo at the 404, not 2 s (or 60 s) later.
    const conn = b.connector().networks.get(NET)!.users.get(alice.userId)!.connection;
    assert.equal(conn.echoesSettled('#rep10', 600_000), undefined, 'nothing left to wait for');
  });
});
