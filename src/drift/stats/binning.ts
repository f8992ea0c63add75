/**
 * Evidently's binning for Jensen–Shannon and PSI (`get_binned_data`): numeric columns with
 * more than 20 distinct reference values → `np.histogram_bin_edges(ref ∪ cur, 'sturges')`
 * and the share of each window per bin; otherwise the share of each distinct value (category)
 * over the union of values seen. For PSI, empty shares are replaced by min(non-zero)/1e6 when
 * that minimum is <= 1e-4, else by 1e-4 ("feel zeroes").
 */

export const HISTOGRAM_MIN_DISTINCT = 20;

/** numpy.histogram_bin_edges(values, bins='sturges') given the pooled min, max and size. */
export function sturgesEdges(min: number, max: number, size: number, integerData = false): Float64Array {
  let first = min;
  let last = max;
  if (first === last) {
    first -= 0.5;
    last += 0.5;
  }
  const ptp = max - min;
  let width = ptp / (Math.log2(size) + 1);
  let bins = 1;
  if (width) {
    if (integerData && width < 1) width = 1;
    bins = Math.ceil((last - first) / width);
  }
  const edges = new Float64Array(bins + 1);
  const step = (last - first) / bins;
  for (let i = 0; i <= bins; i++) edges[i] = i * step + first;
  edges[bins] = last;
  return edges;
}

function lowerBound(sorted: Float64Array, v: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function upperBound(sorted: Float64Array, v: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * np.histogram(sorted, edges)[0]: bins are [e_i, e_i+1), the last one closed; values outside
 * the edges are not counted.
 */
export function histogramCounts(sorted: Float64Array, edges: Float64Array): Float64Array {
  const bins = edges.length - 1;
  const out = new Float64Array(bins);
  let prev = lowerBound(sorted, edges[0]);
  for (let b = 0; b < bins; b++) {
    const next = b === bins - 1 ? upperBound(sorted, edges[b + 1]) : lowerBound(sorted, edges[b + 1]);
    out[b] = next - prev;
    prev = next;
  }
  return out;
}

/** Replaces zero shares as Evidently does before PSI (needs at least one non-zero share). */
export function fillZeroShares(shares: Float64Array): Float64Array {
  let minNonZero = Infinity;
  for (const s of shares) if (s !== 0 && s < minNonZero) minNonZero = s;
  if (minNonZero === Infinity) return shares;
  const fill = minNonZero <= 0.0001 ? minNonZero / 1e6 : 0.0001;
  return shares.map((s) => (s === 0 ? fill : s));
}
