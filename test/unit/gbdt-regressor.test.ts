import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GBDTInputError, GBDTParamError, GBDTRegressor, type FeatureMatrix } from '../../src/ml/gbdt/index.js';
import { Rng } from '../../src/ml/gbdt/rng.js';
import { syntheticData } from './gbdt-fixtures.js';
import { thresholdProbe } from '../../src/ml/model/tree-engine.js';

function rmse(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return Math.sqrt(s / a.length);
}

test('learns a nonlinear function far better than the mean', async () => {
  const train = syntheticData(4000, 5, 1);
  const test_ = syntheticData(2000, 5, 2);
  const m = await new GBDTRegressor({ numTrees: 150, learningRate: 0.1 }).fit(train.X, train.y);
  const meanOnly = new Float64Array(test_.y.length).fill(train.y.reduce((s, v) => s + v, 0) / train.y.length);
  const err = rmse(m.predict(test_.X), test_.y);
  assert.ok(err < 0.25 * rmse(meanOnly, test_.y), `rmse ${err}`);
  const imp = m.featureImportance();
  assert.equal(imp.length, 5);
  assert.ok(imp[0] > imp[4] && imp[2] > imp[4], 'informative features carry more gain than noise');
});

test('missing values are routed by what they predict', async () => {
  // x is pure noise where present; the target depends only on whether x is missing.
  const rng = new Rng(4);
  const rows = 2000;
  const data = new Float32Array(rows);
  const y = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    const missing = rng.next() < 0.3;
    data[i] = missing ? NaN : rng.next() * 100;
    y[i] = missing ? 10 : 0;
  }
  const m = await new GBDTRegressor({ numTrees: 50, learningRate: 0.3 }).fit({ data, rows, cols: 1 }, y);
  const p = m.predict({ data: Float32Array.of(NaN, 1, 50, 99, 1e9, -1e9), rows: 6, cols: 1 });
  assert.ok(Math.abs(p[0] - 10) < 0.1, `missing → ${p[0]}`);
  for (let i = 1; i < 6; i++) assert.ok(Math.abs(p[i]) < 0.1, `present → ${p[i]}`);
  const tree = m.toJSON().trees[0];
  assert.equal(tree.defaultLeft[0], 0, 'missing goes right, away from every present value');
});

test('missing values go left when they behave like small values', async () => {
  const rng = new Rng(5);
  const rows = 2000;
  const data = new Float32Array(rows);
  const y = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    const v = rng.next() * 100;
    y[i] = v < 50 ? 1 : 5;
    data[i] = v < 50 && rng.next() < 0.3 ? NaN : v;
  }
  const m = await new GBDTRegressor({ numTrees: 30, learningRate: 0.5 }).fit({ data, rows, cols: 1 }, y);
  assert.equal(m.toJSON().trees[0].defaultLeft[0], 1);
  assert.ok(Math.abs(m.predict({ data: Float32Array.of(NaN), rows: 1, cols: 1 })[0] - 1) < 0.05);
});

test('same seed → identical forests; another seed with subsampling → different', async () => {
  const d = syntheticData(3000, 6, 3);
  const params = { numTrees: 20, rowSubsample: 0.7, colSubsample: 0.5, seed: 17 };
  const a = await new GBDTRegressor(params).fit(d.X, d.y);
  const b = await new GBDTRegressor(params).fit(d.X, d.y);
  assert.deepEqual(a.toJSON(), b.toJSON());
  const c = await new GBDTRegressor({ ...params, seed: 18 }).fit(d.X, d.y);
  assert.notDeepEqual(a.toJSON().trees, c.toJSON().trees);
});

