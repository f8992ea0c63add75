/**
 * Chi-square tests for a categorical column.
 *
 * `chiSquareTest` is Evidently's: a goodness-of-fit test, observed = current counts, expected =
 * reference counts scaled to the current size, over the categories seen in either window;
 * p = chi2.sf(stat, k − 1) (`scipy.stats.chisquare`). It treats the reference shares as exact,
 * though they are a sample too, so rare categories give tiny p-values by chance in small
 * windows; a category seen only in the current window has expected 0, an infinite statistic
 * and p = 0 whatever its count (one stray row flags drift).
 *
 * `chiSquareHomogeneity` is what the etaops rule uses: Pearson's test of homogeneity on the
 * 2 × k table (reference, current) × categories, expected counts from the pooled margins, so
 * both windows' sampling noise counts and no observed category has expected 0. Categories
 * whose expected count is under `minExpected` in either window are pooled into one bucket
 * (Cochran's rule of thumb: the chi-square approximation needs expected counts of about 5).
 */
import { chi2Sf } from './special.js';

export interface ChiSquareResult {
  statistic: number;
  pvalue: number;
  df: number;
  /** Effect size that does not grow with n: Cohen's w (goodness of fit) or Cramér's V (homogeneity). */
  effect: number;
}

export function chiSquareTest(reference: Float64Array, current: Float64Array): ChiSquareResult {
  if (reference.length !== current.length) throw new RangeError('reference and current need one count per category');
  const k = reference.length;
  let nRef = 0;
  let nCur = 0;
  for (let i = 0; i < k; i++) {
    nRef += reference[i];
    nCur += current[i];
  }
  if (k <= 1 || nCur === 0 || nRef === 0) return { statistic: 0, pvalue: 1, df: Math.max(0, k - 1), effect: 0 };
  const scale = nCur / nRef;
  let stat = 0;
  for (let i = 0; i < k; i++) {
    const expected = reference[i] * scale;
    const diff = current[i] - expected;
    stat += expected > 0 ? (diff * diff) / expected : diff === 0 ? 0 : Infinity;
  }
  return { statistic: stat, pvalue: chi2Sf(stat, k - 1), df: k - 1, effect: Math.sqrt(stat / nCur) };
}

export function chiSquareHomogeneity(reference: Float64Array, current: Float64Array, minExpected = 5): ChiSquareResult {
  if (reference.length !== current.length) throw new RangeError('reference and current need one count per category');
  let nRef = 0;
  let nCur = 0;
  for (let i = 0; i < reference.length; i++) {
    nRef += reference[i];
    nCur += current[i];
  }
  const n = nRef + nCur;
  if (nRef === 0 || nCur === 0) return { statistic: 0, pvalue: 1, df: 0, effect: 0 };
  // Pool the categories too rare for the approximation.
  const ref: number[] = [];
  const cur: number[] = [];
  let rareRef = 0;
  let rareCur = 0;
  let rare = 0;
  for (let i = 0; i < reference.length; i++) {
    const total = reference[i] + current[i];
    if (total === 0) continue;
    if ((total * Math.min(nRef, nCur)) / n < minExpected) {
      rareRef += reference[i];
      rareCur += current[i];
      rare++;
    } else {
      ref.push(reference[i]);
      cur.push(current[i]);
    }
  }
  if (rare > 0) {
    ref.push(rareRef);
    cur.push(rareCur);
  }
  const k = ref.length;
  if (k <= 1) return { statistic: 0, pvalue: 1, df: 0, effect: 0 };
  let stat = 0;
  for (let i = 0; i < k; i++) {
    const total = ref[i] + cur[i];
    const eRef = (total * nRef) / n;
    const eCur = (total * nCur) / n;
    stat += (ref[i] - eRef) ** 2 / eRef + (cur[i] - eCur) ** 2 / eCur;
  }
  return { statistic: stat, pvalue: chi2Sf(stat, k - 1), df: k - 1, effect: Math.sqrt(stat / n) };
}
