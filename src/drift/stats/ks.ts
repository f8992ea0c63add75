/**
 * Two-sample Kolmogorov–Smirnov test, two-sided, matching `scipy.stats.ks_2samp(a, b)`
 * (method 'auto'): exact p-value when both samples have at most 10,000 values, else (or when
 * the exact computation fails) the asymptotic `kstwo.sf(D, round(n·m/(n+m)))`.
 *
 * Inputs are sorted, finite arrays. `weightA` lets a quantile sketch stand for more values: the
 * statistic is read from the sketch's ECDF while the p-value uses the true count (`countA`).
 */
import { kolmogn } from './kolmogorov.js';
import { gcd, roundHalfEven } from './special.js';

export const KS_MAX_EXACT_N = 10000;

export interface KsResult {
  statistic: number;
  pvalue: number;
  method: 'exact' | 'asymp';
}

/** sup |F_a - F_b| over the pooled values (ECDFs evaluated right-continuously). */
export function ksStatistic(a: Float64Array, b: Float64Array): number {
  const n1 = a.length;
  const n2 = b.length;
  let i = 0;
  let j = 0;
  let maxS = 0;
  let minS = 0;
  while (i < n1 || j < n2) {
    const v = j >= n2 || (i < n1 && a[i] <= b[j]) ? a[i] : b[j];
    while (i < n1 && a[i] <= v) i++;
    while (j < n2 && b[j] <= v) j++;
    const diff = i / n1 - j / n2;
    if (diff > maxS) maxS = diff;
    if (diff < minS) minS = diff;
  }
  return Math.min(1, Math.max(maxS, -minS));
}

/** scipy's _compute_prob_outside_square: n1 == n2. */
function probOutsideSquare(n: number, h: number): number {
  let P = 0;
  let k = Math.floor(n / h);
  while (k >= 0) {
    let p1 = 1;
    for (let j = 0; j < h; j++) p1 = ((n - k * h - j) * p1) / (n + k * h + j + 1);
    P = p1 * (1 - P);
    k--;
  }
  return 2 * P;
}

/**
 * P(D >= h·g/(m·n)) for sizes m != n: probability that a uniformly random merge of the two
 * samples leaves the band |i·n − j·m| < h·g at some step. Forward dynamic programming over
 * lattice points with transition probabilities (each step's mass stays in [0, 1], so nothing
 * overflows), restricted to the band.
 */
function probOutsideBand(m: number, n: number, g: number, h: number): number {
  const limit = h * g;
  // mass[j] = probability of reaching (i, j) while staying inside the band.
  const mass = new Float64Array(n + 1);
  mass[0] = 1;
  let lo = 0;
  let hi = 0;
  for (let i = 0; i <= m; i++) {
    // Band for row i: |i·n − j·m| < limit.
    const newLo = Math.max(0, Math.floor((i * n - limit) / m) + 1);
    const newHi = Math.min(n, Math.ceil((i * n + limit) / m) - 1);
    if (i > 0) {
      // Arrive from (i-1, j) by a step in a: keep mass[j] * P(step a | (i-1, j)).
      for (let j = lo; j <= hi; j++) {
        const ra = m - (i - 1);
        const rb = n - j;
        mass[j] *= ra / (ra + rb);
      }
      for (let j = lo; j < newLo && j <= hi; j++) mass[j] = 0;
      for (let j = Math.max(newHi + 1, lo); j <= hi; j++) mass[j] = 0;
      for (let j = hi + 1; j <= newHi; j++) mass[j] = 0;
    }
    if (newLo > newHi) return 1;
    // Steps in b within row i: (i, j-1) -> (i, j).
    for (let j = Math.max(newLo, 1); j <= newHi; j++) {
      const ra = m - i;
      const rb = n - (j - 1);
      mass[j] += (mass[j - 1] * rb) / (ra + rb);
    }
    if (newLo > 0) mass[newLo - 1] = 0;
    lo = newLo;
    hi = newHi;
  }
  return 1 - mass[n];
}

/** Two-sided two-sample KS test on sorted finite samples. */
export function ks2samp(a: Float64Array, b: Float64Array, counts?: { countA?: number; countB?: number }): KsResult {
  if (a.length === 0 || b.length === 0) throw new RangeError('ks2samp needs two non-empty samples');
  const n1 = counts?.countA ?? a.length;
  const n2 = counts?.countB ?? b.length;
  let d = ksStatistic(a, b);
  const sketched = n1 !== a.length || n2 !== b.length;
  if (!sketched && Math.max(n1, n2) <= KS_MAX_EXACT_N) {
    const g = gcd(n1, n2);
    const lcm = (n1 / g) * n2;
    const h = roundHalfEven(d * lcm);
    const dExact = h / lcm;
    if (h === 0) return { statistic: dExact, pvalue: 1, method: 'exact' };
    const p = n1 === n2 ? probOutsideSquare(n1, h) : probOutsideBand(Math.max(n1, n2), Math.min(n1, n2), g, h);
    if (p >= 0 && p <= 1) return { statistic: dExact, pvalue: p, method: 'exact' };
    d = dExact;
  }
  const big = Math.max(n1, n2);
  const small = Math.min(n1, n2);
  const en = (big * small) / (big + small);
  return { statistic: d, pvalue: kolmogn(roundHalfEven(en), d, false), method: 'asymp' };
}
