import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MIN_ROWS_FOR_THREADS } from '../../src/ml/gbdt/booster.js';
import { GradientPacking, packGradients, unpackCount, unpackGrad } from '../../src/ml/gbdt/histogram.js';
import { GBDTRegressor } from '../../src/ml/gbdt/index.js';
import { Rng } from '../../src/ml/gbdt/rng.js';
import { syntheticData } from './gbdt-fixtures.js';

test('packed gradient sums decode exactly to (quantized sum, count), negative sums included', () => {
  const rng = new Rng(2);
  for (const rows of [3, 1000, 200_000]) {
    const grad = Float64Array.from({ length: rows }, () => (rng.next() - 0.7) * 1e4);
    const idx = Uint32Array.from({ length: rows }, (_, i) => i);
    const packing = new GradientPacking();
    const packed = new Float64Array(rows);
    packGradients(grad, idx, rows, packing, rng, packed);
    assert.ok(packing.levels >= 1000, `${packing.levels} quantization levels for ${rows} rows`);
    let sum = 0;
    let qSum = 0;
    for (let i = 0; i < rows; i++) {
      sum += packed[i];
      qSum += unpackGrad(packed[i], packing.countBase);
      assert.equal(unpackCount(packed[i], packing.countBase), 1);
      // Stochastic rounding: within one step of the exact gradient.
      assert.ok(Math.abs(unpackGrad(packed[i], packing.countBase) * packing.scale - grad[i]) <= packing.scale * (1 + 1e-9));
    }
    assert.ok(Number.isSafeInteger(sum));
    assert.equal(unpackCount(sum, packing.countBase), rows);
    assert.equal(unpackGrad(sum, packing.countBase), qSum);
  }
});

test('worker threads build the same forest as one thread, bit for bit', async () => {
  const d = syntheticData(MIN_ROWS_FOR_THREADS, 4, 31);
  const params = { numTrees: 3, maxLeaves: 15, rowSubsample: 0.9 };
  const one = await new GBDTRegressor({ ...params, numThreads: 1 }).fit(d.X, d.y);
  const two = await new GBDTRegressor({ ...params, numThreads: 2 }).fit(d.X, d.y);
  assert.deepEqual(two.toJSON().trees, one.toJSON().trees);
  assert.ok(one.toJSON().trees[0].feature.length > 20);
});
