/**
 * Test data for the GBDT and ONNX tests: a plain numeric matrix from the real DoorDash sample
 * (read simply here so these tests do not depend on the dataset reader) and seeded synthetic
 * regression data.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { FeatureMatrix } from '../../src/ml/gbdt/index.js';
import { Rng } from '../../src/ml/gbdt/rng.js';

export const SAMPLE_PATH = '../shared/data/doordash_sample.csv';
export const SAMPLE_MISSING_MESSAGE = `real sample not found at ${SAMPLE_PATH} (run from the repo root next to ../shared)`;

export interface SampleMatrix {
  X: FeatureMatrix;
  y: Float64Array;
  featureNames: string[];
}

const FEATURE_COLUMNS = [
  'market_id',
  'order_protocol',
  'total_items',
  'subtotal',
  'num_distinct_items',
  'min_item_price',
  'max_item_price',
  'total_onshift_dashers',
  'total_busy_dashers',
  'total_outstanding_orders',
  'estimated_order_place_duration',
  'estimated_store_to_consumer_driving_duration',
];

function epochSeconds(text: string): number {
  return text === '' ? NaN : Date.parse(text.replace(' ', 'T') + 'Z') / 1000;
}

/** Raw numeric columns + UTC hour; target = delivery seconds; rows without a target dropped. */
export function loadSampleMatrix(): SampleMatrix | undefined {
  if (!existsSync(SAMPLE_PATH)) return undefined;
  const lines = readFileSync(SAMPLE_PATH, 'utf8').split('\n').filter((l) => l.length > 0);
  const header = lines[0].split(',');
  const col = (name: string): number => header.indexOf(name);
  const featureIdx = FEATURE_COLUMNS.map(col);
  const created = col('created_at');
  const delivered = col('actual_delivery_time');
  const featureNames = [...FEATURE_COLUMNS, 'created_hour_utc'];
  const cols = featureNames.length;
  const data: number[] = [];
  const y: number[] = [];
  for (let i = 1; i < lines.length; i++) {
    const cells = lines[i].split(',');
    const start = epochSeconds(cells[created]);
    const target = epochSeconds(cells[delivered]) - start;
    if (!Number.isFinite(target)) continue;
    for (const c of featureIdx) data.push(cells[c] === '' ? NaN : Number(cells[c]));
    data.push(Number.isFinite(start) ? new Date(start * 1000).getUTCHours() : NaN);
    y.push(target);
  }
  return { X: { data: Float32Array.from(data), rows: y.length, cols }, y: Float64Array.from(y), featureNames };
}

/**
 * Seeded synthetic regression: nonlinear in a few features, an interaction, noise, and ~5%
 * missing values in feature 1 that carry signal of their own.
 */
export function syntheticData(rows: number, cols: number, seed: number, noise = 0.1): { X: FeatureMatrix; y: Float64Array } {
  const rng = new Rng(seed);
  const data = new Float32Array(rows * cols);
  const y = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let c = 0; c < cols; c++) data[base + c] = Math.fround(rng.next() * 10);
    const x0 = data[base];
    const x1 = cols > 1 ? data[base + 1] : 0;
    const x2 = cols > 2 ? data[base + 2] : 0;
    let t = Math.sin(x0) * 3 + (x1 > 5 ? 2 : 0) + 0.3 * x0 * (cols > 3 ? data[base + 3] : 1) / 10 + x2 * 0.5;
    if (cols > 1 && rng.next() < 0.05) {
      data[base + 1] = NaN;
      t += 4;
    }
    y[r] = t + noise * (rng.next() - 0.5) * 2;
  }
  return { X: { data, rows, cols }, y };
}
