import { strict as assert } from 'node:assert';
import { gitterMarkdownToHtml, renderMarkdown } from '../../src/markdown-to-html';

describe('gitter-bridge: Gitter Markdown → Matrix HTML', () => {
  const pills = {
    mention: (u: string) =>
      u.toLowerCase() === 'bob' ? { href: 'https://matrix.to/#/@gitter_bob:example.org', text: 'Bob <B>' } : undefined,
    allMention: () => '@room',
  };

  it('shows raw HTML as text and never produces script, handlers or javascript: links', () => {
    const r = gitterMarkdownToHtml(
      '<img src=x onerror=alert(1)> <script>alert(2)</script> [x](javascript:alert(3)) <a href="javascript:alert(4)">y</a>',
    );
    assert.ok(!/<(img|script|a)\b/i.test(r.html), r.html);
    assert.ok(r.html.includes('&lt;script&gt;alert(2)&lt;/script&gt;'), r.html);
    assert.ok(r.html.includes('[x](javascript:alert(3))'), 'the link is left as text');
  });

  it('renders GFM: emphasis, strikethrough as <del>, code with its language, quotes, lists, line breaks', () => {
    assert.equal(gitterMarkdownToHtml('**b** *i* ~~s~~ `c`').html, '<p><strong>b</strong> <em>i</em> <del>s</del> <code>c</code></p>');
    assert.equal(
      gitterMarkdownToHtml('```ts\nlet a = "<x>";\n```').html,
      '<pre><code class="language-ts">let a = "&lt;x&gt;";\n</code></pre>',
    );
    assert.equal(gitterMarkdownToHtml('one\ntwo').html, '<p>one<br />\ntwo</p>');
    const block = gitterMarkdownToHtml('> quoted\n\n1. a\n2. b').html;
    assert.ok(block.includes('<blockquote>') && block.includes('<ol>') && block.includes('<li>b</li>'), block);
  });

  it('links bare URLs; images become links (only mxc: images load on Matrix)', () => {
    assert.equal(
      gitterMarkdownToHtml('see https://example.com/a_b_c.').html,
      '<p>see <a href="https://example.com/a_b_c">https://example.com/a_b_c</a>.</p>',
    );
    assert.equal(gitterMarkdownToHtml('![a cat](https://img.test/cat.png)').html, '<p><a href="https://img.test/cat.png">a cat</a></p>');
  });

  it('hands @mentions to the caller for pills (escaped), leaving unknown names, code, links and e-mail as they are', () => {
    const r = gitterMarkdownToHtml('hi @BOB and @carol, `@bob` [@bob](https://x.test) bob@example.com', pills);
    assert.ok(
      r.html.startsWith('<p>hi <a href="https://matrix.to/#/@gitter_bob:example.org">Bob &lt;B&gt;</a> and @carol, <code>@bob</code>'),
      r.html,
    );
    assert.ok(r.html.includes('<a href="https://x.test">@bob</a>'), r.html);
    assert.deepEqual(r.mentions, ['BOB', 'carol']);
    assert.equal(r.mentionsAll, false);
  });

  it('@/all is reported and shown as the caller says', () => {
    const r = gitterMarkdownToHtml('@/all release is out', pills);
    assert.equal(r.html, '<p>@room release is out</p>');
    assert.equal(r.mentionsAll, true);
    assert.equal(gitterMarkdownToHtml('@/all hi').html, '<p>@/all hi</p>');
  });

  it('says whether the HTML adds anything to the text', () => {
    assert.equal(gitterMarkdownToHtml('just text & <stuff>').formatted, false);
    assert.equal(gitterMarkdownToHtml('two\nlines').formatted, false);
    assert.equal(gitterMarkdownToHtml('a **b**').formatted, true);
    assert.equal(gitterMarkdownToHtml('escaped \\*stars\\*').formatted, true, 'the body would show the backslashes');
    assert.equal(gitterMarkdownToHtml('hi @bob', pills).formatted, true);
  });
});

describe('gitter-bridge: plain chat lines skip the Markdown renderer with the same result', () => {
  const plain = [
    'hello world',
    'See you at 5.30, ok?',
    "it's 100% done (mostly) - right!",
    'Grüße aus Köln; ça va: très bien',
    's b0r0 17 123456.789',
    'version 1.2.3 is out',
  ];
  const notPlain = [
    'see example.com',
    '1. first',
    '- item',
    '    code',
    '@bob hi',
    'a & b',
    '*bold*',
    'https://x.org',
    'R&amp;D',
    '2) second',
    '+ plus list',
  ];

  it('gives what the full path gives for plain lines (not formatted, no mentions)', () => {
    for (const text of plain) {
      const fast = gitterMarkdownToHtml(text);
      const full = renderMarkdown(text);
      assert.deepEqual({ ...fast, html: undefined }, { ...full, html: undefined }, text);
      assert.equal(fast.formatted, false, text);
    }
  });

  it('leaves everything Markdown, linkify or a mention could change to the full path', () => {
    for (const text of notPlain) assert.deepEqual(gitterMarkdownToHtml(text), renderMarkdown(text), text);
    assert.equal(gitterMarkdownToHtml('see example.com').formatted, true);
    assert.deepEqual(gitterMarkdownToHtml('@bob hi').mentions, ['bob']);
  });
});
