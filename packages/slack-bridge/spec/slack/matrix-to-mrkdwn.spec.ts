import { strict as assert } from 'node:assert';
import { matrixToSlack } from '../../src/to-slack/matrix-to-mrkdwn';
import { slackToMatrix } from '../../src/slack/slack-to-matrix';
import { renderMatrix, type SlackToMatrixResolvers } from '../../src/slack/doc-to-html';
import type { MatrixToSlackResolvers } from '../../src/slack/doc-to-mrkdwn';
import { normalizeDoc, type Inline, type RichDoc } from '../../src/slack/rich-doc';
import { matrixHtmlToDoc as parseMatrixHtml } from '../../src/to-slack/html-to-doc';

const toSlack: MatrixToSlackResolvers = {
  user: (mxid) =>
    mxid === '@slack_U1:example.org' ? { slackUserId: 'U1' } : mxid === '@carol:example.org' ? { text: 'Carol (Matrix)' } : undefined,
  room: (id) => (id === '#general:example.org' ? { slackChannelId: 'C1' } : undefined),
};
const toMatrix: SlackToMatrixResolvers = {
  user: (id) => (id === 'U1' ? { matrixId: '@slack_U1:example.org', text: 'Alice' } : undefined),
  channel: (id) => (id === 'C1' ? { matrixId: '#general:example.org', text: '#general' } : undefined),
};

const md = (html: string, opts = {}) => matrixToSlack({ body: 'fallback body', html }, { ...toSlack, ...opts });

