// Standard emoji: Slack shortcodes <-> Unicode. The table is iamcal's emoji-data (the
// `emoji-datasource` package), which is where Slack's names come from: `+1` is canonical and
// `thumbsup` an alias; skin tones are written `+1::skin-tone-2` (tones 2-6 for the five Fitzpatrick
// modifiers) and, for two-person emoji, `handshake::skin-tone-2-4`. Matrix reactions carry the
// Unicode itself, with or without the VS16 selector (U+FE0F), so lookups ignore VS16.
//
// The JSON (1.3 MB) is read on first use, turned into two maps (~4,000 short strings) and dropped;
// emoji_pretty.json and the images are never loaded.
import { readFileSync } from 'node:fs';

interface EmojiEntry {
  /** Canonical short name (`+1`), the one Slack reports in reactions. */
  name: string;
  unicode: string;
  /** Skin tone key (`2`, `2-4`) -> Unicode. */
  skins?: Map<string, string>;
}

interface EmojiTables {
  byName: Map<string, EmojiEntry>;
  /** Unicode without VS16 -> canonical shortcode, with skin tone suffix when it has one. */
  byUnicode: Map<string, string>;
}

interface RawSkin {
  unified?: unknown;
  non_qualified?: unknown;
}

interface RawEmoji {
  unified?: unknown;
  non_qualified?: unknown;
  short_name?: unknown;
  short_names?: unknown;
  skin_variations?: Record<string, RawSkin>;
}

const TONE_OF: Record<string, string> = { '1F3FB': '2', '1F3FC': '3', '1F3FD': '4', '1F3FE': '5', '1F3FF': '6' };
const VS16 = /\uFE0F/g;

let tables: EmojiTables | undefined;

/** Unicode string from emoji-data's / Slack's hex notation (`1f44d-1f3fb`); undefined if malformed. */
export function unicodeFromHex(hex: string): string | undefined {
  if (!/^[0-9a-fA-F]{1,6}(?:-[0-9a-fA-F]{1,6}){0,15}$/.test(hex)) return undefined;
  const cps = hex.split('-').map((h) => parseInt(h, 16));
  if (cps.some((cp) => cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || cp < 0x20)) return undefined;
  return String.fromCodePoint(...cps);
}

function toneKey(variation: string): string | undefined {
  const parts = variation.split('-').map((p) => TONE_OF[p.toUpperCase()]);
  if (parts.length === 0 || parts.length > 2 || parts.some((p) => p === undefined)) return undefined;
  return parts.join('-');
}

function load(): EmojiTables {
  if (tables) return tables;
  const path = require.resolve('emoji-datasource/emoji.json');
  const raw = JSON.parse(readFileSync(path, 'utf8')) as unknown;
  const byName = new Map<string, EmojiEntry>();
  const byUnicode = new Map<string, string>();
  const addReverse = (hex: unknown, shortcode: string) => {
    if (typeof hex !== 'string') return;
    const u = unicodeFromHex(hex);
    if (u === undefined) return;
    const key = u.replace(VS16, '');
    if (!byUnicode.has(key)) byUnicode.set(key, shortcode);
  };
  for (const e of Array.isArray(raw) ? (raw as RawEmoji[]) : []) {
    if (typeof e.unified !== 'string' || typeof e.short_name !== 'string') continue;
    const unicode = unicodeFromHex(e.unified);
    if (unicode === undefined) continue;
    const entry: EmojiEntry = { name: e.short_name, unicode };
    addReverse(e.unified, e.short_name);
    addReverse(e.non_qualified, e.short_name);
    for (const [variation, skin] of Object.entries(e.skin_variations ?? {})) {
      const tone = toneKey(variation);
      const su = typeof skin?.unified === 'string' ? unicodeFromHex(skin.unified) : undefined;
      if (!tone || su === undefined) continue;
      entry.skins ??= new Map();
      entry.skins.set(tone, su);
      // Two equal tones are written once, as Slack does (`man-heart-man::skin-tone-2`).
      const [a, b] = tone.split('-');
      const written = b === undefined || a === b ? a : tone;
      if (!entry.skins.has(written)) entry.skins.set(written, su);
      addReverse(skin.unified, `${e.short_name}::skin-tone-${written}`);
      addReverse(skin.non_qualified, `${e.short_name}::skin-tone-${written}`);
    }
    const names = Array.isArray(e.short_names) ? e.short_names : [e.short_name];
    for (const n of names) if (typeof n === 'string' && !byName.has(n)) byName.set(n, entry);
  }
  tables = { byName, byUnicode };
  return tables;
}

/** Splits `name::skin-tone-2` (colons around it optional) into the name and the tone key. */
export function splitShortcode(shortcode: string): { name: string; tone?: string } {
  const s = shortcode.replace(/^:/, '').replace(/:$/, '');
  const m = /^(.+?)::skin-tone-([2-6](?:-[2-6])?)$/.exec(s);
  return m ? { name: m[1], tone: m[2] } : { name: s };
}

/**
 * Unicode for a standard emoji shortcode (`smile`, `:thumbsup:`, `+1::skin-tone-2`); undefined
 * for a name the standard set does not have, which the caller treats as a custom emoji. A skin
 * tone the emoji does not take is dropped, as Slack draws it.
 */
export function emojiToUnicode(shortcode: string, skinTone?: string): string | undefined {
  const { name, tone: parsedTone } = splitShortcode(shortcode);
  const entry = load().byName.get(name) ?? load().byName.get(name.toLowerCase());
  if (!entry) return undefined;
  const tone = skinTone ?? parsedTone;
  if (tone && entry.skins) {
    const [a, b] = tone.split('-');
    return entry.skins.get(tone) ?? entry.skins.get(b === undefined ? `${a}-${a}` : a === b ? a : tone) ?? entry.unicode;
  }
  return entry.unicode;
}

/**
 * The canonical Slack shortcode (no colons) for one Unicode emoji, with its skin tone
 * (`+1::skin-tone-2`); undefined when the text is not exactly one emoji Slack knows.
 */
export function unicodeToEmoji(text: string): string | undefined {
  return load().byUnicode.get(text.replace(VS16, ''));
}

/** Whether a name (aliases included, tone suffix allowed) is a standard emoji. */
export function isStandardEmoji(shortcode: string): boolean {
  return emojiToUnicode(shortcode) !== undefined;
}

/** The canonical name for a standard emoji name or alias (`thumbsup` -> `+1`), tone suffix kept. */
export function canonicalEmojiName(shortcode: string): string | undefined {
  const { name, tone } = splitShortcode(shortcode);
  const entry = load().byName.get(name) ?? load().byName.get(name.toLowerCase());
  if (!entry) return undefined;
  return tone && entry.skins ? (unicodeToEmoji(emojiToUnicode(shortcode)!) ?? entry.name) : entry.name;
}
