import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { emojiToUnicode, unicodeToEmoji, canonicalEmojiName, isStandardEmoji, unicodeFromHex, splitShortcode } from '../../src/slack/emoji';
import { resolveCustomEmoji } from '../../src/slack/custom-emoji';

describe('slack emoji names <-> Unicode', () => {
  it('shortcodes and aliases to Unicode, with or without colons', () => {
    assert.equal(emojiToUnicode('smile'), '😄');
    assert.equal(emojiToUnicode(':smile:'), '😄');
    assert.equal(emojiToUnicode('+1'), '👍');
    assert.equal(emojiToUnicode('thumbsup'), '👍');
    assert.equal(emojiToUnicode('heart'), '❤️');
    assert.equal(emojiToUnicode('us'), '🇺🇸');
    assert.equal(emojiToUnicode('flag-us'), '🇺🇸');
  });

  it('skin tones: name suffix or separate argument; two-person tones; a tone the emoji cannot take is dropped', () => {
    assert.equal(emojiToUnicode('thumbsup::skin-tone-2'), '👍🏻');
    assert.equal(emojiToUnicode(':+1::skin-tone-6:'), '👍🏿');
    assert.equal(emojiToUnicode('wave', '4'), '👋🏽');
    assert.equal(emojiToUnicode('handshake::skin-tone-2-5'), '\u{1FAF1}\u{1F3FB}\u200D\u{1FAF2}\u{1F3FE}');
    assert.equal(emojiToUnicode('handshake::skin-tone-3'), '🤝🏼');
    assert.equal(emojiToUnicode('man-heart-man::skin-tone-2'), '👨🏻\u200D❤️\u200D👨🏻');
    assert.equal(emojiToUnicode('smile::skin-tone-3'), '😄');
  });

  it('unknown names are undefined so the caller can try custom emoji', () => {
    assert.equal(emojiToUnicode('partyparrot'), undefined);
    assert.equal(emojiToUnicode('simple_smile'), undefined);
    assert.equal(emojiToUnicode(''), undefined);
    assert.equal(emojiToUnicode('__proto__'), undefined);
    assert.equal(emojiToUnicode('constructor'), undefined);
    assert.equal(isStandardEmoji('partyparrot'), false);
    assert.equal(isStandardEmoji('tada'), true);
  });

  it('Unicode to the canonical name, with or without VS16, with skin tones', () => {
    assert.equal(unicodeToEmoji('👍'), '+1');
    assert.equal(unicodeToEmoji('👍🏻'), '+1::skin-tone-2');
    assert.equal(unicodeToEmoji('❤️'), 'heart');
    assert.equal(unicodeToEmoji('❤'), 'heart');
    assert.equal(unicodeToEmoji('☺️'), 'relaxed');
    assert.equal(unicodeToEmoji('☺'), 'relaxed');
    assert.equal(unicodeToEmoji('🎉'), 'tada');
  });

  it('ZWJ sequences, flags (regional and subdivision), keycaps', () => {
    assert.equal(unicodeToEmoji('👨‍👩‍👧‍👦'), 'man-woman-girl-boy');
    assert.equal(unicodeToEmoji('🏳️‍🌈'), 'rainbow-flag');
    assert.equal(unicodeToEmoji('🏳‍🌈'), 'rainbow-flag');
    assert.equal(unicodeToEmoji('🧑🏽‍💻'), 'technologist::skin-tone-4');
    assert.equal(unicodeToEmoji('🤝🏻'), 'handshake::skin-tone-2');
    assert.equal(unicodeToEmoji('🫱🏻‍🫲🏿'), 'handshake::skin-tone-2-6');
    assert.equal(unicodeToEmoji('🇺🇸'), 'us');
    assert.equal(unicodeToEmoji('🇫🇷'), 'fr');
    assert.equal(unicodeToEmoji('🏴󠁧󠁢󠁳󠁣󠁴󠁿'), 'flag-scotland');
    assert.equal(unicodeToEmoji('#️⃣'), 'hash');
    assert.equal(unicodeToEmoji('#⃣'), 'hash');
    assert.equal(unicodeToEmoji('1️⃣'), 'one');
    assert.equal(unicodeToEmoji('*️⃣'), 'keycap_star');
  });

  it('text that is not exactly one emoji has no name', () => {
    for (const t of ['', 'a', '👍👍', '👍 ', 'lol', '🇺', '\u200D']) assert.equal(unicodeToEmoji(t), undefined, JSON.stringify(t));
    // A lone tone modifier is itself an emoji in Slack's set.
    assert.equal(unicodeToEmoji('🏻'), 'skin-tone-2');
  });

  it('every name in the table maps to Unicode that maps back to the same emoji, skin tones included', () => {
    const table = JSON.parse(readFileSync(require.resolve('emoji-datasource/emoji.json'), 'utf8')) as Array<{
      short_names: string[];
      skin_variations?: object;
    }>;
    let checked = 0;
    for (const e of table) {
      for (const n of e.short_names) {
        const u = emojiToUnicode(n);
        assert.ok(u, n);
        assert.equal(emojiToUnicode(unicodeToEmoji(u)!), u, n);
        checked++;
      }
      if (e.skin_variations) {
        for (let t = 2; t <= 6; t++) {
          const u = emojiToUnicode(`${e.short_names[0]}::skin-tone-${t}`)!;
          assert.equal(emojiToUnicode(unicodeToEmoji(u)!), u, `${e.short_names[0]} tone ${t}`);
        }
      }
    }
    assert.ok(checked > 1900, String(checked));
  });

  it('canonical names for aliases (what Slack reports in reactions)', () => {
    assert.equal(canonicalEmojiName('thumbsup'), '+1');
    assert.equal(canonicalEmojiName('thumbsup::skin-tone-3'), '+1::skin-tone-3');
    assert.equal(canonicalEmojiName('flag-us'), 'us');
    assert.equal(canonicalEmojiName('partyparrot'), undefined);
  });

  it('hex notation from rich text and emoji-data', () => {
    assert.equal(unicodeFromHex('1f44d-1f3fb'), '👍🏻');
    assert.equal(unicodeFromHex('0023-fe0f-20e3'), '#️⃣');
    for (const bad of ['', 'zz', '110000', 'd800', '1f44d--1f3fb', '0a', 'x'.repeat(200)])
      assert.equal(unicodeFromHex(bad), undefined, bad);
  });

  it('keeps only its maps: the emoji-data JSON is not held in the module cache', () => {
    assert.equal(emojiToUnicode('smile'), '😄');
    assert.deepEqual(
      Object.keys(require.cache).filter((k) => k.includes('emoji-datasource')),
      [],
    );
  });

  it('splits shortcodes into name and tone', () => {
    assert.deepEqual(splitShortcode(':wave::skin-tone-2:'), { name: 'wave', tone: '2' });
    assert.deepEqual(splitShortcode('handshake::skin-tone-2-4'), { name: 'handshake', tone: '2-4' });
    assert.deepEqual(splitShortcode('wave::skin-tone-9'), { name: 'wave::skin-tone-9' });
  });
});

