/**
 * Quantile binning: every feature value becomes a small bin code so histograms replace sorting.
 *
 * Bin 0 of every feature is the missing (NaN) bin; value bins are 1..numValueBins. A value v
 * falls in the first value bin b with v <= upper[b-1]. The upper bounds are float32 numbers, so
 * the rule `v <= threshold` gives the same answer in float64 (TS) and float32 (ONNX runtime),
 * and splitting "bins <= b" is exactly "value <= upper[b-1]" at prediction time.
 */
import { Rng } from './rng.js';
import type { FeatureMatrix } from './types.js';

/** Largest finite float32: the upper bound of the last value bin (all finite values fit). */
export const FLOAT32_MAX = 3.4028234663852886e38;

/** Rows looked at to choose bin edges; enough for 255 quantiles, bounded on big data. */
export const BIN_SAMPLE_ROWS = 200_000;

export interface BinnedFeatures {
  rows: number;
  cols: number;
  /** Column-major bin codes per feature: bins[f * rows + r] (0 = missing). Partitioning a
   *  node by one feature then reads one contiguous column. */
  bins: Uint8Array;
  /** The same codes row-major: rowBins[r * cols + f]. Histograms are built per row subset, and
   *  one row's codes then share a cache line (1 byte each: gathers move half the bytes of
   *  16-bit histogram slots, measured faster on subsets). */
  rowBins: Uint8Array;
  /** Bins per feature including the missing bin (>= 2). */
  numBins: Int32Array;
  /** Offset of each feature's first bin in a flat histogram. */
  binOffset: Int32Array;
  totalBins: number;
  /** upper[f][b-1] = float32 upper bound of value bin b of feature f. */
  upper: Float64Array[];
}

/**
 * Float32 threshold t with a <= t < b for float32 numbers a < b: the midpoint when it is
 * representable strictly below b (so unseen values between two training values split evenly),
 * otherwise a itself.
 */
export function thresholdBetween(a: number, b: number): number {
  const mid = Math.fround(a + (b - a) / 2);
  return mid >= a && mid < b ? mid : a;
}

/**
 * Upper bounds of value bins for one feature from its sorted non-missing sample: every distinct
 * value its own bin when they fit, otherwise greedy equal-count bins where a value heavier than
 * a bin's share gets a bin to itself (LightGBM's GreedyFindBin idea).
 */
export function findBinUppers(sortedValues: Float32Array, maxValueBins: number): Float64Array {
  const n = sortedValues.length;
  if (n === 0) return Float64Array.of(FLOAT32_MAX);
  const distinct: number[] = [];
  const counts: number[] = [];
  for (let i = 0; i < n; i++) {
    const v = sortedValues[i];
    if (distinct.length > 0 && distinct[distinct.length - 1] === v) counts[counts.length - 1]++;
    else {
      distinct.push(v);
      counts.push(1);
    }
  }
  const uppers: number[] = [];
  if (distinct.length <= maxValueBins) {
    for (let i = 0; i + 1 < distinct.length; i++) uppers.push(thresholdBetween(distinct[i], distinct[i + 1]));
  } else {
    let rest = n;
    let binsLeft = maxValueBins;
    let share = rest / binsLeft;
    let inBin = 0;
    for (let i = 0; i + 1 < distinct.length && binsLeft > 1; i++) {
      inBin += counts[i];
      if (inBin >= share || counts[i + 1] >= share) {
        uppers.push(thresholdBetween(distinct[i], distinct[i + 1]));
        rest -= inBin;
        binsLeft--;
        share = rest / binsLeft;
        inBin = 0;
      }
    }
  }
  uppers.push(FLOAT32_MAX);
  return Float64Array.from(uppers);
}

/** Value bin (1-based) of v: first b with v <= upper[b-1]; binary search, NaN excluded. */
export function valueBin(upper: Float64Array, v: number): number {
  let lo = 0;
  let hi = upper.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (v <= upper[mid]) hi = mid;
    else lo = mid + 1;
  }
  return lo + 1;
}

