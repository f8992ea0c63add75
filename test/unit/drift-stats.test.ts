/**
 * etaops' drift statistics against reference values computed with SciPy/NumPy
 * (test/bench/drift/make_fixtures.py → test/unit/fixtures/drift-stats.json), to 1e-6.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { testColumn } from '../../src/drift/detect.js';
import { kolmogn, smirnovSf } from '../../src/drift/stats/kolmogorov.js';
import { ks2samp } from '../../src/drift/stats/ks.js';
import { chiSquareHomogeneity, chiSquareTest } from '../../src/drift/stats/chisquare.js';
import { chi2Sf, normCdf } from '../../src/drift/stats/special.js';
import { summarizeCategorical, summarizeNumeric } from '../../src/drift/summary.js';

type Num = number | null;
interface Fixtures {
  scipy: string;
  special: { chi2_sf: { x: number; df: number; sf: number }[]; norm_cdf: { z: number; cdf: number }[] };
  kolmogorov_sf: { n: number; x: number; sf: number }[];
  smirnov_sf: { n: number; x: number; sf: number }[];
  ks_2samp: { name: string; a: Num[]; b: Num[]; statistic: number; pvalue: number }[];
  chisquare: { name: string; observed: number[]; expected: number[]; statistic: number; pvalue: number }[];
  categorical_chisquare: { name: string; reference: (string | null)[]; current: (string | null)[]; chisquare_pvalue: number }[];
  binary_z: { name: string; reference: string[]; current: string[]; z_pvalue: number }[];
  wasserstein: { name: string; a: Num[]; b: Num[]; distance: number; normed: number }[];
  chisquare_homogeneity: { name: string; reference: number[]; current: number[]; statistic: number; pvalue: number }[];
  divergence: { name: string; kind: 'numeric' | 'categorical'; reference: (Num | string)[]; current: (Num | string)[]; jensenshannon: number; psi: number }[];
}

const fx = JSON.parse(readFileSync(new URL('../../../test/unit/fixtures/drift-stats.json', import.meta.url), 'utf8')) as Fixtures;
const TOL = 1e-6;

function close(actual: number | null, expected: number, what: string): void {
  assert.ok(actual !== null, `${what}: got null`);
  const ok = Math.abs(actual - expected) <= TOL || Math.abs(actual - expected) <= TOL * Math.abs(expected);
  assert.ok(ok, `${what}: got ${actual}, SciPy says ${expected} (diff ${actual - expected})`);
}

const floats = (xs: (Num | string)[]): Float64Array => Float64Array.from(xs, (v) => (v === null ? Number.NaN : Number(v)));
function codes(xs: (string | null)[]): { codes: Int32Array; labels: string[] } {
  const labels: string[] = [];
  const index = new Map<string, number>();
  const out = Int32Array.from(xs, (v) => {
    if (v === null) return -1;
    let c = index.get(v);
    if (c === undefined) {
      c = labels.length;
      labels.push(v);
      index.set(v, c);
    }
    return c;
  });
  return { codes: out, labels };
}
const catSummary = (xs: (string | null)[]) => {
  const c = codes(xs);
  return summarizeCategorical(c.codes, c.labels);
};

describe(`drift statistics vs SciPy ${fx.scipy}`, () => {
  test('chi-square and normal tails', () => {
    for (const c of fx.special.chi2_sf) close(chi2Sf(c.x, c.df), c.sf, `chi2.sf(${c.x}, ${c.df})`);
    for (const c of fx.special.norm_cdf) close(normCdf(c.z), c.cdf, `norm.cdf(${c.z})`);
  });

  test('Kolmogorov distribution kstwo.sf over every algorithm branch', () => {
    for (const c of fx.kolmogorov_sf) close(kolmogn(c.n, c.x, false), c.sf, `kstwo.sf(${c.x}, ${c.n})`);
  });

  test('one-sided Smirnov distribution', () => {
    for (const c of fx.smirnov_sf) close(smirnovSf(c.n, c.x), c.sf, `smirnov(${c.n}, ${c.x})`);
  });

  test('two-sample KS: exact and asymptotic, ties, NaNs dropped, constant samples', () => {
    for (const c of fx.ks_2samp) {
      const a = summarizeNumeric(floats(c.a));
      const b = summarizeNumeric(floats(c.b));
      const r = ks2samp(a.sorted, b.sorted);
      close(r.statistic, c.statistic, `${c.name}: statistic`);
      close(r.pvalue, c.pvalue, `${c.name}: p-value (${r.method})`);
    }
  });

  test('chi-square on counts', () => {
    for (const c of fx.chisquare) {
      const total = c.expected.reduce((s, v) => s + v, 0);
      // chiSquareTest scales reference counts to the current total; feed expected shares.
      const r = chiSquareTest(Float64Array.from(c.expected, (v) => v / total), Float64Array.from(c.observed));
      close(r.statistic, c.statistic, `${c.name}: statistic`);
      close(r.pvalue, c.pvalue, `${c.name}: p-value`);
    }
  });

  test('chi-square test of homogeneity (2 × k table, the etaops rule) vs chi2_contingency', () => {
    for (const c of fx.chisquare_homogeneity) {
      // minExpected 0: no pooling, the plain Pearson statistic SciPy computes.
      const r = chiSquareHomogeneity(Float64Array.from(c.reference), Float64Array.from(c.current), 0);
      close(r.statistic, c.statistic, `${c.name}: statistic`);
      close(r.pvalue, c.pvalue, `${c.name}: p-value`);
    }
  });

  test("categorical chi-square as Evidently runs it (rule 'evidently', NaN dropped)", () => {
    for (const c of fx.categorical_chisquare) {
      const r = testColumn('c', catSummary(c.reference), catSummary(c.current), { rule: 'evidently', overrides: { c: { test: 'chisquare' } } });
      close(r.score, c.chisquare_pvalue, c.name);
    }
  });

  test('two-proportion Z test on binary columns', () => {
    for (const c of fx.binary_z) {
      const r = testColumn('c', catSummary(c.reference), catSummary(c.current), { rule: 'evidently' });
      assert.equal(r.test, 'z', `${c.name}: small binary column picks z`);
      close(r.score, c.z_pvalue, c.name);
    }
  });

  test('Wasserstein distance, normed by the reference std (floor 0.001)', () => {
    for (const c of fx.wasserstein) {
      const r = testColumn('c', summarizeNumeric(floats(c.a)), summarizeNumeric(floats(c.b)), { overrides: { c: { test: 'wasserstein' } } });
      close(r.score, c.normed, c.name);
    }
  });

  test("Jensen–Shannon distance and PSI with Evidently's binning", () => {
    for (const c of fx.divergence) {
      const sum = (xs: (Num | string)[]) =>
        c.kind === 'numeric' ? summarizeNumeric(floats(xs)) : catSummary(xs as (string | null)[]);
      const js = testColumn('c', sum(c.reference), sum(c.current), { overrides: { c: { test: 'jensenshannon' } } });
      close(js.score, c.jensenshannon, `${c.name}: JS`);
      const psi = testColumn('c', sum(c.reference), sum(c.current), { overrides: { c: { test: 'psi' } } });
      close(psi.score, c.psi, `${c.name}: PSI`);
    }
  });
});
