/**
 * A drift check: reference (raw columns or a saved training profile) against a current window,
 * column by column, into the result that the JSON report, the HTML page, the CLI summary and
 * the Prometheus gauges all read.
 */
import type { AccuracyReport } from './accuracy.js';
import type { ColumnSource } from './columns.js';
import { datasetVerdict, testColumn, type ColumnTestResult, type DatasetVerdict, type DetectOptions, type DriftRule } from './detect.js';
import { summaryFromProfile, type TrainingProfile } from './profile.js';
import { quantileOfSorted, summarizeCategorical, summarizeNumeric, type ColumnSummary, type NumericSummary } from './summary.js';
import { histogramCounts } from './stats/binning.js';

export const REPORT_SCHEMA_VERSION = 1;
const DISPLAY_BINS = 24;
const DISPLAY_CATEGORIES = 15;
const DISPLAY_VALUES_MAX = 20;

/** What the report draws for one window of one column. Shares are of non-missing rows. */
export type Distribution =
  | { kind: 'histogram'; edges: number[]; shares: number[]; below_share: number; above_share: number }
  | { kind: 'categories'; labels: string[]; shares: number[]; other_share: number }
  | { kind: 'empty' };

export interface ColumnDrift extends ColumnTestResult {
  reference_missing_share: number;
  current_missing_share: number;
  reference: Distribution;
  current: Distribution;
}

export interface DriftResult extends DatasetVerdict {
  schema_version: 1;
  generated_at: string;
  model: string | null;
  rule: DriftRule;
  reference: { source: 'data' | 'profile'; rows: number; profile_created_at: string | null };
  current: { rows: number };
  columns: Record<string, ColumnDrift>;
  /** Columns present on one side only, with the reason. */
  skipped_columns: Record<string, string>;
  /** Live accuracy of the current window when it has predictions and actuals, else null. */
  accuracy: AccuracyReport | null;
}

export type ReferenceInput = { data: ColumnSource } | { profile: TrainingProfile };

export interface CheckOptions extends DetectOptions {
  model?: string;
  /** Accuracy of the current window's predictions, when known (see accuracy.ts). */
  accuracy?: AccuracyReport;
  /** Only these columns (default: every column both sides have). */
  columns?: string[];
  now?: Date;
}

function summarize(source: ColumnSource, name: string): ColumnSummary | undefined {
  const col = source.columns.get(name);
  if (!col) return undefined;
  return col.type === 'numeric' ? summarizeNumeric(col.values) : summarizeCategorical(col.codes, col.labels);
}

const missingShare = (s: ColumnSummary): number => (s.count + s.missing > 0 ? s.missing / (s.count + s.missing) : 0);

function valueShares(s: NumericSummary): Map<number, number> {
  const out = new Map<number, number>();
  if (!s.valueCounts) return out;
  s.valueCounts.values.forEach((v, i) => out.set(v, s.valueCounts!.counts[i] / s.count));
  return out;
}

