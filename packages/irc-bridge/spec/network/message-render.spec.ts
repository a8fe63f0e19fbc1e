import { strict as assert } from 'node:assert';
import { renderMessage, type RenderDeps } from '../../src/network/message-render';
import type { MatrixMessage } from '@causeway/bridge-core';

const NOW = 1_800_000_000_000;
const reply = (body: string, original: { body: string; ageS: number; sender?: string }) =>
  ({
    content: { kind: 'text', body },
    replyTo: {
      remoteId: 'r1',
      eventId: '$orig',
      sender: original.sender ?? '@irc_net_olive:localhost',
      timestamp: NOW - original.ageS * 1000,
      body: original.body,
    },
  }) as unknown as MatrixMessage;
const deps = (extra: Partial<RenderDeps> = {}): RenderDeps => ({
  nickFor: (u) => (u === '@irc_net_olive:localhost' ? 'olive' : undefined),
  publicUrl: () => undefined,
  now: () => NOW,
  ...extra,
});

describe('irc replies: Matrix reply → IRC text', () => {
  it('a reply to a recent message reads "nick: text"; to an older one, quotes the first line of the original, cut', () => {
    assert.equal(renderMessage(reply('yes, merged', { body: 'is the fix merged?', ageS: 60 }), deps()).text, 'olive: yes, merged');
    assert.equal(
      renderMessage(
        reply('still broken', { body: '\n> quoted\nthe deploy script fails on the second host every time', ageS: 3600 }),
        deps(),
      ).text,
      '<olive> "quoted" <- still broken',
    );
    assert.equal(
      renderMessage(reply('still broken', { body: 'the deploy script fails on the second host every time', ageS: 3600 }), deps()).text,
      '<olive> "the deploy script fails on the s..." <- still broken',
    );
  });

  it("irc.replies templates, window and quote length are the operator's; a $REPLY in a nick or text is not expanded again", () => {
    const replies = { shortTemplate: '@$NICK $REPLY', longTemplate: '[re $NICK: $ORIGINAL] $REPLY', shortWindowMs: 10_000, quoteChars: 5 };
    assert.equal(renderMessage(reply('ok', { body: 'hello', ageS: 5 }), deps({ replies })).text, '@olive ok');
    assert.equal(
      renderMessage(reply('ok $NICK', { body: 'hello world', ageS: 60 }), deps({ replies })).text,
      '[re olive: hello...] ok $NICK',
    );
  });

  it('the quote cannot carry a line break or CTCP into the IRC line', () => {
    const out = renderMessage(reply('hm', { body: '\x01ACTION hi\x01 there', ageS: 3600 }), deps()).text;
    assert.ok(!out.includes('\x01') && !/[\r\n]/.test(out), JSON.stringify(out));
  });
});
