/**
 * The boosting loop: gradients → (bagged rows, sampled features) → one leaf-wise tree →
 * leaf values (Newton step or residual quantile) × learning rate → updated predictions;
 * early stopping on a validation set keeps the best iteration and drops later trees.
 */
import { binFeatures, type BinnedFeatures } from './binning.js';
import type { TrainedForest, TrainedTree } from './forest.js';
import { TreeGrower, type HistogramBuilder } from './grower.js';
import { GradientPacking, packGradients } from './histogram.js';
import { evaluateLoss, makeObjective, quantileOf, type Objective } from './objective.js';
import { effectiveThreads, GBDTInputError, type GBDTParams } from './params.js';
import { ParallelHistogramBuilder, sharedFloat64, sharedUint32 } from './parallel.js';
import { checkMatrix } from './predict.js';
import { Rng } from './rng.js';
import { leafOutput } from './split.js';
import { Tree } from './tree.js';
import type { FeatureMatrix, FitOptions } from './types.js';

export function validateTrainingInput(X: FeatureMatrix, y: Float64Array, opts: FitOptions): void {
  checkMatrix(X, undefined, 'fit');
  if (!(y instanceof Float64Array)) throw new GBDTInputError('fit: y must be a Float64Array');
  if (y.length !== X.rows) throw new GBDTInputError(`fit: y has ${y.length} values but X has ${X.rows} rows`);
  if (X.cols < 1) throw new GBDTInputError('fit: X has no feature columns');
  if (X.rows < 2) throw new GBDTInputError(`fit: need at least 2 training rows, got ${X.rows}`);
  let bad = 0;
  for (let i = 0; i < y.length; i++) if (!Number.isFinite(y[i])) bad++;
  if (bad > 0) throw new GBDTInputError(`fit: y has ${bad} missing or non-finite targets; drop those rows before training`);
  if (opts.featureNames && opts.featureNames.length !== X.cols) {
    throw new GBDTInputError(`fit: ${opts.featureNames.length} feature names for ${X.cols} columns`);
  }
  const v = opts.validation;
  if (v) {
    checkMatrix(v.X, X.cols, 'fit validation');
    if (!(v.y instanceof Float64Array) || v.y.length !== v.X.rows) throw new GBDTInputError('fit: validation y must be a Float64Array with one value per validation row');
    if (v.X.rows < 1) throw new GBDTInputError('fit: the validation set has no rows');
    for (let i = 0; i < v.y.length; i++) {
      if (!Number.isFinite(v.y[i])) throw new GBDTInputError('fit: validation y has missing or non-finite targets');
    }
  }
}

/** Rows of the tree: all (identity order) or a Bernoulli(rowSubsample) bag. Returns the count. */
function drawRows(n: number, rate: number, rng: Rng, idx: Uint32Array, inBag: Uint8Array): number {
  if (rate >= 1) {
    for (let i = 0; i < n; i++) idx[i] = i;
    return n;
  }
  let m = 0;
  for (let i = 0; i < n; i++) {
    const take = rng.next() < rate;
    inBag[i] = take ? 1 : 0;
    if (take) idx[m++] = i;
  }
  return m;
}

