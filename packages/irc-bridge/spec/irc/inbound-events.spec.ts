import { strict as assert } from 'node:assert';
import { readInbound, type InboundEvent, type ReadContext } from '../../src/irc/inbound-events';
import { defaultIsupport } from '../../src/irc/isupport';
import type { IfMessage } from '../../src/irc/irc-framework';

const ME = 'alice';
const context: ReadContext = {
  isupport: defaultIsupport,
  isSelf: (nick) => nick?.toLowerCase() === ME,
  isChannel: (target) => target.startsWith('#'),
};
const line = (command: string, params: string[], extra: Partial<IfMessage> = {}): IfMessage => ({
  command,
  params,
  tags: {},
  nick: 'bob',
  ident: 'b',
  hostname: 'example.org',
  ...extra,
});
const read = (msg: IfMessage): InboundEvent | undefined => readInbound(msg, context);

describe('irc: reading server lines as events', () => {
  it('a CTCP ACTION is a message of kind action; any other CTCP (or an ACTION in a NOTICE) is a ctcp event', () => {
    const action = read(line('PRIVMSG', ['#chan', '\x01ACTION waves\x01']));
    assert.equal(action?.type, 'message');
    assert.deepEqual(action?.type === 'message' && [action.message.kind, action.message.text, action.message.isChannel], [
      'action',
      'waves',
      true,
    ]);
    const version = read(line('PRIVMSG', [ME, '\x01version']));
    assert.deepEqual(version?.type === 'ctcp' && [version.ctcp.command, version.ctcp.args], ['VERSION', '']);
    assert.equal(read(line('NOTICE', [ME, '\x01ACTION no\x01']))?.type, 'ctcp');
  });

  it("our own line echoed with a msgid carries the raw line for matching; another user's does not", () => {
    const own = read(line('PRIVMSG', ['#chan', '\x01ACTION hi\x01'], { nick: 'Alice', tags: { msgid: 'm1' } }));
    assert.deepEqual(own?.type === 'message' && [own.message.isEcho, own.echo], [
      true,
      { command: 'PRIVMSG', target: '#chan', text: '\x01ACTION hi\x01', msgid: 'm1' },
    ]);
    const theirs = read(line('PRIVMSG', ['#chan', 'hi'], { tags: { msgid: 'm2' } }));
    assert.deepEqual(theirs?.type === 'message' && [theirs.message.isEcho, theirs.message.msgid, theirs.echo], [false, 'm2', undefined]);
  });

  it('server-time is the event time when it parses, the time of reading otherwise', () => {
    const stamped = read(line('PART', ['#chan'], { tags: { time: '2024-05-01T12:00:00.000Z' } }));
    assert.equal(stamped?.type === 'relay' && stamped.name === 'part' && stamped.args[0].time.toISOString(), '2024-05-01T12:00:00.000Z');
    const before = Date.now();
    const bad = read(line('QUIT', ['bye'], { tags: { time: 'yesterday' } }));
    assert.ok(bad?.type === 'relay' && bad.name === 'quit' && bad.args[0].time.getTime() >= before);
  });

  it('NAMES entries lose their prefix symbols (kept apart) and any userhost; a bare symbol names nobody', () => {
    assert.deepEqual(read(line('353', [ME, '=', '#chan', '@+op!o@h +voiced plain @'])), {
      type: 'names-reply',
      channel: '#chan',
      users: [
        { nick: 'op', prefixes: '@+' },
        { nick: 'voiced', prefixes: '+' },
        { nick: 'plain', prefixes: '' },
      ],
    });
  });

  it('a user MODE reads every letter as a flag; a channel MODE takes parameters per ISUPPORT', () => {
    const user = read(line('MODE', [ME, '+ov']));
    assert.deepEqual(user?.type === 'relay' && user.name === 'mode' && user.args[0].changes.map((c) => [c.mode, c.param]), [
      ['o', undefined],
      ['v', undefined],
    ]);
    const chan = read(line('MODE', ['#chan', '+ok', 'carol', 'secret']));
    assert.deepEqual(chan?.type === 'relay' && chan.name === 'mode' && chan.args[0].changes.map((c) => [c.mode, c.param]), [
      ['o', 'carol'],
      ['k', 'secret'],
    ]);
  });

  it('a refused PRIVMSG names its target and is a soft error; a numeric that is neither reads as nothing', () => {
    const refused = read(line('404', [ME, '#quiet', 'Cannot send to channel']));
    assert.equal(refused?.type, 'numeric');
    assert.deepEqual(refused?.type === 'numeric' && [refused.refusedMessageTo, refused.softError?.kind], ['#quiet', 'cannot_send']);
    assert.equal(read(line('251', [ME, 'There are 3 users'])), undefined);
  });

  it("the welcome's trailing nick!user@host is our first view of our host; a 396 may show only a host", () => {
    assert.deepEqual(read(line('001', [ME, 'Welcome to the network alice!al@10.0.0.1'])), {
      type: 'welcome',
      nick: ME,
      user: 'al',
      host: '10.0.0.1',
    });
    assert.deepEqual(read(line('001', [ME, 'Welcome'])), { type: 'welcome', nick: ME });
    assert.deepEqual(read(line('396', [ME, 'cloaked.example', 'is now your displayed host'])), {
      type: 'own-host',
      host: 'cloaked.example',
    });
    assert.equal(read(line('CHGHOST', ['u', 'h'])), undefined, "another user's CHGHOST");
  });
});
