import { strict as assert } from 'node:assert';
import { peekChannelChat } from '../../src/irc/line-peek';

describe('irc: peekChannelChat (which raw lines a non-relaying connection may drop unparsed)', () => {
  it('finds the sender and channel of PRIVMSG and NOTICE to a channel, with or without tags', () => {
    assert.deepEqual(peekChannelChat(':olive!o@host PRIVMSG #chan :hello there', '#&'), { nick: 'olive', channel: '#chan' });
    assert.deepEqual(peekChannelChat('@time=2026-01-01T00:00:00.000Z;msgid=abc :Olive!o@h NOTICE &local :hi', '#&'), {
      nick: 'Olive',
      channel: '&local',
      msgid: 'abc',
    });
    assert.deepEqual(peekChannelChat(':olive!o@host privmsg #chan :lower-case command', '#'), { nick: 'olive', channel: '#chan' });
    assert.deepEqual(peekChannelChat(':irc.example.net NOTICE #chan :server notice', '#'), { nick: 'irc.example.net', channel: '#chan' });
  });

  it('reads the msgid tag wherever it is among the tags, unescaped, and only that tag', () => {
    const msgid = (tags: string) => peekChannelChat(`@${tags} :olive!o@h PRIVMSG #c :x`, '#')?.msgid;
    assert.equal(msgid('msgid=first;time=2026-01-01T00:00:00.000Z'), 'first');
    assert.equal(msgid('account=olive;msgid=AbC-12_3'), 'AbC-12_3');
    assert.equal(msgid('msgid=a\\sb\\:c\\\\d'), 'a b;c\\d');
    assert.equal(msgid('+draft/msgid=forged;time=x'), undefined, "a client tag is not the server's msgid");
    assert.equal(msgid('msgidx=nope'), undefined);
    assert.equal(msgid('msgid'), undefined, 'valueless');
    assert.equal(msgid('msgid='), undefined, 'empty');
    assert.equal(peekChannelChat(':olive!o@h PRIVMSG #c :msgid=in the text', '#')?.msgid, undefined);
  });

  it('leaves everything else to the full parser', () => {
    for (const line of [
      ':olive!o@host PRIVMSG Alice[m] :a private message',
      ':olive!o@host PRIVMSG @#chan :to the channel operators only',
      ':olive!o@host JOIN #chan',
      ':olive!o@host TOPIC #chan :PRIVMSG #chan :not chat',
      ':irc.example.net 332 me #chan :topic',
      'PING :irc.example.net',
      'PRIVMSG #chan :no prefix',
      '@tags-only',
      ':olive!o@host PRIVMSG',
      '',
    ])
      assert.equal(peekChannelChat(line, '#&'), undefined, line);
  });

  it("uses the server's channel types", () => {
    assert.equal(peekChannelChat(':olive!o@h PRIVMSG &chan :x', '#'), undefined);
    assert.deepEqual(peekChannelChat(':olive!o@h PRIVMSG !chan :x', '#!'), { nick: 'olive', channel: '!chan' });
  });
});
