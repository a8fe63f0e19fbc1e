import { strict as assert } from 'node:assert';
import { clientText, richTextBlocks } from '../../src/slack/rich-text';

describe('slack emulator: what a client sends for typed text', () => {
  it('escapes &, < and > but keeps mention, channel, broadcast and link tokens', () => {
    assert.equal(
      clientText('a<b & <@U1> <#C2|gen> <!here> <https://x.y|x> 1>0'),
      'a&lt;b &amp; <@U1> <#C2|gen> <!here> <https://x.y|x> 1&gt;0',
    );
  });

  it('builds rich_text sections, quotes, preformatted runs, links and styles', () => {
    const [block] = richTextBlocks('see <https://x.y|site> _now_\n> quoted ~old~\n```\ncode *not bold*\n```') as {
      type: string;
      elements: unknown[];
    }[];
    assert.equal(block.type, 'rich_text');
    assert.deepEqual(block.elements, [
      {
        type: 'rich_text_section',
        elements: [
          { type: 'text', text: 'see ' },
          { type: 'link', url: 'https://x.y', text: 'site' },
          { type: 'text', text: ' ' },
          { type: 'text', text: 'now', style: { italic: true } },
        ],
      },
      {
        type: 'rich_text_quote',
        elements: [
          { type: 'text', text: 'quoted ' },
          { type: 'text', text: 'old', style: { strike: true } },
        ],
      },
      { type: 'rich_text_preformatted', elements: [{ type: 'text', text: 'code *not bold*' }], border: 0 },
    ]);
  });
});