/** Both windows of a column on common display bins: clipped to the pooled 0.5–99.5 % range. */
function displayDistributions(ref: ColumnSummary, cur: ColumnSummary): [Distribution, Distribution] {
  if (ref.count === 0 && cur.count === 0) return [{ kind: 'empty' }, { kind: 'empty' }];
  if (ref.type === 'categorical' && cur.type === 'categorical') {
    const shares = (s: typeof ref): Map<string, number> => {
      const m = new Map<string, number>();
      s.labels.forEach((l, i) => m.set(l, s.count ? s.counts[i] / s.count : 0));
      if (s.otherCount > 0) m.set('(other)', s.otherCount / s.count);
      return m;
    };
    const r = shares(ref);
    const c = shares(cur);
    const labels = [...new Set([...r.keys(), ...c.keys()])]
      .sort((a, b) => (r.get(b) ?? 0) + (c.get(b) ?? 0) - ((r.get(a) ?? 0) + (c.get(a) ?? 0)))
      .slice(0, DISPLAY_CATEGORIES);
    const cat = (m: Map<string, number>, s: typeof ref): Distribution => {
      if (s.count === 0) return { kind: 'empty' };
      const sh = labels.map((l) => m.get(l) ?? 0);
      return { kind: 'categories', labels, shares: sh, other_share: Math.max(0, 1 - sh.reduce((a, b) => a + b, 0)) };
    };
    return [cat(r, ref), cat(c, cur)];
  }
  if (ref.type !== 'numeric' || cur.type !== 'numeric') return [{ kind: 'empty' }, { kind: 'empty' }];
  const rv = valueShares(ref);
  const cv = valueShares(cur);
  const pooledValues = new Set([...rv.keys(), ...cv.keys()]);
  if (ref.valueCounts && cur.valueCounts && pooledValues.size <= DISPLAY_VALUES_MAX) {
    const values = [...pooledValues].sort((a, b) => a - b);
    const labels = values.map((v) => String(v));
    const cat = (m: Map<number, number>, s: NumericSummary): Distribution =>
      s.count === 0 ? { kind: 'empty' } : { kind: 'categories', labels, shares: values.map((v) => m.get(v) ?? 0), other_share: 0 };
    return [cat(rv, ref), cat(cv, cur)];
  }
  const sides = [ref, cur].filter((s) => s.count > 0);
  let lo = Math.min(...sides.map((s) => quantileOfSorted(s.sorted, 0.005)));
  let hi = Math.max(...sides.map((s) => quantileOfSorted(s.sorted, 0.995)));
  if (lo === hi) {
    lo -= 0.5;
    hi += 0.5;
  }
  const edges = new Float64Array(DISPLAY_BINS + 1);
  for (let i = 0; i <= DISPLAY_BINS; i++) edges[i] = lo + ((hi - lo) * i) / DISPLAY_BINS;
  const hist = (s: NumericSummary): Distribution => {
    if (s.count === 0) return { kind: 'empty' };
    const n = s.sorted.length;
    const counts = histogramCounts(s.sorted, edges);
    let inside = 0;
    for (const c of counts) inside += c;
    let below = 0;
    while (below < n && s.sorted[below] < lo) below++;
    return {
      kind: 'histogram',
      edges: Array.from(edges),
      shares: Array.from(counts, (c) => c / n),
      below_share: below / n,
      above_share: Math.max(0, (n - inside - below) / n),
    };
  };
  return [hist(ref), hist(cur)];
}

/** Compares `current` with the reference; columns are taken in the reference's order. */
export function runDriftCheck(reference: ReferenceInput, current: ColumnSource, opts: CheckOptions = {}): DriftResult {
  const fromProfile = 'profile' in reference;
  const refNames = fromProfile ? Object.keys(reference.profile.columns) : [...reference.data.columns.keys()];
  const curNames = [...current.columns.keys()];
  const wanted = opts.columns ?? [...refNames, ...curNames.filter((n) => !refNames.includes(n))];
  const columns: Record<string, ColumnDrift> = {};
  const skipped: Record<string, string> = {};
  for (const name of wanted) {
    const refSummary = fromProfile
      ? reference.profile.columns[name] && summaryFromProfile(reference.profile.columns[name])
      : summarize(reference.data, name);
    const curSummary = summarize(current, name);
    if (!refSummary || !curSummary) {
      skipped[name] = !refSummary && !curSummary ? 'in neither window' : !refSummary ? 'not in the reference' : 'not in the current window';
      continue;
    }
    const result = testColumn(name, refSummary, curSummary, opts);
    const [refDist, curDist] = displayDistributions(refSummary, curSummary);
    columns[name] = {
      ...result,
      reference_missing_share: missingShare(refSummary),
      current_missing_share: missingShare(curSummary),
      reference: refDist,
      current: curDist,
    };
  }
  const verdict = datasetVerdict(Object.values(columns), opts.driftShare);
  return {
    schema_version: REPORT_SCHEMA_VERSION,
    generated_at: (opts.now ?? new Date()).toISOString(),
    model: opts.model ?? null,
    rule: opts.rule ?? 'etaops',
    reference: fromProfile
      ? { source: 'profile', rows: reference.profile.row_count, profile_created_at: reference.profile.created_at || null }
      : { source: 'data', rows: reference.data.rowCount, profile_created_at: null },
    current: { rows: current.rowCount },
    ...verdict,
    columns,
    skipped_columns: skipped,
    accuracy: opts.accuracy ?? null,
  };
}

/** The CLI's short form: verdict plus test/score/threshold/drifted per column. */
export function driftSummary(r: DriftResult): {
  dataset_drift: boolean;
  drift_share: number;
  columns: Record<string, { test: string; score: number | null; threshold: number; drifted: boolean }>;
} {
  const columns: Record<string, { test: string; score: number | null; threshold: number; drifted: boolean }> = {};
  for (const [name, c] of Object.entries(r.columns)) columns[name] = { test: c.test, score: c.score, threshold: c.threshold, drifted: c.drifted };
  return { dataset_drift: r.dataset_drift, drift_share: r.drift_share, columns };
}
