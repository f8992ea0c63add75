/**
 * Live accuracy once actual delivery times are known: RMSE, MAE and bias (mean of prediction −
 * actual: positive = predicting too late) over a window, overall and by market. Rows where the
 * prediction or the actual is missing are left out and counted.
 */

export interface AccuracyStats {
  count: number;
  /** null when count is 0. */
  mae: number | null;
  rmse: number | null;
  bias: number | null;
}

export interface AccuracyReport {
  overall: AccuracyStats;
  by_market: Record<string, AccuracyStats>;
  /** Rows in the window without a usable prediction/actual pair. */
  unpaired: number;
}

export interface AccuracyInput {
  predictions: Float64Array;
  actuals: Float64Array;
  /** Market per row: codes into labels, -1 = unknown market. */
  market?: { codes: Int32Array; labels: readonly string[] };
  /** Unix seconds per row; with windowSeconds only rows in (now − window, now] count. */
  timestamps?: Float64Array;
  windowSeconds?: number;
  now?: Date;
}

export const UNKNOWN_MARKET = '(unknown)';

function finish(n: number, abs: number, sq: number, diff: number): AccuracyStats {
  if (n === 0) return { count: 0, mae: null, rmse: null, bias: null };
  return { count: n, mae: abs / n, rmse: Math.sqrt(sq / n), bias: diff / n };
}

export function accuracyReport(input: AccuracyInput): AccuracyReport {
  const { predictions, actuals, market, timestamps } = input;
  const n = predictions.length;
  if (actuals.length !== n) throw new RangeError(`accuracy: ${n} predictions but ${actuals.length} actuals`);
  if (market && market.codes.length !== n) throw new RangeError(`accuracy: ${n} predictions but ${market.codes.length} market codes`);
  if (input.windowSeconds !== undefined && !(input.windowSeconds > 0)) throw new RangeError('accuracy: windowSeconds must be > 0');
  if (input.windowSeconds !== undefined && (!timestamps || timestamps.length !== n)) throw new RangeError('accuracy: a window needs one timestamp per row');
  const nowS = (input.now ?? new Date()).getTime() / 1000;
  const since = input.windowSeconds !== undefined ? nowS - input.windowSeconds : -Infinity;
  const groups = market ? market.labels.length + 1 : 1;
  // Per group accumulators in typed arrays: [count, |e|, e², e]; the last group is "unknown".
  const acc = new Float64Array(groups * 4);
  let tn = 0;
  let tabs = 0;
  let tsq = 0;
  let tdiff = 0;
  let unpaired = 0;
  for (let i = 0; i < n; i++) {
    if (timestamps && input.windowSeconds !== undefined && !(timestamps[i] > since && timestamps[i] <= nowS)) continue;
    const e = predictions[i] - actuals[i];
    if (!Number.isFinite(e)) {
      unpaired++;
      continue;
    }
    tn++;
    tabs += Math.abs(e);
    tsq += e * e;
    tdiff += e;
    if (market) {
      const c = market.codes[i];
      const g = c >= 0 && c < market.labels.length ? c : groups - 1;
      acc[g * 4]++;
      acc[g * 4 + 1] += Math.abs(e);
      acc[g * 4 + 2] += e * e;
      acc[g * 4 + 3] += e;
    }
  }
  const byMarket: Record<string, AccuracyStats> = {};
  if (market) {
    for (let g = 0; g < groups; g++) {
      if (acc[g * 4] === 0) continue;
      const label = g === groups - 1 ? UNKNOWN_MARKET : market.labels[g];
      byMarket[label] = finish(acc[g * 4], acc[g * 4 + 1], acc[g * 4 + 2], acc[g * 4 + 3]);
    }
  }
  return { overall: finish(tn, tabs, tsq, tdiff), by_market: byMarket, unpaired };
}
