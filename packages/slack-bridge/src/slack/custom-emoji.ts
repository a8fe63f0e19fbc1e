// A workspace's custom emoji, as `emoji.list` returns them: name -> image URL, or
// `alias:other` pointing at another custom emoji or at a standard one. Resolving follows aliases
// (bounded, so a cycle in the workspace's list cannot hang the bridge) to an image or to Unicode.
import { emojiToUnicode } from './emoji';
import { isSafeUrl } from './rich-doc';

export type ResolvedCustomEmoji = { kind: 'image'; name: string; url: string } | { kind: 'unicode'; name: string; unicode: string };

const MAX_ALIAS_HOPS = 10;

function own(list: Readonly<Record<string, unknown>>, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(list, key) ? list[key] : undefined;
}

/**
 * Resolves a custom emoji name against the workspace list. `name` is the name the message used;
 * the result's `name` is the emoji finally reached. Undefined when the name is unknown, an alias
 * chain is broken or cyclic, or the image URL is not http(s).
 */
export function resolveCustomEmoji(name: string, list: Readonly<Record<string, unknown>>): ResolvedCustomEmoji | undefined {
  let current = name;
  const seen = new Set<string>();
  for (let hop = 0; hop <= MAX_ALIAS_HOPS; hop++) {
    if (seen.has(current)) return undefined;
    seen.add(current);
    const value = own(list, current);
    if (typeof value !== 'string') {
      // An alias may point at a standard emoji, which `emoji.list` does not contain.
      if (hop === 0) return undefined;
      const unicode = emojiToUnicode(current);
      return unicode === undefined ? undefined : { kind: 'unicode', name: current, unicode };
    }
    if (value.startsWith('alias:')) {
      current = value.slice('alias:'.length);
      continue;
    }
    return /^https?:\/\//i.test(value) && isSafeUrl(value) ? { kind: 'image', name: current, url: value } : undefined;
  }
  return undefined;
}