test('early stopping stops, trims to the best iteration, whose validation loss is the minimum', async () => {
  const train = syntheticData(800, 4, 6, 3);
  const valid = syntheticData(400, 4, 7, 3);
  const validLosses: number[] = [];
  const m = await new GBDTRegressor({ numTrees: 500, learningRate: 0.5, maxLeaves: 63, minDataInLeaf: 2, earlyStoppingRounds: 10 }).fit(train.X, train.y, {
    validation: valid,
    onProgress: (p) => validLosses.push(p.validLoss as number),
  });
  assert.ok(validLosses.length < 500, 'stopped early');
  const best = m.bestIteration;
  assert.equal(validLosses.length, best + 10);
  assert.equal(m.toJSON().trees.length, best);
  assert.equal(Math.min(...validLosses), validLosses[best - 1]);
  assert.ok(Math.abs(rmse(m.predict(valid.X), valid.y) - validLosses[best - 1]) < 1e-6 * validLosses[best - 1]);
});

test('maxDepth and maxLeaves bound every tree', async () => {
  const d = syntheticData(3000, 5, 8);
  const m = await new GBDTRegressor({ numTrees: 10, maxLeaves: 64, maxDepth: 3 }).fit(d.X, d.y);
  for (const t of m.toJSON().trees) {
    const depth = (n: number): number => (t.feature[n] < 0 ? 0 : 1 + Math.max(depth(t.left[n]), depth(t.right[n])));
    assert.ok(depth(0) <= 3);
  }
  const m2 = await new GBDTRegressor({ numTrees: 10, maxLeaves: 7 }).fit(d.X, d.y);
  for (const t of m2.toJSON().trees) assert.equal(t.feature.filter((f) => f < 0).length, 7);
});

test('invalid parameters fail up front, naming the parameter and its range', () => {
  const cases: [Record<string, unknown>, string, RegExp][] = [
    [{ maxBins: 300 }, 'maxBins', /<= 255/],
    [{ learningRate: 0 }, 'learningRate', /> 0/],
    [{ numTrees: 2.5 }, 'numTrees', /integer/],
    [{ rowSubsample: NaN }, 'rowSubsample', /finite/],
    [{ loss: 'poisson' }, 'loss', /l2, l1, huber, quantile/],
    [{ quantileAlpha: 1 }, 'quantileAlpha', /< 1/],
    [{ maxLeaf: 10 }, 'maxLeaf', /known parameters/],
  ];
  for (const [params, name, range] of cases) {
    assert.throws(
      () => new GBDTRegressor(params),
      (e: unknown) => e instanceof GBDTParamError && e.param === name && range.test(e.message),
      name,
    );
  }
});

test('garbage input: clear errors, or a model that ignores what carries nothing', async () => {
  const one: FeatureMatrix = { data: Float32Array.of(1, 2), rows: 1, cols: 2 };
  await assert.rejects(new GBDTRegressor().fit(one, Float64Array.of(3)), (e: unknown) => e instanceof GBDTInputError && /at least 2/.test(e.message));
  await assert.rejects(new GBDTRegressor().fit({ data: new Float32Array(0), rows: 0, cols: 3 }, new Float64Array(0)), GBDTInputError);
  await assert.rejects(new GBDTRegressor().fit({ data: new Float32Array(5), rows: 2, cols: 3 }, new Float64Array(2)), /5 values but rows x cols/);
  await assert.rejects(new GBDTRegressor().fit({ data: new Float32Array(6), rows: 3, cols: 2 }, Float64Array.of(1, NaN, 2)), /1 missing or non-finite/);
  await assert.rejects(new GBDTRegressor().fit({ data: new Float32Array(6), rows: 3, cols: 2 }, Float64Array.of(1, 2)), /y has 2 values/);
  assert.throws(() => new GBDTRegressor().predict(one), /not fitted/);

  const d = syntheticData(500, 3, 9);
  for (let r = 0; r < d.X.rows; r++) d.X.data[r * 3 + 2] = NaN; // an all-missing column
  const m = await new GBDTRegressor({ numTrees: 20 }).fit(d.X, d.y);
  assert.equal(m.featureImportance()[2], 0);
  assert.throws(() => m.predict({ data: new Float32Array(4), rows: 2, cols: 2 }), /2 feature columns but the model was trained on 3/);

  const constant = await new GBDTRegressor({ numTrees: 20 }).fit(d.X, new Float64Array(500).fill(7.5));
  assert.ok(constant.predict(d.X).every((v) => v === 7.5));
  assert.equal(constant.toJSON().trees.length, 1, 'stops once no split is possible');
});

