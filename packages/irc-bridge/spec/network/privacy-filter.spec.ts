import { strict as assert } from 'node:assert';
import { PrivacyFilter } from '../../src/network/privacy-filter';

describe('irc-bridge: privacy filter decisions', () => {
  it('a member on IRC within the grace period costs the room one count, not a warning; a channel with two rooms crosses only if both pass', async () => {
    const members: Record<string, string[]> = { '!a': ['@ann:x'], '!b': ['@ann:x'] };
    const told: string[] = [];
    let withheld = 0;
    const f = new PrivacyFilter({
      roomsOf: async () => ['!a', '!b'],
      joinedMatrixUsers: async (roomId) => members[roomId],
      roomNotice: async (roomId, text) => {
        told.push(`${roomId} ${text}`);
      },
      onWithheld: () => {
        withheld++;
      },
      graceMs: 50,
    });
    assert.equal(await f.allows('#c', '#c', new Set(['@ann:x'])), true);
    members['!b'] = ['@ann:x', '@new:x'];
    assert.equal(
      await f.allows('#c', '#c', new Set(['@ann:x'])),
      false,
      'room !b has a member not on the channel: neither room gets the line',
    );
    assert.equal(await f.allows('#c', '#c', new Set(['@ann:x', '@new:x'])), true, '@new is on the channel now');
    await new Promise((r) => setTimeout(r, 80));
    assert.equal(withheld, 1);
    assert.deepEqual(
      told,
      [
        '!a 1 message from #c was not bridged while members of another room linked to it were not yet on the IRC channel.',
        '!b 1 message from #c was not bridged while @new:x was not yet on the IRC channel.',
      ],
      'no warning within the grace period, only the count',
    );
    f.stop();
  });
});
