import { strict as assert } from 'node:assert';
import { htmlToIrc } from '../../src/network/html-to-mirc';

// Pills are recognised by the core's parser, so every written form of a user permalink reaches the nick lookup.
describe('irc-bridge: Matrix pills in HTML → IRC nicks', () => {
  const opts = { resolveMention: (userId: string) => (userId === '@alice:example.org' ? 'alice' : undefined) };

  it('matrix.to, percent-encoded matrix.to and matrix:u/ user pills become the nick', () => {
    for (const href of [
      'https://matrix.to/#/@alice:example.org',
      'https://matrix.to/#/%40alice%3Aexample.org',
      'matrix:u/alice:example.org',
    ]) {
      assert.equal(htmlToIrc(`<a href="${href}">Alice</a>: hi`, opts).text, 'alice: hi', href);
    }
  });

  it('an unknown user keeps the pill text; room and message permalinks read as their text', () => {
    assert.equal(htmlToIrc('<a href="https://matrix.to/#/@bob:example.org">Bob</a>: hi', opts).text, 'Bob: hi');
    assert.equal(htmlToIrc('<a href="https://matrix.to/#/#room:example.org">#room</a>', opts).text, '#room');
    assert.equal(htmlToIrc('<a href="https://matrix.to/#/!r:example.org/$ev">that</a>', opts).text, 'that');
  });

  it('a pill inside the reply fallback is not relayed', () => {
    const html = '<mx-reply><blockquote><a href="https://matrix.to/#/@alice:example.org">Alice</a> old</blockquote></mx-reply>new';
    assert.equal(htmlToIrc(html, opts).text, 'new');
  });
});
