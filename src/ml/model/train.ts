/**
 * The training pipeline behind `etaops train` and TrainingRun Jobs:
 * read + validate → split → feature spec → GBDT → ONNX → holdout metrics → model directory.
 *
 * Which rows do what (all splits by created_at, see src/ml/split.ts):
 * - holdout: the latest `holdoutFraction` (default 20%) of the rows with a usable delivery
 *   time. Never used for fitting, choosing the number of trees or the feature encodings; it is
 *   scored whole (rows with missing or defective inputs included) by the exported ONNX model, so
 *   the metrics are those of the artifact that will be served. Champion and challenger are
 *   compared on it (model.json gives its created_at range).
 * - train part: the rest. With early stopping on (the default), its latest
 *   `earlyStoppingFraction` (default 10%) is held back to pick the number of trees, then the
 *   model is refitted on the whole train part with that many trees (`refit`, default true), so
 *   the most recent days, which resemble the future best, are also learned from.
 * Hyperparameters are not searched per run: the defaults below were chosen once by CV.
 */
import { readFileSync } from 'node:fs';
import { readDataset } from '../dataset/read.js';
import { occurredDefects, type DefectReport } from '../dataset/report.js';
import { targetSeconds, type Dataset } from '../dataset/schema.js';
import { buildFeatures } from '../features/build.js';
import { fitFeatureSpec, type FeatureSpec } from '../features/spec.js';
import { GBDTRegressor, resolveParams, type GBDTParams } from '../gbdt/index.js';
import type { FeatureMatrix, ProgressInfo } from '../gbdt/types.js';
import { metricsReport } from '../metrics/regression.js';
import { exportOnnx } from '../onnx/export.js';
import { randomHoldout, timeHoldout, type Split } from '../split.js';
import { UserError } from '../../cli/errors.js';
import { datasetFingerprint } from './fingerprint.js';
import {
  MODEL_FORMAT,
  MODEL_FORMAT_VERSION,
  MODEL_ONNX_FILE,
  ONNX_INPUT_NAME,
  ONNX_OUTPUT_NAME,
  sha256Hex,
  writeModelDir,
  type DataSummary,
  type ModelMeta,
} from './meta.js';
import { loadPredictor } from './predictor.js';

/**
 * Defaults for the delivery-time problem (they override the learner's generic defaults).
 *
 * Chosen by time-ordered CV on the real sample (test/bench/ml/tune.ts: 3 expanding-window folds
 * over the earliest 80% of rows, so the reported holdout stays unseen; early stopping on the
 * latest 10% of each fold's train rows; coordinate search over learning rate {0.02, 0.03, 0.05,
 * 0.1}, leaves {15, 31, 63}, min rows per leaf {10, 20, 50, 100}, L2 {0, 1, 10, 100}, loss
 * {l2, huber δ=600 s}). Result on 2026-12-03, mean fold RMSE in seconds:
 *   start (lr 0.05, 31 leaves, 20 rows, L2 1, l2)  1015.4
 *   min rows per leaf 100                           1014.7
 *   + L2 10                                         1013.3  ← chosen
 *   huber instead of l2 1015.2; 63 leaves 1020.7; lr 0.1 1019.8; lr 0.02 1014.2
 * The spread is small (under 1%): delivery times are noisy (R² ≈ 0.3-0.4) and these settings
 * mostly trade variance. Early stopping picks the tree count (~100 at lr 0.05), so numTrees is
 * only a ceiling.
 */
export const ETA_DEFAULT_PARAMS: Readonly<Partial<GBDTParams>> = Object.freeze({
  numTrees: 2000,
  learningRate: 0.05,
  maxLeaves: 31,
  minDataInLeaf: 100,
  lambdaL2: 10,
  loss: 'l2',
  earlyStoppingRounds: 50,
});

/** Fewer rows than this cannot be split into train, early-stopping and holdout parts usefully. */
export const MIN_TRAINING_ROWS = 20;

