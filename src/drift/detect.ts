/**
 * Column drift tests, the rule that picks one per column, and the dataset verdict.
 *
 * Two rules:
 *  - `evidently`: Evidently 0.4's DataDriftPreset defaults, reproduced exactly. Non-missing
 *    reference values <= 1000 → KS (numeric with > 5 distinct values in both windows together),
 *    chi-square (categorical, or numeric with <= 5 values; > 2 values) or two-proportion Z
 *    (<= 2 values), p-value threshold 0.05. Larger reference → normed Wasserstein (numeric with
 *    > 5 values) or Jensen–Shannon (otherwise), distance threshold 0.1.
 *  - `etaops` (default): the same choices, with two fixes where Evidently misfires:
 *    1. chi-square is the two-sample test of homogeneity (2 × k table, categories with an
 *       expected count under 5 pooled) instead of Evidently's goodness-of-fit against the
 *       reference shares taken as exact: a category seen only in the current window no longer
 *       forces p = 0, and rare categories in a small window no longer give tiny p-values by
 *       chance (Evidently calls two random 800-row draws of the real sample drifted in
 *       store_primary_category and estimated_order_place_duration for these reasons);
 *    2. p-value tests on big samples (effective size n·m/(n+m) > 10,000) also need a
 *       minimum effect size (KS statistic >= 0.05; Cramér's V >= 0.1 for chi-square; Cohen's
 *       h >= 0.1 for Z): with a million rows every trivial shift has p ≈ 0.
 * Dataset drift: share of drifted columns >= 0.5 (Evidently's default).
 */
import { fillZeroShares, histogramCounts, sturgesEdges, HISTOGRAM_MIN_DISTINCT } from './stats/binning.js';
import { chiSquareHomogeneity, chiSquareTest } from './stats/chisquare.js';
import { jensenShannonDistance, populationStabilityIndex } from './stats/divergence.js';
import { ks2samp } from './stats/ks.js';
import { normedWasserstein } from './stats/wasserstein.js';
import { proportionsZTest } from './stats/ztest.js';
import type { ColumnSummary, NumericSummary } from './summary.js';

export type StatTestName = 'ks' | 'chisquare' | 'z' | 'wasserstein' | 'jensenshannon' | 'psi';
export const STAT_TESTS: readonly StatTestName[] = ['ks', 'chisquare', 'z', 'wasserstein', 'jensenshannon', 'psi'];
export type DriftRule = 'etaops' | 'evidently';

/** p-value tests drift when score < threshold (KS: <=, as Evidently); distances when >=. */
export const P_VALUE_TESTS: ReadonlySet<StatTestName> = new Set(['ks', 'chisquare', 'z']);
export const DEFAULT_THRESHOLDS: Readonly<Record<StatTestName, number>> = {
  ks: 0.05,
  chisquare: 0.05,
  z: 0.05,
  wasserstein: 0.1,
  jensenshannon: 0.1,
  psi: 0.1,
};
export const SMALL_REFERENCE_MAX = 1000;
export const FEW_VALUES_MAX = 5;
export const DEFAULT_DRIFT_SHARE = 0.5;
/** etaops rule: effective sample size above which p-value tests also need an effect size. */
export const BIG_SAMPLE_EN = 10000;
export const MIN_EFFECT: Readonly<Partial<Record<StatTestName, number>>> = { ks: 0.05, chisquare: 0.1, z: 0.1 };
export const CHI_SQUARE_MIN_EXPECTED = 5;

export interface ColumnOverride {
  test?: StatTestName;
  threshold?: number;
}

export interface DetectOptions {
  rule?: DriftRule;
  overrides?: Record<string, ColumnOverride>;
  /** Dataset drift when drifted columns / columns >= this (default 0.5). */
  driftShare?: number;
}

export class DriftOptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DriftOptionError';
  }
}

export interface ColumnTestResult {
  type: 'numeric' | 'categorical';
  test: StatTestName;
  /** p-value or distance; null when a window has no values (see `note`). */
  score: number | null;
  threshold: number;
  drifted: boolean;
  /** Test statistic (KS D, chi-square, z) where the score is a p-value. */
  statistic: number | null;
  /** Effect size used by the etaops rule on big samples (null when not applied). */
  effect: number | null;
  effect_threshold: number | null;
  reference_count: number;
  current_count: number;
  note: string | null;
}

// ---------------------------------------------------------------- share vectors

interface Counts {
  labels: string[];
  ref: Float64Array;
  cur: Float64Array;
}

/** Exact counts per distinct value of a sorted array. */
function runs(sorted: Float64Array): { values: Float64Array; counts: Float64Array } {
  let distinct = 0;
  for (let i = 0; i < sorted.length; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) distinct++;
  const values = new Float64Array(distinct);
  const counts = new Float64Array(distinct);
  let k = -1;
  for (let i = 0; i < sorted.length; i++) {
    if (i === 0 || sorted[i] !== sorted[i - 1]) values[++k] = sorted[i];
    counts[k]++;
  }
  return { values, counts };
}

