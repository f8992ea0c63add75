/**
 * Training profile: what drift detection needs to remember about the training data, saved in
 * model.json (`training_profile`) so a later check needs neither the training rows nor memory
 * that grows with them.
 *
 * Per column: type, counts, missing share, mean/std/min/max, quantiles, exact distinct count,
 * exact value counts for numeric columns with few distinct values, and a quantile sketch
 * (k order statistics at mid-ranks, default k = 2000) standing in for the full sorted column;
 * categorical columns keep their top-K categories (default 100) and pool the rest as "other";
 * labels over 200 characters are shortened to 180 + a hash (see canonicalLabel).
 * Size is bounded by `profileSizeBound(options)` whatever the row count.
 */
import type { Dataset } from '../ml/dataset/schema.js';
import { driftColumnsOf, type ColumnSource, type ExtraColumns } from './columns.js';
import {
  MAX_LABEL_LENGTH,
  VALUE_COUNT_LIMIT,
  categoricalFromMap,
  quantileOfSorted,
  sortedFinite,
  summarizeCategorical,
  summarizeSorted,
  type CategoricalSummary,
  type ColumnSummary,
  type NumericSummary,
} from './summary.js';

export const PROFILE_SCHEMA_VERSION = 1;
export const DEFAULT_SKETCH_SIZE = 2000;
export const MAX_SKETCH_SIZE = 20000;
export const DEFAULT_TOP_K = 100;
export const MAX_TOP_K = 1000;
export const PROFILE_QUANTILES = [0, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 1] as const;

export interface NumericColumnProfile {
  type: 'numeric';
  count: number;
  missing: number;
  missing_share: number;
  /** null when the column has no values. */
  mean: number | null;
  std: number | null;
  min: number | null;
  max: number | null;
  /** Keys are the quantile levels of PROFILE_QUANTILES as strings ("0.5"). */
  quantiles: Record<string, number | null>;
  distinct: number;
  /** [value, count] for every distinct value when there are at most 64, else null. */
  value_counts: [number, number][] | null;
  /** Sorted; every value when count <= sketch size, else the quantile sketch. */
  sketch: number[];
}

export interface CategoricalColumnProfile {
  type: 'categorical';
  count: number;
  missing: number;
  missing_share: number;
  distinct: number;
  /** The top-K categories by count, most frequent first. */
  top: [string, number][];
  /** Rows of categories not in `top`. */
  other_count: number;
}

export type ColumnProfile = NumericColumnProfile | CategoricalColumnProfile;

export interface TrainingProfile {
  schema_version: 1;
  created_at: string;
  row_count: number;
  sketch_size: number;
  top_k: number;
  columns: Record<string, ColumnProfile>;
}

export interface ProfileOptions extends ExtraColumns {
  /** Quantile-sketch points per numeric column (16..20000, default 2000). */
  sketchSize?: number;
  /** Categories kept per categorical column (1..1000, default 100). */
  topK?: number;
  createdAt?: Date;
}

export class ProfileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProfileError';
  }
}

function checkOptions(opts: ProfileOptions): { sketchSize: number; topK: number } {
  const sketchSize = opts.sketchSize ?? DEFAULT_SKETCH_SIZE;
  const topK = opts.topK ?? DEFAULT_TOP_K;
  if (!Number.isInteger(sketchSize) || sketchSize < 16 || sketchSize > MAX_SKETCH_SIZE) {
    throw new ProfileError(`sketchSize must be a whole number from 16 to ${MAX_SKETCH_SIZE}, got ${sketchSize}`);
  }
  if (!Number.isInteger(topK) || topK < 1 || topK > MAX_TOP_K) {
    throw new ProfileError(`topK must be a whole number from 1 to ${MAX_TOP_K}, got ${topK}`);
  }
  return { sketchSize, topK };
}

const nullIfNaN = (v: number): number | null => (Number.isFinite(v) ? v : null);

function numericProfile(values: Float64Array, sketchSize: number): NumericColumnProfile {
  const { sorted, missing, runs } = sortedFinite(values);
  const s = summarizeSorted(sorted, missing, sketchSize, runs);
  const quantiles: Record<string, number | null> = {};
  for (const q of PROFILE_QUANTILES) quantiles[String(q)] = nullIfNaN(quantileOfSorted(sorted, q));
  const total = s.count + missing;
  return {
    type: 'numeric',
    count: s.count,
    missing,
    missing_share: total > 0 ? missing / total : 0,
    mean: nullIfNaN(s.mean),
    std: nullIfNaN(s.std),
    min: nullIfNaN(s.min),
    max: nullIfNaN(s.max),
    quantiles,
    distinct: s.distinct,
    value_counts: s.valueCounts ? Array.from(s.valueCounts.values, (v, i): [number, number] => [v, s.valueCounts!.counts[i]]) : null,
    sketch: Array.from(s.sorted),
  };
}

