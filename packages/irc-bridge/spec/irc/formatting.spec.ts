import { strict as assert } from 'node:assert';
import { ircToMatrix } from '../../src/irc/mirc-to-html';
import { htmlToIrc, matrixToIrc } from '../../src/network/html-to-mirc';
import { parseRuns, stripCodes } from '../../src/irc/mirc-codes';

describe('irc formatting: mIRC -> Matrix HTML', () => {
  it('plain text has no formatted body', () => {
    assert.deepEqual(ircToMatrix('hello <world>'), { body: 'hello <world>' });
  });

  it('maps bold, italic, underline, strike, monospace and reset', () => {
    const r = ircToMatrix('\x02b\x02 \x1di\x1d \x1fu\x1f \x1es\x1e \x11m\x11 \x02x\x0fy');
    assert.equal(r.body, 'b i u s m xy');
    assert.equal(r.formattedBody, '<b>b</b> <i>i</i> <u>u</u> <del>s</del> <code>m</code> <b>x</b>y');
  });

  it('escapes everything so IRC users cannot inject markup', () => {
    const r = ircToMatrix('\x02<img src=x onerror=alert(1)>&"\'');
    assert.equal(r.formattedBody, '<b>&lt;img src=x onerror=alert(1)&gt;&amp;"\'</b>');
    assert.ok(!/<img/.test(r.formattedBody));
  });

  it('colours: 1-2 digits, background, 99 default, bare \\x03 ends, comma without digit is text', () => {
    assert.deepEqual(
      parseRuns('\x034red\x03 \x0304,02x\x031,y\x0399z').map((r) => [r.text, r.state.fg, r.state.bg]),
      [
        ['red', 4, undefined],
        [' ', undefined, undefined],
        ['x', 4, 2],
        [',y', 1, 2],
        ['z', undefined, 2],
      ],
    );
    // Three digits: only two belong to the colour.
    assert.equal(stripCodes('\x03123'), '3');
    const r = ircToMatrix('\x0304,12red on blue');
    assert.match(r.formattedBody!, /<font color="#ff0000" data-mx-color="#ff0000" data-mx-bg-color="#0000fc">red on blue<\/font>/);
  });

  it('hex colours (\\x04) and reverse (\\x16)', () => {
    const r = ircToMatrix('\x04FF8800orange\x04 \x16rev');
    assert.match(r.formattedBody!, /data-mx-color="#ff8800">orange/);
    assert.match(r.formattedBody!, /color="#ffffff" data-mx-color="#ffffff" data-mx-bg-color="#000000">rev/);
  });
});

describe('irc formatting: Matrix HTML -> mIRC', () => {
  const resolveMention = (userId: string) => (userId === '@alice:example.org' ? 'alice[m]' : undefined);

  it('keeps bold/italic/underline/strike/code', () => {
    const r = htmlToIrc('<strong>b</strong> <em>i</em> <u>u</u> <del>s</del> <code>c</code>');
    assert.equal(r.text, '\x02b\x02 \x1di\x1d \x1fu\x1f \x1es\x1e \x11c\x0f');
    assert.equal(r.plain, 'b i u s c');
  });

  it('pills become nicks via the callback; unknown pills keep their text', () => {
    const r = htmlToIrc(
      '<a href="https://matrix.to/#/@alice:example.org">Alice</a>: hi <a href="https://matrix.to/#/@bob:example.org">Bob</a>',
      { resolveMention },
    );
    assert.equal(r.text, 'alice[m]: hi Bob');
  });

  it('links become text + url, bare links stay as-is', () => {
    assert.equal(htmlToIrc('see <a href="https://example.com/x">the docs</a>').text, 'see the docs (https://example.com/x)');
    assert.equal(htmlToIrc('<a href="https://example.com/">https://example.com/</a>').text, 'https://example.com/');
  });

  it('colours map to the nearest mIRC colour and need two digits before digits', () => {
    assert.equal(htmlToIrc('<font color="#ff0000">1st</font>').text, '\x03041st\x0f');
    assert.equal(htmlToIrc('<span data-mx-color="#0000fc" data-mx-bg-color="#ffffff">x</span>').text, '\x0312,00x\x0f');
  });

  it('drops reply fallbacks and scripts, keeps line structure', () => {
    const r = htmlToIrc(
      '<mx-reply><blockquote>quoted original</blockquote></mx-reply><p>one</p><p>two<br>three</p><script>alert(1)</script>',
    );
    assert.equal(r.text, 'one\ntwo\nthree');
  });

  it('lists, quotes and code blocks', () => {
    assert.equal(htmlToIrc('<ul><li>a</li><li>b</li></ul>').text, '• a\n• b');
    assert.equal(htmlToIrc('<ol start="3"><li>a</li><li>b</li></ol>').text, '3. a\n4. b');
    assert.equal(htmlToIrc('<blockquote>q</blockquote>after').text, '> q\nafter');
    assert.equal(htmlToIrc('<pre><code>x = 1\ny = 2\n</code></pre>').text, '\x11x = 1\x0f\n\x11y = 2\x0f');
  });

  it('formatting is closed per line (IRC resets it per line)', () => {
    assert.equal(htmlToIrc('<b>a<br>b</b>').text, '\x02a\x0f\n\x02b\x0f');
  });

  it('falls back to the plain body without HTML', () => {
    assert.deepEqual(matrixToIrc({ body: 'plain *text*' }), { text: 'plain *text*', plain: 'plain *text*' });
    assert.equal(matrixToIrc({ body: 'x', format: 'org.matrix.custom.html', formatted_body: '<b>x</b>' }).text, '\x02x\x0f');
  });
});
