/**
 * Two-proportion Z-test for a binary column (Evidently's `z` test): share of the first
 * category (sorted order) in each window, pooled variance, two-sided p = 2(1 − Φ(|z|)).
 * Both windows holding the same single value gives p = 1; a zero pooled variance otherwise
 * cannot happen with two categories present.
 */
import { normSf } from './special.js';

export interface ZTestResult {
  statistic: number;
  pvalue: number;
  /** Cohen's h = |2·asin√p1 − 2·asin√p2|. */
  effect: number;
}

/** `countA*` = rows equal to the first category, `n*` = all non-missing rows. */
export function proportionsZTest(countRef: number, nRef: number, countCur: number, nCur: number): ZTestResult {
  if (nRef === 0 || nCur === 0) return { statistic: 0, pvalue: 1, effect: 0 };
  const p1 = countRef / nRef;
  const p2 = countCur / nCur;
  const P = (p1 * nRef + p2 * nCur) / (nRef + nCur);
  const effect = Math.abs(2 * Math.asin(Math.sqrt(p1)) - 2 * Math.asin(Math.sqrt(p2)));
  const variance = P * (1 - P) * (1 / nRef + 1 / nCur);
  if (variance === 0) return { statistic: 0, pvalue: 1, effect };
  const z = (p1 - p2) / Math.sqrt(variance);
  return { statistic: z, pvalue: 2 * normSf(Math.abs(z)), effect };
}