describe('Matrix HTML -> slack mrkdwn', () => {
  it('bold, italic, strike, inline code, in their HTML spellings', () => {
    assert.equal(
      md('<strong>b</strong> <b>b</b> <em>i</em> <i>i</i> <del>s</del> <s>s</s> <strike>s</strike> <code>c</code>'),
      '*b* *b* _i_ _i_ ~s~ ~s~ ~s~ `c`',
    );
    assert.equal(md('<b><i>both</i></b> <b>bold <i>and</i> more</b>'), '*_both_* *bold _and_ more*');
  });

  it('escapes &, < and > everywhere, so typed tokens never ping or mention', () => {
    assert.equal(
      md('&lt;!channel&gt; &lt;!here|x&gt; &lt;@U1&gt; a &amp;&amp; b'),
      '&lt;!channel&gt; &lt;!here|x&gt; &lt;@U1&gt; a &amp;&amp; b',
    );
    assert.equal(
      matrixToSlack({ body: '<!channel> <@U1> <https://evil|click>' }),
      '&lt;!channel&gt; &lt;@U1&gt; &lt;https://evil|click&gt;',
    );
    assert.equal(md('<code>&lt;!everyone&gt;</code>'), '`&lt;!everyone&gt;`');
  });

  it('links: labelled, bare when the label is the URL, separators in URLs encoded, unsafe schemes as text', () => {
    assert.equal(md('<a href="https://x.y/?a=1&amp;b=2">the docs</a>'), '<https://x.y/?a=1&amp;b=2|the docs>');
    assert.equal(md('<a href="https://x.y/">https://x.y/</a> <a href="https://x.y/">x.y</a>'), '<https://x.y/> <https://x.y/>');
    assert.equal(
      md('<a href="https://x.y/a|b>c d">label | with &gt; and &lt;!channel&gt;</a>'),
      '<https://x.y/a%7Cb%3Ec%20d|label | with &gt; and &lt;!channel&gt;>',
    );
    assert.equal(md('<a href="mailto:a@b.c">a@b.c</a>'), '<mailto:a@b.c>');
    assert.equal(md('<a href="javascript:alert(1)">click</a>'), 'click');
  });

  it('a style covering a whole link label wraps the link', () => {
    assert.equal(
      md('<a href="https://x.y"><b>whole</b></a> and <b><a href="https://x.y">outer</a></b>'),
      '*<https://x.y|whole>* and *<https://x.y|outer>*',
    );
  });

  it('user pills: Slack ID from the lookup, its text, or the pill text', () => {
    assert.equal(
      md(
        '<a href="https://matrix.to/#/@slack_U1:example.org">Alice</a>, <a href="https://matrix.to/#/@carol:example.org">Carol</a>, <a href="https://matrix.to/#/%40dave%3Aexample.org">Dave</a>: hi',
      ),
      '<@U1>, Carol (Matrix), Dave: hi',
    );
    assert.equal(md('<a href="matrix:u/slack_U1:example.org">A</a>'), '<@U1>');
  });

  it('a lookup that returns a bogus Slack ID cannot inject a token', () => {
    assert.equal(md('<a href="https://matrix.to/#/@x:example.org">X</a>', { user: () => ({ slackUserId: 'U1><!channel' }) }), 'X');
  });

  it('room pills: bridged channel or text; event permalinks stay links', () => {
    assert.equal(
      md('<a href="https://matrix.to/#/#general:example.org">#general</a> <a href="https://matrix.to/#/%23other%3Aexample.org">#other</a>'),
      '<#C1> #other',
    );
    assert.equal(
      md('<a href="https://matrix.to/#/!r:example.org/$ev?via=example.org">that message</a>'),
      '<https://matrix.to/#/!r:example.org/$ev?via=example.org|that message>',
    );
  });

  it('@room becomes <!channel> only when the sender may ping the room, and only as a word', () => {
    const html = 'hey @room, see email@room.org and @roomy <code>@room</code>';
    assert.equal(md(html), 'hey @room, see email@room.org and @roomy `@room`');
    assert.equal(md(html, { roomMention: 'channel' }), 'hey <!channel>, see email@room.org and @roomy `@room`');
    assert.equal(md(html, { roomMention: 'here' }), 'hey <!here>, see email@room.org and @roomy `@room`');
    assert.equal(matrixToSlack({ body: '@room lunch' }, { roomMention: 'channel' }), '<!channel> lunch');
  });

  it('line breaks and paragraphs; markers never span lines', () => {
    assert.equal(md('<p>one</p><p>two<br>three</p>'), 'one\n\ntwo\nthree');
    assert.equal(md('<b>bold<br>next</b>'), '*bold*\n*next*');
  });

  it('whitespace moves outside markers; a marker pair Slack would not see is left out', () => {
    assert.equal(md('<b> spaced </b>x'), '*spaced* x');
    assert.equal(md('a<b> spaced </b>x'), 'a *spaced* x');
    assert.equal(md('foo<b>bar</b> <b>x</b><i>y</i>'), 'foobar xy');
    // `*a* b*` would end the bold after "a": better plain than wrong.
    assert.equal(md('<b>a* b</b> <i>snake_case_name</i>'), 'a* b _snake_case_name_');
    // The `*` right after the italic marker would end the bold early: the bold goes, the italic stays.
    assert.equal(md('<b>x <i>*. y</i> z</b>'), 'x _*. y_ z');
    assert.equal(md('<b></b><i> </i>'), 'fallback body');
  });

  it('code: inline and blocks; backticks and fences inside stay literal', () => {
    assert.equal(md('<code>a`b</code>'), 'a`b');
    assert.equal(
      md('<pre><code class="language-js">if (a &lt; b &amp;&amp; c) {\n  x = `y`;\n}\n</code></pre>'),
      '```if (a &lt; b &amp;&amp; c) {\n  x = `y`;\n}```',
    );
    assert.equal(md('<pre><code>has ``` fence</code></pre>'), '```has ``\u200b` fence```');
    assert.equal(md('before<pre>block</pre>after'), 'before\n```block```\nafter');
  });

  it('quotes, lists (nested, numbered from start), headings, rules, tables', () => {
    assert.equal(md('<blockquote><p>q1</p><p>q2 <b>b</b></p></blockquote><p>after</p>'), '> q1\n>\n> q2 *b*\nafter');
    assert.equal(md('<ul><li>one</li><li>two<ul><li>nested</li></ul></li></ul>'), '• one\n• two\n    ◦ nested');
    assert.equal(md('<ol start="3"><li>three</li><li>four</li></ol>'), '3. three\n4. four');
    assert.equal(md('<ul>\n<li>\n<p>loose</p>\n<p>second para</p>\n</li>\n<li>next</li>\n</ul>\n'), '• loose\n\n  second para\n• next');
    assert.equal(md('<h1>Title</h1><p>text</p><hr><p>end</p>'), '*Title*\n\ntext\n---\nend');
    assert.equal(md('<table><tr><th>h1</th><th>h2</th></tr><tr><td>a</td><td>b</td></tr></table>'), '*h1* | *h2*\na | b');
  });

  it('drops reply fallbacks, scripts and unknown markup; keeps image alt text and spoilers visible with a notice', () => {
    assert.equal(
      md('<mx-reply><blockquote>original</blockquote></mx-reply>reply <script>alert(1)</script><style>x{}</style><marquee>m</marquee>'),
      'reply m',
    );
    assert.equal(md('<img data-mx-emoticon src="mxc://a/b" alt=":party:"> <img src="x" onerror="alert(1)">'), ':party:');
    assert.equal(
      md('<span data-mx-spoiler="plot">Snape</span> and <span data-mx-spoiler>x</span>'),
      '[spoiler: plot] Snape and [spoiler] x',
    );
    assert.equal(md('<u>under</u> <font color="red">red</font> <sup>2</sup>'), 'under red 2');
  });

  it('falls back to the plain body when there is no HTML or it has no visible text', () => {
    assert.equal(matrixToSlack({ body: 'plain *text* & <b>' }), 'plain *text* &amp; &lt;b&gt;');
    assert.equal(matrixToSlack({ body: 'the body', html: '<mx-reply>only a fallback</mx-reply>' }), 'the body');
    assert.equal(matrixToSlack({ body: 'line1\nline2' }), 'line1\nline2');
  });

  it('never throws on odd HTML', () => {
    for (const h of [
      '<',
      '<b>',
      '</b>',
      '<a>',
      '<a href>x</a>',
      '<ol start="-5"><li>x</li></ol>',
      '<ol start="99999999999"><li>x</li></ol>',
      '<pre>',
      '&#xD800;',
      '&#0;',
      '<a href="https://matrix.to/#/%E0%A4%A">x</a>',
      '<b>'.repeat(500) + 'deep',
    ]) {
      assert.doesNotThrow(() => md(h), h);
    }
    assert.equal(md('<a href="https://matrix.to/#/%E0%A4%A">x</a>'), '<https://matrix.to/#/%E0%A4%A|x>');
  });

  it('survives hostile nesting (a 64 KB event can nest thousands of tags) and keeps the text', () => {
    assert.equal(md('<b>'.repeat(20000) + 'deep'), '*deep*');
    assert.equal(md('<span>'.repeat(10000) + 'deep'), 'deep');
    assert.match(md('<ul><li>'.repeat(5000) + 'deep'), /deep$/);
    assert.match(md('<blockquote>'.repeat(10000) + 'deep'), /^> .*deep$/);
  });
});

