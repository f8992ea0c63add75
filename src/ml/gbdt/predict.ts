/**
 * Prediction from a TrainedForest: all trees' nodes concatenated into typed arrays once, then a
 * tight loop per row. Routing is the one documented in forest.ts (and mirrored by ONNX).
 */
import type { ForestTrees } from './forest.js';
import { GBDTInputError } from './params.js';
import type { FeatureMatrix } from './types.js';

export class CompiledForest {
  private readonly feature: Int32Array;
  private readonly threshold: Float64Array;
  private readonly defaultLeft: Uint8Array;
  private readonly left: Int32Array;
  private readonly right: Int32Array;
  private readonly value: Float64Array;
  private readonly roots: Int32Array;
  readonly baseScore: number;
  readonly numFeatures: number;

  constructor(forest: ForestTrees) {
    validateForest(forest);
    let total = 0;
    for (const t of forest.trees) total += t.feature.length;
    this.feature = new Int32Array(total);
    this.threshold = new Float64Array(total);
    this.defaultLeft = new Uint8Array(total);
    this.left = new Int32Array(total);
    this.right = new Int32Array(total);
    this.value = new Float64Array(total);
    this.roots = new Int32Array(forest.trees.length);
    let off = 0;
    forest.trees.forEach((t, ti) => {
      this.roots[ti] = off;
      for (let i = 0; i < t.feature.length; i++) {
        const leaf = t.feature[i] < 0;
        this.feature[off + i] = leaf ? -1 : t.feature[i];
        this.threshold[off + i] = t.threshold[i];
        this.defaultLeft[off + i] = t.defaultLeft[i];
        this.left[off + i] = leaf ? -1 : t.left[i] + off;
        this.right[off + i] = leaf ? -1 : t.right[i] + off;
        this.value[off + i] = t.value[i];
      }
      off += t.feature.length;
    });
    this.baseScore = forest.baseScore;
    this.numFeatures = forest.numFeatures;
  }

  predict(X: FeatureMatrix): Float64Array {
    checkMatrix(X, this.numFeatures, 'predict');
    const out = new Float64Array(X.rows);
    const { feature, threshold, defaultLeft, left, right, value, roots } = this;
    const data = X.data;
    const cols = X.cols;
    for (let r = 0; r < X.rows; r++) {
      const base = r * cols;
      let sum = this.baseScore;
      for (let t = 0; t < roots.length; t++) {
        let node = roots[t];
        let f = feature[node];
        while (f >= 0) {
          const x = data[base + f];
          const goLeft = x !== x ? defaultLeft[node] === 1 : x <= threshold[node];
          node = goLeft ? left[node] : right[node];
          f = feature[node];
        }
        sum += value[node];
      }
      out[r] = sum;
    }
    return out;
  }
}

/** Shape checks shared by fit and predict: a precise error instead of silent garbage. */
export function checkMatrix(X: FeatureMatrix, expectedCols: number | undefined, what: string): void {
  if (!X || !(X.data instanceof Float32Array)) throw new GBDTInputError(`${what}: X.data must be a Float32Array`);
  if (!Number.isInteger(X.rows) || X.rows < 0 || !Number.isInteger(X.cols) || X.cols < 0) {
    throw new GBDTInputError(`${what}: X.rows and X.cols must be non-negative integers (got ${X.rows} x ${X.cols})`);
  }
  if (X.data.length !== X.rows * X.cols) {
    throw new GBDTInputError(`${what}: X.data has ${X.data.length} values but rows x cols = ${X.rows} x ${X.cols} = ${X.rows * X.cols}`);
  }
  if (expectedCols !== undefined && X.cols !== expectedCols) {
    throw new GBDTInputError(`${what}: X has ${X.cols} feature columns but the model was trained on ${expectedCols}`);
  }
}

/** A forest read from JSON is checked before use: indices in range, leaves well formed. */
export function validateForest(f: ForestTrees): void {
  if (!f || f.format !== 'etaops-gbdt' || f.version !== 1) throw new GBDTInputError('not an etaops-gbdt v1 forest (format/version fields)');
  if (!Number.isInteger(f.numFeatures) || f.numFeatures < 1) throw new GBDTInputError(`forest numFeatures must be a positive integer, got ${f.numFeatures}`);
  if (!Number.isFinite(f.baseScore)) throw new GBDTInputError('forest baseScore must be a finite number');
  if (!Array.isArray(f.trees)) throw new GBDTInputError('forest trees must be an array');
  f.trees.forEach((t, ti) => {
    const n = t.feature?.length ?? 0;
    if (n < 1) throw new GBDTInputError(`tree ${ti} has no nodes`);
    for (const key of ['threshold', 'defaultLeft', 'left', 'right', 'value'] as const) {
      if (!Array.isArray(t[key]) || t[key].length !== n) throw new GBDTInputError(`tree ${ti}: ${key} must have ${n} entries`);
    }
    for (let i = 0; i < n; i++) {
      if (t.feature[i] < 0) {
        if (!Number.isFinite(t.value[i])) throw new GBDTInputError(`tree ${ti} leaf ${i} has a non-finite value`);
        continue;
      }
      if (t.feature[i] >= f.numFeatures) throw new GBDTInputError(`tree ${ti} node ${i} uses feature ${t.feature[i]} of ${f.numFeatures}`);
      // Children come after their parent, which also rules out cycles.
      if (!(t.left[i] > i && t.left[i] < n && t.right[i] > i && t.right[i] < n)) {
        throw new GBDTInputError(`tree ${ti} node ${i} has child indices out of range`);
      }
    }
  });
}
