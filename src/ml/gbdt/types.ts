/** Row-major feature matrix: value of row r, feature c at data[r * cols + c]; NaN = missing. */
export interface FeatureMatrix {
  data: Float32Array;
  rows: number;
  cols: number;
}

export interface ProgressInfo {
  /** 1-based count of trees built so far. */
  tree: number;
  trainLoss: number;
  validLoss?: number;
}

export interface FitOptions {
  /** Held-out rows for early stopping and the validation loss in progress reports. */
  validation?: { X: FeatureMatrix; y: Float64Array };
  featureNames?: string[];
  onProgress?: (p: ProgressInfo) => void;
}