function categoricalProfile(summary: CategoricalSummary, topK: number): CategoricalColumnProfile {
  // Labels are already canonical (long ones shortened + hashed by summarizeCategorical).
  const ranked = summary.labels.map((l, i): [string, number] => [l, summary.counts[i]]).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const top = ranked.slice(0, topK);
  let other = 0;
  for (const [, c] of ranked.slice(topK)) other += c;
  const total = summary.count + summary.missing;
  return {
    type: 'categorical',
    count: summary.count,
    missing: summary.missing,
    missing_share: total > 0 ? summary.missing / total : 0,
    distinct: summary.distinct,
    top,
    other_count: other,
  };
}

/** Profile of already extracted columns (used for prediction logs as well as datasets). */
export function profileFromColumns(source: ColumnSource, opts: ProfileOptions = {}): TrainingProfile {
  const { sketchSize, topK } = checkOptions(opts);
  const columns: Record<string, ColumnProfile> = {};
  for (const [name, col] of source.columns) {
    columns[name] =
      col.type === 'numeric' ? numericProfile(col.values, sketchSize) : categoricalProfile(summarizeCategorical(col.codes, col.labels), topK);
  }
  return {
    schema_version: PROFILE_SCHEMA_VERSION,
    created_at: (opts.createdAt ?? new Date()).toISOString(),
    row_count: source.rowCount,
    sketch_size: sketchSize,
    top_k: topK,
    columns,
  };
}

/**
 * The training profile of a dataset: the 13 model input columns, the target (delivery
 * seconds) when known, and `prediction` when `opts.predictions` is given.
 */
export function buildTrainingProfile(ds: Dataset, opts: ProfileOptions = {}): TrainingProfile {
  return profileFromColumns(driftColumnsOf(ds, opts), opts);
}

/**
 * Upper bound on JSON.stringify(profile).length for any data: numbers print in at most 24
 * characters, labels at most MAX_LABEL_LENGTH characters each escaped to at most 6.
 */
export function profileSizeBound(opts: ProfileOptions = {}, columnCount = 15): number {
  const { sketchSize, topK } = checkOptions(opts);
  const num = 25;
  const perNumeric = (sketchSize + 2 * VALUE_COUNT_LIMIT + 2 * PROFILE_QUANTILES.length + 16) * num + 600;
  const perCategorical = topK * (MAX_LABEL_LENGTH * 6 + num + 8) + 400;
  return 400 + columnCount * Math.max(perNumeric, perCategorical);
}

/** A column of a profile as the summary the tests read. */
export function summaryFromProfile(col: ColumnProfile): ColumnSummary {
  if (col.type === 'categorical') {
    return categoricalFromMap(new Map(col.top), col.missing, col.other_count, col.distinct);
  }
  const vc = col.value_counts;
  const s: NumericSummary = {
    type: 'numeric',
    count: col.count,
    missing: col.missing,
    mean: col.mean ?? Number.NaN,
    std: col.std ?? Number.NaN,
    min: col.min ?? Number.NaN,
    max: col.max ?? Number.NaN,
    distinct: col.distinct,
    valueCounts: vc ? { values: Float64Array.from(vc, (p) => p[0]), counts: Float64Array.from(vc, (p) => p[1]) } : null,
    sorted: Float64Array.from(col.sketch),
    exact: col.sketch.length === col.count,
  };
  return s;
}

// ---- validation of a saved profile (it comes from a file: trust nothing) ----

function fail(path: string, what: string): never {
  throw new ProfileError(`training profile: ${path} ${what}`);
}
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
function count(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) fail(path, `must be a whole number >= 0, got ${JSON.stringify(v)}`);
  return v;
}
function numOrNull(v: unknown, path: string): number | null {
  if (v === null) return null;
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(path, `must be a finite number or null, got ${JSON.stringify(v)}`);
  return v;
}

