import { strict as assert } from 'node:assert';
import { htmlToGitterMarkdown, matrixToGitterMarkdown } from '../../src/html-to-markdown';
import { gitterMarkdownToHtml } from '../../src/markdown-to-html';

describe('gitter-bridge: Matrix HTML → Gitter Markdown', () => {
  const opts = { resolveMention: (id: string) => (id === '@gitter_bob:example.org' ? 'bob' : undefined) };
  const md = (html: string) => htmlToGitterMarkdown(html, opts);

  it('keeps bold, italic, strikethrough and inline code (fenced past any backticks inside)', () => {
    assert.equal(
      md('<b>b</b> <strong>s</strong> <i>i</i> <em>e</em> <del>d</del> <s>s</s> <code>x</code>'),
      '**b** **s** *i* *e* ~~d~~ ~~s~~ `x`',
    );
    assert.equal(md('<code>a`b</code> <code>`x</code>'), '``a`b`` `` `x ``');
    assert.equal(md('<strong> padded </strong>word'), '**padded** word');
  });

  it('keeps code blocks with their language, and a longer fence when the code holds one', () => {
    assert.equal(
      md('<pre><code class="language-ts">if (a &lt; b) {\n  *x* = 1;\n}\n</code></pre>'),
      '```ts\nif (a < b) {\n  *x* = 1;\n}\n```',
    );
    assert.equal(md('<pre><code>```\n</code></pre>'), '````\n```\n````');
  });

  it('keeps quotes, nested lists, headings, links and tables', () => {
    assert.equal(md('<blockquote><p>one</p><p>two</p></blockquote><p>after</p>'), '> one\n>\n> two\n\nafter');
    assert.equal(md('<ul><li>a</li><li>b<ol start="3"><li>c</li><li>d</li></ol></li></ul>'), '- a\n- b\n  3. c\n  4. d');
    assert.equal(md('<h3>Title</h3><p>text</p>'), '### Title\n\ntext');
    assert.equal(
      md('<a href="https://x.test/a(b) c">the *link*</a> and <a href="https://y.test/">https://y.test/</a>'),
      '[the \\*link\\*](https://x.test/a%28b%29%20c) and https://y.test/',
    );
    assert.equal(
      md('<table><tr><th>a</th><th>b</th></tr><tr><td>1|2</td><td>3</td></tr></table>'),
      '| a | b |\n| --- | --- |\n| 1\\|2 | 3 |',
    );
  });

  it('turns user pills into @username via the caller, other pills into their name, @room into @/all', () => {
    assert.equal(
      md(
        'Hi <a href="https://matrix.to/#/%40gitter_bob%3Aexample.org">Bob</a> and <a href="https://matrix.to/#/@alice:example.org">Alice_A</a>, @room!',
      ),
      'Hi @bob and Alice_A, @/all!',
    );
    assert.equal(htmlToGitterMarkdown('@room hi', { roomMention: false }), '@room hi');
    assert.equal(md('<code>@room</code> email@room.test'), '`@room` email@room.test');
  });

  it('escapes Markdown in text so only the formatting the sender applied shows', () => {
    assert.equal(
      md('<p>2*3*4 = 24, ~~not struck~~, [not](a link), snake_case, _under_</p>'),
      '2\\*3\\*4 = 24, \\~\\~not struck\\~\\~, \\[not\\](a link), snake_case, \\_under\\_',
    );
    assert.equal(
      md('# not a heading<br>1. not a list<br>- nor this<br>&gt; nor a quote'),
      '\\# not a heading\n1\\. not a list\n\\- nor this\n\\> nor a quote',
    );
    // What Gitter shows is what the Matrix user wrote.
    const text = 'a*b*c _d_ `e` [f](g) <h>';
    assert.equal(
      gitterMarkdownToHtml(md(`<p>${text.replace(/</g, '&lt;').replace(/>/g, '&gt;')}</p>`)).html,
      '<p>a*b*c _d_ `e` [f](g) &lt;h&gt;</p>',
    );
  });

  it('drops reply fallbacks, scripts and unknown markup; images show their alt text', () => {
    assert.equal(
      md('<mx-reply><blockquote>In reply to <b>x</b></blockquote></mx-reply>the answer<script>alert(1)</script><style>p{}</style>'),
      'the answer',
    );
    assert.equal(md('<p>look <img src="mxc://x/y" alt="a cat"></p><marquee>hi</marquee>'), 'look a cat\n\nhi');
  });

  it('uses the HTML when there is some, else escapes the plain body (URLs and mentions untouched)', () => {
    assert.equal(matrixToGitterMarkdown({ body: '**x**', format: 'org.matrix.custom.html', formatted_body: '<b>x</b>' }), '**x**');
    assert.equal(
      matrixToGitterMarkdown({ body: '*nix at https://x.test/a_b_c for @some_user and @room\n> not a quote' }),
      '\\*nix at https://x.test/a_b_c for @some_user and @/all\n\\> not a quote',
    );
    assert.equal(matrixToGitterMarkdown({ body: 'x', format: 'org.matrix.custom.html', formatted_body: '<mx-reply>only</mx-reply>' }), 'x');
    assert.equal(matrixToGitterMarkdown({ body: 42 }), '');
  });
});
