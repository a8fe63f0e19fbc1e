import { strict as assert } from 'node:assert';
import { slackToMatrix, parseSlackMessage } from '../../src/slack/slack-to-matrix';
import { parseMrkdwn } from '../../src/slack/mrkdwn-parse';
import { slackReferences } from '../../src/slack/rich-doc';
import type { SlackToMatrixResolvers } from '../../src/slack/doc-to-html';

const resolvers: SlackToMatrixResolvers = {
  user: (id) => (id === 'U1' ? { matrixId: '@slack_U1:example.org', text: 'Alice' } : undefined),
  channel: (id) => (id === 'C1' ? { matrixId: '#general:example.org', text: '#general' } : undefined),
  usergroup: (id) => (id === 'S1' ? '@devs' : undefined),
};

/** Every tag is one the renderer writes, with only its attributes, and links are http(s)/mailto. */
function assertOnlyOurMarkup(out: string): void {
  for (const tag of out.match(/<[^>]*>/g) ?? []) {
    assert.match(
      tag,
      /^<\/?(strong|em|del|u|code|pre|blockquote|ul|ol|li|a|br|span|img|hr)((?: (?:href|src|alt|title|height|data-mx-emoticon|data-mx-spoiler|start|class)(?:="[^"<>]*")?)*) ?\/?>$/,
      out,
    );
    const href = /href="([^"]*)"/.exec(tag)?.[1];
    if (href) assert.match(href, /^(https?:|mailto:)/, out);
  }
}

const html = (text: string) => slackToMatrix({ text }, resolvers).html;
const body = (text: string) => slackToMatrix({ text }, resolvers).body;

