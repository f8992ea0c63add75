/**
 * Public API of the etaops histogram GBDT (LightGBM-style: quantile bins, histogram
 * subtraction, leaf-wise growth) with scikit-learn's estimator contract.
 */
export type { LossName, GBDTParams } from './params.js';
export { DEFAULT_PARAMS, GBDTParamError, GBDTInputError, resolveParams } from './params.js';
export type { TrainedForest, TrainedTree } from './forest.js';
export type { FeatureMatrix, FitOptions, ProgressInfo } from './types.js';
export { GBDTRegressor } from './regressor.js';
