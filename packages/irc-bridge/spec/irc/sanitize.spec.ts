import { strict as assert } from 'node:assert';
import { buildLine, sanitizeParam, sanitizeUserText, IrcInjectionError } from '../../src/irc/sanitize';
import { isValidNick, sanitizeNick, fallbackNick } from '../../src/irc/nick';
import { isValidChannelName } from '../../src/irc/channel-name';
import { parseRawCommand } from '../../src/irc/raw-command';
import { ircLower, ircEquals, IrcCaseMap, parseCaseMapping } from '../../src/irc/casemapping';
import { classifyErrorText, classifyFatalNumeric, classifySoftNumeric } from '../../src/irc/errors';
import { FloodQueue } from '../../src/irc/flood-queue';

describe('irc validation', () => {
  it('wire fields lose CR/LF/NUL; user text loses \\x01', () => {
    assert.equal(sanitizeParam('a\r\nQUIT\0x'), 'a QUITx');
    assert.equal(sanitizeUserText('\x01VERSION\x01 hi\nJOIN #x'), 'VERSION hi JOIN #x');
    assert.equal(buildLine('TOPIC', ['#c'], ''), 'TOPIC #c :');
    assert.equal(buildLine('KICK', ['#c', 'n'], 'bye\r\nQUIT'), 'KICK #c n :bye QUIT');
    assert.throws(() => buildLine('PRIVMSG', ['#c\r\nJOIN'], 'x'), IrcInjectionError);
    assert.throws(() => buildLine('PRIVMSG', [':x'], 'x'), IrcInjectionError);
    assert.throws(() => buildLine('PRIV MSG', [], 'x'), IrcInjectionError);
  });

  it('nick validation, sanitiser and deterministic fallbacks', () => {
    assert.ok(isValidNick('Alice[m]'));
    for (const bad of ['', '1abc', '-x', 'a b', 'a,b', 'a!b', 'a@b', '#x', ':x', '$x', 'a*', 'x'.repeat(31)])
      assert.ok(!isValidNick(bad), bad);
    assert.equal(sanitizeNick('Zoë Smith'), 'Zoe_Smith');
    assert.equal(sanitizeNick('42 is the answer'), '_42_is_the_answer');
    assert.equal(sanitizeNick('日本語'), 'matrixuser');
    assert.deepEqual(
      [0, 1, 2, 3].map((i) => fallbackNick('Alice', i)),
      ['Alice', 'Alice[m]', 'Alice[m]2', 'Alice[m]3'],
    );
    assert.deepEqual(
      [0, 1, 2].map((i) => fallbackNick('Bob[m]', i)),
      ['Bob[m]', 'Bob[m]2', 'Bob[m]3'],
    );
    const long = 'L'.repeat(40);
    for (let i = 0; i < 12; i++) assert.ok(isValidNick(fallbackNick(long, i, 30)), fallbackNick(long, i, 30));
  });

  it('channel names follow CHANTYPES/CHANNELLEN and forbid separators', () => {
    assert.ok(isValidChannelName('#matrix', { chanTypes: '#' }));
    assert.ok(!isValidChannelName('&local', { chanTypes: '#' }));
    for (const bad of ['#a b', '#a,#b', '#a\x07', '#a\r\nJOIN', '#', 'chan', '#a:b']) assert.ok(!isValidChannelName(bad), bad);
    assert.ok(!isValidChannelName('#' + 'x'.repeat(64), { channelLen: 64 }));
  });

  it('!cmd: uppercase, single line, deny list, normalised line', () => {
    const ok = parseRawCommand('PRIVMSG NickServ :identify secret');
    assert.deepEqual(ok, {
      ok: true,
      command: 'PRIVMSG',
      params: ['NickServ', 'identify secret'],
      line: 'PRIVMSG NickServ :identify secret',
    });
    assert.equal(parseRawCommand('MODE #c +o   nick').ok, true);
    for (const bad of [
      'privmsg x :y',
      'QUIT :bye',
      'PASS x',
      'NICK y',
      'CAP LS',
      'AUTHENTICATE +',
      'WEBIRC a b c d',
      'PRIVMSG x :y\r\nQUIT',
      'PRIVMSG x :y\nJOIN #e',
      'JOIN #a\0',
      '',
    ]) {
      assert.equal(parseRawCommand(bad).ok, false, bad);
    }
  });

  it('rfc1459 casemapping', () => {
    assert.equal(ircLower('Nick[m]\\~'), 'nick{m}|^');
    assert.ok(ircEquals('Alice[m]', 'alice{M}'));
    assert.ok(!ircEquals('a[', 'a{', 'ascii'));
    assert.ok(!ircEquals('a~', 'a^', 'strict-rfc1459'));
    assert.equal(ircLower('Nick[m]\\~', 'strict-rfc1459'), 'nick{m}|~');
    assert.equal(ircLower('Nick[m]\\~', 'ascii'), 'nick[m]\\~');
    // Only ASCII letters fold (not É), characters outside the BMP pass through, lower case is unchanged.
    assert.equal(ircLower('ÉLAN😀X'), 'Élan😀x');
    assert.equal(ircLower('already{lower}|^'), 'already{lower}|^');
    assert.ok(!ircEquals('ab', 'abc'));
    assert.equal(parseCaseMapping('weird'), 'rfc1459');
    const m = new IrcCaseMap<number>();
    m.set('#Chan[1]', 1);
    assert.equal(m.get('#chan{1}'), 1);
    assert.deepEqual([...m], [['#Chan[1]', 1]]);
  });
});

