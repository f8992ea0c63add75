/**
 * The tree engine: CompiledForest built from the trees inside model.onnx, which scores the
 * server's and `etaops predict`'s rows in place of onnxruntime. For these models it is faster
 * at every run size: a one-row call costs onnxruntime-node about 10 µs, nearly all of it
 * per-call cost (tensor wrapping, N-API, a setImmediate hop), against about 3 µs here; at 1,000
 * rows onnxruntime with one thread takes about 2.7 µs a row against 1.9 µs (`make bench-serve`
 * measures both). One engine for every run size also means an order gets the same number
 * whether it comes alone or in a batch.
 *
 * It is the same model, not a second one: the trees are read from the very bytes onnxruntime
 * loaded, and before first use both engines score a probe built from every split threshold (at
 * it, just above it, missing), as a batch and row by row. Any difference beyond float32
 * rounding, or a model this reader does not cover, disables the engine and onnxruntime scores
 * everything.
 */
import * as ort from 'onnxruntime-node';
import { CompiledForest } from '../gbdt/predict.js';
import { Rng } from '../gbdt/rng.js';
import type { ForestTrees } from '../gbdt/forest.js';
import type { FeatureMatrix } from '../gbdt/types.js';
import { forestFromOnnx } from '../onnx/read.js';

/** Largest |js − onnxruntime| / max(1, |onnxruntime|) accepted: summation-order rounding only. */
const PARITY_TOLERANCE = 1e-5;
const PROBE_ROWS = 512;
/**
 * Largest ensemble the engine takes (etaops' defaults give a few tens of thousands of nodes);
 * reading a bigger one would hold hundreds of MB of JS arrays for a model onnxruntime serves well.
 */
const MAX_NODES = 1_000_000;

export interface TreeEngine {
  forest: CompiledForest;
  /** Probe rows both engines agreed on. */
  probeRows: number;
}

/** Rows whose features sit at, just above, or far from the forest's split thresholds, or are missing. */
export function thresholdProbe(forest: ForestTrees, rows = PROBE_ROWS, seed = 7): FeatureMatrix {
  const cols = forest.numFeatures;
  const thresholds: number[][] = Array.from({ length: cols }, () => []);
  for (const t of forest.trees) {
    for (let i = 0; i < t.feature.length; i++) if (t.feature[i] >= 0) thresholds[t.feature[i]].push(t.threshold[i]);
  }
  const rng = new Rng(seed);
  const bits = new Float32Array(1);
  const asInt = new Int32Array(bits.buffer);
  const data = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const ts = thresholds[c];
      const pick = rng.next();
      let v: number;
      if (pick < 0.1) v = NaN;
      else if (ts.length === 0 || pick < 0.2) v = (rng.next() - 0.5) * 1e4;
      else {
        bits[0] = ts[rng.below(ts.length)];
        // At the threshold goes left (x <= t); the next float32 up goes right.
        if (pick < 0.6 && Number.isFinite(bits[0])) asInt[0] += bits[0] >= 0 ? 1 : -1;
        v = bits[0];
      }
      data[r * cols + c] = v;
    }
  }
  return { data, rows, cols };
}

/**
 * The engine for `onnx`, or why there is none (a model this reader does not cover, or a probe
 * the two engines disagree on).
 */
export async function treeEngine(onnx: Uint8Array, numFeatures: number, session: ort.InferenceSession, names: { input: string; output: string }): Promise<TreeEngine | { refused: string }> {
  let trees: ForestTrees;
  try {
    trees = forestFromOnnx(onnx, numFeatures, { maxNodes: MAX_NODES });
  } catch (err) {
    return { refused: `model.onnx is not readable as an etaops tree ensemble: ${(err as Error).message}` };
  }
  const forest = new CompiledForest(trees);
  const probe = thresholdProbe(trees);
  const input = new ort.Tensor('float32', probe.data, [probe.rows, probe.cols]);
  const result = await session.run({ [names.input]: input });
  const expected = result[names.output]?.data as Float32Array | undefined;
  input.dispose();
  if (!expected || expected.length !== probe.rows) return { refused: `onnxruntime gave no ${names.output} for the probe` };
  // Both walks: the probe as one batch (four rows per tree), and row by row (four trees per row).
  const batched = forest.predict(probe);
  for (let r = 0; r < probe.rows; r++) {
    const alone = forest.predict({ data: probe.data.subarray(r * probe.cols, (r + 1) * probe.cols), rows: 1, cols: probe.cols })[0];
    for (const [got, how] of [[batched[r], 'in a batch'], [alone, 'alone']] as const) {
      const diff = Math.abs(got - expected[r]) / Math.max(1, Math.abs(expected[r]));
      if (!(diff <= PARITY_TOLERANCE)) {
        return { refused: `the tree engine gave ${got} for probe row ${r} ${how}, onnxruntime ${expected[r]}` };
      }
    }
  }
  return { forest, probeRows: probe.rows };
}
