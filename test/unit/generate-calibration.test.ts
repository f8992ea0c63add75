/**
 * Calibration: 50,000 generated rows (seed 2026) against the real sample, column by column, with
 * the tolerances stated next to each check; and each drift scenario moves what it says it moves
 * (20,000 rows each, same seed as its baseline so only the scenario differs).
 *
 * Tolerances (generated vs real):
 *   - numeric columns: median and mean within 12% (relative); p10 and p90 within 20% or 1 unit
 *     (small integer counts move in whole steps);
 *   - missing-value rate per column: within 25% of the real rate + 0.2 percentage points;
 *   - market and protocol shares: within 2 percentage points each; the 10 commonest cuisines:
 *     within 1.5 points each;
 *   - hour of day: total variation distance of the 24-bin histograms <= 0.03;
 *   - delivery duration: median within 5%, p90 within 7%, p99 within 12%;
 *   - structure: dashers at the dinner peak (01-03 UTC) >= 2x those at 16-18 UTC in both;
 *     correlation of log duration with log driving estimate and with outstanding orders per
 *     dasher within 0.08 of the real one.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readDataset, targetSeconds, NUMERIC_COLUMNS, type Dataset, type DefectReport } from '../../src/ml/dataset/index.js';
import { generateDataset, generateDatasetWithReport } from '../../src/ml/generate/index.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const SAMPLE = join(repoRoot, '../shared/data/doordash_sample.csv');
const noSample = existsSync(SAMPLE) ? false : `the real sample is absent at ${SAMPLE}`;

function finite(a: Float64Array): Float64Array {
  return Float64Array.from(a.filter((v) => Number.isFinite(v))).sort();
}
function quantile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}
function mean(a: Float64Array): number {
  return a.reduce((s, v) => s + v, 0) / a.length;
}
function shares(ds: Dataset, c: keyof Dataset['category']): Map<string, number> {
  const m = new Map<string, number>();
  const { codes, values } = ds.category[c];
  for (let i = 0; i < ds.rowCount; i++) if (codes[i] >= 0) m.set(values[codes[i]], (m.get(values[codes[i]]) ?? 0) + 1);
  for (const [k, v] of m) m.set(k, v / ds.rowCount);
  return m;
}
function hourHistogram(ds: Dataset): number[] {
  const h = new Array(24).fill(0);
  for (const t of ds.numeric.created_at) h[Math.floor(t / 3600) % 24] += 1 / ds.rowCount;
  return h;
}
function correlation(x: number[], y: number[]): number {
  const mx = x.reduce((s, v) => s + v, 0) / x.length;
  const my = y.reduce((s, v) => s + v, 0) / y.length;
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < x.length; i++) { sxy += (x[i] - mx) * (y[i] - my); sxx += (x[i] - mx) ** 2; syy += (y[i] - my) ** 2; }
  return sxy / Math.sqrt(sxx * syy);
}
/** log duration vs a feature over rows where both are finite. */
function durationCorrelation(ds: Dataset, feature: (i: number) => number): number {
  const t = targetSeconds(ds);
  const x: number[] = [];
  const y: number[] = [];
  for (let i = 0; i < ds.rowCount; i++) {
    const f = feature(i);
    if (Number.isFinite(t[i]) && Number.isFinite(f)) { x.push(f); y.push(Math.log(t[i])); }
  }
  return correlation(x, y);
}
function near(actual: number, expected: number, relative: number, what: string, absolute = 0): void {
  const tol = Math.max(Math.abs(expected) * relative, absolute);
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: generated ${actual.toFixed(3)} vs real ${expected.toFixed(3)} (tolerance ±${tol.toFixed(3)})`);
}

describe('generated data is calibrated against the real sample', { skip: noSample }, () => {
  let real: Dataset;
  let realReport: DefectReport;
  let gen: Dataset;
  let genReport: DefectReport;
  before(async () => {
    ({ dataset: real, report: realReport } = await readDataset(SAMPLE));
    ({ dataset: gen, report: genReport } = generateDatasetWithReport({ rows: 50_000, seed: 2026 }));
  });

  test('numeric columns: median, mean, p10, p90', () => {
    for (const c of NUMERIC_COLUMNS) {
      if (c === 'created_at' || c === 'actual_delivery_time') continue;
      const r = finite(real.numeric[c]);
      const g = finite(gen.numeric[c]);
      near(quantile(g, 0.5), quantile(r, 0.5), 0.12, `${c} median`, 1);
      near(mean(g), mean(r), 0.12, `${c} mean`);
      near(quantile(g, 0.1), quantile(r, 0.1), 0.2, `${c} p10`, 1);
      near(quantile(g, 0.9), quantile(r, 0.9), 0.2, `${c} p90`, 1);
    }
  });

  test('missing-value rates per column', () => {
    for (const [column, count] of Object.entries(realReport.missing)) {
      const r = count / realReport.recordsRead;
      const g = genReport.missing[column] / genReport.recordsRead;
      near(g, r, 0.25, `${column} missing rate`, 0.002 + 0.25 * r);
    }
  });

  test('market, protocol and cuisine mix', () => {
    for (const c of ['market_id', 'order_protocol'] as const) {
      const r = shares(real, c);
      const g = shares(gen, c);
      for (const [k, v] of r) near(g.get(k) ?? 0, v, 0, `${c}=${k} share`, 0.02);
    }
    const r = [...shares(real, 'store_primary_category')].sort((a, b) => b[1] - a[1]).slice(0, 10);
    const g = shares(gen, 'store_primary_category');
    for (const [k, v] of r) near(g.get(k) ?? 0, v, 0, `cuisine ${k} share`, 0.015);
  });

  test('hour-of-day pattern (UTC; dinner peak at 02 UTC = 18 PT)', () => {
    const r = hourHistogram(real);
    const g = hourHistogram(gen);
    const tvd = r.reduce((s, v, h) => s + Math.abs(v - g[h]), 0) / 2;
    assert.ok(tvd <= 0.03, `total variation distance ${tvd.toFixed(4)}`);
    assert.equal(g.indexOf(Math.max(...g)), 2);
  });

  test('delivery duration: median, p90, p99; impossible ones as rare as in the sample', () => {
    const r = finite(targetSeconds(real).map((v, i) => (Number.isFinite(real.numeric.actual_delivery_time[i]) ? v : NaN)));
    const g = finite(targetSeconds(gen));
    near(quantile(g, 0.5), quantile(r, 0.5), 0.05, 'duration median');
    near(quantile(g, 0.9), quantile(r, 0.9), 0.07, 'duration p90');
    near(quantile(g, 0.99), quantile(r, 0.99), 0.12, 'duration p99');
    // The sample: 1 delivery > 6 h, 2 without delivery time, 8 negative values in 24,000 rows.
    assert.ok(genReport.defects.duration_too_long.count <= 10, `${genReport.defects.duration_too_long.count} too long`);
    // Rare kinds (expected ~4 per 50k) are bounded above only: a count of 0 is a likely outcome.
    assert.ok(genReport.defects.missing_target.count <= 12);
    assert.ok(genReport.defects.negative_value.count >= 5 && genReport.defects.negative_value.count <= 40);
  });

  test('structure: dashers follow the hour; duration follows driving and load as in the sample', () => {
    const dashersAt = (ds: Dataset, hours: number[]) => {
      const v: number[] = [];
      for (let i = 0; i < ds.rowCount; i++) {
        const o = ds.numeric.total_onshift_dashers[i];
        if (Number.isFinite(o) && hours.includes(Math.floor(ds.numeric.created_at[i] / 3600) % 24)) v.push(o);
      }
      return v.reduce((s, x) => s + x, 0) / v.length;
    };
    for (const ds of [real, gen]) assert.ok(dashersAt(ds, [1, 2, 3]) >= 2 * dashersAt(ds, [16, 17, 18]));
    const logDrive = (ds: Dataset) => (i: number) => Math.log(ds.numeric.estimated_store_to_consumer_driving_duration[i]);
    near(durationCorrelation(gen, logDrive(gen)), durationCorrelation(real, logDrive(real)), 0, 'corr(log duration, log driving)', 0.08);
    const load = (ds: Dataset) => (i: number) => {
      const on = ds.numeric.total_onshift_dashers[i];
      return on > 0 ? Math.min(4, ds.numeric.total_outstanding_orders[i] / on) : NaN;
    };
    near(durationCorrelation(gen, load(gen)), durationCorrelation(real, load(real)), 0, 'corr(log duration, outstanding per dasher)', 0.08);
  });
});

describe('drift scenarios move what they say', () => {
  const ROWS = 20_000;
  const SEED = 77;
  const base = generateDataset({ rows: ROWS, seed: SEED });
  const median = (a: ArrayLike<number>) => quantile(finite(Float64Array.from(a)), 0.5);
  const inMarket = (ds: Dataset, market: string, values: Float64Array) => {
    const { codes, values: names } = ds.category.market_id;
    return values.filter((_, i) => codes[i] >= 0 && names[codes[i]] === market);
  };

  test('price-inflation: subtotal and item prices about 25% higher, durations unchanged', () => {
    const s = generateDataset({ rows: ROWS, seed: SEED, shift: 'price-inflation' });
    near(median(s.numeric.subtotal) / median(base.numeric.subtotal), 1.25, 0.04, 'subtotal median ratio');
    near(median(s.numeric.max_item_price) / median(base.numeric.max_item_price), 1.25, 0.04, 'max price median ratio');
    near(median(targetSeconds(s)) / median(targetSeconds(base)), 1, 0.03, 'duration median ratio');
  });

  test('busy-market: market 2 gets fewer dashers, more orders per dasher, slower deliveries; others do not', () => {
    const s = generateDataset({ rows: ROWS, seed: SEED, shift: 'busy-market' });
    const perDasher = (ds: Dataset) => ds.numeric.total_outstanding_orders.map((o, i) => o / ds.numeric.total_onshift_dashers[i]);
    assert.ok(median(inMarket(s, '2', s.numeric.total_onshift_dashers)) < 0.7 * median(inMarket(base, '2', base.numeric.total_onshift_dashers)));
    assert.ok(median(inMarket(s, '2', perDasher(s))) > 1.4 * median(inMarket(base, '2', perDasher(base))));
    assert.ok(median(inMarket(s, '2', targetSeconds(s))) > 1.1 * median(inMarket(base, '2', targetSeconds(base))));
    near(median(inMarket(s, '1', targetSeconds(s))) / median(inMarket(base, '1', targetSeconds(base))), 1, 0.04, 'market 1 duration ratio');
  });

  test('new-cuisine: about 15% of orders from an unseen cuisine, with new store ids', () => {
    const s = generateDataset({ rows: ROWS, seed: SEED, shift: 'new-cuisine' });
    assert.ok(!base.category.store_primary_category.values.includes('poke'));
    near(shares(s, 'store_primary_category').get('poke') ?? 0, 0.15 * (1 - 0.0252), 0, 'poke share', 0.015);
    assert.ok(s.category.store_id.values.some((v) => Number(v) > 6986));
  });

  test('late-night: a quarter of orders at 06-10 UTC where the sample has almost none', () => {
    const s = generateDataset({ rows: ROWS, seed: SEED, shift: 'late-night' });
    const lateShare = (ds: Dataset) => hourHistogram(ds).slice(6, 11).reduce((a, b) => a + b, 0);
    assert.ok(lateShare(base) < 0.01);
    near(lateShare(s), 0.25 + 0.75 * lateShare(base), 0, 'late share', 0.015);
  });

  test('slow-traffic: durations 20% longer, inputs unchanged', () => {
    const s = generateDataset({ rows: ROWS, seed: SEED, shift: 'slow-traffic' });
    near(median(targetSeconds(s)) / median(targetSeconds(base)), 1.2, 0.025, 'duration median ratio');
    assert.deepEqual(s.numeric.subtotal, base.numeric.subtotal);
    assert.deepEqual(s.numeric.total_onshift_dashers, base.numeric.total_onshift_dashers);
  });
});
