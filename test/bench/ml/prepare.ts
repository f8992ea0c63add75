/**
 * Shared by the ML benchmarks: a data set → the exact train/holdout feature matrices etaops'
 * training pipeline would use (time holdout, feature spec fitted on the train part, rows of the
 * train part in time order so "the latest N rows" is simply the tail), written as raw
 * little-endian files that etaops, XGBoost and LightGBM all read: identical features for all.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { targetSeconds, type Dataset } from '../../../src/ml/dataset/schema.js';
import { buildFeatures, fitFeatureSpec, type FeatureSpec } from '../../../src/ml/features/index.js';
import type { GBDTParams } from '../../../src/ml/gbdt/index.js';
import type { FeatureMatrix } from '../../../src/ml/gbdt/types.js';
import { orderByTime, timeHoldout } from '../../../src/ml/split.js';

export interface PreparedData {
  spec: FeatureSpec;
  Xtrain: FeatureMatrix;
  ytrain: Float64Array;
  Xtest: FeatureMatrix;
  ytest: Float64Array;
  /** Tail rows of the train part used for early stopping (same rounding as trainModel). */
  earlyStoppingRows: number;
  /** Holdout row indices into the Dataset, in the order of Xtest. */
  testRows: Int32Array;
}

/** Rows with a finite, positive delivery duration, as trainModel selects them. */
export function usableRows(ds: Dataset): Int32Array {
  const y = targetSeconds(ds);
  const keep: number[] = [];
  for (let i = 0; i < ds.rowCount; i++) if (Number.isFinite(y[i]) && y[i] > 0) keep.push(i);
  return Int32Array.from(keep);
}

export function prepare(ds: Dataset, holdoutFraction = 0.2, esFraction = 0.1): PreparedData {
  const split = timeHoldout(ds.numeric.created_at, usableRows(ds), holdoutFraction);
  const trainInTime = orderByTime(ds.numeric.created_at, split.train);
  const spec = fitFeatureSpec(ds, split.train);
  const y = targetSeconds(ds);
  const inner = timeHoldout(ds.numeric.created_at, split.train, esFraction);
  return {
    spec,
    Xtrain: buildFeatures(ds, spec, trainInTime),
    ytrain: Float64Array.from(trainInTime, (r) => y[r]),
    Xtest: buildFeatures(ds, spec, split.holdout),
    ytest: Float64Array.from(split.holdout, (r) => y[r]),
    earlyStoppingRows: inner.holdout.length,
    testRows: split.holdout,
  };
}

export function writePrepared(dir: string, d: PreparedData, params: GBDTParams, threads: number): void {
  mkdirSync(dir, { recursive: true });
  const bytes = (a: Float32Array | Float64Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  writeFileSync(path.join(dir, 'X_train.f32'), bytes(d.Xtrain.data));
  writeFileSync(path.join(dir, 'y_train.f64'), bytes(d.ytrain));
  writeFileSync(path.join(dir, 'X_test.f32'), bytes(d.Xtest.data));
  const meta = {
    cols: d.Xtrain.cols,
    featureNames: d.spec.names,
    trainRows: d.Xtrain.rows,
    testRows: d.Xtest.rows,
    earlyStoppingRows: d.earlyStoppingRows,
    params,
    threads,
  };
  writeFileSync(path.join(dir, 'meta.json'), JSON.stringify(meta, null, 2));
}