/** Number of entries of the sorted 256 entries padded[base..base+256) that are < v (<= 255). */
function countBelow(padded: Float64Array, base: number, v: number): number {
  let pos = base;
  for (let step = 128; step >= 1; step >>= 1) pos += padded[pos + step - 1] < v ? step : 0;
  return pos - base;
}

function sampleRows(rows: number, seed: number): Uint32Array {
  if (rows <= BIN_SAMPLE_ROWS) {
    const all = new Uint32Array(rows);
    for (let i = 0; i < rows; i++) all[i] = i;
    return all;
  }
  // Deterministic partial Fisher-Yates over row ids, then sorted for cache-friendly reads.
  const rng = new Rng(seed ^ 0x9e3779b9);
  const ids = new Uint32Array(rows);
  for (let i = 0; i < rows; i++) ids[i] = i;
  for (let i = 0; i < BIN_SAMPLE_ROWS; i++) {
    const j = i + rng.below(rows - i);
    const t = ids[i];
    ids[i] = ids[j];
    ids[j] = t;
  }
  return ids.slice(0, BIN_SAMPLE_ROWS).sort();
}

/** Bin edges from a (sampled) view of X. */
export function fitBinEdges(X: FeatureMatrix, maxBins: number, seed: number): Float64Array[] {
  const sample = sampleRows(X.rows, seed);
  const values = new Float32Array(sample.length);
  const uppers: Float64Array[] = [];
  for (let f = 0; f < X.cols; f++) {
    let k = 0;
    for (let i = 0; i < sample.length; i++) {
      const v = X.data[sample[i] * X.cols + f];
      if (v === v) values[k++] = v;
    }
    const sorted = values.subarray(0, k).sort();
    uppers.push(findBinUppers(sorted, maxBins - 1));
  }
  return uppers;
}

/** Bin codes for every row of X under the given edges; `shared` puts the row-major codes in a
 *  SharedArrayBuffer for worker threads. */
export function applyBins(X: FeatureMatrix, upper: Float64Array[], shared = false): BinnedFeatures {
  const { rows, cols, data } = X;
  const numBins = new Int32Array(cols);
  const binOffset = new Int32Array(cols);
  let totalBins = 0;
  for (let f = 0; f < cols; f++) {
    numBins[f] = upper[f].length + 1;
    binOffset[f] = totalBins;
    totalBins += numBins[f];
  }
  const bins = new Uint8Array(rows * cols);
  const rowBins = shared ? new Uint8Array(new SharedArrayBuffer(rows * cols)) : new Uint8Array(rows * cols);
  // Bounds padded to 256 with +Infinity: a fixed 8-step search whose steps compile to
  // conditional moves instead of unpredictable branches. Rows outer, features inner: X is
  // read once, sequentially (feature-outer reads it once per feature, all cache misses).
  const padded = new Float64Array(256 * cols).fill(Infinity);
  const lastBin = new Int32Array(cols);
  for (let f = 0; f < cols; f++) {
    padded.set(upper[f], 256 * f);
    lastBin[f] = upper[f].length;
  }
  for (let r = 0; r < rows; r++) {
    const rowStart = r * cols;
    for (let f = 0; f < cols; f++) {
      const v = data[rowStart + f];
      // NaN → missing bin 0; +Inf (beyond every bound) is clamped into the last value bin.
      const b = v !== v ? 0 : v > FLOAT32_MAX ? lastBin[f] : countBelow(padded, 256 * f, v) + 1;
      bins[f * rows + r] = b;
      rowBins[rowStart + f] = b;
    }
  }
  return { rows, cols, bins, rowBins, numBins, binOffset, totalBins, upper };
}

export function binFeatures(X: FeatureMatrix, maxBins: number, seed: number, shared = false): BinnedFeatures {
  return applyBins(X, fitBinEdges(X, maxBins, seed), shared);
}
