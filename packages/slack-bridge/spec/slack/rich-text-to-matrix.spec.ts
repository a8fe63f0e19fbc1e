import { strict as assert } from 'node:assert';
import { slackToMatrix, parseSlackMessage } from '../../src/slack/slack-to-matrix';
import { parseRichTextBlocks } from '../../src/slack/rich-text-parse';
import type { SlackToMatrixResolvers } from '../../src/slack/doc-to-html';

const resolvers: SlackToMatrixResolvers = {
  user: (id) => (id === 'U1' ? { matrixId: '@slack_U1:example.org', text: 'Alice' } : undefined),
  channel: (id) => (id === 'C1' ? { matrixId: '#general:example.org', text: '#general' } : undefined),
};

const rich = (...elements: unknown[]) => [{ type: 'rich_text', block_id: 'b1', elements }];
const section = (...elements: unknown[]) => ({ type: 'rich_text_section', elements });
const text = (t: string, style?: Record<string, boolean>) => ({ type: 'text', text: t, ...(style ? { style } : {}) });

describe('slack rich_text blocks -> Matrix', () => {
  it('styled text runs, links, mentions, broadcasts, emoji, as Slack clients send them', () => {
    // The shape a Slack desktop client sends for: *Hi* <@U1> _see_ <link> :+1::skin-tone-3: @here
    const blocks = rich(
      section(
        text('Hi', { bold: true }),
        text(' '),
        { type: 'user', user_id: 'U1' },
        text(' '),
        text('see', { italic: true }),
        text(' '),
        { type: 'link', url: 'https://x.y/?a=1&b=2', text: 'the docs' },
        text(' '),
        { type: 'emoji', name: '+1', unicode: '1f44d-1f3fc', skin_tone: 3 },
        text(' '),
        { type: 'broadcast', range: 'here' },
      ),
    );
    const r = slackToMatrix({ text: 'ignored when blocks parse', blocks }, resolvers);
    assert.equal(
      r.html,
      '<strong>Hi</strong> <a href="https://matrix.to/#/@slack_U1:example.org">Alice</a> <em>see</em> <a href="https://x.y/?a=1&amp;b=2">the docs</a> 👍🏼 @room',
    );
    assert.equal(r.body, 'Hi Alice see the docs (https://x.y/?a=1&b=2) 👍🏼 @room');
    assert.deepEqual(r.mentions, { userIds: ['@slack_U1:example.org'], room: true });
  });

  it('combined styles nest; adjacent runs of one style merge; code and underline', () => {
    const blocks = rich(
      section(
        text('a', { bold: true, italic: true, strike: true }),
        text('b', { bold: true }),
        text('c', { bold: true }),
        text(' x', { code: true }),
        text('u', { underline: true }),
      ),
    );
    assert.equal(slackToMatrix({ blocks }).html, '<strong><em><del>a</del></em>bc</strong><code> x</code><u>u</u>');
  });

  it('newlines in text are line breaks; sections are lines', () => {
    const r = slackToMatrix({ blocks: rich(section(text('one\ntwo')), section(text('three'))) });
    assert.equal(r.body, 'one\ntwo\nthree');
    assert.equal(r.html, undefined);
  });

  it('lists: bullet and ordered, nesting by indent, offset continues numbering', () => {
    const list = (style: string, indent: number, items: string[], offset?: number) => ({
      type: 'rich_text_list',
      style,
      indent,
      ...(offset !== undefined ? { offset } : {}),
      elements: items.map((i) => section(text(i))),
    });
    const blocks = rich(
      section(text('intro\n')),
      list('bullet', 0, ['a', 'b']),
      list('ordered', 1, ['b1', 'b2']),
      list('bullet', 0, ['c']),
      list('ordered', 0, ['x'], 4),
    );
    const r = slackToMatrix({ blocks });
    assert.equal(r.html, 'intro<ul><li>a</li><li>b<ol><li>b1</li><li>b2</li></ol></li><li>c</li></ul><ol start="5"><li>x</li></ol>');
    assert.equal(r.body, 'intro\n- a\n- b\n  1. b1\n  2. b2\n- c\n5. x');
  });

  it('preformatted and quote blocks', () => {
    const blocks = rich(
      { type: 'rich_text_preformatted', border: 0, elements: [text('if (a < b) {\n  *x*\n}'), { type: 'link', url: 'https://x.y' }] },
      { type: 'rich_text_quote', elements: [text('quoted '), text('bold', { bold: true }), text('\nsecond')] },
    );
    const r = slackToMatrix({ blocks });
    assert.equal(
      r.html,
      '<pre><code>if (a &lt; b) {\n  *x*\n}https://x.y</code></pre><blockquote>quoted <strong>bold</strong><br />second</blockquote>',
    );
    assert.equal(r.body, 'if (a < b) {\n  *x*\n}https://x.y\n> quoted bold\n> second');
  });

  it('channel, usergroup, team, date and color elements', () => {
    const blocks = rich(
      section(
        { type: 'channel', channel_id: 'C1' },
        text(' '),
        { type: 'channel', channel_id: 'C9' },
        text(' '),
        { type: 'usergroup', usergroup_id: 'S1' },
        text(' '),
        { type: 'date', timestamp: 1392734382, format: '{date_num}', fallback: 'Feb 18' },
        text(' '),
        { type: 'color', value: '#ff0000' },
      ),
    );
    assert.equal(slackToMatrix({ blocks }, resolvers).body, '#general #C9 @S1 2014-02-18 #ff0000');
  });

  it('emoji: unicode field wins, name is looked up otherwise, skin tone from the element', () => {
    const blocks = rich(
      section(
        { type: 'emoji', name: 'smile' },
        { type: 'emoji', name: 'wave', skin_tone: 5 },
        { type: 'emoji', name: 'wave::skin-tone-2' },
        { type: 'emoji', name: 'partyparrot' },
        { type: 'emoji', name: 'not_standard', unicode: 'zz' },
        { type: 'emoji', name: 'smile', unicode: '1f389' },
      ),
    );
    assert.equal(slackToMatrix({ blocks }).body, '😄👋🏾👋🏻:partyparrot::not_standard:🎉');
  });

  it('HTML in text elements is escaped', () => {
    const r = slackToMatrix({
      blocks: rich(
        section(text('<img src=x onerror=alert(1)>', { bold: true }), { type: 'link', url: 'javascript:alert(1)', text: '<script>' }),
      ),
    });
    assert.equal(r.html, '<strong>&lt;img src=x onerror=alert(1)&gt;</strong>&lt;script&gt; (javascript:alert(1))');
    assert.equal(r.body, '<img src=x onerror=alert(1)><script> (javascript:alert(1))');
  });

  it('falls back to the mrkdwn text when blocks are absent, not rich_text, or hold anything unknown', () => {
    const fallbacks: unknown[] = [
      undefined,
      [],
      'not an array',
      [{ type: 'section', text: { type: 'mrkdwn', text: 'x' } }],
      rich(section(text('a')), { type: 'rich_text_future_thing', elements: [] }),
      rich(section({ type: 'sparkle', value: 1 })),
      rich(section({ type: 'text', text: 42 })),
      rich(section({ type: 'user', user_id: '<!channel>' })),
      rich({ type: 'rich_text_list', style: 'zigzag', elements: [] }),
      rich(section(text('x', { bold: 'yes' as unknown as boolean }))),
      [null],
      rich(section(text(''))),
    ];
    for (const blocks of fallbacks) {
      const parsed = parseSlackMessage({ text: '*from text*', blocks });
      assert.equal(parsed.source, 'text', JSON.stringify(blocks));
      assert.equal(slackToMatrix({ text: '*from text*', blocks }).html, '<strong>from text</strong>');
    }
    assert.equal(parseRichTextBlocks(rich(section({ type: 'mystery' }))), undefined);
  });

  it('several rich_text blocks are read in order', () => {
    assert.equal(slackToMatrix({ blocks: [...rich(section(text('a'))), ...rich(section(text('b')))] }).body, 'a\nb');
  });
});