export interface TrainOptions {
  /** Path, file://, https:// or s3:// URI of a DoorDash CSV (plain or gzip). */
  dataUri?: string;
  /** Or a Postgres query returning the DoorDash columns by name (read through a cursor). */
  dataQuery?: { url: string; sql: string };
  /** Or a Dataset already in memory (its report, if known, goes into model.json). */
  dataset?: Dataset;
  report?: DefectReport;
  /** Overrides of ETA_DEFAULT_PARAMS; validated before any data is read. */
  params?: Partial<GBDTParams>;
  /** Written when given (model.onnx + model.json). */
  modelDir?: string;
  modelName?: string;
  split?: 'time' | 'random';
  holdoutFraction?: number;
  earlyStoppingFraction?: number;
  refit?: boolean;
  /** Longest believable delivery for validation (reader default 6 h). */
  maxDurationSeconds?: number;
  onProgress?: (p: ProgressInfo & { stage: 'early-stopping' | 'final' }) => void;
  /** Human-readable steps ("read 24000 rows", …). */
  log?: (message: string) => void;
}

export interface TrainResult {
  meta: ModelMeta;
  onnx: Uint8Array;
  model: GBDTRegressor;
  spec: FeatureSpec;
  /** Row indices into the Dataset. */
  split: Split;
  dataset: Dataset;
}

export class TrainingError extends UserError {
  constructor(message: string, hint?: string) {
    super(message, hint, 1);
    this.name = 'TrainingError';
  }
}

export async function trainModel(opts: TrainOptions): Promise<TrainResult> {
  const params = resolveParams({ ...ETA_DEFAULT_PARAMS, ...opts.params });
  const holdoutFraction = checkFraction('holdoutFraction', opts.holdoutFraction ?? 0.2);
  const esFraction = checkFraction('earlyStoppingFraction', opts.earlyStoppingFraction ?? 0.1);
  const log = opts.log ?? (() => undefined);
  const { dataset: ds, report, source } = await loadData(opts);
  log(`read ${ds.rowCount} rows from ${source}`);

  const rows = usableRows(ds);
  if (rows.length < MIN_TRAINING_ROWS) {
    throw new TrainingError(
      `${source}: ${rows.length} row${rows.length === 1 ? '' : 's'} with a usable delivery time; training needs at least ${MIN_TRAINING_ROWS}`,
      report ? `rows dropped or without a target are listed by 'etaops validate' (defects: ${defectLine(report)})` : undefined,
    );
  }
  const split = opts.split === 'random' ? randomHoldout(rows, holdoutFraction, params.seed) : timeHoldout(ds.numeric.created_at, rows, holdoutFraction);
  const spec = fitFeatureSpec(ds, split.train);
  const y = targetSeconds(ds);
  const started = performance.now();
  const { model, earlyStoppingRows } = await fitWithEarlyStopping(ds, y, spec, split.train, params, esFraction, opts);
  const trainingSeconds = (performance.now() - started) / 1000;
  log(`trained ${model.bestIteration} trees on ${split.train.length} rows in ${trainingSeconds.toFixed(1)} s`);

  const forest = model.toJSON();
  const onnx = exportOnnx(forest, { featureNames: spec.names });
  const meta: ModelMeta = {
    format: MODEL_FORMAT,
    formatVersion: MODEL_FORMAT_VERSION,
    modelName: opts.modelName ?? 'delivery-eta',
    createdAt: new Date().toISOString(),
    etaopsVersion: packageVersion(),
    featureSpec: spec,
    params: model.params,
    bestIteration: model.bestIteration,
    split: {
      method: opts.split ?? 'time',
      holdoutFraction,
      trainRows: split.train.length,
      holdoutRows: split.holdout.length,
      earlyStoppingRows,
      holdoutFrom: isoRange(ds.numeric.created_at, split.holdout, Math.min),
      holdoutTo: isoRange(ds.numeric.created_at, split.holdout, Math.max),
    },
    metrics: { overall: emptyMetrics(), byMarket: {}, skipped: 0 },
    data: dataSummary(ds, report, source),
    trainingSeconds,
    featureImportance: Object.fromEntries(spec.names.map((n, i) => [n, forest.gainImportance[i] ?? 0])),
    onnx: { file: MODEL_ONNX_FILE, sha256: sha256Hex(onnx), inputName: ONNX_INPUT_NAME, outputName: ONNX_OUTPUT_NAME, numFeatures: spec.names.length },
    training_profile: null,
  };
  // Score the holdout with the exported artifact itself: these are the served model's metrics.
  const predictor = await loadPredictor({ onnx, meta });
  try {
    const predictedHoldout = await predictor.predict(ds, split.holdout);
    meta.metrics = metricsReport(y, scatter(ds.rowCount, split.holdout, predictedHoldout), ds.category.market_id, split.holdout);
  } finally {
    await predictor.close();
  }
  log(`holdout (${split.holdout.length} rows): RMSE ${meta.metrics.overall.rmse.toFixed(1)} s, MAE ${meta.metrics.overall.mae.toFixed(1)} s`);
  meta.training_profile = await trainingProfileHook(ds, split.train, model, spec, log);
  if (opts.modelDir) {
    await writeModelDir(opts.modelDir, onnx, meta);
    log(`wrote ${opts.modelDir}/model.onnx and model.json`);
  }
  return { meta, onnx, model, spec, split, dataset: ds };
}

