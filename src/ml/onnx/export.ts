/** ONNX export of a TrainedForest as one ai.onnx.ml TreeEnsembleRegressor node. */
import type { TrainedForest } from '../gbdt/forest.js';

export interface OnnxExportOptions {
  featureNames: string[];
  inputName?: 'features';
}

export function exportOnnx(_forest: TrainedForest, _opts: OnnxExportOptions): Uint8Array {
  throw new Error('exportOnnx: implementation in progress');
}
