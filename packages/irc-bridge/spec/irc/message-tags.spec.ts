import { strict as assert } from 'node:assert';
import { escapeTagValue, formatTags, CLIENT_TAG_DATA_LIMIT } from '../../src/irc/message-tags';
import { EchoMatcher } from '../../src/irc/echo-matcher';
import { IrcInjectionError } from '../../src/irc/sanitize';
import { isIrcMsgid, matrixRemoteId, replyTagsFor, replyToOf, syntheticId } from '../../src/network/remote-ids';

/** The IRCv3 unescaping a receiving client does. */
function unescape(v: string): string {
  return v.replace(/\\(.?)/g, (_m, c: string) => (({ ':': ';', s: ' ', r: '\r', n: '\n', '\\': '\\' }) as Record<string, string>)[c] ?? c);
}

describe('irc message tags', () => {
  it('escapes every character that could end a tag, the tag section or the line, and round-trips', () => {
    const hostile = 'a;b c\\d\re\nf\0g=h@i';
    const escaped = escapeTagValue(hostile);
    assert.equal(escaped, 'a\\:b\\sc\\\\d\\re\\nfg=h@i');
    assert.doesNotMatch(escaped, /[ ;\r\n\0]/);
    assert.equal(unescape(escaped), hostile.replace('\0', ''));
  });

  it('formats a tag prefix, refuses bad keys and oversized data', () => {
    assert.equal(formatTags(undefined), '');
    assert.equal(formatTags({}), '');
    assert.equal(formatTags({ '+draft/reply': 'abc 1' }), '@+draft/reply=abc\\s1 ');
    assert.equal(formatTags({ '+typing': '' }), '@+typing ');
    for (const bad of ['', '+', 'a b', 'a;b', '+x=y', '+draft/re ply', '@x'])
      assert.throws(() => formatTags({ [bad]: 'v' }), IrcInjectionError, bad);
    assert.throws(() => formatTags({ '+draft/reply': 'x'.repeat(CLIENT_TAG_DATA_LIMIT) }), IrcInjectionError);
  });

  it('reads +reply and +draft/reply; replies only to server msgids, never to mx: or synthetic IDs', () => {
    assert.equal(replyToOf({ '+draft/reply': 'm1' }), 'm1');
    assert.equal(replyToOf({ '+reply': 'm2', '+draft/reply': 'm1' }), 'm2');
    assert.equal(replyToOf({ '+draft/reply': '' }), undefined);
    assert.equal(replyToOf({ '+draft/reply': true }), undefined);
    assert.ok(isIrcMsgid('Dq6aGSoxIIOAhnMWHjmoHA'));
    assert.ok(!isIrcMsgid(matrixRemoteId('$ev:hs')));
    assert.ok(!isIrcMsgid(syntheticId('nick', new Date())));
    const ref = { remoteId: matrixRemoteId('$e'), eventId: '$e', sender: '@a:hs', timestamp: 0 };
    assert.equal(replyTagsFor(ref), undefined);
    assert.deepEqual(replyTagsFor({ ...ref, remoteIds: [ref.remoteId, 'line1', 'line2'] }), { '+draft/reply': 'line1' });
    assert.equal(replyTagsFor({ ...ref, remoteId: 'y'.repeat(5000), remoteIds: undefined }), undefined, 'an oversized msgid is left off');
  });

  it('pairs echoes with the lines written, in order, skipping lines the server refused', () => {
    const got: string[] = [];
    const m = new EchoMatcher((a, b) => a.toLowerCase() === b.toLowerCase());
    m.expect({ command: 'PRIVMSG', target: '#c', text: 'one', onEcho: (id) => got.push(`one=${id}`) });
    m.expect({ command: 'PRIVMSG', target: '#c', text: 'refused', onEcho: (id) => got.push(`refused=${id}`) });
    m.expect({ command: 'PRIVMSG', target: '#c', text: 'three', onEcho: (id) => got.push(`three=${id}`) });
    m.echoed('PRIVMSG', '#C', 'one', 'a');
    m.echoed('PRIVMSG', '#c', 'rewritten by the server', 'x');
    m.echoed('PRIVMSG', '#c', 'three', 'c');
    assert.deepEqual(got, ['one=a', 'three=c']);
    assert.equal(m.size, 0);
  });

  it('settles a channel once its lines written so far have echoed or will not, and not before', async () => {
    const got: string[] = [];
    const m = new EchoMatcher((a, b) => a.toLowerCase() === b.toLowerCase());
    assert.equal(m.settled('#c', 1000), undefined, 'nothing awaited');
    m.expect({ command: 'PRIVMSG', target: '#c', text: 'one', onEcho: (id) => got.push(`one=${id}`) });
    m.expect({ command: 'PRIVMSG', target: '#other', text: 'elsewhere', onEcho: () => undefined });
    let settled = false;
    const wait = m.settled('#C', 60_000)!;
    void wait.then(() => {
      settled = true;
    });
    m.expect({ command: 'PRIVMSG', target: '#c', text: 'later', onEcho: () => undefined }); // written after: not waited for
    await Promise.resolve();
    assert.equal(settled, false);
    m.echoed('PRIVMSG', '#c', 'one', 'a');
    await wait;
    assert.deepEqual(got, ['one=a'], 'the echo was recorded before the wait ended');
    // A dropped connection ends the wait (the echo will not come); so does the bound.
    const dropped = m.settled('#c', 60_000)!;
    m.clear();
    await dropped;
    m.expect({ command: 'PRIVMSG', target: '#c', text: 'refused', onEcho: () => undefined });
    await m.settled('#c', 10);
  });

  it('a refusal (404) ends the wait for the oldest line to that target at once; later lines still pair', async () => {
    const got: string[] = [];
    const m = new EchoMatcher((a, b) => a.toLowerCase() === b.toLowerCase());
    m.expect({ command: 'PRIVMSG', target: '#c', text: 'moderated', onEcho: (id) => got.push(`moderated=${id}`) });
    m.expect({ command: 'PRIVMSG', target: '#d', text: 'elsewhere', onEcho: (id) => got.push(`elsewhere=${id}`) });
    const wait = m.settled('#c', 600_000)!; // no bound in practice: only the refusal can end it
    m.refused('#other'); // nothing waits for #other
    m.refused('#C');
    await wait;
    m.expect({ command: 'PRIVMSG', target: '#c', text: 'voiced now', onEcho: (id) => got.push(`voiced=${id}`) });
    // Echoes come back in the order the lines were written, whatever their targets.
    m.echoed('PRIVMSG', '#d', 'elsewhere', 'e');
    m.echoed('PRIVMSG', '#c', 'voiced now', 'v');
    assert.deepEqual(got, ['elsewhere=e', 'voiced=v']);
    assert.equal(m.size, 0);
  });
});
