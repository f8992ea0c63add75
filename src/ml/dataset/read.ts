/**
 * Reading a data set: `readDataset` (whole source into one Dataset) and `readDatasetBatches`
 * (bounded memory: an async iterator of Datasets of `batchRows` rows each, for 10M-row files).
 * Both stream bytes -> CSV records -> validated columnar rows; see report.ts for the rules.
 */
import { DatasetBuilder, type ValidationOptions } from './builder.js';
import { CsvSplitter } from './csv.js';
import type { DefectReport } from './report.js';
import { describeSource, openByteSource } from './source.js';
import { CATEGORY_COLUMNS, NUMERIC_COLUMNS, type CategoryColumn, type Dataset, type NumericColumn } from './schema.js';

export type ReadOptions = ValidationOptions;

export interface ReadResult {
  dataset: Dataset;
  report: DefectReport;
}

/** Reads a whole source (path, file://, https://, s3://; gzip or plain) into one Dataset. */
export async function readDataset(uri: string, options: ReadOptions = {}): Promise<ReadResult> {
  const builder = new DatasetBuilder(describeSource(uri), options);
  const splitter = new CsvSplitter(builder, describeSource(uri));
  for await (const chunk of openByteSource(uri)) splitter.push(chunk);
  splitter.end();
  const dataset = builder.finish();
  return { dataset, report: builder.report };
}

export interface BatchReadOptions extends ReadOptions {
  /** Rows per batch (default 100,000). */
  batchRows?: number;
}

/**
 * Batches of a source with bounded memory. Iterate with `for await`; `report` fills as the
 * source is read and is complete when the iteration ends. Category codes are consistent across
 * batches (one dictionary per column; each batch's `values` is a snapshot that only grows).
 */
export class DatasetBatches implements AsyncIterable<Dataset> {
  private builder: DatasetBuilder | undefined;
  readonly batchRows: number;

  constructor(readonly uri: string, private readonly options: BatchReadOptions = {}) {
    const n = options.batchRows ?? 100_000;
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`batchRows must be a whole number >= 1, got ${n}`);
    this.batchRows = n;
  }

  /** The defect report so far (complete after the iteration ends). */
  get report(): DefectReport {
    if (!this.builder) throw new Error('DatasetBatches.report is available once iteration has started');
    return this.builder.report;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Dataset> {
    const ready: Dataset[] = [];
    const shown = describeSource(this.uri);
    const builder = new DatasetBuilder(shown, this.options, 'line', this.batchRows, (ds) => ready.push(ds));
    this.builder = builder;
    const splitter = new CsvSplitter(builder, shown);
    for await (const chunk of openByteSource(this.uri)) {
      splitter.push(chunk);
      while (ready.length > 0) yield ready.shift()!;
    }
    splitter.end();
    while (ready.length > 0) yield ready.shift()!;
    const last = builder.finish();
    if (last.rowCount > 0) yield last;
  }
}

export function readDatasetBatches(uri: string, options: BatchReadOptions = {}): DatasetBatches {
  return new DatasetBatches(uri, options);
}

/** Indices of the rows training may use: those with a usable delivery duration (finite target). */
export function trainingRows(ds: Dataset): Int32Array {
  const target = ds.numeric.actual_delivery_time;
  let n = 0;
  for (let i = 0; i < ds.rowCount; i++) if (!Number.isNaN(target[i])) n++;
  const out = new Int32Array(n);
  let j = 0;
  for (let i = 0; i < ds.rowCount; i++) if (!Number.isNaN(target[i])) out[j++] = i;
  return out;
}

/** The rows at `indices` as a new Dataset (e.g. `subsetRows(ds, trainingRows(ds))`). */
export function subsetRows(ds: Dataset, indices: Int32Array): Dataset {
  const numeric = {} as Record<NumericColumn, Float64Array>;
  for (const c of NUMERIC_COLUMNS) {
    const src = ds.numeric[c];
    const dst = new Float64Array(indices.length);
    for (let i = 0; i < indices.length; i++) dst[i] = src[indices[i]];
    numeric[c] = dst;
  }
  const category = {} as Dataset['category'];
  for (const c of CATEGORY_COLUMNS) {
    const src = ds.category[c].codes;
    const dst = new Int32Array(indices.length);
    for (let i = 0; i < indices.length; i++) dst[i] = src[indices[i]];
    category[c] = { codes: dst, values: ds.category[c].values.slice() };
  }
  const sourceLine = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) sourceLine[i] = ds.sourceLine[indices[i]];
  return { rowCount: indices.length, numeric, category, sourceLine };
}

/**
 * Concatenates Datasets, re-mapping category codes onto one merged dictionary (values in
 * first-seen order), so Datasets from different sources combine correctly.
 */
export function concatDatasets(parts: Dataset[]): Dataset {
  const total = parts.reduce((s, p) => s + p.rowCount, 0);
  const numeric = {} as Record<NumericColumn, Float64Array>;
  for (const c of NUMERIC_COLUMNS) {
    const dst = new Float64Array(total);
    let o = 0;
    for (const p of parts) { dst.set(p.numeric[c], o); o += p.rowCount; }
    numeric[c] = dst;
  }
  const category = {} as Record<CategoryColumn, { codes: Int32Array; values: string[] }>;
  for (const c of CATEGORY_COLUMNS) {
    const values: string[] = [];
    const index = new Map<string, number>();
    const codes = new Int32Array(total);
    let o = 0;
    for (const p of parts) {
      const remap = p.category[c].values.map((v) => {
        let code = index.get(v);
        if (code === undefined) { code = values.length; values.push(v); index.set(v, code); }
        return code;
      });
      const src = p.category[c].codes;
      for (let i = 0; i < p.rowCount; i++) codes[o + i] = src[i] < 0 ? -1 : remap[src[i]];
      o += p.rowCount;
    }
    category[c] = { codes, values };
  }
  const sourceLine = new Int32Array(total);
  let o = 0;
  for (const p of parts) { sourceLine.set(p.sourceLine, o); o += p.rowCount; }
  return { rowCount: total, numeric, category, sourceLine };
}
