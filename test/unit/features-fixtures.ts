/** Hand-built Datasets for the ML unit tests (features, metrics, model), no CSV reader needed. */
import { CATEGORY_COLUMNS, NUMERIC_COLUMNS, type CategoryColumn, type Dataset, type NumericColumn } from '../../src/ml/dataset/schema.js';

export type OrderRow = Partial<Record<NumericColumn, number>> & Partial<Record<CategoryColumn, string>>;

/** Parses "YYYY-MM-DD HH:MM:SS" (UTC) to epoch seconds. */
export function utc(text: string): number {
  return Date.parse(text.replace(' ', 'T') + 'Z') / 1000;
}

/** Columnar Dataset from row objects; absent fields are missing (NaN / code -1). */
export function makeDataset(rows: OrderRow[], dictionaryOrder: 'first-seen' | 'reversed' = 'first-seen'): Dataset {
  const numeric = {} as Dataset['numeric'];
  for (const c of NUMERIC_COLUMNS) numeric[c] = Float64Array.from(rows, (r) => r[c] ?? NaN);
  const category = {} as Dataset['category'];
  for (const c of CATEGORY_COLUMNS) {
    let values: string[] = [];
    for (const r of rows) {
      const v = r[c];
      if (v !== undefined && !values.includes(v)) values.push(v);
    }
    if (dictionaryOrder === 'reversed') values = values.reverse();
    const codes = Int32Array.from(rows, (r) => (r[c] === undefined ? -1 : values.indexOf(r[c] as string)));
    category[c] = { codes, values };
  }
  return { rowCount: rows.length, numeric, category, sourceLine: Int32Array.from(rows, (_, i) => i + 2) };
}

/** One row of `ds` as its own one-row Dataset (what the server does with a JSON order). */
export function oneRow(ds: Dataset, r: number): Dataset {
  const row: OrderRow = {};
  for (const c of NUMERIC_COLUMNS) if (!Number.isNaN(ds.numeric[c][r])) row[c] = ds.numeric[c][r];
  for (const c of CATEGORY_COLUMNS) {
    const code = ds.category[c].codes[r];
    if (code >= 0) row[c] = ds.category[c].values[code];
  }
  return makeDataset([row]);
}

export const SAMPLE_CSV = new URL('../../../../shared/data/doordash_sample.csv', import.meta.url);
