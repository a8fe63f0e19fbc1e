import { strict as assert } from 'node:assert';
import { HTML_NESTING_LIMIT, parseMatrixHtml } from '../../src/messages/html-parse';
import { htmlText, isHtmlBlock, type HtmlNode } from '../../src/messages/html-tree';
import { parseMatrixPermalink } from '../../src/messages/permalink';

/** The deepest chain of children in a tree. */
function depth(nodes: readonly HtmlNode[]): number {
  let max = 0;
  for (const n of nodes) if ('children' in n) max = Math.max(max, 1 + depth(n.children));
  return max;
}

describe('messages/html-parse: Matrix HTML → document tree', () => {
  it('builds nested inline and block nodes', () => {
    assert.deepEqual(parseMatrixHtml('<p>a <b>b <i>c</i></b><br>d</p><hr>'), [
      {
        kind: 'paragraph',
        children: [
          { kind: 'text', text: 'a ' },
          {
            kind: 'style',
            style: 'bold',
            children: [
              { kind: 'text', text: 'b ' },
              { kind: 'style', style: 'italic', children: [{ kind: 'text', text: 'c' }] },
            ],
          },
          { kind: 'lineBreak' },
          { kind: 'text', text: 'd' },
        ],
      },
      { kind: 'rule' },
    ]);
  });

  it('maps each tag to what it means', () => {
    const kinds = (html: string) => parseMatrixHtml(html).map((n) => ('style' in n ? `${n.kind}:${n.style}` : n.kind));
    assert.deepEqual(kinds('<strong>x</strong><em>x</em><ins>x</ins><strike>x</strike><sup>x</sup><sub>x</sub><code>x</code>'), [
      'style:bold',
      'style:italic',
      'style:underline',
      'style:strike',
      'style:superscript',
      'style:subscript',
      'code',
    ]);
    assert.deepEqual(kinds('<h3>x</h3><blockquote>x</blockquote><div>x</div><details><summary>s</summary>x</details>'), [
      'heading',
      'quote',
      'division',
      'details',
    ]);
    assert.deepEqual(parseMatrixHtml('<h3>x</h3>')[0], { kind: 'heading', level: 3, children: [{ kind: 'text', text: 'x' }] });
  });

  it('keeps a code block language and lists with their start', () => {
    assert.deepEqual(parseMatrixHtml('<pre><code class="language-ts">let a = 1;\n</code></pre>'), [
      { kind: 'codeBlock', lang: 'ts', children: [{ kind: 'code', children: [{ kind: 'text', text: 'let a = 1;\n' }] }] },
    ]);
    assert.equal((parseMatrixHtml('<pre><code class="language-x;y">y</code></pre>')[0] as { lang?: string }).lang, undefined);
    assert.deepEqual(parseMatrixHtml('<ol start="3"><li>a</li></ol><ul><li>b</li></ul>'), [
      { kind: 'list', ordered: true, start: 3, children: [{ kind: 'listItem', children: [{ kind: 'text', text: 'a' }] }] },
      { kind: 'list', ordered: false, start: 1, children: [{ kind: 'listItem', children: [{ kind: 'text', text: 'b' }] }] },
    ]);
    for (const start of ['-2', 'x', '99999999999']) {
      assert.equal((parseMatrixHtml(`<ol start="${start}"><li>a</li></ol>`)[0] as { start: number }).start, 1, start);
    }
  });

  it('tables: sections, rows, header and data cells, caption', () => {
    const [table] = parseMatrixHtml('<table><caption>c</caption><thead><tr><th>h</th></tr></thead><tr><td>d</td></tr></table>');
    assert.deepEqual(table, {
      kind: 'table',
      children: [
        { kind: 'tableCaption', children: [{ kind: 'text', text: 'c' }] },
        {
          kind: 'tableSection',
          section: 'head',
          children: [{ kind: 'tableRow', children: [{ kind: 'tableCell', header: true, children: [{ kind: 'text', text: 'h' }] }] }],
        },
        { kind: 'tableRow', children: [{ kind: 'tableCell', header: false, children: [{ kind: 'text', text: 'd' }] }] },
      ],
    });
  });

  it('decodes entities once, in text and attributes', () => {
    assert.deepEqual(parseMatrixHtml('a &amp;lt; &lt;b&gt; &#x1F600; &#65;&nbsp;&quot;'), [
      { kind: 'text', text: 'a &lt; <b> 😀 A\u00a0"' },
    ]);
    assert.deepEqual(parseMatrixHtml('<a href="https://x.test/?a=1&amp;b=&quot;2&quot;">l</a>'), [
      { kind: 'link', href: 'https://x.test/?a=1&b="2"', children: [{ kind: 'text', text: 'l' }] },
    ]);
  });

  it('drops the reply fallback with its content, and scripts and styles', () => {
    assert.deepEqual(parseMatrixHtml('<mx-reply><blockquote>quoted <b>old</b></blockquote></mx-reply>new'), [
      { kind: 'text', text: 'new' },
    ]);
    assert.deepEqual(parseMatrixHtml('<script>alert(1)</script><style>p{}</style>ok'), [{ kind: 'text', text: 'ok' }]);
  });

  it('unknown tags and attributes go, their text stays; unsafe schemes lose their href', () => {
    assert.deepEqual(parseMatrixHtml('<marquee onclick="x()">hi</marquee>'), [{ kind: 'text', text: 'hi' }]);
    assert.deepEqual(parseMatrixHtml('<a href="javascript:alert(1)">x</a>'), [{ kind: 'link', children: [{ kind: 'text', text: 'x' }] }]);
    assert.deepEqual(parseMatrixHtml('<a href="//evil.test/">x</a>'), [{ kind: 'link', children: [{ kind: 'text', text: 'x' }] }]);
  });

  it('recognises pills and permalinks on links', () => {
    const link = (href: string) => parseMatrixHtml(`<a href="${href}">x</a>`)[0];
    assert.deepEqual(link('https://matrix.to/#/@alice:example.org'), {
      kind: 'link',
      href: 'https://matrix.to/#/@alice:example.org',
      permalink: { kind: 'user', id: '@alice:example.org' },
      children: [{ kind: 'text', text: 'x' }],
    });
    assert.deepEqual((link('https://matrix.to/#/%23room:example.org') as { permalink?: unknown }).permalink, {
      kind: 'room',
      id: '#room:example.org',
    });
    assert.equal((link('https://example.org/@alice:example.org') as { permalink?: unknown }).permalink, undefined);
  });

  it('spoilers, colours, plain spans and images as what they are', () => {
    assert.deepEqual(parseMatrixHtml('<span data-mx-spoiler="plot">x</span><span data-mx-spoiler>y</span>'), [
      { kind: 'spoiler', reason: 'plot', children: [{ kind: 'text', text: 'x' }] },
      { kind: 'spoiler', children: [{ kind: 'text', text: 'y' }] },
    ]);
    assert.deepEqual(parseMatrixHtml('<font color="#ff0000">r</font><span data-mx-bg-color="#000000">b</span><span>s</span>'), [
      { kind: 'colour', fg: '#ff0000', children: [{ kind: 'text', text: 'r' }] },
      { kind: 'colour', bg: '#000000', children: [{ kind: 'text', text: 'b' }] },
      { kind: 'span', children: [{ kind: 'text', text: 's' }] },
    ]);
    assert.deepEqual(parseMatrixHtml('<img data-mx-emoticon src="mxc://x/y" alt=":cat:" title="cat"><img src="https://x.test/a.png">'), [
      { kind: 'image', emoticon: true, alt: ':cat:', title: 'cat', src: 'mxc://x/y' },
      { kind: 'image', emoticon: false, src: 'https://x.test/a.png' },
    ]);
  });

  it('malformed HTML: unclosed and stray tags are balanced, text is kept', () => {
    const tree = parseMatrixHtml('<b>bold <i>both</b> after</i> </p> tail <a href="https://x.test/">open');
    assert.equal(htmlText(tree), 'bold both after  tail open');
    assert.equal(tree[0].kind, 'style');
    assert.deepEqual(parseMatrixHtml('a < b > c'), [{ kind: 'text', text: 'a < b > c' }]);
    assert.deepEqual(parseMatrixHtml('<b'), []);
    assert.deepEqual(parseMatrixHtml(''), []);
  });

  it('hostile input: deep nesting is cut at the limit, huge attributes and many tags finish quickly', () => {
    const n = 20_000;
    const deep = parseMatrixHtml('<b>'.repeat(n) + 'x' + '</b>'.repeat(n));
    assert.ok(depth(deep) <= HTML_NESTING_LIMIT, `depth ${depth(deep)}`);
    assert.equal(htmlText(deep), 'x');
    const lists = parseMatrixHtml('<ul><li>'.repeat(5_000) + 'y');
    assert.ok(depth(lists) <= HTML_NESTING_LIMIT);
    assert.equal(htmlText(lists), 'y');

    const started = Date.now();
    const huge = parseMatrixHtml(`<a href="https://x.test/${'a'.repeat(1_000_000)}" title="${'"'.repeat(10_000)}">z</a>`);
    assert.equal(htmlText(huge), 'z');
    const many = parseMatrixHtml('<i>a</i><br/>'.repeat(50_000));
    assert.equal(many.length, 100_000);
    assert.equal(htmlText(parseMatrixHtml('<<<<'.repeat(100_000))).length, 400_000);
    assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms`);
  });

  it('htmlText and isHtmlBlock', () => {
    const tree = parseMatrixHtml('<p>a<br><img alt="cat"></p><code>c</code>');
    assert.equal(htmlText(tree), 'a\ncatc');
    assert.equal(htmlText(tree, { images: false }), 'a\nc');
    assert.deepEqual(tree.map(isHtmlBlock), [true, false]);
  });
});

describe('messages/permalink: Matrix permalinks', () => {
  it('matrix.to users, rooms, aliases and events', () => {
    assert.deepEqual(parseMatrixPermalink('https://matrix.to/#/@bob:x.org'), { kind: 'user', id: '@bob:x.org' });
    assert.deepEqual(parseMatrixPermalink('https://matrix.to/#/%40bob%3Ax.org?via=x.org'), { kind: 'user', id: '@bob:x.org' });
    assert.deepEqual(parseMatrixPermalink('https://matrix.to/#/!abc:x.org/'), { kind: 'room', id: '!abc:x.org' });
    assert.deepEqual(parseMatrixPermalink('https://matrix.to/#/#r:x.org/$ev1?via=x'), {
      kind: 'event',
      roomId: '#r:x.org',
      eventId: '$ev1',
    });
  });

  it('matrix: URIs', () => {
    assert.deepEqual(parseMatrixPermalink('matrix:u/bob:x.org'), { kind: 'user', id: '@bob:x.org' });
    assert.deepEqual(parseMatrixPermalink('matrix:r/room:x.org?action=join'), { kind: 'room', id: '#room:x.org' });
    assert.deepEqual(parseMatrixPermalink('matrix:roomid/abc:x.org/e/ev1'), { kind: 'event', roomId: '!abc:x.org', eventId: '$ev1' });
  });

  it('anything else is no permalink', () => {
    for (const href of [
      'https://example.org/#/@bob:x.org',
      'https://matrix.to/#/bob:x.org',
      'https://matrix.to/#/@bob',
      'https://matrix.to/#/@bob:x.org/$ev',
      'https://matrix.to/#/!r:x/$e/extra',
      'https://matrix.to/#/%E0%A4%A',
      'matrix:u/bob:x.org/e/ev',
      'matrix:x/bob:x.org',
    ]) {
      assert.equal(parseMatrixPermalink(href), undefined, href);
    }
  });
});
