import { strict as assert } from 'node:assert';
import { renderMessage } from '../../src/gitter/render';

describe('testing: Gitter emulator message rendering', () => {
  const users = new Map([['bob', { id: 'b'.repeat(24), username: 'Bob' }]]);
  const render = (text: string) => renderMessage(text, (name) => users.get(name.toLowerCase()));

  it('links URLs without the punctuation that ends the sentence, keeping balanced parentheses', () => {
    const r = render('see https://en.wikipedia.org/wiki/Foo_(bar)), or (https://x.test/a).');
    assert.deepEqual(r.urls, [{ url: 'https://en.wikipedia.org/wiki/Foo_(bar)' }, { url: 'https://x.test/a' }]);
    assert.ok(r.html.includes('>https://x.test/a</a>).'), r.html);
  });

  it('resolves mentions case-insensitively to the user, and ignores e-mail addresses', () => {
    const r = render('@BOB hi, mail bob@example.com');
    assert.deepEqual(r.mentions, [{ screenName: 'Bob', userId: 'b'.repeat(24) }]);
  });

  it('user text cannot forge the placeholders used for links and mentions', () => {
    const r = render('\u00000\u0000 @bob');
    assert.ok(!r.html.includes('\u0000'));
    assert.equal((r.html.match(/class="mention"/g) ?? []).length, 1);
    assert.ok(r.html.startsWith('\ufffd0\ufffd'), r.html);
  });

  it('escapes quotes and markup in every part, emphasis included', () => {
    const r = render('**<img src=x onerror="alert(1)">** _"q"_');
    assert.equal(r.html, '<strong>&lt;img src=x onerror=&quot;alert(1)&quot;&gt;</strong> <em>&quot;q&quot;</em>');
  });
});
