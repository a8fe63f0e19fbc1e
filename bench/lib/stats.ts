/** Percentiles and medians of latency samples (ms). */

/** The p-th percentile of an ascending array (nearest rank); NaN when empty. */
export function pct(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export interface Lats {
  p50: number;
  p99: number;
  max: number;
}

export function lats(l: number[]): Lats {
  const s = [...l].sort((a, b) => a - b);
  return { p50: pct(s, 50), p99: pct(s, 99), max: s[s.length - 1] ?? NaN };
}

/** The median (the lower middle of an even count, so it is always a measured value). */
export function median(xs: number[]): number {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN;
}
