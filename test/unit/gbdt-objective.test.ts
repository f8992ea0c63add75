import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GBDTRegressor } from '../../src/ml/gbdt/index.js';
import { makeObjective, quantileOf } from '../../src/ml/gbdt/objective.js';
import type { LossName } from '../../src/ml/gbdt/params.js';
import { Rng } from '../../src/ml/gbdt/rng.js';

const LOSSES: LossName[] = ['l2', 'l1', 'huber', 'quantile'];

test('each gradient matches a finite difference of its loss', () => {
  const rng = new Rng(1);
  for (const loss of LOSSES) {
    const obj = makeObjective({ loss, huberDelta: 1.5, quantileAlpha: 0.8 });
    const n = 500;
    const y = Float64Array.from({ length: n }, () => (rng.next() - 0.5) * 20);
    const p = Float64Array.from({ length: n }, () => (rng.next() - 0.5) * 20);
    const grad = new Float64Array(n);
    obj.gradients(y, p, grad);
    const h = 1e-6;
    let checked = 0;
    for (let i = 0; i < n; i++) {
      const d = Math.abs(p[i] - y[i]);
      if (d < 1e-3 || Math.abs(d - 1.5) < 1e-3) continue; // kinks: no derivative there
      const fd = (obj.loss(y[i], p[i] + h) - obj.loss(y[i], p[i] - h)) / (2 * h);
      assert.ok(Math.abs(fd - grad[i]) < 1e-5, `${loss}: grad ${grad[i]} vs finite difference ${fd}`);
      checked++;
    }
    assert.ok(checked > 400);
  }
});

test('init scores: mean, median, median, alpha-quantile', () => {
  const y = Float64Array.of(1, 2, 3, 4, 100);
  assert.equal(makeObjective({ loss: 'l2', huberDelta: 1, quantileAlpha: 0.5 }).initScore(y), 22);
  assert.equal(makeObjective({ loss: 'l1', huberDelta: 1, quantileAlpha: 0.5 }).initScore(y), 3);
  assert.equal(makeObjective({ loss: 'huber', huberDelta: 1, quantileAlpha: 0.5 }).initScore(y), 3);
  assert.equal(makeObjective({ loss: 'quantile', huberDelta: 1, quantileAlpha: 0.75 }).initScore(y), 4);
  assert.equal(quantileOf(Float64Array.of(5, 1, 3), 0.5), 3);
});

/** Two groups told apart by x; targets skewed so mean and median differ a lot. */
function skewedGroups(): { X: { data: Float32Array; rows: number; cols: number }; y: Float64Array; groupA: number[]; groupB: number[] } {
  const rng = new Rng(9);
  const rows = 400;
  const data = new Float32Array(rows);
  const y = new Float64Array(rows);
  const groupA: number[] = [];
  const groupB: number[] = [];
  for (let i = 0; i < rows; i++) {
    const a = i % 2 === 0;
    data[i] = a ? 1 : 2;
    const v = (a ? 10 : 50) + Math.floor(rng.next() * 10) + (rng.next() < 0.2 ? 1000 : 0);
    y[i] = v;
    (a ? groupA : groupB).push(v);
  }
  return { X: { data, rows, cols: 1 }, y, groupA, groupB };
}

test('L1 and quantile leaves are refreshed to the residual median / quantile of their rows', async () => {
  const d = skewedGroups();
  for (const [loss, q] of [['l1', 0.5], ['quantile', 0.8]] as const) {
    const m = await new GBDTRegressor({ loss, quantileAlpha: q, numTrees: 1, learningRate: 1, minDataInLeaf: 5, lambdaL2: 0 }).fit(d.X, d.y);
    const pred = m.predict({ data: Float32Array.of(1, 2), rows: 2, cols: 1 });
    const qa = quantileOf(Float64Array.from(d.groupA), q);
    const qb = quantileOf(Float64Array.from(d.groupB), q);
    assert.ok(Math.abs(pred[0] - qa) < 1e-3 * Math.abs(qa), `${loss}: group A ${pred[0]} vs ${qa}`);
    assert.ok(Math.abs(pred[1] - qb) < 1e-3 * Math.abs(qb), `${loss}: group B ${pred[1]} vs ${qb}`);
  }
});

test('every loss reduces its own training loss', async () => {
  const d = skewedGroups();
  for (const loss of LOSSES) {
    const losses: number[] = [];
    await new GBDTRegressor({ loss, huberDelta: 20, numTrees: 30, learningRate: 0.3, minDataInLeaf: 5 }).fit(d.X, d.y, {
      onProgress: (p) => losses.push(p.trainLoss),
    });
    assert.ok(losses[losses.length - 1] < losses[0], `${loss}: ${losses[0]} → ${losses[losses.length - 1]}`);
  }
});
