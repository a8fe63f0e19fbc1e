import { strict as assert } from 'node:assert';
import { emoteText, stripEmotePrefix } from '../../src/gitter/emote';
import { escapeMarkdown } from '../../src/gitter/markdown-escape';
import { checkGitterText, exceedsGitterLimit, GitterTextError, splitGitterText } from '../../src/gitter/text-limit';

describe('gitter-bridge: emotes, escaping and the 4,096-character limit', () => {
  it("strips the author's leading @username from an emote, and only that", () => {
    assert.equal(stripEmotePrefix('@alice waves', 'alice'), 'waves');
    assert.equal(stripEmotePrefix('@Alice  waves at @bob', 'alice'), 'waves at @bob');
    assert.equal(stripEmotePrefix('@alicex waves', 'alice'), '@alicex waves');
    assert.equal(stripEmotePrefix('waves', 'alice'), 'waves');
    assert.equal(stripEmotePrefix('@alice', 'alice'), '@alice', 'nothing would be left');
    assert.equal(emoteText('alice', 'waves'), '@alice waves');
    assert.equal(stripEmotePrefix(emoteText('alice', 'waves'), 'alice'), 'waves');
  });

  it('escapes line-start markers and keeps indentation from becoming a code block', () => {
    assert.equal(escapeMarkdown('    indented'), '\u00a0   indented');
    assert.equal(escapeMarkdown('---\n+ x\n10) y\n## z'), '\\---\n\\+ x\n10\\) y\n\\## z');
  });

  it('measures like the server (UTF-16 code units) and refuses empty text', () => {
    assert.equal(exceedsGitterLimit('x'.repeat(4096)), false);
    assert.equal(exceedsGitterLimit('🎉'.repeat(2049)), true, '4098 code units');
    assert.throws(
      () => checkGitterText('  \n'),
      (e: unknown) => e instanceof GitterTextError && e.reason === 'empty',
    );
    assert.throws(
      () => checkGitterText('x'.repeat(4097)),
      (e: unknown) => e instanceof GitterTextError && e.reason === 'too_long',
    );
  });

  it('splits at paragraph, line, then word boundaries into parts within the limit, losing no text', () => {
    const paras = Array.from({ length: 30 }, (_, i) => `Paragraph ${i} ` + 'word '.repeat(40).trim());
    const text = paras.join('\n\n');
    const parts = splitGitterText(text, 1000);
    assert.ok(parts.length > 1);
    for (const p of parts) assert.ok(p.length <= 1000 && p.trim() === p && p !== '');
    assert.equal(parts.join('\n\n'), text, 'cut only between paragraphs');
    const words = 'lorem ipsum '.repeat(400).trim();
    const wparts = splitGitterText(words, 500);
    assert.equal(wparts.join(' '), words);
    assert.deepEqual(splitGitterText('short'), ['short']);
  });

  it('never cuts a surrogate pair, and closes and reopens a code block it cuts through', () => {
    const emoji = '🎉'.repeat(600);
    const parts = splitGitterText(emoji, 101);
    assert.equal(parts.join(''), emoji);
    for (const p of parts) assert.ok(!/[\ud800-\udbff]$/.test(p) && !/^[\udc00-\udfff]/.test(p));

    const code = '```python\n' + Array.from({ length: 200 }, (_, i) => `print(${i})`).join('\n') + '\n```\nafter';
    const cparts = splitGitterText(code, 600);
    assert.ok(cparts.length >= 4);
    for (const [i, p] of cparts.entries()) {
      assert.ok(p.length <= 600);
      const fences = p.split('\n').filter((l) => /^```/.test(l));
      assert.equal(fences.length % 2, 0, `part ${i} has balanced fences`);
      if (i > 0 && i < cparts.length - 1) assert.ok(p.startsWith('```python\n'), 'the language is kept');
    }
    const lines = cparts
      .join('\n')
      .split('\n')
      .filter((l) => !/^```/.test(l));
    assert.deepEqual(
      lines,
      code.split('\n').filter((l) => !/^```/.test(l)),
      'every code line once, in order',
    );
  });
});
