import { strict as assert } from 'node:assert';
import { renderEditText } from '../../src/network/edit-diff';

describe('irc edits: Matrix edit → IRC line', () => {
  it('one changed word is one substitution', () => {
    assert.equal(renderEditText('the build is fixed on main again', 'the build is broken on main again'), 's/broken/fixed/');
  });

  it('up to three changes are comma-joined substitutions, each in its own place', () => {
    assert.equal(
      renderEditText('I will deploy the new release on friday after lunch, ok?', 'I will ship the new release on monday after lunch, ok!'),
      's/ship/deploy/, s/monday/friday/, s/ok!/ok?/',
    );
  });

  it('four changes go out as the new text', () => {
    const prev = 'alpha bravo charlie delta echo foxtrot golf hotel india juliet';
    const next = 'ALPHA bravo CHARLIE delta ECHO foxtrot GOLF hotel india juliet';
    assert.equal(renderEditText(next, prev), `* ${next}`);
  });

  it('a word that appears twice is substituted with a neighbour, so the substitution names one place', () => {
    // "is" appears twice: "s/is/was/" would change the first one.
    assert.equal(renderEditText('this is good and that was bad indeed', 'this is good and that is bad indeed'), 's/that is/that was/');
  });

  it('an insertion in the middle hangs on the word before it; an addition at the end is sent as what was added', () => {
    assert.equal(renderEditText('the quick brown fox jumps over the dog', 'the quick fox jumps over the dog'), 's/quick/quick brown/');
    assert.equal(renderEditText('see you tomorrow at the meeting, bring coffee', 'see you tomorrow at the meeting,'), '* bring coffee');
  });

  it('a deletion substitutes with nothing', () => {
    assert.equal(renderEditText('please review my pull request today', 'please review my big pull request today'), 's/big//');
  });

  it('short texts, multi-line texts, slashes and changes longer than the text go out whole', () => {
    assert.equal(renderEditText('ok then', 'ok than'), '* ok then');
    assert.equal(
      renderEditText('first line\nsecond line of the text', 'first line\nsecond line of a text'),
      '* first line\nsecond line of the text',
    );
    assert.equal(
      renderEditText('the path is /usr/local/bin on this box', 'the path is /usr/bin on this box'),
      '* the path is /usr/local/bin on this box',
    );
    assert.equal(
      renderEditText('completely different words in here', 'nothing alike at all, not even one'),
      '* completely different words in here',
    );
    assert.equal(renderEditText('no previous text known here', undefined), '* no previous text known here');
  });
});
