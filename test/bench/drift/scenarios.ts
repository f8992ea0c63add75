/**
 * Drift scenarios cut from the real 24,000-row sample, shared by the unit test
 * (test/unit/drift-scenarios.test.ts) and `make bench-drift` (which also hands them to
 * Evidently as CSV files):
 *  - halves:      two random halves (no drift expected);
 *  - noise:       random halves, the current one with the seed project's fake-data noise:
 *                 prices × U(0.9, 1.1), counts + U{0..4};
 *  - markets:     markets 1–3 against markets 4–6 (drift expected);
 *  - small-draws: two disjoint random draws of 800 rows (no drift expected).
 */
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { FEATURE_DRIFT_COLUMNS, CATEGORICAL_DRIFT_COLUMNS } from '../../../src/drift/columns.js';
import { subsetRows } from '../../../src/ml/dataset/read.js';
import { targetSeconds, type CategoryColumn, type Dataset, type NumericColumn } from '../../../src/ml/dataset/schema.js';

export const SAMPLE_PATH = '../shared/data/doordash_sample.csv';
export const PRICE_COLUMNS: readonly NumericColumn[] = ['subtotal', 'min_item_price', 'max_item_price'];
export const COUNT_COLUMNS: readonly NumericColumn[] = ['total_items', 'total_onshift_dashers', 'total_busy_dashers', 'total_outstanding_orders'];

export interface Scenario {
  name: string;
  description: string;
  reference: Dataset;
  current: Dataset;
}

/** mulberry32: small, fast, deterministic. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function permutation(n: number, random: () => number): Int32Array {
  const p = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}

/** The seed project's fake-data noise, on a copy. */
export function addNoise(ds: Dataset, random: () => number): Dataset {
  const out = subsetRows(ds, Int32Array.from({ length: ds.rowCount }, (_, i) => i));
  for (const c of PRICE_COLUMNS) {
    const v = out.numeric[c];
    for (let i = 0; i < v.length; i++) v[i] = Math.round(v[i] * (0.9 + 0.2 * random()));
  }
  for (const c of COUNT_COLUMNS) {
    const v = out.numeric[c];
    for (let i = 0; i < v.length; i++) v[i] += Math.floor(random() * 5);
  }
  return out;
}

function rowsWhere(ds: Dataset, column: CategoryColumn, keep: (label: string) => boolean): Int32Array {
  const { codes, values } = ds.category[column];
  const rows: number[] = [];
  for (let i = 0; i < ds.rowCount; i++) if (codes[i] >= 0 && keep(values[codes[i]])) rows.push(i);
  return Int32Array.from(rows);
}

export function buildScenarios(sample: Dataset, seed = 20261203): Scenario[] {
  const random = rng(seed);
  const perm = permutation(sample.rowCount, random);
  const half = Math.floor(sample.rowCount / 2);
  const a = subsetRows(sample, perm.slice(0, half));
  const b = subsetRows(sample, perm.slice(half));
  return [
    { name: 'halves', description: 'two random halves', reference: a, current: b },
    { name: 'noise', description: 'random halves, current with prices ×U(0.9,1.1) and counts +U{0..4}', reference: a, current: addNoise(b, random) },
    {
      name: 'markets',
      description: 'markets 1–3 vs markets 4–6',
      reference: subsetRows(sample, rowsWhere(sample, 'market_id', (m) => ['1', '2', '3'].includes(m))),
      current: subsetRows(sample, rowsWhere(sample, 'market_id', (m) => ['4', '5', '6'].includes(m))),
    },
    { name: 'small-draws', description: 'two disjoint random draws of 800 rows', reference: subsetRows(sample, perm.slice(0, 800)), current: subsetRows(sample, perm.slice(800, 1600)) },
  ];
}

const csvField = (s: string): string => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

/** The 13 watched columns plus `target` (delivery seconds) as CSV: what Evidently reads. */
export async function writeDriftCsv(ds: Dataset, file: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const out = createWriteStream(file);
  const target = targetSeconds(ds);
  const cats = new Set<string>(CATEGORICAL_DRIFT_COLUMNS);
  out.write([...FEATURE_DRIFT_COLUMNS, 'target'].join(',') + '\n');
  const lines: string[] = [];
  for (let i = 0; i < ds.rowCount; i++) {
    const fields = FEATURE_DRIFT_COLUMNS.map((c) => {
      if (cats.has(c)) {
        const col = ds.category[c as CategoryColumn];
        return col.codes[i] < 0 ? '' : csvField(col.values[col.codes[i]]);
      }
      const v = ds.numeric[c as NumericColumn][i];
      return Number.isFinite(v) ? String(v) : '';
    });
    fields.push(Number.isFinite(target[i]) ? String(target[i]) : '');
    lines.push(fields.join(','));
    if (lines.length === 10_000) {
      if (!out.write(lines.join('\n') + '\n')) await new Promise<void>((r) => out.once('drain', () => r()));
      lines.length = 0;
    }
  }
  if (lines.length) out.write(lines.join('\n') + '\n');
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
}
