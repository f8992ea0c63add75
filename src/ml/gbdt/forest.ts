/**
 * The trained model in a flat, JSON-friendly form: one array per node attribute, so it loads
 * straight into typed arrays and maps one-to-one onto ONNX TreeEnsembleRegressor attributes.
 *
 * Routing rule (the same in TS prediction and in ONNX): at an internal node, a missing (NaN)
 * value goes left when `defaultLeft` is 1, otherwise right; a present value goes left when
 * `value <= threshold` compared in float32. Thresholds are float32-representable numbers.
 * Features are expected finite or NaN: +Infinity trains in the top bin but at a "present vs
 * missing" split (threshold = largest float32) it is routed right, like a missing value.
 */
import type { GBDTParams } from './params.js';

export interface TrainedTree {
  /** Feature index at internal nodes; -1 at leaves. */
  feature: number[];
  /** Split threshold (float32-representable); 0 at leaves. */
  threshold: number[];
  /** 1 = missing values go left, 0 = right; 0 at leaves. */
  defaultLeft: number[];
  /** Child node indices; -1 at leaves. */
  left: number[];
  right: number[];
  /** Leaf output already multiplied by the learning rate; 0 at internal nodes. */
  value: number[];
}

export interface TrainedForest {
  format: 'etaops-gbdt';
  version: 1;
  numFeatures: number;
  featureNames?: string[];
  /** Initial prediction added to the sum of tree outputs. */
  baseScore: number;
  params: GBDTParams;
  /** Trees kept (best iteration with early stopping). */
  bestIteration: number;
  trees: TrainedTree[];
  /** Total split gain per feature. */
  gainImportance: number[];
}

/** What prediction needs of a forest: its trees and base score (model.onnx holds only these). */
export type ForestTrees = Pick<TrainedForest, 'format' | 'version' | 'numFeatures' | 'baseScore' | 'trees'>;
