/** Live accuracy over a window, overall and by market. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { accuracyReport, UNKNOWN_MARKET } from '../../src/drift/accuracy.js';

describe('live accuracy', () => {
  test('RMSE, MAE and bias overall and by market; unpaired rows counted; window respected', () => {
    const now = new Date('2026-12-03T20:00:00Z');
    const t = now.getTime() / 1000;
    const r = accuracyReport({
      predictions: Float64Array.from([100, 200, 300, 400, 500, 600]),
      actuals: Float64Array.from([110, 180, Number.NaN, 400, 530, 0]),
      market: { codes: Int32Array.from([0, 0, 1, 1, -1, 0]), labels: ['1', '2'] },
      timestamps: Float64Array.from([t - 10, t - 20, t - 30, t - 40, t - 50, t - 7200]),
      windowSeconds: 3600,
      now,
    });
    // In the window: errors -10, +20, (NaN), 0, -30; the 2-hour-old row is out.
    assert.equal(r.overall.count, 4);
    assert.equal(r.unpaired, 1);
    assert.equal(r.overall.mae, 15);
    assert.equal(r.overall.bias, -5);
    assert.ok(Math.abs((r.overall.rmse as number) - Math.sqrt((100 + 400 + 0 + 900) / 4)) < 1e-12);
    assert.deepEqual(r.by_market['1'], { count: 2, mae: 15, rmse: Math.sqrt(250), bias: 5 });
    assert.deepEqual(r.by_market['2'], { count: 1, mae: 0, rmse: 0, bias: 0 });
    assert.deepEqual(r.by_market[UNKNOWN_MARKET], { count: 1, mae: 30, rmse: 30, bias: -30 });
  });

  test('no pairs: nulls, not NaN; mismatched lengths are errors', () => {
    const r = accuracyReport({ predictions: Float64Array.from([1]), actuals: Float64Array.from([Number.NaN]) });
    assert.deepEqual(r.overall, { count: 0, mae: null, rmse: null, bias: null });
    assert.throws(() => accuracyReport({ predictions: new Float64Array(2), actuals: new Float64Array(3) }), /2 predictions but 3 actuals/);
    assert.throws(() => accuracyReport({ predictions: new Float64Array(2), actuals: new Float64Array(2), windowSeconds: 60 }), /needs one timestamp per row/);
  });
});
