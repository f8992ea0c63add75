import assert from 'node:assert/strict';
import { test } from 'node:test';
import { binFeatures, FLOAT32_MAX, findBinUppers, thresholdBetween, valueBin } from '../../src/ml/gbdt/binning.js';
import { Rng } from '../../src/ml/gbdt/rng.js';

function matrix(columns: number[][]): { data: Float32Array; rows: number; cols: number } {
  const rows = columns[0].length;
  const cols = columns.length;
  const data = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) data[r * cols + c] = columns[c][r];
  return { data, rows, cols };
}

test('few distinct values: one bin each, plus the missing bin', () => {
  const b = binFeatures(matrix([[3, 1, 2, 2, NaN, 1]]), 255, 1);
  assert.equal(b.numBins[0], 4); // missing + {1, 2, 3}
  assert.deepEqual(Array.from(b.bins), [3, 1, 2, 2, 0, 1]);
  const up = b.upper[0];
  assert.ok(up[0] >= 1 && up[0] < 2 && up[1] >= 2 && up[1] < 3);
  assert.equal(up[2], FLOAT32_MAX);
});

test('many distinct values: at most maxBins bins including missing, roughly equal counts', () => {
  const rng = new Rng(7);
  const col = Array.from({ length: 20_000 }, () => (rng.next() < 0.1 ? NaN : rng.next() * 1000));
  for (const maxBins of [255, 16, 2]) {
    const b = binFeatures(matrix([col]), maxBins, 1);
    assert.equal(b.numBins[0], maxBins);
    const counts = new Array<number>(maxBins).fill(0);
    for (const code of b.bins) counts[code]++;
    assert.equal(counts[0], col.filter((v) => Number.isNaN(v)).length);
    const present = 20_000 - counts[0];
    const share = present / (maxBins - 1);
    for (let k = 1; k < maxBins; k++) assert.ok(counts[k] > 0.5 * share && counts[k] < 1.5 * share, `bin ${k} holds ${counts[k]}, share ${share}`);
  }
});

test('a value heavier than a bin share gets a bin of its own', () => {
  const col = Array.from({ length: 1000 }, (_, i) => (i < 500 ? 0 : i));
  const up = findBinUppers(Float32Array.from(col).sort(), 10);
  assert.ok(up[0] >= 0 && up[0] < 500, `first bin holds only the zeros, upper ${up[0]}`);
  assert.ok(up.length <= 10);
});

test('constant and all-missing columns get a single value bin', () => {
  const b = binFeatures(matrix([[5, 5, 5, 5], [NaN, NaN, NaN, NaN], [5, NaN, 5, 5]]), 255, 1);
  assert.deepEqual(Array.from(b.numBins), [2, 2, 2]);
  // Column-major codes per feature, and the same codes row-major for histograms.
  assert.deepEqual(Array.from(b.bins), [1, 1, 1, 1, 0, 0, 0, 0, 1, 0, 1, 1]);
  assert.deepEqual(Array.from(b.rowBins), [1, 0, 1, 1, 0, 0, 1, 0, 1, 1, 0, 1]);
});

test('thresholds are float32 numbers and `v <= threshold` reproduces the bin of every value', () => {
  const rng = new Rng(3);
  const col = Array.from({ length: 5000 }, () => Math.fround((rng.next() - 0.5) * 1e6 * rng.next()));
  const X = matrix([col]);
  const b = binFeatures(X, 64, 1);
  const up = b.upper[0];
  for (const u of up) assert.equal(Math.fround(u), u);
  for (let r = 0; r < X.rows; r++) {
    const v = X.data[r];
    const bin = b.bins[r];
    assert.ok(v <= up[bin - 1], `value ${v} <= upper of its bin`);
    if (bin > 1) assert.ok(v > up[bin - 2], `value ${v} > upper of the bin below`);
  }
});

test('thresholdBetween stays in [a, b) for adjacent float32 numbers', () => {
  const a = Math.fround(1.1);
  const next = new Float32Array(new Uint32Array([new Uint32Array(Float32Array.of(a).buffer)[0] + 1]).buffer)[0];
  assert.equal(thresholdBetween(a, next), a);
  const t = thresholdBetween(1, 2);
  assert.equal(t, 1.5);
  assert.equal(valueBin(Float64Array.of(1.5, FLOAT32_MAX), 1.5), 1);
  assert.equal(valueBin(Float64Array.of(1.5, FLOAT32_MAX), 1.6), 2);
});

test('binning is deterministic and sample-based beyond 200k rows', () => {
  const rng = new Rng(11);
  const rows = 250_000;
  const data = new Float32Array(rows);
  for (let i = 0; i < rows; i++) data[i] = rng.next();
  const X = { data, rows, cols: 1 };
  const a = binFeatures(X, 255, 5);
  const b = binFeatures(X, 255, 5);
  assert.deepEqual(a.upper[0], b.upper[0]);
  assert.equal(a.numBins[0], 255);
});
