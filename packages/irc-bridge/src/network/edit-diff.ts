/**
 * IRC has no edits. What IRC users have long typed for a correction is sed syntax,
 * `s/old/new/`, so an edit goes out as the few substitutions that turn the old text into
 * the new one (MAI: at most three, comma-joined), or as "* new text" when that would be
 * longer, ambiguous or unreadable.
 */

/** Most substitutions one edit line may carry; more reads worse than the new text itself. */
const MAX_CHANGES = 3;
/** New texts shorter than this go out whole: a substitution saves nothing worth the puzzle. */
const SHORT_EDIT = 20;
/** Token-matrix cells the word diff may use; beyond it the edit goes out whole. */
const MAX_CELLS = 250_000;

interface Hunk {
  /** Token range in the old text, [from, to). */
  a0: number;
  a1: number;
  /** Token range in the new text, [from, to). */
  b0: number;
  b1: number;
}

/** Words and the whitespace between them, so joining the tokens gives the text back. */
const tokenize = (s: string): string[] => s.split(/(\s+)/).filter((t) => t.length > 0);
const isSpace = (t: string | undefined) => t !== undefined && /^\s+$/.test(t);

/** Runs of differing tokens between a and b (longest common subsequence of tokens). */
function diffHunks(a: string[], b: string[]): Hunk[] | undefined {
  let pre = 0;
  while (pre < a.length && pre < b.length && a[pre] === b[pre]) pre++;
  let suf = 0;
  while (suf < a.length - pre && suf < b.length - pre && a[a.length - 1 - suf] === b[b.length - 1 - suf]) suf++;
  const n = a.length - pre - suf;
  const m = b.length - pre - suf;
  if ((n + 1) * (m + 1) > MAX_CELLS) return undefined;
  // lcs[i][j]: LCS length of a[pre+i..] and b[pre+j..] within the middle.
  const w = m + 1;
  const lcs = new Uint32Array((n + 1) * w);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * w + j] = a[pre + i] === b[pre + j] ? lcs[(i + 1) * w + j + 1] + 1 : Math.max(lcs[(i + 1) * w + j], lcs[i * w + j + 1]);
    }
  }
  const hunks: Hunk[] = [];
  let open: Hunk | undefined;
  let i = 0;
  let j = 0;
  const close = () => {
    if (open) {
      open.a1 = pre + i;
      open.b1 = pre + j;
      hunks.push(open);
      open = undefined;
    }
  };
  while (i < n || j < m) {
    if (i < n && j < m && a[pre + i] === b[pre + j]) {
      close();
      i++;
      j++;
      continue;
    }
    open ??= { a0: pre + i, a1: 0, b0: pre + j, b1: 0 };
    if (j < m && (i >= n || lcs[i * w + j + 1] >= lcs[(i + 1) * w + j])) j++;
    else i++;
  }
  close();
  return hunks;
}

const occurrences = (text: string, part: string): number => {
  let count = 0;
  for (let at = text.indexOf(part); at !== -1; at = text.indexOf(part, at + 1)) count++;
  return count;
};

/**
 * Widens a hunk by whole words until what it replaces is non-empty and appears once in the old
 * text, so the substitution names one place (sed replaces the first match; an insertion needs
 * a word to hang on).
 */
function anchor(h: Hunk, a: string[], b: string[], prev: string): Hunk | undefined {
  const cur = { ...h };
  for (;;) {
    const removed = a.slice(cur.a0, cur.a1).join('').trim();
    if (removed && occurrences(prev, removed) === 1) return cur;
    // Prefer the word before (reads like the sentence), then the one after.
    if (cur.a0 > 0 && cur.b0 > 0) {
      do {
        cur.a0--;
        cur.b0--;
      } while (cur.a0 > 0 && cur.b0 > 0 && isSpace(a[cur.a0]));
    } else if (cur.a1 < a.length && cur.b1 < b.length) {
      do {
        cur.a1++;
        cur.b1++;
      } while (cur.a1 < a.length && cur.b1 < b.length && isSpace(a[cur.a1 - 1]));
    } else {
      return undefined;
    }
  }
}

/** Hunks that touch or overlap after anchoring become one. */
function merge(hunks: Hunk[]): Hunk[] {
  const out: Hunk[] = [];
  for (const h of hunks) {
    const last = out[out.length - 1];
    if (last && h.a0 <= last.a1) {
      last.a1 = Math.max(last.a1, h.a1);
      last.b1 = Math.max(last.b1, h.b1);
    } else out.push({ ...h });
  }
  return out;
}

/**
 * The IRC line for an edit from `prev` to `next`: `s/old/new/` substitutions, comma-joined, when
 * there are at most three, each names a single place, none spans a line or contains a slash,
 * and together they are shorter than the new text; else `* next`.
 */
export function renderEditText(next: string, prev: string | undefined): string {
  const whole = `* ${next}`;
  if (!prev || next.length < SHORT_EDIT || next.includes('\n') || prev.includes('\n')) return whole;
  const a = tokenize(prev);
  const b = tokenize(next);
  const raw = diffHunks(a, b);
  if (!raw || raw.length === 0 || raw.length > MAX_CHANGES) return whole;
  // A single addition at the very end reads best as what was added, as MAI did.
  if (raw.length === 1 && raw[0].a0 === raw[0].a1 && raw[0].a0 === a.length) return `* ${b.slice(raw[0].b0).join('').trim()}`;
  const anchored: Hunk[] = [];
  for (const h of raw) {
    const x = anchor(h, a, b, prev);
    if (!x) return whole;
    anchored.push(x);
  }
  const parts = merge(anchored).map((h) => {
    const removed = a.slice(h.a0, h.a1).join('').trim();
    const added = b.slice(h.b0, h.b1).join('').trim();
    return { removed, added };
  });
  if (parts.some((p) => p.removed.includes('/') || p.added.includes('/'))) return whole;
  // Merging can join two places into text that appears twice; check the final substitutions.
  if (parts.some((p) => occurrences(prev, p.removed) !== 1)) return whole;
  const sed = parts.map((p) => `s/${p.removed}/${p.added}/`).join(', ');
  return sed.length < next.length ? sed : whole;
}