/** Small seeded PRNG so a failing case can be reproduced from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Words without mrkdwn syntax of their own (a literal `*` or `:x:` in text is read as markup by
// Slack too), but with characters that need escaping on both sides.
const WORDS = ['alpha', 'b&c', 'x<y', 'p>q', '"quoted"', "it's", 'naïve', '日本語', '👍🏽', 'a/b', '42', 'end.', '(paren)', 'semi;', 'q?'];
const CODE_WORDS = ['*not*', '_bold_', '~x~', 'a<b', '&amp;', 'x=1;', '<!channel>'];
const STYLES = ['bold', 'italic', 'strike'] as const;

/** Each visible character with the formatting it shows in (styles, code, link target). */
function styledChars(doc: RichDoc): Array<{ ch: string; styles: Set<string> }> {
  const out: Array<{ ch: string; styles: Set<string> }> = [];
  const walk = (nodes: readonly Inline[], styles: readonly string[]) => {
    for (const n of nodes) {
      if (n.t === 'text') for (const ch of n.text) out.push({ ch, styles: new Set(styles) });
      else if (n.t === 'code') for (const ch of n.text) out.push({ ch, styles: new Set([...styles, 'code']) });
      else if (n.t === 'style') walk(n.children, [...styles, n.style]);
      else if (n.t === 'link') walk(n.children, [...styles, `link:${n.url}`]);
      else if (n.t === 'br') out.push({ ch: '\n', styles: new Set() });
      else if (n.t === 'mention') out.push({ ch: `[${n.id}]`, styles: new Set(styles) });
    }
  };
  for (const b of doc) if (b.t === 'para') walk(b.children, []);
  return out;
}

