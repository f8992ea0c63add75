/**
 * The Predictor: a loaded model (an onnxruntime-node session, the tree engine when asked for and
 * it agrees with that session, and model.json) that turns orders into predicted delivery
 * seconds. Used by `etaops predict` / `evaluate` and the prediction server; features come from
 * the same `buildFeatures` as in training.
 */
import * as ort from 'onnxruntime-node';
import type { Dataset } from '../dataset/schema.js';
import { buildFeatures } from '../features/build.js';
import type { FeatureMatrix } from '../gbdt/types.js';
import { ModelDirError, readModelDir, sha256Hex, validateModelMeta, type ModelFiles, type ModelMeta } from './meta.js';
import { treeEngine, type TreeEngine } from './tree-engine.js';

/** Rows per onnxruntime call: bounds the input/output tensors' memory for big batch files. */
export const PREDICT_BATCH_ROWS = 65_536;

export interface Predictor {
  readonly meta: ModelMeta;
  /** Predicted seconds for every row of `ds` (or the row indices in `rows`). */
  predict(ds: Dataset, rows?: Int32Array): Promise<Float64Array>;
  /** Predicted seconds for an already built feature matrix (benchmarks, parity tests). */
  predictFeatures(X: FeatureMatrix): Promise<Float64Array>;
  /** How rows are scored, for logs: by onnxruntime, or by the tree engine (and if not, why not). */
  readonly engine: string;
  close(): Promise<void>;
}

export interface PredictorOptions {
  /** onnxruntime intra-op threads; 0 = onnxruntime's default. */
  threads?: number;
  /**
   * Score with the tree engine (tree-engine.ts) when it agrees with onnxruntime on the load-time
   * probe; false (the default) = onnxruntime scores everything.
   */
  treeEngine?: boolean;
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
  if (!options.treeEngine) return new OnnxPredictor(files.meta, session, undefined, 'onnxruntime');
  const names = { input: files.meta.onnx.inputName, output: files.meta.onnx.outputName };
  const tree = await treeEngine(files.onnx, files.meta.onnx.numFeatures, session, names).catch((err: Error) => ({ refused: err.message }));
  if ('refused' in tree) return new OnnxPredictor(files.meta, session, undefined, `onnxruntime (no tree engine: ${tree.refused})`);
  return new OnnxPredictor(files.meta, session, tree, `tree engine (agreed with onnxruntime on ${tree.probeRows} probe rows)`);
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
    private readonly tree: TreeEngine | undefined,
    readonly engine: string,
  ) {}

  async predict(ds: Dataset, rows?: Int32Array): Promise<Float64Array> {
    return this.predictFeatures(buildFeatures(ds, this.meta.featureSpec, rows));
  }

  async predictFeatures(X: FeatureMatrix): Promise<Float64Array> {
    if (this.closed) throw new Error('predictor is closed');
    const want = this.meta.onnx.numFeatures;
    if (X.cols !== want) throw new RangeError(`feature matrix has ${X.cols} columns, the model expects ${want}`);
    if (this.tree) {
      const out = this.tree.forest.predict(X);
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
