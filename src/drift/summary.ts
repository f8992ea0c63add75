/**
 * Per-column summaries: the one shape every drift test reads, whether the reference is raw
 * data (summary holds every value, sorted) or a saved training profile (summary holds a
 * quantile sketch of bounded size). Missing values (NaN, ±Infinity, code -1) are dropped
 * and counted, never fed to a test.
 */

import { sortFinite, type ValueRuns } from './sort.js';

/** Numeric columns with at most this many distinct values also keep exact value counts. */
export const VALUE_COUNT_LIMIT = 64;

export interface NumericSummary {
  type: 'numeric';
  /** Non-missing values. */
  count: number;
  missing: number;
  mean: number;
  /** Population standard deviation (numpy's default ddof=0, as Evidently uses). */
  std: number;
  /** NaN when the column has no values. */
  min: number;
  max: number;
  /** Exact number of distinct non-missing values. */
  distinct: number;
  /** Exact counts per distinct value when distinct <= VALUE_COUNT_LIMIT, else null. */
  valueCounts: { values: Float64Array; counts: Float64Array } | null;
  /** Ascending. Every value when `exact`, else a quantile sketch standing for `count` values. */
  sorted: Float64Array;
  exact: boolean;
}

export interface CategoricalSummary {
  type: 'categorical';
  count: number;
  missing: number;
  labels: string[];
  counts: Float64Array;
  /** Rows whose category was pooled away (profile top-K); 0 for raw data. */
  otherCount: number;
  /** Distinct non-missing categories (including the pooled ones). */
  distinct: number;
}

export type ColumnSummary = NumericSummary | CategoricalSummary;

/**
 * k order statistics of a sorted array at mid-ranks (i + 0.5) / k: each point stands for
 * n / k values. Deterministic, and its ECDF is within 1/k of the data's everywhere, far
 * tighter than a random sample of the same size (error ~ 1/sqrt(k)).
 */
export function quantileSketch(sorted: Float64Array, k: number): Float64Array {
  const n = sorted.length;
  if (n <= k) return sorted;
  const out = new Float64Array(k);
  for (let i = 0; i < k; i++) out[i] = sorted[Math.floor(((i + 0.5) * n) / k)];
  return out;
}

/** numpy.quantile's default (linear interpolation between order statistics). */
export function quantileOfSorted(sorted: Float64Array, q: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const pos = q * (n - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** Finite values of `values`, sorted ascending, plus how many were missing. */
export function sortedFinite(values: Float64Array): { sorted: Float64Array; missing: number; runs?: ValueRuns } {
  return sortFinite(values);
}

/** Distinct values and counts of a sorted array, in one pass. */
function runsOf(sorted: Float64Array): ValueRuns {
  const n = sorted.length;
  let distinct = 0;
  for (let i = 0; i < n; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) distinct++;
  const values = new Float64Array(distinct);
  const counts = new Float64Array(distinct);
  let k = -1;
  for (let i = 0; i < n; i++) {
    if (i === 0 || sorted[i] !== sorted[i - 1]) values[++k] = sorted[i];
    counts[k]++;
  }
  return { values, counts };
}

/**
 * Summary of an already sorted, finite column. `sketchSize` bounds the kept values; `runs`
 * (distinct values + counts, e.g. from the counting sort) saves passes over the rows.
 */
export function summarizeSorted(sorted: Float64Array, missing: number, sketchSize = Infinity, runs?: ValueRuns): NumericSummary {
  const n = sorted.length;
  const r = runs ?? runsOf(sorted);
  const distinct = r.values.length;
  // Moments over the runs: O(distinct) instead of O(rows).
  let sum = 0;
  for (let i = 0; i < distinct; i++) sum += r.values[i] * r.counts[i];
  const mean = n > 0 ? sum / n : Number.NaN;
  let ss = 0;
  for (let i = 0; i < distinct; i++) {
    const d = r.values[i] - mean;
    ss += d * d * r.counts[i];
  }
  const kept = n > sketchSize ? quantileSketch(sorted, sketchSize) : sorted;
  return {
    type: 'numeric',
    count: n,
    missing,
    mean,
    std: n > 0 ? Math.sqrt(ss / n) : Number.NaN,
    min: n > 0 ? sorted[0] : Number.NaN,
    max: n > 0 ? sorted[n - 1] : Number.NaN,
    distinct,
    valueCounts: distinct <= VALUE_COUNT_LIMIT ? r : null,
    sorted: kept,
    exact: kept.length === n,
  };
}

export function summarizeNumeric(values: Float64Array, sketchSize = Infinity): NumericSummary {
  const { sorted, missing, runs } = sortedFinite(values);
  return summarizeSorted(sorted, missing, sketchSize, runs);
}

/** Category labels longer than this are shortened (hostile or broken input must not bloat profiles). */
export const MAX_LABEL_LENGTH = 200;

/**
 * A label as drift stores it: labels over MAX_LABEL_LENGTH keep their first 180 characters plus
 * a hash of the whole, so distinct long labels stay distinct and both windows map alike.
 */
export function canonicalLabel(label: string): string {
  if (label.length <= MAX_LABEL_LENGTH) return label;
  let h = 0x811c9dc5; // FNV-1a, 32 bit
  for (let i = 0; i < label.length; i++) {
    h ^= label.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return `${label.slice(0, 180)}…#${h.toString(16).padStart(8, '0')}`;
}

/** Counts per category label; codes < 0 (or past the dictionary) are missing. */
export function summarizeCategorical(codes: Int32Array, labels: readonly string[]): CategoricalSummary {
  const tally = new Float64Array(labels.length);
  let missing = 0;
  for (let i = 0; i < codes.length; i++) {
    const c = codes[i];
    if (c >= 0 && c < tally.length) tally[c]++;
    else missing++;
  }
  // Merge labels that repeat in a dictionary (defensive: dictionaries should be unique).
  const byLabel = new Map<string, number>();
  for (let c = 0; c < labels.length; c++) {
    if (tally[c] === 0) continue;
    const label = canonicalLabel(labels[c]);
    byLabel.set(label, (byLabel.get(label) ?? 0) + tally[c]);
  }
  return categoricalFromMap(byLabel, missing, 0);
}

export function categoricalFromMap(byLabel: Map<string, number>, missing: number, otherCount: number, distinct?: number): CategoricalSummary {
  const labels = [...byLabel.keys()];
  const counts = Float64Array.from(labels.map((l) => byLabel.get(l) ?? 0));
  let count = otherCount;
  for (const c of counts) count += c;
  return { type: 'categorical', count, missing, labels, counts, otherCount, distinct: distinct ?? labels.length };
}
