/** Selection rule, overrides, edge cases, and the places where the etaops rule beats Evidently's. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runDriftCheck } from '../../src/drift/check.js';
import type { ColumnSource } from '../../src/drift/columns.js';
import { datasetVerdict, defaultTest, DriftOptionError, testColumn } from '../../src/drift/detect.js';
import { profileFromColumns } from '../../src/drift/profile.js';
import { summarizeCategorical, summarizeNumeric } from '../../src/drift/summary.js';

/** Deterministic pseudo-random numbers (mulberry32) and normal draws. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
function normals(n: number, mean: number, sd: number, seed: number): Float64Array {
  const r = rng(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = mean + sd * Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  return out;
}
function categories(n: number, shares: number[], seed: number, labels: string[]): { codes: Int32Array; labels: string[] } {
  const r = rng(seed);
  const codes = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let u = r();
    let k = 0;
    while (k < shares.length - 1 && u >= shares[k]) u -= shares[k++];
    codes[i] = k;
  }
  return { codes, labels };
}
const num = (v: Float64Array) => summarizeNumeric(v);
const cat = (c: { codes: Int32Array; labels: string[] }) => summarizeCategorical(c.codes, c.labels);

describe('selection rule (Evidently defaults)', () => {
  test('small reference: KS for numeric, chi-square for >2 values, Z for binary', () => {
    assert.equal(defaultTest(num(normals(800, 0, 1, 1)), num(normals(500, 0, 1, 2))), 'ks');
    const c3 = categories(800, [0.5, 0.3, 0.2], 3, ['a', 'b', 'c']);
    assert.equal(defaultTest(cat(c3), cat(c3)), 'chisquare');
    const c2 = categories(800, [0.5, 0.5], 3, ['a', 'b']);
    assert.equal(defaultTest(cat(c2), cat(c2)), 'z');
    // Numeric with <= 5 distinct values (pooled) is tested as categorical.
    const few = Float64Array.from({ length: 900 }, (_, i) => i % 4);
    assert.equal(defaultTest(num(few), num(few)), 'chisquare');
  });

  test('large reference: normed Wasserstein for numeric with > 5 values, Jensen–Shannon otherwise', () => {
    assert.equal(defaultTest(num(normals(1001, 0, 1, 1)), num(normals(50, 0, 1, 2))), 'wasserstein');
    const few = Float64Array.from({ length: 5000 }, (_, i) => i % 5);
    assert.equal(defaultTest(num(few), num(few)), 'jensenshannon');
    const c = categories(5000, [0.5, 0.5], 3, ['a', 'b']);
    assert.equal(defaultTest(cat(c), cat(c)), 'jensenshannon');
  });

  test('per-column override of test and threshold', () => {
    const ref = num(normals(5000, 0, 1, 1));
    const cur = num(normals(5000, 0.08, 1, 2));
    const byDefault = testColumn('x', ref, cur);
    assert.equal(byDefault.test, 'wasserstein');
    assert.equal(byDefault.drifted, false, 'a 0.08 sd shift is under the 0.1 distance threshold');
    const strict = testColumn('x', ref, cur, { overrides: { x: { threshold: 0.05 } } });
    assert.equal(strict.threshold, 0.05);
    assert.equal(strict.drifted, true);
    const psi = testColumn('x', ref, cur, { overrides: { x: { test: 'psi', threshold: 0.2 } } });
    assert.equal(psi.test, 'psi');
    assert.equal(psi.threshold, 0.2);
    assert.throws(() => testColumn('x', ref, cur, { overrides: { x: { test: 'nope' as 'ks' } } }), DriftOptionError);
    assert.throws(() => testColumn('x', ref, cur, { overrides: { x: { test: 'ks', threshold: 2 } } }), /at most 1/);
    const c = cat(categories(100, [0.5, 0.5], 1, ['a', 'b']));
    assert.throws(() => testColumn('c', c, c, { overrides: { c: { test: 'ks' } } }), /ks needs a numeric column/);
  });
});

describe('edge cases have defined results', () => {
  test('empty windows: no NaN, a note, drift only when one side has values', () => {
    const empty = num(Float64Array.from([Number.NaN, Number.NaN]));
    const some = num(normals(50, 0, 1, 1));
    const both = testColumn('x', empty, empty);
    assert.equal(both.score, null);
    assert.equal(both.drifted, false);
    assert.match(both.note ?? '', /either window/);
    const oneSide = testColumn('x', some, empty);
    assert.equal(oneSide.drifted, true);
    assert.match(oneSide.note ?? '', /current window/);
  });

  test('constant columns: equal constants do not drift, different constants do', () => {
    const five = num(new Float64Array(2000).fill(5));
    const six = num(new Float64Array(2000).fill(6));
    const same = testColumn('x', five, five);
    assert.equal(same.drifted, false);
    assert.ok(Number.isFinite(same.score as number));
    const moved = testColumn('x', five, six);
    assert.equal(moved.drifted, true);
    assert.ok(Number.isFinite(moved.score as number));
    // Constant reference with a spread-out current: Wasserstein normed by the 0.001 floor.
    const w = testColumn('x', five, num(normals(2000, 5, 1, 3)), { overrides: { x: { test: 'wasserstein' } } });
    assert.ok(Number.isFinite(w.score as number) && (w.score as number) > 100);
  });

  test('NaN and infinities are dropped and counted as missing', () => {
    const v = normals(100, 0, 1, 4);
    v[3] = Number.NaN;
    v[7] = Number.POSITIVE_INFINITY;
    const s = num(v);
    assert.equal(s.count, 98);
    assert.equal(s.missing, 2);
    const r = runDriftCheck({ data: source({ x: v }) }, source({ x: normals(100, 0, 1, 5) }));
    assert.equal(r.columns.x.reference_missing_share, 0.02);
    assert.equal(r.columns.x.current_missing_share, 0);
  });
});

function source(cols: Record<string, Float64Array | { codes: Int32Array; labels: string[] }>): ColumnSource {
  const columns: ColumnSource['columns'] = new Map();
  let rows = 0;
  for (const [name, c] of Object.entries(cols)) {
    if (c instanceof Float64Array) {
      columns.set(name, { type: 'numeric', values: c });
      rows = c.length;
    } else {
      columns.set(name, { type: 'categorical', codes: c.codes, labels: c.labels });
      rows = c.codes.length;
    }
  }
  return { rowCount: rows, columns };
}

describe('where the etaops rule does better than Evidently', () => {
  test('a category seen only in the current window does not force chi-square p = 0', () => {
    const labels = ['american', 'pizza', 'mexican', 'burger', 'thai', 'vegan'];
    const ref = categories(800, [0.35, 0.25, 0.2, 0.1, 0.1, 0], 11, labels);
    const cur = categories(400, [0.35, 0.25, 0.2, 0.1, 0.1, 0], 12, labels);
    cur.codes[0] = 5; // one stray order from a cuisine the reference never saw
    const evidently = testColumn('c', cat(ref), cat(cur), { rule: 'evidently' });
    const etaops = testColumn('c', cat(ref), cat(cur));
    assert.equal(evidently.test, 'chisquare');
    assert.equal(evidently.score, 0, 'Evidently: expected count 0 makes the statistic infinite');
    assert.equal(evidently.drifted, true);
    assert.equal(etaops.drifted, false, `etaops: one stray row is not drift (p = ${etaops.score})`);
    // A real shift towards the new category is still caught.
    const shifted = categories(400, [0.25, 0.2, 0.2, 0.1, 0.1, 0.15], 13, labels);
    assert.equal(testColumn('c', cat(ref), cat(shifted)).drifted, true);
  });

  test('on huge samples a trivial shift is significant but not drift', () => {
    const ref = num(normals(200_000, 0, 1, 21));
    const cur = num(normals(200_000, 0.03, 1, 22));
    const o = { overrides: { x: { test: 'ks' as const } } };
    const evidently = testColumn('x', ref, cur, { ...o, rule: 'evidently' });
    const etaops = testColumn('x', ref, cur, o);
    assert.ok((evidently.score as number) < 0.05, `p = ${evidently.score}`);
    assert.equal(evidently.drifted, true);
    assert.equal(etaops.drifted, false);
    assert.equal(etaops.effect_threshold, 0.05);
    assert.ok((etaops.effect as number) < 0.05);
    // A shift that matters is drift under both rules.
    const big = num(normals(200_000, 0.4, 1, 23));
    assert.equal(testColumn('x', ref, big, o).drifted, true);
  });
});

describe('dataset verdict', () => {
  test('dataset drift when the drifted share reaches the threshold', () => {
    const r = (d: boolean) => ({ drifted: d }) as Parameters<typeof datasetVerdict>[0] extends Iterable<infer T> ? T : never;
    assert.equal(datasetVerdict([r(true), r(false)]).dataset_drift, true);
    assert.equal(datasetVerdict([r(true), r(false), r(false)]).dataset_drift, false);
    assert.equal(datasetVerdict([r(true), r(false), r(false)], 0.3).dataset_drift, true);
    assert.equal(datasetVerdict([]).dataset_drift, false);
    assert.throws(() => datasetVerdict([], 0), DriftOptionError);
  });
});

describe('profile as reference', () => {
  test('decisions and scores match the raw reference closely; memory does not grow with rows', () => {
    const refRaw = source({ x: normals(200_000, 100, 15, 31), c: categories(200_000, [0.6, 0.3, 0.1], 32, ['a', 'b', 'c']) });
    const cur = source({ x: normals(20_000, 104, 15, 33), c: categories(20_000, [0.5, 0.3, 0.2], 34, ['a', 'b', 'c']) });
    const profile = profileFromColumns(refRaw);
    const viaData = runDriftCheck({ data: refRaw }, cur);
    const viaProfile = runDriftCheck({ profile }, cur);
    for (const name of ['x', 'c']) {
      assert.equal(viaProfile.columns[name].test, viaData.columns[name].test);
      assert.equal(viaProfile.columns[name].drifted, viaData.columns[name].drifted, name);
      assert.ok(Math.abs((viaProfile.columns[name].score as number) - (viaData.columns[name].score as number)) < 0.01, name);
    }
    assert.equal(profile.columns.x.type === 'numeric' && profile.columns.x.sketch.length, 2000);
    assert.equal(viaProfile.reference.source, 'profile');
    assert.equal(viaProfile.reference.rows, 200_000);
  });
});