describe('slack custom emoji (emoji.list)', () => {
  const list: Record<string, string> = {
    partyparrot: 'https://emoji.slack-edge.com/T1/partyparrot/abc.gif',
    pp: 'alias:partyparrot',
    ppp: 'alias:pp',
    yes: 'alias:white_check_mark',
    loop1: 'alias:loop2',
    loop2: 'alias:loop1',
    broken: 'alias:nothing_here',
    sneaky: 'javascript:alert(1)',
  };

  it('resolves images and follows alias chains, to custom or standard emoji', () => {
    assert.deepEqual(resolveCustomEmoji('partyparrot', list), { kind: 'image', name: 'partyparrot', url: list.partyparrot });
    assert.deepEqual(resolveCustomEmoji('ppp', list), { kind: 'image', name: 'partyparrot', url: list.partyparrot });
    assert.deepEqual(resolveCustomEmoji('yes', list), { kind: 'unicode', name: 'white_check_mark', unicode: '✅' });
  });

  it('cycles, broken aliases, non-http values and unknown names resolve to nothing', () => {
    for (const n of ['loop1', 'broken', 'sneaky', 'unknown', '__proto__', 'toString'])
      assert.equal(resolveCustomEmoji(n, list), undefined, n);
  });

  it('gives up on very long alias chains', () => {
    const chain: Record<string, string> = { e0: 'https://x.y/e.png' };
    for (let i = 1; i <= 50; i++) chain[`e${i}`] = `alias:e${i - 1}`;
    assert.equal(resolveCustomEmoji('e5', chain)?.kind, 'image');
    assert.equal(resolveCustomEmoji('e50', chain), undefined);
  });
});