describe('slack mrkdwn -> Matrix', () => {
  it('plain text has no HTML body and is unescaped once', () => {
    assert.deepEqual(slackToMatrix({ text: 'a &amp; b &lt;c&gt; &amp;lt;' }), {
      body: 'a & b <c> &lt;',
      mentions: { userIds: [], room: false },
    });
  });

  it('bold, italic, strike, code', () => {
    assert.equal(html('*b* _i_ ~s~ `c`'), '<strong>b</strong> <em>i</em> <del>s</del> <code>c</code>');
    assert.equal(body('*b* _i_ ~s~ `c`'), 'b i s c');
  });

  it('markers must sit at word boundaries', () => {
    for (const t of ['snake_case_name', '2*3*4', 'a~b~c', 'foo*bar*', '*bar*foo', 'x_y_']) {
      assert.deepEqual(slackToMatrix({ text: t }), { body: t, mentions: { userIds: [], room: false } }, t);
    }
    assert.equal(html('(*b*), "_i_"!'), '(<strong>b</strong>), "<em>i</em>"!');
    // A closing marker needs a non-space before it; the opening one a non-space after it.
    assert.equal(html('* not bold * and *bold*'), '* not bold * and <strong>bold</strong>');
  });

  it('underscores inside an italic span do not end it', () => {
    assert.equal(html('_snake_case_ name'), '<em>snake_case</em> name');
  });

  it('nested and adjacent formatting', () => {
    assert.equal(html('*_both_*'), '<strong><em>both</em></strong>');
    assert.equal(html('*bold _and italic_ here*'), '<strong>bold <em>and italic</em> here</strong>');
    assert.equal(html('~*x*~'), '<del><strong>x</strong></del>');
  });

  it('unclosed markers stay literal', () => {
    assert.deepEqual(slackToMatrix({ text: '*unclosed _also ~too `tick' }).body, '*unclosed _also ~too `tick');
    assert.equal(slackToMatrix({ text: '*unclosed _also ~too `tick' }).html, undefined);
  });

  it('formatting does not span lines', () => {
    assert.equal(html('*a\nb*'), undefined);
    assert.equal(body('*a\nb*'), '*a\nb*');
  });

  it('nothing is formatted inside code, and code may hold markers', () => {
    assert.equal(html('`*not bold* <@U1>`'), '<code>*not bold* @U1</code>');
    assert.equal(html('*see `a*b` here*'), '<strong>see <code>a*b</code> here</strong>');
  });

  it('pre blocks span lines, keep their content literal and drop the fence newlines', () => {
    const r = slackToMatrix({ text: 'before\n```\nline *1*\n&gt; not a quote\n  indented &lt;x&gt;\n```\nafter' }, resolvers);
    assert.equal(r.html, 'before<pre><code>line *1*\n&gt; not a quote\n  indented &lt;x&gt;</code></pre>after');
    assert.equal(r.body, 'before\nline *1*\n> not a quote\n  indented <x>\nafter');
    assert.equal(html('inline ```pre``` here'), 'inline<pre><code>pre</code></pre>here');
  });

  it('quotes: consecutive lines form one quote, `>>>` quotes the rest', () => {
    assert.equal(html('&gt; one *b*\n&gt;two\nafter'), '<blockquote>one <strong>b</strong><br />two</blockquote>after');
    assert.equal(html('> raw too'), '<blockquote>raw too</blockquote>');
    assert.equal(html('lead\n&gt;&gt;&gt; all\nof this'), 'lead<blockquote>all<br />of this</blockquote>');
    assert.equal(body('&gt; q\nx'), '> q\nx');
    // Not at line start: text.
    assert.equal(body('a &gt; b'), 'a > b');
  });

  it('links: labelled, bare, mailto, escaped ampersands, unsafe schemes as text', () => {
    assert.equal(html('<https://x.y/?a=1&amp;b=2|the docs>'), '<a href="https://x.y/?a=1&amp;b=2">the docs</a>');
    assert.equal(body('<https://x.y/?a=1&amp;b=2|the docs>'), 'the docs (https://x.y/?a=1&b=2)');
    assert.equal(html('<https://x.y>'), '<a href="https://x.y">https://x.y</a>');
    assert.equal(body('<http://example.com|example.com>'), 'example.com');
    assert.equal(html('<mailto:a@b.c|a@b.c>'), '<a href="mailto:a@b.c">a@b.c</a>');
    assert.equal(body('<mailto:a@b.c>'), 'a@b.c');
    const js = slackToMatrix({ text: '<javascript:alert(1)|click>' });
    assert.equal(js.html, undefined);
    assert.equal(js.body, 'click (javascript:alert(1))');
  });

  it('link labels may hold `|` and escaped `>`; markup in them is text', () => {
    assert.equal(html('<https://x.y|a|b &gt; c *d*>'), '<a href="https://x.y">a|b &gt; c *d*</a>');
  });

  it('underscores inside link URLs never make italics', () => {
    assert.equal(html('_see <https://x.y/a_b_c>_'), '<em>see <a href="https://x.y/a_b_c">https://x.y/a_b_c</a></em>');
  });

  it('user mentions: resolved to pills and m.mentions, else @label or @ID', () => {
    const r = slackToMatrix({ text: 'hi <@U1> and <@U2|bob> and <@W3>' }, resolvers);
    assert.equal(r.html, 'hi <a href="https://matrix.to/#/@slack_U1:example.org">Alice</a> and @bob and @W3');
    assert.equal(r.body, 'hi Alice and @bob and @W3');
    assert.deepEqual(r.mentions, { userIds: ['@slack_U1:example.org'], room: false });
  });

  it('channel mentions and user groups', () => {
    assert.equal(html('<#C1|general> <#C2|random> <#C3>'), '<a href="https://matrix.to/#/#general:example.org">#general</a> #random #C3');
    assert.equal(body('<!subteam^S1> <!subteam^S2|@ops> <!subteam^S3>'), '@devs @ops @S3');
  });

  it('here/channel/everyone ping the room', () => {
    for (const t of ['<!here>', '<!channel>', '<!everyone>', '<!here|@here>']) {
      const r = slackToMatrix({ text: `${t} standup` });
      assert.equal(r.body, '@room standup', t);
      assert.equal(r.mentions.room, true, t);
    }
    assert.equal(slackToMatrix({ text: 'no ping' }).mentions.room, false);
  });

  it('dates render as fixed UTC text', () => {
    assert.equal(body('<!date^1392734382^{date_num} {time_secs}|Feb 18>'), '2014-02-18 14:39:42 UTC');
    assert.equal(body('<!date^1392734382^Posted {date_long}|x>'), 'Posted Tuesday, February 18th, 2014');
    assert.equal(html('<!date^1392734382^{date_short}^https://x.y|f>'), '<a href="https://x.y">Feb 18, 2014</a>');
  });

  it('emoji shortcodes become Unicode; unknown names stay as text', () => {
    assert.equal(body(':smile: :+1::skin-tone-3: :thumbsup: :flag-us: :nonexistent_custom:'), '😄 👍🏼 👍 🇺🇸 :nonexistent_custom:');
    assert.equal(body('at 10:30:45'), 'at 10:30:45');
    assert.equal(body('`:smile:`'), ':smile:');
  });

  it('custom emoji resolve through the callback to an inline image or Unicode', () => {
    const r = slackToMatrix(
      { text: 'ship :shipit: :party:' },
      {
        customEmoji: (name) => (name === 'shipit' ? { mxc: 'mxc://example.org/abc' } : name === 'party' ? { unicode: '🎉' } : undefined),
      },
    );
    assert.equal(r.html, 'ship <img data-mx-emoticon src="mxc://example.org/abc" alt=":shipit:" title=":shipit:" height="32" /> 🎉');
    assert.equal(r.body, 'ship :shipit: 🎉');
    // A malformed mxc URI is not used.
    assert.equal(slackToMatrix({ text: ':x:' }, { customEmoji: () => ({ mxc: 'mxc://a/b" onerror="x' }) }).html, undefined);
  });

  it('no Slack user can inject HTML', () => {
    const hostile: SlackToMatrixResolvers = { user: () => ({ matrixId: '@a:b" onclick="x', text: '<b>x</b>' }) };
    const cases: Array<[string, string | undefined]> = [
      ['&lt;script&gt;alert(1)&lt;/script&gt;', undefined],
      ['&lt;img src=x onerror=alert(1)&gt;', undefined],
      ['*&lt;b&gt;*', '<strong>&lt;b&gt;</strong>'],
      ['<https://x.y/"onmouseover="alert(1)|x>', '<a href="https://x.y/&quot;onmouseover=&quot;alert(1)">x</a>'],
      ['<https://x.y|&lt;img src=x onerror=alert(1)&gt;>', '<a href="https://x.y">&lt;img src=x onerror=alert(1)&gt;</a>'],
      ['<@U1|&lt;script&gt;>', undefined],
      ['```&lt;/code&gt;&lt;/pre&gt;&lt;script&gt;```', '<pre><code>&lt;/code&gt;&lt;/pre&gt;&lt;script&gt;</code></pre>'],
      ['<!date^1^{date}^javascript:alert(1)|x>', undefined],
    ];
    for (const [text, expected] of cases) {
      const r = slackToMatrix({ text }, hostile);
      assert.equal(r.html, expected, text);
      assertOnlyOurMarkup(r.html ?? '');
    }
    // A pill's display name is text, whatever it contains.
    assert.equal(
      slackToMatrix({ text: '<@U1>' }, { user: () => ({ matrixId: '@a:b', text: '<b>x</b>' }) }).html,
      '<a href="https://matrix.to/#/@a:b">&lt;b&gt;x&lt;/b&gt;</a>',
    );
  });

  it('a raw `<` that is not a token and unknown tokens are shown as text', () => {
    assert.equal(body('a < b'), 'a < b');
    assert.equal(body('<@bad id>'), '<@bad id>');
    assert.equal(body('<!foo|shown>'), 'shown');
  });

  it('lists the Slack users, channels and groups a message mentions, for prefetching', () => {
    const { doc } = parseSlackMessage({ text: '<@U1> <@U2|x> <#C1> <!subteam^S1> <@U1>' });
    assert.deepEqual(slackReferences(doc), { users: ['U1', 'U2'], channels: ['C1'], usergroups: ['S1'] });
  });

  it('parses to the shared model (mentions carry their network)', () => {
    assert.deepEqual(parseMrkdwn('*a* <@U1|x>'), [
      {
        t: 'para',
        children: [
          { t: 'style', style: 'bold', children: [{ t: 'text', text: 'a' }] },
          { t: 'text', text: ' ' },
          { t: 'mention', net: 'slack', kind: 'user', id: 'U1', label: 'x' },
        ],
      },
    ]);
  });

  it('never throws on odd input', () => {
    const odd = [
      '',
      '<',
      '>',
      '&',
      '```',
      '``````',
      '`',
      '*',
      '_~*`',
      '&gt;&gt;&gt;',
      '<<<>>>',
      '<|>',
      '<@>',
      '\u0000',
      'a\r\nb',
      ':' + 'a'.repeat(500) + ':',
      '🏳️‍🌈*x*',
      '*'.repeat(1000),
    ];
    for (const t of odd) assert.doesNotThrow(() => slackToMatrix({ text: t }), t);
    assert.equal(body('a\r\nb'), 'a\nb');
  });
});
