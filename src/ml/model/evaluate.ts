/** Scoring a model directory on labelled data (`etaops evaluate`, champion/challenger checks). */
import { readDataset } from '../dataset/read.js';
import { targetSeconds } from '../dataset/schema.js';
import { metricsReport, type MetricsReport, type RegressionMetrics } from '../metrics/regression.js';
import { rowIndices } from '../split.js';
import { loadPredictor } from './predictor.js';
import type { ModelFiles } from './meta.js';

export interface EvaluationResult {
  rowsRead: number;
  metrics: MetricsReport;
}

/** Metrics of the model on every row of `dataUri` with a usable delivery time. */
export async function evaluateModel(model: string | ModelFiles, dataUri: string): Promise<EvaluationResult> {
  const { dataset } = await readDataset(dataUri);
  const y = targetSeconds(dataset);
  const labelled = new Uint8Array(dataset.rowCount);
  for (let i = 0; i < dataset.rowCount; i++) labelled[i] = Number.isFinite(y[i]) && y[i] > 0 ? 1 : 0;
  const predictor = await loadPredictor(model);
  try {
    const predicted = await predictor.predict(dataset);
    return { rowsRead: dataset.rowCount, metrics: metricsReport(y, predicted, dataset.category.market_id, rowIndices(dataset.rowCount, labelled)) };
  } finally {
    await predictor.close();
  }
}

/** A fixed-width table: one line overall, one per market. */
export function formatMetricsTable(report: MetricsReport): string {
  const head = ['market', 'rows', 'RMSE s', 'MAE s', 'R²', 'MAPE', 'p50 |e| s', 'p90 |e| s', 'late>5m', 'late>10m'];
  const row = (name: string, m: RegressionMetrics): string[] => [
    name,
    String(m.count),
    fixed(m.rmse, 1),
    fixed(m.mae, 1),
    fixed(m.r2, 3),
    pct(m.mape),
    fixed(m.p50AbsError, 1),
    fixed(m.p90AbsError, 1),
    pct(m.underPredicted5Min),
    pct(m.underPredicted10Min),
  ];
  const rows = [row('all', report.overall), ...Object.entries(report.byMarket).map(([k, m]) => row(k, m))];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

function fixed(v: number | null, digits: number): string {
  return v === null || !Number.isFinite(v) ? '-' : v.toFixed(digits);
}

function pct(v: number | null): string {
  return v === null || !Number.isFinite(v) ? '-' : `${(100 * v).toFixed(1)}%`;
}
