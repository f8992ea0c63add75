import assert from 'node:assert/strict';
import { test } from 'node:test';
import { binFeatures } from '../../src/ml/gbdt/binning.js';
import { partitionRows } from '../../src/ml/gbdt/grower.js';
import { buildHistogram, GradientPacking, subtractHistogram } from '../../src/ml/gbdt/histogram.js';
import { Rng } from '../../src/ml/gbdt/rng.js';
import { findBestSplit, SplitResult, type SplitConstraints } from '../../src/ml/gbdt/split.js';

interface Case {
  X: { data: Float32Array; rows: number; cols: number };
  grad: Float64Array;
  packed: Float64Array;
  packing: GradientPacking;
}

/** Packing with a fixed 1/8 step so integer multiples of 1/8 are represented exactly. */
function eighthsPacking(grad: Float64Array): { packed: Float64Array; packing: GradientPacking } {
  const packing = new GradientPacking();
  packing.countBase = 256;
  packing.scale = 1 / 8;
  packing.levels = 1 << 20;
  const packed = grad.map((g) => g * 8 * 256 + 1);
  return { packed, packing };
}

/** Small data with few distinct values (so ties and empty bins happen) and missing values. */
function randomCase(seed: number): Case {
  const rng = new Rng(seed);
  const rows = 30 + rng.below(60);
  const cols = 1 + rng.below(4);
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < data.length; i++) data[i] = rng.next() < 0.15 ? NaN : rng.below(12) - 3;
  // Gradients on a 1/8 grid: sums are exact, so gains match bit for bit.
  const grad = Float64Array.from({ length: rows }, () => (rng.below(65) - 32) / 8);
  return { X: { data, rows, cols }, grad, ...eighthsPacking(grad) };
}

/** Every threshold of every feature, both missing directions, by direct row sums. */
function bruteForce(c: Case, rows: Uint32Array, upper: Float64Array[], k: SplitConstraints): SplitResult {
  const best = new SplitResult();
  const { data, cols } = c.X;
  let sum = 0;
  for (const r of rows) sum += c.grad[r];
  const n = rows.length;
  const parent = (sum * sum) / (n + k.lambdaL2);
  for (let f = 0; f < cols; f++) {
    const hasMissing = Array.from(rows).some((r) => Number.isNaN(data[r * cols + f]));
    for (let t = 1; t <= upper[f].length; t++) {
      for (const missLeft of hasMissing ? [false, true] : [false]) {
        let gL = 0;
        let nL = 0;
        for (const r of rows) {
          const v = data[r * cols + f];
          if (Number.isNaN(v) ? missLeft : v <= upper[f][t - 1]) {
            gL += c.grad[r];
            nL++;
          }
        }
        const nR = n - nL;
        if (nL === 0 || nR === 0 || nL < k.minDataInLeaf || nR < k.minDataInLeaf || nL < k.minSumHessianInLeaf || nR < k.minSumHessianInLeaf) continue;
        const gR = sum - gL;
        const gain = (gL * gL) / (nL + k.lambdaL2) + (gR * gR) / (nR + k.lambdaL2) - parent;
        if (gain > best.gain) Object.assign(best, { gain, feature: f, bin: t, defaultLeft: missLeft, leftGrad: gL, leftCount: nL });
      }
    }
  }
  if (!(best.gain > k.minGainToSplit && best.gain > 1e-12)) best.reset();
  return best;
}

