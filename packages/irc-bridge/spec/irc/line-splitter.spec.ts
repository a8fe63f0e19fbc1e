import { strict as assert } from 'node:assert';
import { lineBudget, splitMessage, countLines, splitLine } from '../../src/irc/line-splitter';
import { parseRuns, stripCodes } from '../../src/irc/mirc-codes';

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

describe('irc line splitter', () => {
  it('computes the relayed-line budget (cheat-sheet formula)', () => {
    const worst = { nick: 'n'.repeat(30), user: '~' + 'u'.repeat(10), host: 'h'.repeat(64) };
    assert.equal(lineBudget({ ...worst, target: '' }), 391);
    assert.equal(lineBudget({ ...worst, target: '#chan' }), 386);
    assert.equal(lineBudget({ ...worst, target: '#chan', kind: 'notice' }), 387);
    assert.equal(lineBudget({ ...worst, target: '#chan', kind: 'action' }), 377);
  });

  it('splits a 3,000-character message into lines within the byte budget, losing nothing', () => {
    const words = Array.from({ length: 600 }, (_, i) => `w${i % 97}é`);
    const text = words.join(' ').slice(0, 3000);
    const { lines } = splitMessage(text, { budget: 386 });
    assert.ok(lines.length >= 8);
    for (const l of lines) assert.ok(bytes(l) <= 386, `line of ${bytes(l)} bytes`);
    assert.equal(lines.join(' '), text);
  });

  it('prefers whitespace, hard-breaks only overlong words', () => {
    assert.deepEqual(splitLine('hello world this is more', 16), ['hello world this', 'is more']);
    assert.deepEqual(splitLine('hello world thisX is', 16), ['hello world', 'thisX is']);
    const long = 'x'.repeat(40);
    const lines = splitLine(long, 16);
    assert.deepEqual(
      lines.map((l) => l.length),
      [16, 16, 8],
    );
  });

  it('never cuts inside grapheme clusters (ZWJ emoji, flags, combining marks)', () => {
    const family = '👨‍👩‍👧‍👦'; // 25 bytes
    const flag = '🇫🇷';
    const e = 'e\u0301';
    const text = (family + flag + e).repeat(20);
    const { lines } = splitMessage(text, { budget: 40 });
    const seg = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
    const graphemes = (s: string) => [...seg.segment(s)].map((x) => x.segment);
    assert.deepEqual(lines.flatMap(graphemes), graphemes(text));
    for (const l of lines) {
      assert.ok(bytes(l) <= 40);
      assert.ok(!l.startsWith('\u200d') && !l.startsWith('\u0301'));
    }
  });

  it('never cuts inside colour codes and re-emits active formatting on continuation lines', () => {
    const text = '\x02\x0304,12' + 'word '.repeat(40) + '\x0f end';
    const { lines } = splitMessage(text, { budget: 30 });
    assert.ok(lines.length > 5);
    for (const l of lines.slice(0, -1)) {
      assert.ok(l.startsWith('\x02\x0304,12'), JSON.stringify(l));
      assert.ok(bytes(l) <= 30);
    }
    // Every text character keeps its formatting.
    for (const l of lines.slice(1, -1))
      for (const r of parseRuns(l)) assert.deepEqual([r.state.bold, r.state.fg, r.state.bg], [true, 4, 12]);
    assert.equal(lines.map(stripCodes).join(' ').replace(/\s+/g, ' '), stripCodes(text).trim().replace(/\s+/g, ' '));
  });

  it('a colour code is never split from its digits at a line edge', () => {
    for (let budget = 16; budget < 30; budget++) {
      const { lines } = splitMessage('aaaaaaaaaaaaa\x0312,04bbbbbbbbbbbbbbbbbbbbb', { budget });
      for (const l of lines)
        assert.ok(!/\x03\d?$/.test(l) && !/\x03\d\d,$/.test(l) && !/^,?\d/.test(l.replace(/^[\x02\x03\d,]+/, 'X')), JSON.stringify(lines));
      assert.equal(lines.map(stripCodes).join(''), 'a'.repeat(13) + 'b'.repeat(21));
    }
  });

  it('every newline starts a new line and counts toward lineLimit; CR/LF/NUL/\\x01 never survive', () => {
    const { lines } = splitMessage('one\r\ntwo\nthree\rfour\x00\x01', { budget: 100 });
    assert.deepEqual(lines, ['one', 'two', 'three', 'four']);
    assert.equal(countLines('a\nb\nc', 100), 3);
  });
});