async function loadData(opts: TrainOptions): Promise<{ dataset: Dataset; report?: DefectReport; source: string }> {
  if (opts.dataset) return { dataset: opts.dataset, report: opts.report, source: opts.report?.source ?? '(in-memory dataset)' };
  if (opts.dataQuery) {
    const { readDatasetFromQuery } = await import('../dataset/query.js'); // pg only when used
    const { dataset, report } = await readDatasetFromQuery(opts.dataQuery.url, opts.dataQuery.sql, { maxDurationSeconds: opts.maxDurationSeconds });
    return { dataset, report, source: report.source };
  }
  if (!opts.dataUri) throw new TrainingError('trainModel: give dataUri, dataQuery or dataset');
  const { dataset, report } = await readDataset(opts.dataUri, { maxDurationSeconds: opts.maxDurationSeconds });
  return { dataset, report, source: report.source };
}

/** Rows with a finite, positive delivery duration (the reader already blanks impossible ones). */
function usableRows(ds: Dataset): Int32Array {
  const created = ds.numeric.created_at;
  const delivered = ds.numeric.actual_delivery_time;
  const keep: number[] = [];
  for (let i = 0; i < ds.rowCount; i++) {
    const d = delivered[i] - created[i];
    if (Number.isFinite(d) && d > 0) keep.push(i);
  }
  return Int32Array.from(keep);
}

async function fitWithEarlyStopping(
  ds: Dataset,
  y: Float64Array,
  spec: FeatureSpec,
  trainRows: Int32Array,
  params: GBDTParams,
  esFraction: number,
  opts: TrainOptions,
): Promise<{ model: GBDTRegressor; earlyStoppingRows: number }> {
  const progress = (stage: 'early-stopping' | 'final') => (p: ProgressInfo) => opts.onProgress?.({ ...p, stage });
  if (params.earlyStoppingRounds === 0 || trainRows.length < 2 * MIN_TRAINING_ROWS) {
    const model = new GBDTRegressor({ ...params, earlyStoppingRounds: 0 });
    await model.fit(buildFeatures(ds, spec, trainRows), gather(y, trainRows), { featureNames: spec.names, onProgress: progress('final') });
    return { model, earlyStoppingRows: 0 };
  }
  const inner = timeHoldout(ds.numeric.created_at, trainRows, esFraction);
  const probe = new GBDTRegressor(params);
  await probe.fit(buildFeatures(ds, spec, inner.train), gather(y, inner.train), {
    validation: { X: buildFeatures(ds, spec, inner.holdout), y: gather(y, inner.holdout) },
    featureNames: spec.names,
    onProgress: progress('early-stopping'),
  });
  if (opts.refit === false) return { model: probe, earlyStoppingRows: inner.holdout.length };
  const trees = Math.max(1, probe.bestIteration);
  opts.log?.(`early stopping chose ${trees} trees; refitting on the whole train part`);
  const model = new GBDTRegressor({ ...params, numTrees: trees, earlyStoppingRounds: 0 });
  const X: FeatureMatrix = buildFeatures(ds, spec, trainRows);
  await model.fit(X, gather(y, trainRows), { featureNames: spec.names, onProgress: progress('final') });
  return { model, earlyStoppingRows: inner.holdout.length };
}

