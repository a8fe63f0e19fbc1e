// IRC case-insensitivity is network-defined (ISUPPORT CASEMAPPING): on rfc1459 networks such as
// InspIRCd 3, "[]\~" are the upper-case forms of "{}|^", so `Nick[m]` and `nick{m}` are the same
// user. Comparing with toLowerCase() alone mis-tracks such nicks and channels.

export type CaseMapping = 'ascii' | 'rfc1459' | 'strict-rfc1459';

/** Parses an ISUPPORT CASEMAPPING value; unknown mappings fall back to rfc1459 (RFC default). */
export function parseCaseMapping(value: string | undefined | null): CaseMapping {
  const v = (value ?? '').toLowerCase();
  if (v === 'ascii' || v === 'strict-rfc1459' || v === 'rfc1459') return v;
  return 'rfc1459';
}

// Upper-case forms per mapping, and their lower-case counterparts besides A-Z.
const UPPER: Record<CaseMapping, { any: RegExp; all: RegExp }> = {
  ascii: { any: /[A-Z]/, all: /[A-Z]/g },
  'strict-rfc1459': { any: /[A-Z[\]\\]/, all: /[A-Z[\]\\]/g },
  rfc1459: { any: /[A-Z[\]\\~]/, all: /[A-Z[\]\\~]/g },
};
const LOWER_SYMBOL: Record<string, string> = { '[': '{', ']': '}', '\\': '|', '~': '^' };
const lowerOne = (ch: string) => LOWER_SYMBOL[ch] ?? String.fromCharCode(ch.charCodeAt(0) + 32);

// Runs for every nick and channel lookup, so it allocates nothing for text already in lower case.
export function ircLower(value: string, mapping: CaseMapping = 'rfc1459'): string {
  const upper = UPPER[mapping] ?? UPPER.rfc1459;
  return upper.any.test(value) ? value.replace(upper.all, lowerOne) : value;
}

export function ircEquals(a: string, b: string, mapping: CaseMapping = 'rfc1459'): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false; // every mapping is one character for one
  return ircLower(a, mapping) === ircLower(b, mapping);
}

/** A Map keyed case-insensitively by nick or channel under the network's casemapping. */
export class IrcCaseMap<V> {
  // Created by the first set(): a connection holds several of these, most of them empty.
  private entries: Map<string, { key: string; value: V }> | undefined;
  constructor(private mapping: CaseMapping = 'rfc1459') {}

  /** Re-keys existing entries when ISUPPORT reveals the real mapping after registration. */
  setMapping(mapping: CaseMapping): void {
    if (mapping === this.mapping) return;
    this.mapping = mapping;
    if (!this.entries) return;
    const old = [...this.entries.values()];
    this.entries.clear();
    for (const e of old) this.entries.set(ircLower(e.key, mapping), e);
  }
  get(key: string): V | undefined {
    return this.entries?.get(ircLower(key, this.mapping))?.value;
  }
  has(key: string): boolean {
    return this.entries?.has(ircLower(key, this.mapping)) ?? false;
  }
  set(key: string, value: V): this {
    (this.entries ??= new Map()).set(ircLower(key, this.mapping), { key, value });
    return this;
  }
  delete(key: string): boolean {
    return this.entries?.delete(ircLower(key, this.mapping)) ?? false;
  }
  get size(): number {
    return this.entries?.size ?? 0;
  }
  /** Original-case keys and values. */
  *[Symbol.iterator](): IterableIterator<[string, V]> {
    if (!this.entries) return;
    for (const e of this.entries.values()) yield [e.key, e.value];
  }
}