test('JSON round trip predicts identically; a corrupt forest is rejected', async () => {
  const d = syntheticData(1000, 4, 10);
  const m = await new GBDTRegressor({ numTrees: 15 }).fit(d.X, d.y);
  const copy = GBDTRegressor.fromJSON(JSON.parse(JSON.stringify(m.toJSON())));
  assert.deepEqual(copy.predict(d.X), m.predict(d.X));
  const bad = JSON.parse(JSON.stringify(m.toJSON()));
  bad.trees[0].left[0] = 0;
  assert.throws(() => GBDTRegressor.fromJSON(bad), /child indices out of range/);
  assert.throws(() => GBDTRegressor.fromJSON({ ...m.toJSON(), format: 'xgboost' } as never), /not an etaops-gbdt/);
});

test('tiny data with heavy subsampling and no regularisation still gives finite predictions', async () => {
  const d = syntheticData(6, 2, 12);
  const m = await new GBDTRegressor({ numTrees: 20, rowSubsample: 0.1, lambdaL2: 0, minDataInLeaf: 1 }).fit(d.X, d.y);
  assert.ok(m.predict(d.X).every((v) => Number.isFinite(v)));
});

/** The routing rule of forest.ts, walked node by node on the forest as trained: the reference for CompiledForest. */
function referencePredict(f: ReturnType<GBDTRegressor['toJSON']>, X: FeatureMatrix): Float64Array {
  const out = new Float64Array(X.rows);
  for (let r = 0; r < X.rows; r++) {
    let sum = f.baseScore;
    for (const t of f.trees) {
      let node = 0;
      while (t.feature[node] >= 0) {
        const x = X.data[r * X.cols + t.feature[node]];
        const left = Number.isNaN(x) ? t.defaultLeft[node] === 1 : x <= t.threshold[node];
        node = left ? t.left[node] : t.right[node];
      }
      sum += t.value[node];
    }
    out[r] = sum;
  }
  return out;
}

test('the compiled layout (adjacent children, branch-free walks of four rows or four trees) predicts bit for bit what the plain walk does', async () => {
  const d = syntheticData(3000, 6, 11);
  for (let i = 0; i < d.X.data.length; i += 13) d.X.data[i] = NaN;
  // 61 trees: groups of four trees for a leftover row, and one tree after them.
  const m = await new GBDTRegressor({ numTrees: 61, maxLeaves: 63, learningRate: 0.1, numThreads: 1 }).fit(d.X, d.y);
  assert.equal(m.toJSON().trees.length, 61);
  const f = m.toJSON();
  assert.ok(f.trees.some((t) => t.defaultLeft.includes(1)) && f.trees.some((t) => t.feature.some((v, i) => v >= 0 && t.defaultLeft[i] === 0)), 'missing values go both ways somewhere');
  // 1,503 rows: four-row groups and a plain-walk tail.
  const probe = syntheticData(1503, 6, 12).X;
  for (let i = 0; i < probe.data.length; i += 7) probe.data[i] = NaN;
  assert.deepEqual(m.predict(probe), referencePredict(f, probe));
  // Values exactly at thresholds and the next float32 above them, where <= and > part ways.
  const atThresholds = thresholdProbe(f, 2000);
  assert.deepEqual(m.predict(atThresholds), referencePredict(f, atThresholds));
  // The same rows one at a time: all of them take the four-trees walk.
  for (let r = 0; r < atThresholds.rows; r += 1) {
    const one = { data: atThresholds.data.subarray(r * atThresholds.cols, (r + 1) * atThresholds.cols), rows: 1, cols: atThresholds.cols };
    assert.deepEqual(m.predict(one), referencePredict(f, one), `threshold probe row ${r} alone`);
  }
  // Every row count from 1 to 9 (the serving case: groups of four, tails of 0 to 3).
  for (let rows = 1; rows <= 9; rows++) {
    const some = { data: probe.data.subarray(0, rows * 6), rows, cols: 6 };
    assert.deepEqual(m.predict(some), referencePredict(f, some), `${rows} rows`);
  }
});
