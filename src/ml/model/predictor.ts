/**
 * The Predictor: a loaded model (onnxruntime-node session + its model.json) that turns orders
 * into predicted delivery seconds. Used by `etaops predict` / `evaluate` and the prediction
 * server; features come from the same `buildFeatures` as in training.
 */
import * as ort from 'onnxruntime-node';
import type { Dataset } from '../dataset/schema.js';
import { buildFeatures } from '../features/build.js';
import type { FeatureMatrix } from '../gbdt/types.js';
import { ModelDirError, readModelDir, sha256Hex, validateModelMeta, type ModelFiles, type ModelMeta } from './meta.js';
import { smallBatchEngine, type SmallBatchEngine } from './small-batch.js';

/** Rows per onnxruntime call: bounds the input/output tensors' memory for big batch files. */
export const PREDICT_BATCH_ROWS = 65_536;

export interface Predictor {
  readonly meta: ModelMeta;
  /** Predicted seconds for every row of `ds` (or the row indices in `rows`). */
  predict(ds: Dataset, rows?: Int32Array): Promise<Float64Array>;
  /** Predicted seconds for an already built feature matrix (benchmarks, parity tests). */
  predictFeatures(X: FeatureMatrix): Promise<Float64Array>;
  /** How runs are scored, for logs: onnxruntime alone, or small runs by the built-in evaluator (and why not). */
  readonly engine: string;
  close(): Promise<void>;
}

export interface PredictorOptions {
  /** onnxruntime intra-op threads; 0 = onnxruntime's default. */
  threads?: number;
  /**
   * Runs of at most this many rows are scored by the small-batch engine (small-batch.ts) when it
   * agrees with onnxruntime on the load-time probe; 0 (the default) = onnxruntime for all.
   */
  smallBatchRows?: number;
}

/** Loads a model directory, or model bytes + meta already in memory (e.g. fetched from S3). */
export async function loadPredictor(source: string | ModelFiles, options: PredictorOptions = {}): Promise<Predictor> {
  const files = typeof source === 'string' ? await readModelDir(source) : checkModelFiles(source);
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(files.onnx, {
      ...(options.threads ? { intraOpNumThreads: options.threads } : {}),
      graphOptimizationLevel: 'all',
    });
  } catch (err) {
    throw new ModelDirError(`model ${files.meta.modelName}: onnxruntime cannot load model.onnx: ${(err as Error).message}`);
  }
  const smallRows = options.smallBatchRows ?? 0;
  if (smallRows <= 0) return new OnnxPredictor(files.meta, session, undefined, 'onnxruntime');
  const names = { input: files.meta.onnx.inputName, output: files.meta.onnx.outputName };
  const small = await smallBatchEngine(files.onnx, files.meta.onnx.numFeatures, session, names).catch((err: Error) => ({ refused: err.message }));
  if ('refused' in small) return new OnnxPredictor(files.meta, session, undefined, `onnxruntime (no small-batch engine: ${small.refused})`);
  const engine = `onnxruntime; runs of up to ${smallRows} rows by the built-in tree evaluator (agreed with onnxruntime on ${small.probeRows} probe rows)`;
  return new OnnxPredictor(files.meta, session, { engine: small, maxRows: smallRows }, engine);
}

/** Model bytes + meta from memory, checked as readModelDir checks a directory's. */
export function checkModelFiles(files: ModelFiles): ModelFiles {
  const meta = validateModelMeta(files.meta);
  const digest = sha256Hex(files.onnx);
  if (digest !== meta.onnx.sha256) throw new ModelDirError(`model ${meta.modelName}: the ONNX bytes have sha256 ${digest}, model.json expects ${meta.onnx.sha256}`);
  return { onnx: files.onnx, meta };
}

class OnnxPredictor implements Predictor {
  private closed = false;

  constructor(
    readonly meta: ModelMeta,
    private readonly session: ort.InferenceSession,
    private readonly small: { engine: SmallBatchEngine; maxRows: number } | undefined,
    readonly engine: string,
  ) {}

  async predict(ds: Dataset, rows?: Int32Array): Promise<Float64Array> {
    return this.predictFeatures(buildFeatures(ds, this.meta.featureSpec, rows));
  }

  async predictFeatures(X: FeatureMatrix): Promise<Float64Array> {
    if (this.closed) throw new Error('predictor is closed');
    const want = this.meta.onnx.numFeatures;
    if (X.cols !== want) throw new RangeError(`feature matrix has ${X.cols} columns, the model expects ${want}`);
    if (this.small && X.rows <= this.small.maxRows) {
      const out = this.small.engine.forest.predict(X);
      // onnxruntime answers in float32; so does this engine, to serve the same numbers.
      for (let i = 0; i < out.length; i++) out[i] = Math.fround(out[i]);
      return out;
    }
    const out = new Float64Array(X.rows);
    for (let start = 0; start < X.rows; start += PREDICT_BATCH_ROWS) {
      const n = Math.min(PREDICT_BATCH_ROWS, X.rows - start);
      const input = new ort.Tensor('float32', X.data.subarray(start * X.cols, (start + n) * X.cols), [n, X.cols]);
      const result = await this.session.run({ [this.meta.onnx.inputName]: input });
      const output = result[this.meta.onnx.outputName];
      if (!output) throw new Error(`model.onnx has no output named '${this.meta.onnx.outputName}'`);
      out.set(output.data as Float32Array, start);
      input.dispose();
      output.dispose();
    }
    return out;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.session.release();
  }
}
