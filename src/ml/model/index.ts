/** Model directory format, predictor and training pipeline. */
export * from './meta.js';
export { loadPredictor, PREDICT_BATCH_ROWS, type Predictor, type PredictorOptions } from './predictor.js';
export { datasetFingerprint } from './fingerprint.js';
export { ETA_DEFAULT_PARAMS, MIN_TRAINING_ROWS, trainModel, TrainingError, type TrainOptions, type TrainResult } from './train.js';
