/**
 * Delivery-time accuracy metrics, overall and per market.
 *
 * Definitions (y = actual seconds, p = predicted seconds, e = y - p, over rows where both are
 * finite):
 * - rmse, mae: the usual; r2 = 1 - SSE / SST (0 when SST is 0 and SSE is 0, -Infinity never:
 *   NaN when the group has fewer than 2 rows or constant y with errors).
 * - mape: mean |e| / |y| over rows with y != 0 (a zero-second delivery has no relative error).
 * - p50AbsError, p90AbsError: percentiles of |e| with linear interpolation between order
 *   statistics (numpy's default "linear" method).
 * - underPredicted5Min, underPredicted10Min: share of rows delivered more than 5 / 10 minutes
 *   after the predicted time (e > 300 s / e > 600 s): the customer-visible "late" rate.
 */
import type { CategoryData } from '../dataset/schema.js';

export interface RegressionMetrics {
  count: number;
  rmse: number;
  mae: number;
  r2: number;
  mape: number;
  p50AbsError: number;
  p90AbsError: number;
  underPredicted5Min: number;
  underPredicted10Min: number;
}

export interface MetricsReport {
  overall: RegressionMetrics;
  /** Keyed by market id; rows with no market are under "(missing)". */
  byMarket: Record<string, RegressionMetrics>;
  /** Rows skipped because the actual or the prediction was not a finite number. */
  skipped: number;
}

export const MISSING_MARKET = '(missing)';

/** Metrics over the rows whose actual and predicted values are both finite. */
export function regressionMetrics(actual: ArrayLike<number>, predicted: ArrayLike<number>, rows?: ArrayLike<number>): RegressionMetrics {
  if (actual.length !== predicted.length) throw new RangeError(`metrics: ${actual.length} actual values but ${predicted.length} predictions`);
  const n = rows ? rows.length : actual.length;
  const absErr = new Float64Array(n);
  // First pass: the mean of y over scorable rows, needed for R²'s total sum of squares.
  let sumY = 0;
  let finiteCount = 0;
  for (let k = 0; k < n; k++) {
    const i = rows ? rows[k] : k;
    if (Number.isFinite(actual[i]) && Number.isFinite(predicted[i])) {
      sumY += actual[i];
      finiteCount++;
    }
  }
  const meanY = finiteCount > 0 ? sumY / finiteCount : NaN;
  let count = 0;
  let sse = 0;
  let sae = 0;
  let sst = 0;
  let ape = 0;
  let apeCount = 0;
  let late5 = 0;
  let late10 = 0;
  for (let k = 0; k < n; k++) {
    const i = rows ? rows[k] : k;
    const y = actual[i];
    const p = predicted[i];
    if (!Number.isFinite(y) || !Number.isFinite(p)) continue;
    const e = y - p;
    const a = Math.abs(e);
    absErr[count++] = a;
    sse += e * e;
    sae += a;
    sst += (y - meanY) * (y - meanY);
    if (y !== 0) {
      ape += a / Math.abs(y);
      apeCount++;
    }
    if (e > 300) late5++;
    if (e > 600) late10++;
  }
  const sorted = absErr.subarray(0, count).sort();
  return {
    count,
    rmse: count ? Math.sqrt(sse / count) : NaN,
    mae: count ? sae / count : NaN,
    r2: rSquared(sse, sst, count),
    mape: apeCount ? ape / apeCount : NaN,
    p50AbsError: percentileSorted(sorted, 0.5),
    p90AbsError: percentileSorted(sorted, 0.9),
    underPredicted5Min: count ? late5 / count : NaN,
    underPredicted10Min: count ? late10 / count : NaN,
  };
}

function rSquared(sse: number, sst: number, count: number): number {
  if (count < 2) return NaN;
  if (sst === 0) return sse === 0 ? 1 : NaN;
  return 1 - sse / sst;
}

/** Linear-interpolated percentile of ascending values (numpy "linear"); NaN when empty. */
export function percentileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const pos = q * (n - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, n - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** Overall and per-market metrics; `rows` restricts everything to those row indices. */
export function metricsReport(
  actual: ArrayLike<number>,
  predicted: ArrayLike<number>,
  market: CategoryData,
  rows?: ArrayLike<number>,
): MetricsReport {
  const n = rows ? rows.length : actual.length;
  const groups = new Map<string, number[]>();
  let skipped = 0;
  for (let k = 0; k < n; k++) {
    const i = rows ? rows[k] : k;
    if (!Number.isFinite(actual[i]) || !Number.isFinite(predicted[i])) {
      skipped++;
      continue;
    }
    const code = market.codes[i];
    const key = code < 0 ? MISSING_MARKET : market.values[code];
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push(i);
  }
  const byMarket: Record<string, RegressionMetrics> = {};
  // Markets in natural order ("2" before "10"), the no-market group last.
  const keys = [...groups.keys()].sort((a, b) =>
    a === MISSING_MARKET ? 1 : b === MISSING_MARKET ? -1 : a.localeCompare(b, 'en', { numeric: true }),
  );
  for (const key of keys) byMarket[key] = regressionMetrics(actual, predicted, groups.get(key) as number[]);
  return { overall: regressionMetrics(actual, predicted, rows), byMarket, skipped };
}