function randomInlines(rand: () => number, depth: number, used: readonly string[], glue = () => ' ', mentions = false): Inline[] {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)];
  const count = 1 + Math.floor(rand() * 3);
  const out: Inline[] = [];
  for (let i = 0; i < count; i++) {
    if (i > 0) out.push({ t: 'text', text: glue() });
    const r = rand();
    const free = STYLES.filter((s) => !used.includes(s));
    if (r < 0.35 && depth < 3 && free.length) {
      const style = pick(free);
      out.push({ t: 'style', style, children: randomInlines(rand, depth + 1, [...used, style], glue, mentions) });
    } else if (r < 0.45) {
      out.push({ t: 'code', text: `${pick(CODE_WORDS)} ${pick(CODE_WORDS)}` });
    } else if (r < 0.55) {
      out.push({
        t: 'link',
        url: `https://example.org/${pick(['a', 'b_c', 'd?e=1&f=2'])}`,
        children: [{ t: 'text', text: `${pick(WORDS)} ${pick(WORDS)}` }],
      });
    } else if (r < 0.6 && mentions) {
      out.push({ t: 'mention', net: 'matrix', kind: 'user', id: '@slack_U1:example.org', label: 'Alice' });
    } else {
      out.push({ t: 'text', text: pick(WORDS) });
    }
  }
  return out;
}

describe('round trips between Matrix HTML and Slack mrkdwn', () => {
  it('HTML -> mrkdwn -> HTML keeps bold, italic, strike, code and links (200 random messages)', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const rand = prng(seed);
      const doc: RichDoc = normalizeDoc([{ t: 'para', children: randomInlines(rand, 0, []) }]);
      const matrix = renderMatrix(doc);
      const mrkdwn = matrixToSlack({ body: matrix.body, ...(matrix.html ? { html: matrix.html } : {}) });
      const back = slackToMatrix({ text: mrkdwn });
      assert.equal(back.html, matrix.html, `seed ${seed}: ${matrix.html}\n  mrkdwn: ${mrkdwn}`);
      assert.equal(back.body, matrix.body, `seed ${seed}`);
      if (matrix.html) assert.deepEqual(parseMatrixHtml(back.html!), doc, `seed ${seed}`);
    }
  });

  it('formatting mrkdwn cannot express is dropped, never misplaced: same text, no style a character did not have (500 random messages)', () => {
    for (let seed = 1; seed <= 500; seed++) {
      const rand = prng(seed * 7919);
      // Words glued without spaces, or across line breaks: markers at such places are not recognised.
      const glue = () => ['', ' ', '\n', '-', ''][Math.floor(rand() * 5)];
      const doc: RichDoc = normalizeDoc([{ t: 'para', children: randomInlines(rand, 0, [], glue, true) }]);
      const matrix = renderMatrix(doc);
      const mrkdwn = matrixToSlack({ body: matrix.body, ...(matrix.html ? { html: matrix.html } : {}) }, toSlack);
      // Whitespace at line edges is not significant in HTML; compare the visible characters.
      const visible = (cs: ReturnType<typeof styledChars>) => cs.filter((c) => !/\s/.test(c.ch));
      const before = visible(styledChars(doc));
      const back = slackToMatrix({ text: mrkdwn }, toMatrix);
      const after = visible(
        styledChars(back.html ? parseMatrixHtml(back.html) : [{ t: 'para', children: [{ t: 'text', text: back.body }] }]),
      );
      assert.equal(after.map((c) => c.ch).join(''), before.map((c) => c.ch).join(''), `seed ${seed}: ${mrkdwn}`);
      after.forEach((c, i) => {
        for (const s of c.styles) assert.ok(before[i].styles.has(s), `seed ${seed}: "${c.ch}" at ${i} gained ${s}\n  mrkdwn: ${mrkdwn}`);
      });
    }
  });

  it('a Slack message survives Slack -> Matrix -> Slack with its mentions, links and formatting', () => {
    const texts = [
      '*bold* _italic_ ~strike~ `code &lt;x&gt;` <https://x.y/?a=1&amp;b=2|docs> <@U1> in <#C1>',
      '&gt; a quote with *bold*\nand after',
      'list:\n• one\n• two',
      '```\nmulti\nline &amp; code\n```',
      'a &amp; b &lt; c &gt; d',
    ];
    for (const text of texts) {
      const m = slackToMatrix({ text }, toMatrix);
      const again = matrixToSlack({ body: m.body, ...(m.html ? { html: m.html } : {}) }, toSlack);
      assert.equal(slackToMatrix({ text: again }, toMatrix).html, m.html, `${text}\n  -> ${again}`);
      assert.equal(slackToMatrix({ text: again }, toMatrix).body, m.body, `${text}\n  -> ${again}`);
    }
  });
});