test('best split equals a brute-force search over thresholds and missing directions', () => {
  let compared = 0;
  for (let seed = 1; seed <= 300; seed++) {
    const c = randomCase(seed);
    const rng = new Rng(seed * 7);
    const k: SplitConstraints = {
      lambdaL2: [0, 1, 5][seed % 3],
      minDataInLeaf: 1 + rng.below(6),
      minSumHessianInLeaf: rng.below(3),
      minGainToSplit: seed % 4 === 0 ? 1 : 0,
    };
    const binned = binFeatures(c.X, 2 + rng.below(12), seed);
    // A node = a random subset of rows, in the order the grower would keep them.
    const rows = Uint32Array.from(Array.from({ length: c.X.rows }, (_, i) => i).filter(() => rng.next() < 0.8));
    const hist = new Float64Array(binned.totalBins);
    buildHistogram(binned, Float64Array.from(rows, (r) => c.packed[r]), rows, 0, rows.length, hist);
    let sumQ = 0;
    for (const r of rows) sumQ += c.grad[r] * 8;
    const got = new SplitResult();
    const features = Int32Array.from({ length: c.X.cols }, (_, i) => i);
    findBestSplit(binned, hist, features, sumQ, rows.length, c.packing, k, got);
    const want = bruteForce(c, rows, binned.upper, k);
    assert.equal(got.feature, want.feature, `seed ${seed}: feature`);
    if (want.feature < 0) continue;
    compared++;
    assert.equal(got.gain, want.gain, `seed ${seed}: gain`);
    assert.equal(got.bin, want.bin, `seed ${seed}: bin`);
    assert.equal(got.defaultLeft, want.defaultLeft, `seed ${seed}: missing direction`);
    assert.equal(got.leftCount, want.leftCount);
    assert.equal(got.leftGrad * c.packing.scale, want.leftGrad);
  }
  assert.ok(compared > 150, `only ${compared} cases had a split`);
});

test('histogram subtraction gives the sibling histogram exactly; partition agrees with the split', () => {
  for (let seed = 1; seed <= 50; seed++) {
    const c = randomCase(seed);
    const binned = binFeatures(c.X, 10, seed);
    const idx = Uint32Array.from({ length: c.X.rows }, (_, i) => i);
    const parent = new Float64Array(binned.totalBins);
    buildHistogram(binned, c.packed, idx, 0, idx.length, parent);
    const f = seed % c.X.cols;
    const bin = 1 + (seed % Math.max(1, binned.numBins[f] - 1));
    const packed = Float64Array.from(c.packed);
    const mid = partitionRows(binned, f, bin, seed % 2 === 0, idx, packed, 0, idx.length, new Uint32Array(c.X.rows), new Float64Array(c.X.rows));
    for (let i = 0; i < idx.length; i++) assert.equal(packed[i], c.packed[idx[i]], 'packed gradients move with their rows');
    for (let i = 0; i < idx.length; i++) {
      const v = c.X.data[idx[i] * c.X.cols + f];
      const goesLeft = Number.isNaN(v) ? seed % 2 === 0 : v <= binned.upper[f][bin - 1];
      assert.equal(goesLeft, i < mid, `seed ${seed} row ${idx[i]}`);
    }
    const left = new Float64Array(parent.length);
    const right = new Float64Array(parent.length);
    buildHistogram(binned, packed, idx, 0, mid, left);
    buildHistogram(binned, packed, idx, mid, idx.length, right);
    subtractHistogram(parent, left);
    assert.deepEqual(parent, right);
  }
});

test('no split when a node is too small or all gradients are equal', () => {
  const c = randomCase(5);
  const binned = binFeatures(c.X, 16, 1);
  const idx = Uint32Array.from({ length: c.X.rows }, (_, i) => i);
  const flat = eighthsPacking(new Float64Array(c.X.rows).fill(0.5));
  const hist = new Float64Array(binned.totalBins);
  buildHistogram(binned, flat.packed, idx, 0, idx.length, hist);
  const out = new SplitResult();
  const features = Int32Array.from({ length: c.X.cols }, (_, i) => i);
  findBestSplit(binned, hist, features, 4 * c.X.rows, c.X.rows, flat.packing, { lambdaL2: 0, minDataInLeaf: 1, minSumHessianInLeaf: 0, minGainToSplit: 0 }, out);
  assert.equal(out.feature, -1);
  buildHistogram(binned, c.packed, idx, 0, idx.length, hist);
  findBestSplit(binned, hist, features, 0, c.X.rows, c.packing, { lambdaL2: 0, minDataInLeaf: c.X.rows, minSumHessianInLeaf: 0, minGainToSplit: 0 }, out);
  assert.equal(out.feature, -1);
});