function numericValueCounts(s: NumericSummary): { values: Float64Array; counts: Float64Array } {
  if (s.valueCounts) return s.valueCounts;
  if (s.exact) return runs(s.sorted);
  // A sketch cannot give exact counts; scale its runs (only reached through an override).
  const r = runs(s.sorted);
  const w = s.count / s.sorted.length;
  return { values: r.values, counts: r.counts.map((c) => c * w) };
}

/** Counts of both windows over the union of their values, ordered like Evidently's z key. */
function unionCounts(s1: ColumnSummary, s2: ColumnSummary): Counts {
  const ref = new Map<string, number>();
  const cur = new Map<string, number>();
  const order = new Map<string, number>();
  const add = (s: ColumnSummary, into: Map<string, number>): void => {
    if (s.type === 'categorical') {
      s.labels.forEach((l, i) => {
        into.set(l, (into.get(l) ?? 0) + s.counts[i]);
        order.set(l, Number.NaN);
      });
    } else {
      const vc = numericValueCounts(s);
      vc.values.forEach((v, i) => {
        const l = String(v);
        into.set(l, (into.get(l) ?? 0) + vc.counts[i]);
        order.set(l, v);
      });
    }
  };
  add(s1, ref);
  add(s2, cur);
  // A profile's pooled "other" categories: current labels the reference never listed go there.
  if (s1.type === 'categorical' && s1.otherCount > 0) {
    const OTHER = '(other)';
    let pooled = 0;
    for (const [l, c] of [...cur]) {
      if (!ref.has(l)) {
        pooled += c;
        cur.delete(l);
        order.delete(l);
      }
    }
    ref.set(OTHER, s1.otherCount);
    cur.set(OTHER, pooled);
    order.set(OTHER, Number.NaN);
  }
  const labels = [...order.keys()].sort((a, b) => {
    const x = order.get(a) as number;
    const y = order.get(b) as number;
    if (!Number.isNaN(x) && !Number.isNaN(y)) return x - y;
    return a < b ? -1 : a > b ? 1 : 0;
  });
  return {
    labels,
    ref: Float64Array.from(labels, (l) => ref.get(l) ?? 0),
    cur: Float64Array.from(labels, (l) => cur.get(l) ?? 0),
  };
}

/** Evidently's get_binned_data: shares of each window over common bins or values. */
export function binnedShares(ref: ColumnSummary, cur: ColumnSummary): { ref: Float64Array; cur: Float64Array } {
  if (ref.type === 'numeric' && cur.type === 'numeric' && ref.distinct > HISTOGRAM_MIN_DISTINCT) {
    const edges = sturgesEdges(Math.min(ref.min, cur.min), Math.max(ref.max, cur.max), ref.count + cur.count);
    const share = (s: NumericSummary): Float64Array => {
      const counts = histogramCounts(s.sorted, edges);
      return counts.map((c) => c / s.sorted.length);
    };
    return { ref: share(ref), cur: share(cur) };
  }
  const u = unionCounts(ref, cur);
  return { ref: u.ref.map((c) => c / ref.count), cur: u.cur.map((c) => c / cur.count) };
}

// ---------------------------------------------------------------- the rule

function pooledDistinct(ref: ColumnSummary, cur: ColumnSummary): number {
  if (ref.type === 'categorical' || cur.type === 'categorical') {
    if (ref.type === 'categorical' && cur.type === 'categorical') {
      const set = new Set(ref.labels);
      for (const l of cur.labels) set.add(l);
      return set.size + (ref.otherCount > 0 ? 1 : 0);
    }
    return Math.max(ref.distinct, cur.distinct);
  }
  if (!ref.valueCounts || !cur.valueCounts) return Math.max(ref.distinct, cur.distinct, FEW_VALUES_MAX + 1);
  const set = new Set<number>(ref.valueCounts.values);
  for (const v of cur.valueCounts.values) set.add(v);
  return set.size;
}

/** The test the default rule picks (identical for both rules). */
export function defaultTest(ref: ColumnSummary, cur: ColumnSummary): StatTestName {
  const values = pooledDistinct(ref, cur);
  const numeric = ref.type === 'numeric' && values > FEW_VALUES_MAX;
  if (ref.count <= SMALL_REFERENCE_MAX) {
    if (numeric) return 'ks';
    return values > 2 ? 'chisquare' : 'z';
  }
  return numeric ? 'wasserstein' : 'jensenshannon';
}

function checkOverride(column: string, o: ColumnOverride | undefined): void {
  if (!o) return;
  if (o.test !== undefined && !STAT_TESTS.includes(o.test)) {
    throw new DriftOptionError(`column ${column}: unknown test '${String(o.test)}' (one of ${STAT_TESTS.join(', ')})`);
  }
  if (o.threshold !== undefined && !(Number.isFinite(o.threshold) && o.threshold >= 0)) {
    throw new DriftOptionError(`column ${column}: threshold must be a number >= 0, got ${String(o.threshold)}`);
  }
  if (o.test !== undefined && P_VALUE_TESTS.has(o.test) && o.threshold !== undefined && o.threshold > 1) {
    throw new DriftOptionError(`column ${column}: a p-value threshold must be at most 1, got ${o.threshold}`);
  }
}

