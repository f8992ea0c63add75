import { test } from 'node:test';
import assert from 'node:assert/strict';
import { metricsReport, percentileSorted, regressionMetrics } from '../../src/ml/metrics/index.js';
import { kFold, orderByTime, randomHoldout, rowIndices, SplitError, timeHoldout, timeSeriesFolds } from '../../src/ml/split.js';

const close = (a: number, b: number, msg?: string): void => assert.ok(Math.abs(a - b) < 1e-9, `${msg ?? ''} ${a} != ${b}`);

// Errors e = y - p: [-100, 500, 0, -700]; worked out by hand in the comments below.
const actual = [1000, 2000, 3000, 4000, NaN];
const predicted = [1100, 1500, 3000, 4700, 1234];

test('regression metrics match hand-computed values and skip rows without an actual', () => {
  const m = regressionMetrics(actual, predicted);
  assert.equal(m.count, 4);
  close(m.rmse, Math.sqrt(750_000 / 4), 'rmse'); // (1e4 + 2.5e5 + 0 + 4.9e5) / 4
  close(m.mae, 325, 'mae'); // (100 + 500 + 0 + 700) / 4
  close(m.r2, 0.85, 'r2'); // 1 - 7.5e5 / 5e6 (mean 2500)
  close(m.mape, 0.13125, 'mape'); // (0.1 + 0.25 + 0 + 0.175) / 4
  close(m.p50AbsError, 300, 'p50'); // sorted |e| = [0,100,500,700], position 1.5
  close(m.p90AbsError, 640, 'p90'); // position 2.7: 500 + 0.7 * 200
  close(m.underPredicted5Min, 0.25, 'late5'); // only e = 500 > 300
  close(m.underPredicted10Min, 0, 'late10');
});

test('percentiles interpolate like numpy and are NaN when empty', () => {
  close(percentileSorted([10], 0.9), 10);
  close(percentileSorted([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9), 9.1);
  assert.ok(Number.isNaN(percentileSorted([], 0.5)));
});

test('metrics by market, with a group for orders without a market', () => {
  const market = { codes: Int32Array.of(0, 0, 1, -1, 0), values: ['1', '2'] };
  const r = metricsReport(actual, predicted, market);
  assert.equal(r.skipped, 1);
  assert.deepEqual(Object.keys(r.byMarket), ['1', '2', '(missing)']);
  close(r.byMarket['1'].rmse, Math.sqrt(130_000), 'market 1 rmse'); // (1e4 + 2.5e5) / 2
  close(r.byMarket['1'].mae, 300);
  assert.equal(r.byMarket['2'].count, 1);
  assert.ok(Number.isNaN(r.byMarket['2'].r2), 'R² of one row is undefined');
  close(r.byMarket['(missing)'].mae, 700);
  close(r.overall.rmse, Math.sqrt(750_000 / 4));
});

test('metrics restricted to a row subset', () => {
  const m = regressionMetrics(actual, predicted, [1, 3]);
  assert.equal(m.count, 2);
  close(m.mae, 600);
  assert.throws(() => regressionMetrics([1, 2], [1]), /2 actual values but 1 predictions/);
});

const times = Float64Array.of(50, 10, NaN, 40, 20, 30, 10);

test('time holdout takes the latest rows; unknown times stay in training', () => {
  assert.deepEqual(Array.from(orderByTime(times, rowIndices(7))), [2, 1, 6, 4, 5, 3, 0]);
  const s = timeHoldout(times, rowIndices(7), 0.3);
  assert.deepEqual(Array.from(s.holdout), [0, 3]); // 30% of 7 ≈ 2 latest: t=50 and t=40
  assert.deepEqual(Array.from(s.train), [1, 2, 4, 5, 6]);
  assert.throws(() => timeHoldout(times, rowIndices(7), 1), SplitError);
  assert.throws(() => timeHoldout(times, Int32Array.of(0), 0.2), /at least 2 rows/);
});

test('random holdout is deterministic per seed and a partition', () => {
  const rows = rowIndices(100);
  const a = randomHoldout(rows, 0.2, 7);
  const b = randomHoldout(rows, 0.2, 7);
  const c = randomHoldout(rows, 0.2, 8);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.holdout, c.holdout);
  assert.equal(a.holdout.length, 20);
  assert.deepEqual([...a.train, ...a.holdout].sort((x, y) => x - y), Array.from(rows));
});

test('k-fold validates every row exactly once; time folds only look forward', () => {
  const rows = rowIndices(23);
  const seen = new Int32Array(23);
  for (const f of kFold(rows, 5, 1)) {
    for (const r of f.valid) seen[r]++;
    assert.equal(f.train.length + f.valid.length, 23);
  }
  assert.ok(seen.every((n) => n === 1));
  const t = Float64Array.from({ length: 12 }, (_, i) => 100 - i); // row 11 is the earliest
  const folds = timeSeriesFolds(t, rowIndices(12), 3);
  assert.equal(folds.length, 3);
  for (const f of folds) {
    const latestTrain = Math.max(...Array.from(f.train, (r) => t[r]));
    const earliestValid = Math.min(...Array.from(f.valid, (r) => t[r]));
    assert.ok(latestTrain < earliestValid);
  }
  assert.equal(folds[2].train.length, 9);
  assert.throws(() => kFold(rows, 1, 0), /integer >= 2/);
  assert.deepEqual(Array.from(rowIndices(4, Uint8Array.of(1, 0, 0, 1))), [0, 3]);
});