/** Checks a parsed JSON value is a TrainingProfile; errors name the offending field. */
export function parseTrainingProfile(json: unknown): TrainingProfile {
  if (!isObj(json)) fail('(root)', 'must be an object');
  if (json.schema_version !== PROFILE_SCHEMA_VERSION) {
    fail('schema_version', `must be ${PROFILE_SCHEMA_VERSION}, got ${JSON.stringify(json.schema_version)}`);
  }
  const rowCount = count(json.row_count, 'row_count');
  if (!isObj(json.columns)) fail('columns', 'must be an object');
  const columns: Record<string, ColumnProfile> = {};
  for (const [name, raw] of Object.entries(json.columns)) {
    const p = `columns.${name}`;
    if (!isObj(raw)) fail(p, 'must be an object');
    const c = count(raw.count, `${p}.count`);
    const missing = count(raw.missing, `${p}.missing`);
    const distinct = count(raw.distinct, `${p}.distinct`);
    const total = c + missing;
    if (raw.type === 'categorical') {
      if (!Array.isArray(raw.top)) fail(`${p}.top`, 'must be an array of [label, count]');
      const top = raw.top.map((e: unknown, i): [string, number] => {
        if (!Array.isArray(e) || e.length !== 2 || typeof e[0] !== 'string') fail(`${p}.top[${i}]`, 'must be [label, count]');
        return [e[0] as string, count(e[1], `${p}.top[${i}][1]`)];
      });
      const other = count(raw.other_count, `${p}.other_count`);
      const sum = top.reduce((a, e) => a + e[1], other);
      if (sum !== c) fail(`${p}.top`, `counts add up to ${sum}, not count ${c}`);
      columns[name] = { type: 'categorical', count: c, missing, missing_share: total ? missing / total : 0, distinct, top, other_count: other };
    } else if (raw.type === 'numeric') {
      if (!Array.isArray(raw.sketch)) fail(`${p}.sketch`, 'must be an array of numbers');
      const sketch = raw.sketch.map((v: unknown, i) => {
        if (typeof v !== 'number' || !Number.isFinite(v)) fail(`${p}.sketch[${i}]`, 'must be a finite number');
        return v;
      });
      for (let i = 1; i < sketch.length; i++) if (sketch[i] < sketch[i - 1]) fail(`${p}.sketch`, 'must be sorted ascending');
      if (sketch.length > c || (c > 0 && sketch.length === 0)) fail(`${p}.sketch`, `has ${sketch.length} values for count ${c}`);
      let valueCounts: [number, number][] | null = null;
      if (raw.value_counts !== null && raw.value_counts !== undefined) {
        if (!Array.isArray(raw.value_counts)) fail(`${p}.value_counts`, 'must be an array of [value, count] or null');
        valueCounts = raw.value_counts.map((e: unknown, i): [number, number] => {
          if (!Array.isArray(e) || e.length !== 2) fail(`${p}.value_counts[${i}]`, 'must be [value, count]');
          const v = numOrNull(e[0], `${p}.value_counts[${i}][0]`);
          if (v === null) fail(`${p}.value_counts[${i}][0]`, 'must be a number');
          return [v, count(e[1], `${p}.value_counts[${i}][1]`)];
        });
      }
      const quantiles: Record<string, number | null> = {};
      if (isObj(raw.quantiles)) for (const [k, v] of Object.entries(raw.quantiles)) quantiles[k] = numOrNull(v, `${p}.quantiles.${k}`);
      columns[name] = {
        type: 'numeric',
        count: c,
        missing,
        missing_share: total ? missing / total : 0,
        mean: numOrNull(raw.mean ?? null, `${p}.mean`),
        std: numOrNull(raw.std ?? null, `${p}.std`),
        min: numOrNull(raw.min ?? null, `${p}.min`),
        max: numOrNull(raw.max ?? null, `${p}.max`),
        quantiles,
        distinct,
        value_counts: valueCounts,
        sketch,
      };
    } else {
      fail(`${p}.type`, `must be "numeric" or "categorical", got ${JSON.stringify(raw.type)}`);
    }
  }
  return {
    schema_version: PROFILE_SCHEMA_VERSION,
    created_at: typeof json.created_at === 'string' ? json.created_at : '',
    row_count: rowCount,
    sketch_size: typeof json.sketch_size === 'number' ? json.sketch_size : DEFAULT_SKETCH_SIZE,
    top_k: typeof json.top_k === 'number' ? json.top_k : DEFAULT_TOP_K,
    columns,
  };
}
