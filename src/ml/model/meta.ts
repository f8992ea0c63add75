/**
 * The model directory: `model.onnx` (the forest as an ai.onnx.ml TreeEnsembleRegressor, input
 * `features` float [N, F], output `prediction` float [N, 1]) and `model.json` (ModelMeta: what
 * is needed to rebuild features, judge and trace the model).
 *
 * model.json is plain JSON: metric values that are not defined (e.g. R² of a one-row market)
 * are written as null.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../../cli/errors.js';
import type { FeatureSpec } from '../features/spec.js';
import { FeatureSpecError, validateFeatureSpec } from '../features/spec.js';
import type { GBDTParams } from '../gbdt/params.js';
import type { MetricsReport } from '../metrics/regression.js';

export const MODEL_FORMAT = 'etaops-model' as const;
export const MODEL_FORMAT_VERSION = 1;
export const MODEL_ONNX_FILE = 'model.onnx';
export const MODEL_META_FILE = 'model.json';
export const ONNX_INPUT_NAME = 'features';
export const ONNX_OUTPUT_NAME = 'prediction';

export interface SplitSummary {
  /** 'time': the last `holdoutFraction` of rows by created_at; 'random': a seeded shuffle. */
  method: 'time' | 'random';
  holdoutFraction: number;
  trainRows: number;
  holdoutRows: number;
  /** Rows of the train part used only to pick the number of trees (early stopping). */
  earlyStoppingRows: number;
  /** created_at range of the holdout (ISO UTC), so a challenger can be scored on the same rows. */
  holdoutFrom: string | null;
  holdoutTo: string | null;
}

export interface DataSummary {
  source: string;
  /** sha256 over the validated columns (see fingerprint.ts): same data, same value. */
  fingerprint: string;
  fingerprintMethod: 'sha256-columns-v1';
  recordsRead: number;
  rowsKept: number;
  rowsDropped: number;
  rowsForTraining: number;
  rowsWithoutTarget: number;
  /** Defect counts by kind (only kinds that occurred). */
  defects: Record<string, number>;
  warnings: string[];
}

export interface ModelMeta {
  format: typeof MODEL_FORMAT;
  formatVersion: number;
  modelName: string;
  createdAt: string;
  etaopsVersion: string;
  featureSpec: FeatureSpec;
  /** Every GBDT parameter as used (defaults resolved). */
  params: GBDTParams;
  /** Trees in the exported model. */
  bestIteration: number;
  split: SplitSummary;
  /** Holdout metrics: overall and by market. */
  metrics: MetricsReport;
  data: DataSummary;
  trainingSeconds: number;
  /** Total split gain per feature name. */
  featureImportance: Record<string, number>;
  onnx: { file: string; sha256: string; inputName: string; outputName: string; numFeatures: number };
  /** Filled by src/drift/profile.ts when it is present; null otherwise. */
  training_profile: unknown;
}

export class ModelDirError extends UserError {
  constructor(message: string, hint?: string) {
    super(message, hint, 1);
    this.name = 'ModelDirError';
  }
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Writes both files; each is written to a temporary name and renamed, so readers never see half a model. */
export async function writeModelDir(dir: string, onnx: Uint8Array, meta: ModelMeta): Promise<void> {
  await mkdir(dir, { recursive: true });
  const onnxPath = path.join(dir, MODEL_ONNX_FILE);
  const metaPath = path.join(dir, MODEL_META_FILE);
  await writeFile(`${onnxPath}.tmp`, onnx);
  await writeFile(`${metaPath}.tmp`, JSON.stringify(meta, null, 2) + '\n');
  await rename(`${onnxPath}.tmp`, onnxPath);
  await rename(`${metaPath}.tmp`, metaPath);
}

export interface ModelFiles {
  onnx: Uint8Array;
  meta: ModelMeta;
}

export async function readModelDir(dir: string): Promise<ModelFiles> {
  // Both files are read at once; the error names every one that is missing (in a fixed order,
  // not whichever read failed first).
  const names = [MODEL_ONNX_FILE, MODEL_META_FILE];
  const reads = await Promise.allSettled(names.map((name) => readFile(path.join(dir, name))));
  const missing = names.filter((_, i) => reads[i].status === 'rejected' && (reads[i] as PromiseRejectedResult).reason?.code === 'ENOENT');
  if (missing.length > 0) throw new ModelDirError(`model directory ${dir}: ${missing.join(' and ')} not found`, "train one with 'etaops train --model-dir DIR'");
  reads.forEach((r, i) => {
    if (r.status === 'rejected') throw new ModelDirError(`model directory ${dir}: cannot read ${names[i]}: ${(r.reason as Error).message}`);
  });
  const [onnx, metaText] = reads.map((r) => (r as PromiseFulfilledResult<Buffer>).value);
  let raw: unknown;
  try {
    raw = JSON.parse(metaText.toString('utf8'));
  } catch (err) {
    throw new ModelDirError(`model directory ${dir}: ${MODEL_META_FILE} is not valid JSON: ${(err as Error).message}`);
  }
  const meta = validateModelMeta(raw, `${dir}/${MODEL_META_FILE}`);
  const digest = sha256Hex(onnx);
  if (meta.onnx.sha256 !== digest) {
    throw new ModelDirError(`model directory ${dir}: ${MODEL_ONNX_FILE} has sha256 ${digest} but ${MODEL_META_FILE} expects ${meta.onnx.sha256}: the files belong to different models`);
  }
  return { onnx: new Uint8Array(onnx.buffer, onnx.byteOffset, onnx.byteLength), meta };
}

/** Checks the fields prediction relies on; `where` names the file in messages. */
export function validateModelMeta(raw: unknown, where = MODEL_META_FILE): ModelMeta {
  const m = raw as Partial<ModelMeta> | null;
  if (!m || typeof m !== 'object' || m.format !== MODEL_FORMAT) throw new ModelDirError(`${where}: not an etaops model (format must be "${MODEL_FORMAT}")`);
  if (m.formatVersion !== MODEL_FORMAT_VERSION) {
    throw new ModelDirError(`${where}: formatVersion ${String(m.formatVersion)} is not supported (this etaops reads ${MODEL_FORMAT_VERSION})`, 'retrain the model with this etaops version');
  }
  try {
    validateFeatureSpec(m.featureSpec);
  } catch (err) {
    if (err instanceof FeatureSpecError) throw new ModelDirError(`${where}: ${err.message}`);
    throw err;
  }
  const o = m.onnx;
  if (!o || typeof o.sha256 !== 'string' || typeof o.inputName !== 'string' || typeof o.outputName !== 'string' || o.numFeatures !== m.featureSpec?.names.length) {
    throw new ModelDirError(`${where}: onnx must give sha256, inputName, outputName and numFeatures equal to the feature count`);
  }
  if (typeof m.modelName !== 'string' || m.modelName === '') throw new ModelDirError(`${where}: modelName must be a non-empty string`);
  return m as ModelMeta;
}