describe('irc error classification', () => {
  it('fatal: K/G-lines, 465, clone limits, full server, bad password', () => {
    assert.equal(classifyErrorText('Closing link: (u@h) [K-Lined: go away]').class, 'fatal');
    assert.equal(classifyErrorText('Closing link: (u@h) [G-Lined: spam]').kind, 'banned');
    const clone = classifyErrorText(
      'Closing link: (u@127.0.0.1) [No more connections allowed from your host via this connect class (local)]',
    );
    assert.deepEqual([clone.class, clone.kind], ['fatal', 'too_many_connections']);
    assert.equal(classifyErrorText('Too many host connections (global)').kind, 'too_many_connections');
    assert.equal(classifyErrorText('This server is full').kind, 'server_full');
    assert.equal(classifyFatalNumeric('465', "You're banned!")?.class, 'fatal');
    assert.equal(classifyFatalNumeric('464', 'Password incorrect')?.kind, 'bad_password');
  });

  it('retryable: throttles, temporary Z-lines (connectban), ping timeouts, floods', () => {
    const z = classifyErrorText(
      'Closing link: (u@h) [Z-Lined: Your IP range has been attempting to connect too many times in too short a duration.]',
    );
    assert.deepEqual([z.class, z.kind], ['retryable', 'temporary_ban']);
    assert.ok(z.retryAfterMs! > 0);
    assert.equal(classifyFatalNumeric('465', 'Z-Lined: connectban')?.class, 'retryable');
    assert.equal(classifyErrorText('Throttled: Reconnecting too fast').kind, 'throttled');
    assert.equal(classifyErrorText('Ping timeout: 120 seconds').kind, 'ping_timeout');
    assert.equal(classifyErrorText('Excess Flood').kind, 'flooded');
    assert.equal(classifyErrorText('RecvQ exceeded').class, 'retryable');
    assert.equal(classifyErrorText('Server shutting down').class, 'retryable');
  });

  it('soft numerics carry a subject and a user-facing message', () => {
    const e = classifySoftNumeric('474', ['me', '#chan', 'Cannot join channel (+b)']);
    assert.deepEqual([e.kind, e.subject], ['banned_from_channel', '#chan']);
    assert.match(e.message, /banned/);
    assert.equal(classifySoftNumeric('433', ['me', 'nick', 'in use']).kind, 'nick_in_use');
    assert.match(classifySoftNumeric('477', ['me', '#c', 'x']).message, /SASL/);
    assert.equal(classifySoftNumeric('499', ['me', 'x', 'odd']).kind, 'other');
  });
});

describe('irc flood queue', () => {
  it('sends a burst at once, then paces at the configured rate, in order', async () => {
    const sent: [number, number][] = [];
    const start = Date.now();
    const q = new FloodQueue<number>((n) => sent.push([n, Date.now() - start]), { burst: 3, ratePerSecond: 20 });
    q.resume();
    for (let i = 0; i < 13; i++) q.push(i, 'PRIVMSG');
    assert.equal(sent.length, 3);
    await new Promise((r) => setTimeout(r, 800));
    assert.deepEqual(
      sent.map((s) => s[0]),
      Array.from({ length: 13 }, (_, i) => i),
    );
    // 10 lines after the burst at 20/s take at least ~500 ms.
    assert.ok(sent[12][1] >= 450, `last line at ${sent[12][1]} ms`);
    assert.ok(q.getStats().maxDelayMs >= 450);
  });

  it('weights commands like InspIRCd (PART costs 5) and holds lines while paused', async () => {
    const sent: string[] = [];
    const q = new FloodQueue<string>((s) => sent.push(s), { burst: 5, ratePerSecond: 50 });
    q.push('a', 'PRIVMSG');
    assert.equal(sent.length, 0);
    q.resume();
    q.push('p', 'PART');
    q.push('b', 'PRIVMSG');
    assert.deepEqual(sent, ['a']);
    await new Promise((r) => setTimeout(r, 250));
    assert.deepEqual(sent, ['a', 'p', 'b']);
    q.pause();
    q.push('c', 'PRIVMSG');
    assert.deepEqual(
      q.takeAll().map((x) => x.item),
      ['c'],
    );
  });
});
