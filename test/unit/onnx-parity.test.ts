import assert from 'node:assert/strict';
import { test } from 'node:test';
import ort from 'onnxruntime-node';
import { GBDTRegressor, type FeatureMatrix, type GBDTParams } from '../../src/ml/gbdt/index.js';
import { exportOnnx } from '../../src/ml/onnx/export.js';
import { loadSampleMatrix, SAMPLE_MISSING_MESSAGE, syntheticData } from './gbdt-fixtures.js';

async function onnxPredict(bytes: Uint8Array, X: FeatureMatrix): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const out = await session.run({ features: new ort.Tensor('float32', X.data, [X.rows, X.cols]) });
    assert.deepEqual(out.prediction.dims, [X.rows, 1]);
    return out.prediction.data as Float32Array;
  } finally {
    await session.release();
  }
}

/** Asserts |ts − onnx| <= 1e-4 × |ts| on every row; returns the worst relative difference. */
function assertParity(ts: Float64Array, onnx: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < ts.length; i++) {
    const rel = Math.abs(ts[i] - onnx[i]) / Math.max(Math.abs(ts[i]), 1e-9);
    worst = Math.max(worst, rel);
    assert.ok(rel <= 1e-4, `row ${i}: TS ${ts[i]} vs onnxruntime ${onnx[i]}`);
  }
  return worst;
}

function rowsWithMissing(X: FeatureMatrix): number {
  let n = 0;
  for (let r = 0; r < X.rows; r++) {
    for (let c = 0; c < X.cols; c++) {
      if (Number.isNaN(X.data[r * X.cols + c])) {
        n++;
        break;
      }
    }
  }
  return n;
}

const sample = loadSampleMatrix();

test('ONNX and TS predictions agree on every row of the real sample', { skip: sample ? false : SAMPLE_MISSING_MESSAGE }, async () => {
  if (!sample) return;
  assert.ok(rowsWithMissing(sample.X) > 100, 'the sample has rows with missing values');
  for (const params of [{ numTrees: 100 }, { numTrees: 40, loss: 'l1', rowSubsample: 0.8, colSubsample: 0.7, maxLeaves: 63 }] as Partial<GBDTParams>[]) {
    const m = await new GBDTRegressor(params).fit(sample.X, sample.y, { featureNames: sample.featureNames });
    const forest = m.toJSON();
    assert.ok(forest.trees.some((t) => t.defaultLeft.some((d) => d === 1)) && forest.trees.some((t) => t.feature.some((f, i) => f >= 0 && t.defaultLeft[i] === 0)));
    const onnx = await onnxPredict(exportOnnx(forest, { featureNames: sample.featureNames }), sample.X);
    assertParity(m.predict(sample.X), onnx);
  }
});

test('ONNX parity on synthetic rows with missing values, extremes and unseen values', async () => {
  const d = syntheticData(3000, 5, 21);
  const m = await new GBDTRegressor({ numTrees: 80, learningRate: 0.2 }).fit(d.X, d.y);
  const probe = syntheticData(2000, 5, 22);
  const extremes = [NaN, -Infinity, -3.4e38, -1, 0, 1e-30, 4.999, 5, 5.0001, 9.99, 1e30, 3.4e38];
  for (let r = 0; r < probe.X.rows; r++) {
    if (r % 3 === 0) probe.X.data[r * 5 + (r % 5)] = extremes[r % extremes.length];
  }
  const onnx = await onnxPredict(exportOnnx(m.toJSON(), { featureNames: ['a', 'b', 'c', 'd', 'e'] }), probe.X);
  assertParity(m.predict(probe.X), onnx);
});

test('export rejects a feature-name list of the wrong length', async () => {
  const d = syntheticData(200, 3, 1);
  const m = await new GBDTRegressor({ numTrees: 2 }).fit(d.X, d.y);
  assert.throws(() => exportOnnx(m.toJSON(), { featureNames: ['a'] }), /1 feature names for a forest of 3/);
});
