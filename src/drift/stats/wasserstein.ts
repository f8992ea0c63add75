/**
 * First Wasserstein distance between two empirical distributions (`scipy.stats.
 * wasserstein_distance`): ∫ |F_u(x) − F_v(x)| dx, walked over the merged sorted values in one
 * pass. Evidently's drift score divides it by max(std(reference), 0.001) (population std).
 */

export function wassersteinDistance(u: Float64Array, v: Float64Array): number {
  const n = u.length;
  const m = v.length;
  if (n === 0 || m === 0) throw new RangeError('wassersteinDistance needs two non-empty samples');
  let i = 0;
  let j = 0;
  let total = 0;
  let prev = Math.min(u[0], v[0]);
  while (i < n || j < m) {
    const x = j >= m || (i < n && u[i] <= v[j]) ? u[i] : v[j];
    // CDFs are constant on [prev, x): add their gap times the width.
    total += Math.abs(i / n - j / m) * (x - prev);
    while (i < n && u[i] <= x) i++;
    while (j < m && v[j] <= x) j++;
    prev = x;
  }
  return total;
}

export const WASSERSTEIN_MIN_NORM = 0.001;

export function normedWasserstein(reference: Float64Array, current: Float64Array, referenceStd: number): number {
  return wassersteinDistance(reference, current) / Math.max(referenceStd, WASSERSTEIN_MIN_NORM);
}
