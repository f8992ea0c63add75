/**
 * Pearson's chi-square goodness-of-fit test as Evidently applies it to a categorical column:
 * observed = current counts, expected = reference counts scaled to the current size, over the
 * categories seen in either window; p = chi2.sf(stat, k − 1) (`scipy.stats.chisquare`).
 *
 * A category seen only in the current window has expected 0, so the statistic is infinite and
 * p = 0 whatever its count (one stray row flags drift). `smoothing` > 0 adds that many
 * pseudo-counts to every reference category before scaling (0.5 = Jeffreys prior), which keeps
 * the test finite and lets a single unseen row count for what it is.
 */
import { chi2Sf } from './special.js';

export interface ChiSquareResult {
  statistic: number;
  pvalue: number;
  df: number;
  /** Cohen's w = sqrt(stat / n_current): an effect size that does not grow with n. */
  effect: number;
}

export function chiSquareTest(reference: Float64Array, current: Float64Array, smoothing = 0): ChiSquareResult {
  if (reference.length !== current.length) throw new RangeError('reference and current need one count per category');
  const k = reference.length;
  let nRef = 0;
  let nCur = 0;
  for (let i = 0; i < k; i++) {
    nRef += reference[i] + smoothing;
    nCur += current[i];
  }
  if (k <= 1 || nCur === 0 || nRef === 0) return { statistic: 0, pvalue: 1, df: Math.max(0, k - 1), effect: 0 };
  const scale = nCur / nRef;
  let stat = 0;
  for (let i = 0; i < k; i++) {
    const expected = (reference[i] + smoothing) * scale;
    const diff = current[i] - expected;
    stat += expected > 0 ? (diff * diff) / expected : diff === 0 ? 0 : Infinity;
  }
  return { statistic: stat, pvalue: chi2Sf(stat, k - 1), df: k - 1, effect: Math.sqrt(stat / nCur) };
}