/** Runs one column's test. Never throws for data reasons: empty windows give a defined result. */
export function testColumn(column: string, ref: ColumnSummary, cur: ColumnSummary, opts: DetectOptions = {}): ColumnTestResult {
  const rule = opts.rule ?? 'etaops';
  const override = opts.overrides?.[column];
  checkOverride(column, override);
  if (ref.type !== cur.type) throw new DriftOptionError(`column ${column}: reference is ${ref.type} but current is ${cur.type}`);
  const base = {
    type: ref.type,
    reference_count: ref.count,
    current_count: cur.count,
    statistic: null as number | null,
    effect: null as number | null,
    effect_threshold: null as number | null,
    note: null as string | null,
  };
  if (ref.count === 0 || cur.count === 0) {
    const test = override?.test ?? (ref.type === 'numeric' ? 'wasserstein' : 'jensenshannon');
    const threshold = override?.threshold ?? DEFAULT_THRESHOLDS[test];
    const both = ref.count === 0 && cur.count === 0;
    const side = ref.count === 0 ? 'reference' : 'current';
    return {
      ...base,
      test,
      threshold,
      score: null,
      // Values appearing or vanishing entirely is a change; nothing in either window is none.
      drifted: !both,
      note: both ? 'no values in either window' : `no values in the ${side} window`,
    };
  }
  const test = override?.test ?? defaultTest(ref, cur);
  const threshold = override?.threshold ?? DEFAULT_THRESHOLDS[test];
  let score: number;
  switch (test) {
    case 'ks': {
      if (ref.type !== 'numeric' || cur.type !== 'numeric') throw new DriftOptionError(`column ${column}: ks needs a numeric column`);
      const r = ks2samp(ref.sorted, cur.sorted, { countA: ref.count, countB: cur.count });
      score = r.pvalue;
      base.statistic = r.statistic;
      base.effect = r.statistic;
      break;
    }
    case 'wasserstein': {
      if (ref.type !== 'numeric' || cur.type !== 'numeric') {
        throw new DriftOptionError(`column ${column}: wasserstein needs a numeric column`);
      }
      score = normedWasserstein(ref.sorted, cur.sorted, ref.std);
      break;
    }
    case 'chisquare': {
      const u = unionCounts(ref, cur);
      const r = rule === 'etaops' ? chiSquareHomogeneity(u.ref, u.cur, CHI_SQUARE_MIN_EXPECTED) : chiSquareTest(u.ref, u.cur);
      score = r.pvalue;
      base.statistic = r.statistic;
      base.effect = r.effect;
      break;
    }
    case 'z': {
      const u = unionCounts(ref, cur);
      const r = proportionsZTest(u.ref[0], ref.count, u.cur[0], cur.count);
      score = u.labels.length <= 1 ? 1 : r.pvalue;
      base.statistic = r.statistic;
      base.effect = r.effect;
      break;
    }
    case 'jensenshannon': {
      const b = binnedShares(ref, cur);
      score = jensenShannonDistance(b.ref, b.cur);
      break;
    }
    case 'psi': {
      const b = binnedShares(ref, cur);
      score = populationStabilityIndex(fillZeroShares(b.ref), fillZeroShares(b.cur));
      break;
    }
  }
  let drifted: boolean;
  if (P_VALUE_TESTS.has(test)) {
    drifted = test === 'ks' ? score <= threshold : score < threshold;
    const en = (ref.count * cur.count) / (ref.count + cur.count);
    const minEffect = MIN_EFFECT[test];
    if (rule === 'etaops' && en > BIG_SAMPLE_EN && minEffect !== undefined && base.effect !== null) {
      base.effect_threshold = minEffect;
      drifted = drifted && base.effect >= minEffect;
    } else {
      base.effect = rule === 'etaops' ? base.effect : null;
    }
  } else {
    drifted = score >= threshold;
  }
  return { ...base, test, threshold, score, drifted };
}

export interface DatasetVerdict {
  dataset_drift: boolean;
  drift_share: number;
  drift_share_threshold: number;
  number_of_columns: number;
  number_of_drifted_columns: number;
}

export function datasetVerdict(results: Iterable<ColumnTestResult>, driftShare = DEFAULT_DRIFT_SHARE): DatasetVerdict {
  if (!(driftShare > 0 && driftShare <= 1)) throw new DriftOptionError(`drift share threshold must be in (0, 1], got ${driftShare}`);
  let n = 0;
  let drifted = 0;
  for (const r of results) {
    n++;
    if (r.drifted) drifted++;
  }
  const share = n > 0 ? drifted / n : 0;
  return {
    dataset_drift: n > 0 && share >= driftShare,
    drift_share: share,
    drift_share_threshold: driftShare,
    number_of_columns: n,
    number_of_drifted_columns: drifted,
  };
}

