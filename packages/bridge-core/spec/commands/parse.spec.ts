import { strict as assert } from 'node:assert';
import { CommandUsageError } from '../../src/connector/commands';
import { closestMatch, editDistance, escapeHtml, stripReplyFallback, tokenize } from '../../src/commands/parse';

describe('commands: parse helpers', () => {
  describe('tokenize', () => {
    it('splits on blanks', () => {
      assert.deepEqual(tokenize('  a  b\tc '), ['a', 'b', 'c']);
      assert.deepEqual(tokenize(''), []);
    });
    it('groups double- and single-quoted text', () => {
      assert.deepEqual(tokenize(`"hello world" 'it is' x`), ['hello world', 'it is', 'x']);
      assert.deepEqual(tokenize(`"it's" 'say "hi"'`), ["it's", 'say "hi"']);
    });
    it('glues quoted parts to adjacent text', () => {
      assert.deepEqual(tokenize(`a"b c"d e`), ['ab cd', 'e']);
    });
    it('keeps empty quoted tokens', () => {
      assert.deepEqual(tokenize(`"" ''`), ['', '']);
    });
    it('resolves backslash escapes inside and outside quotes', () => {
      assert.deepEqual(tokenize(String.raw`a\ b \"q\" "x\"y" 'p\'q' back\\slash`), ['a b', '"q"', 'x"y', "p'q", 'back\\slash']);
    });
    it('keeps a trailing lone backslash', () => {
      assert.deepEqual(tokenize('end\\'), ['end\\']);
    });
    it('rejects unterminated quotes with a usage error', () => {
      assert.throws(() => tokenize('"open'), CommandUsageError);
      assert.throws(() => tokenize("it's"), /Unterminated single quote/);
    });
  });

  describe('editDistance / closestMatch', () => {
    it('computes distances', () => {
      assert.equal(editDistance('foo', 'food'), 1);
      assert.equal(editDistance('kitten', 'sitting'), 3);
      assert.equal(editDistance('lgoin', 'login'), 1);
      assert.equal(editDistance('', 'abc'), 3);
    });
    it('suggests only plausible typos', () => {
      assert.equal(closestMatch('foo', ['food', 'help']), 'food');
      assert.equal(closestMatch('HELP', ['help']), 'help');
      assert.equal(closestMatch('lgoin', ['login', 'logout']), 'login');
      assert.equal(closestMatch('zzz', ['food', 'help']), undefined);
      assert.equal(closestMatch('x', ['y']), undefined);
    });
  });

  it('escapes HTML', () => {
    assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });

  it('strips a Matrix reply fallback', () => {
    assert.equal(stripReplyFallback('> <@bot:x> hello\n> more\n\n!help'), '!help');
    assert.equal(stripReplyFallback('!help\nsecond'), '!help\nsecond');
    assert.equal(stripReplyFallback('> <not a fallback'), '> <not a fallback');
  });
});