/**
 * Hook for drift: src/drift/profile.ts builds the training profile that DriftCheck uses as its
 * reference. Imported lazily so training still works (profile = null) in a build without it.
 */
async function trainingProfileHook(ds: Dataset, trainRows: Int32Array, model: GBDTRegressor, spec: FeatureSpec, log: (m: string) => void): Promise<unknown> {
  let mod: typeof import('../../drift/profile.js');
  try {
    mod = await import('../../drift/profile.js');
  } catch {
    log('drift module not available: training_profile left empty');
    return null;
  }
  const { subsetRows } = await import('../dataset/read.js');
  const trainPart = subsetRows(ds, trainRows);
  const predictions = model.predict(buildFeatures(trainPart, spec));
  return mod.buildTrainingProfile(trainPart, { predictions });
}

function gather(values: Float64Array, rows: Int32Array): Float64Array {
  const out = new Float64Array(rows.length);
  for (let k = 0; k < rows.length; k++) out[k] = values[rows[k]];
  return out;
}

/** A full-length array with `values` at `rows` and NaN elsewhere (for metricsReport's row subset). */
function scatter(n: number, rows: Int32Array, values: Float64Array): Float64Array {
  const out = new Float64Array(n).fill(NaN);
  for (let k = 0; k < rows.length; k++) out[rows[k]] = values[k];
  return out;
}

function isoRange(created: Float64Array, rows: Int32Array, pick: (a: number, b: number) => number): string | null {
  let v = NaN;
  for (const r of rows) if (Number.isFinite(created[r])) v = Number.isNaN(v) ? created[r] : pick(v, created[r]);
  return Number.isNaN(v) ? null : new Date(v * 1000).toISOString();
}

function dataSummary(ds: Dataset, report: DefectReport | undefined, source: string): DataSummary {
  const defects: Record<string, number> = {};
  if (report) for (const d of occurredDefects(report)) defects[d.kind] = d.count;
  return {
    source,
    fingerprint: datasetFingerprint(ds),
    fingerprintMethod: 'sha256-columns-v1',
    recordsRead: report?.recordsRead ?? ds.rowCount,
    rowsKept: report?.rowsKept ?? ds.rowCount,
    rowsDropped: report?.rowsDropped ?? 0,
    rowsForTraining: report?.rowsForTraining ?? usableRows(ds).length,
    rowsWithoutTarget: report?.rowsWithoutTarget ?? ds.rowCount - usableRows(ds).length,
    defects,
    warnings: report?.warnings ?? [],
  };
}

function defectLine(report: DefectReport): string {
  const d = occurredDefects(report);
  return d.length === 0 ? 'none' : d.map((e) => `${e.kind}=${e.count}`).join(', ');
}

function emptyMetrics(): ModelMeta['metrics']['overall'] {
  return { count: 0, rmse: NaN, mae: NaN, r2: NaN, mape: NaN, p50AbsError: NaN, p90AbsError: NaN, underPredicted5Min: NaN, underPredicted10Min: NaN };
}

function checkFraction(name: string, v: number): number {
  if (!(typeof v === 'number' && v > 0 && v < 1)) throw new TrainingError(`${name} must be a number > 0 and < 1, got ${String(v)}`);
  return v;
}

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
