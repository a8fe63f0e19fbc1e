import { strict as assert } from 'node:assert';
import { BOT_KEY, ChannelTable } from '../../src/network/channel-state';
import { ChatRelay } from '../../src/network/chat-relay';

describe('irc-bridge: ChatRelay (which copy of a channel line reaches Matrix)', () => {
  const table = () => {
    const t = new ChannelTable();
    const c = t.ensure('#chan');
    c.joinedBy.add('@alice:x');
    c.joinedBy.add(BOT_KEY);
    c.joinedBy.add('@dan:x');
    return t;
  };

  it('with msgids, the first copy from one of the two hearers is relayed and every later copy is not', () => {
    const t2 = table();
    const r = new ChatRelay(t2, () => true);
    assert.equal(r.relays('@dan:x', '#chan', 'm1'), false, 'the third connection never relays');
    assert.equal(r.relays('@alice:x', '#chan', 'm1'), true, 'standing by, but first');
    assert.equal(r.relays(BOT_KEY, '#chan', 'm1'), false);
    assert.equal(r.relays('@alice:x', '#chan', 'm1'), true, 'asking again (peek, then the parsed line) keeps the answer');
    assert.equal(r.relays(BOT_KEY, '#chan', 'm2'), true);
    assert.equal(r.relays('@alice:x', '#chan', 'm2'), false);
    // One line to two channels (PRIVMSG #chan,#other) may carry one msgid: each channel relays it.
    t2.ensure('#other').joinedBy.add('@dan:x');
    assert.equal(r.relays('@dan:x', '#other', 'm2'), true);
    // The bot leaves: Alice relays, Dan now stands by.
    t2.get('#chan')!.joinedBy.delete(BOT_KEY);
    assert.equal(r.relays('@dan:x', '#chan', 'm3'), true);
  });

  it('without msgids, only the listener relays: the bot while it is in the channel, else the earliest-joined user', () => {
    const t = table();
    const r = new ChatRelay(t, () => true);
    assert.equal(r.relays('@dan:x', '#chan', undefined), false);
    assert.equal(r.relays(BOT_KEY, '#chan', undefined), true);
    t.get('#chan')!.joinedBy.delete(BOT_KEY);
    assert.equal(r.relays(BOT_KEY, '#chan', undefined), false);
    assert.equal(r.relays('@alice:x', '#chan', undefined), true);
  });

  it('with every connection hearing (deaf mode off), only the listener relays, msgid or not', () => {
    const r = new ChatRelay(table(), () => false);
    assert.equal(r.relays('@alice:x', '#chan', 'm1'), false);
    assert.equal(r.relays(BOT_KEY, '#chan', 'm1'), true);
  });

  it('forgets old claims only after thousands of newer lines (copies arrive within milliseconds)', () => {
    const r = new ChatRelay(table(), () => true);
    assert.equal(r.relays('@alice:x', '#chan', 'old'), true);
    for (let i = 0; i < 8000; i++) r.relays(BOT_KEY, '#chan', `m${i}`);
    assert.equal(r.relays(BOT_KEY, '#chan', 'old'), false, 'still remembered');
    for (let i = 8000; i < 9000; i++) r.relays(BOT_KEY, '#chan', `m${i}`);
    assert.equal(r.relays(BOT_KEY, '#chan', 'old'), true, 'forgotten: bounded memory');
  });

  it('hearers in deaf mode: the listener and one standing by', () => {
    const t = table();
    assert.deepEqual(t.hearers('#chan'), [BOT_KEY, '@alice:x']);
    t.get('#chan')!.joinedBy.delete(BOT_KEY);
    assert.deepEqual(t.hearers('#chan'), ['@alice:x', '@dan:x']);
    t.get('#chan')!.joinedBy.delete('@dan:x');
    assert.deepEqual(t.hearers('#chan'), ['@alice:x']);
    assert.deepEqual(t.hearers('#nowhere'), []);
  });
});