/** Features of the tree: all, or ceil(rate × F) drawn without replacement, ascending. */
function drawFeatures(cols: number, rate: number, rng: Rng, all: Int32Array): Int32Array {
  if (rate >= 1) return all;
  const k = Math.max(1, Math.ceil(rate * cols));
  const perm = Int32Array.from(all);
  for (let i = 0; i < k; i++) {
    const j = i + rng.below(cols - i);
    const t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
  return perm.slice(0, k).sort();
}

/**
 * Sets each leaf's value (float32, shrunk) and adds it to the bagged rows' predictions. The
 * Newton step uses the exact (unquantized) gradient sum of the leaf's rows.
 */
function setLeafValues(
  tree: Tree,
  grower: TreeGrower,
  idx: Uint32Array,
  y: Float64Array,
  grad: Float64Array,
  pred: Float64Array,
  obj: Objective,
  p: GBDTParams,
  residuals: Float64Array,
): void {
  for (let k = 0; k < grower.numLeaves; k++) {
    const start = grower.leafStart[k];
    const end = grower.leafEnd[k];
    let raw: number;
    if (obj.refreshQuantile !== undefined) {
      for (let i = start; i < end; i++) residuals[i - start] = y[idx[i]] - pred[idx[i]];
      raw = quantileOf(residuals.subarray(0, end - start), obj.refreshQuantile);
    } else {
      let sum = 0;
      for (let i = start; i < end; i++) sum += grad[idx[i]];
      raw = leafOutput(sum, end - start, p.lambdaL2);
    }
    // Stored as float32 so ONNX (float32 leaf weights) and TS agree exactly on every leaf.
    const v = Math.fround(raw * p.learningRate);
    tree.value[grower.leafNode[k]] = v;
    for (let i = start; i < end; i++) pred[idx[i]] += v;
  }
}

/** Fewer rows than this train single-threaded: starting workers would cost more than it saves. */
export const MIN_ROWS_FOR_THREADS = 100_000;

export async function trainForest(X: FeatureMatrix, y: Float64Array, p: GBDTParams, opts: FitOptions): Promise<TrainedForest> {
  validateTrainingInput(X, y, opts);
  const threads = X.rows >= MIN_ROWS_FOR_THREADS ? effectiveThreads(p) : 1;
  const shared = threads > 1;
  const binned = binFeatures(X, p.maxBins, p.seed, shared);
  const idx = shared ? sharedUint32(X.rows) : new Uint32Array(X.rows);
  const packed = shared ? sharedFloat64(X.rows) : new Float64Array(X.rows);
  // Workers that cannot start (e.g. a bundle without the worker file) cost speed, not the fit.
  const parallel = shared ? await ParallelHistogramBuilder.start(binned, packed, idx, threads).catch(() => undefined) : undefined;
  try {
    return boost(X, y, p, opts, binned, idx, packed, parallel?.build);
  } finally {
    await parallel?.close();
  }
}

function boost(
  X: FeatureMatrix,
  y: Float64Array,
  p: GBDTParams,
  opts: FitOptions,
  binned: BinnedFeatures,
  idx: Uint32Array,
  packed: Float64Array,
  histogramBuilder: HistogramBuilder | undefined,
): TrainedForest {
  const n = X.rows;
  const cols = X.cols;
  const obj = makeObjective(p);
  const baseScore = Math.fround(obj.initScore(y));
  const pred = new Float64Array(n).fill(baseScore);
  const grad = new Float64Array(n);
  const packing = new GradientPacking();
  const inBag = new Uint8Array(n);
  const residuals = new Float64Array(obj.refreshQuantile !== undefined ? n : 0);
  const allFeatures = Int32Array.from({ length: cols }, (_, i) => i);
  const rng = new Rng(p.seed);
  const grower = new TreeGrower(binned, { ...p }, histogramBuilder);
  const tree = new Tree(p.maxLeaves);
  const valid = opts.validation;
  const validPred = valid ? new Float64Array(valid.X.rows).fill(baseScore) : undefined;
  const trees: TrainedTree[] = [];
  const treeGains: Float64Array[] = [];
  let bestLoss = Infinity;
  let bestIteration = 0;
  const bagging = p.rowSubsample < 1;

  for (let t = 0; t < p.numTrees; t++) {
    obj.gradients(y, pred, grad);
    const m = drawRows(n, p.rowSubsample, rng, idx, inBag);
    const features = drawFeatures(cols, p.colSubsample, rng, allFeatures);
    packGradients(grad, idx, m, packing, rng, packed);
    grower.grow(tree, packed, packing, idx, m, features);
    setLeafValues(tree, grower, idx, y, grad, pred, obj, p, residuals);
    if (bagging) {
      for (let r = 0; r < n; r++) if (inBag[r] === 0) pred[r] += tree.value[tree.leafOfBinnedRow(binned, r)];
    }
    trees.push(tree.toTrained());
    treeGains.push(splitGains(tree, cols));

    let validLoss: number | undefined;
    if (valid && validPred) {
      const vd = valid.X.data;
      for (let i = 0; i < valid.X.rows; i++) validPred[i] += tree.predictRaw(vd, i * cols);
      validLoss = evaluateLoss(obj, valid.y, validPred);
      if (validLoss < bestLoss) {
        bestLoss = validLoss;
        bestIteration = t + 1;
      }
    } else {
      bestIteration = t + 1;
    }
    if (opts.onProgress) opts.onProgress({ tree: t + 1, trainLoss: evaluateLoss(obj, y, pred), validLoss });
    if (valid && p.earlyStoppingRounds > 0 && t + 1 - bestIteration >= p.earlyStoppingRounds) break;
    // A root-only tree on all rows and features means no split can ever pass the constraints.
    if (grower.numLeaves === 1 && !bagging && p.colSubsample >= 1) break;
  }

  const kept = trees.slice(0, Math.max(1, bestIteration));
  return {
    format: 'etaops-gbdt',
    version: 1,
    numFeatures: cols,
    featureNames: opts.featureNames ? [...opts.featureNames] : undefined,
    baseScore,
    params: { ...p },
    bestIteration: kept.length,
    trees: kept,
    gainImportance: sumGains(treeGains.slice(0, kept.length), cols),
  };
}

/** Split gain per feature of one tree (for gain importance over the trees kept). */
function splitGains(tree: Tree, cols: number): Float64Array {
  const g = new Float64Array(cols);
  for (let i = 0; i < tree.numNodes; i++) if (tree.feature[i] >= 0) g[tree.feature[i]] += tree.gain[i];
  return g;
}

function sumGains(gains: Float64Array[], cols: number): number[] {
  const imp = new Array<number>(cols).fill(0);
  for (const g of gains) for (let f = 0; f < cols; f++) imp[f] += g[f];
  return imp;
}
