/**
 * Gradient histograms with exact integer arithmetic.
 *
 * Every supported loss has a unit hessian (exact for L2; LightGBM's choice for L1, Huber and
 * quantile, whose leaf values are refreshed anyway), so a bin needs only (sum of gradients,
 * row count). Each tree's gradients are quantized to integers q (stochastic rounding, thousands
 * of levels) and packed with the count into ONE float64: packed = q · 2^countBits + 1. Sums of
 * packed values stay integers below 2^53, so they are exact: histogram subtraction loses
 * nothing, order of summation (threads) does not matter, and a bin update is a single
 * load-add-store, about twice as fast as separate gradient and count arrays.
 */
import type { BinnedFeatures } from './binning.js';
import type { Rng } from './rng.js';

/** How one tree's gradients are packed; decode a histogram sum S with unpackGrad/unpackCount. */
export class GradientPacking {
  /** 2^countBits: the count lives below this, the quantized gradient above. */
  countBase = 1;
  /** Real gradient units per quantization step. */
  scale = 1;
  /** Largest |q|. */
  levels = 0;

  /** Chooses the packing for `rows` rows and the largest |gradient| among them. */
  configure(rows: number, maxAbsGrad: number): void {
    const countBits = Math.max(1, Math.ceil(Math.log2(rows + 1)));
    this.countBase = 2 ** countBits;
    // |Σq| · countBase + rows < 2^53 for any subset of the rows keeps every sum exact.
    this.levels = Math.floor((2 ** 53 - this.countBase) / (Math.max(1, rows) * this.countBase));
    if (this.levels < 1) throw new RangeError(`too many rows (${rows}) for exact packed histograms`);
    this.scale = maxAbsGrad > 0 ? maxAbsGrad / this.levels : 1;
  }
}

/** Sum of quantized gradients in a packed sum (real units = × scale). */
export function unpackGrad(sum: number, countBase: number): number {
  return Math.floor(sum / countBase);
}

/** Row count in a packed sum. */
export function unpackCount(sum: number, countBase: number): number {
  return sum - Math.floor(sum / countBase) * countBase;
}

/**
 * packed[i] = stochasticRound(grad[idx[i]] / scale) · countBase + 1 for i < n: aligned with
 * idx, not with row ids, so the grower moves packed values along with their rows and histogram
 * loops read them sequentially (one cache miss less per row than packed[row]).
 * Stochastic rounding keeps every quantized gradient unbiased.
 */
export function packGradients(grad: Float64Array, idx: Uint32Array, n: number, packing: GradientPacking, rng: Rng, packed: Float64Array): void {
  let maxAbs = 0;
  for (let i = 0; i < n; i++) {
    const a = Math.abs(grad[idx[i]]);
    if (a > maxAbs) maxAbs = a;
  }
  packing.configure(n, maxAbs);
  const inv = 1 / packing.scale;
  const base = packing.countBase;
  const levels = packing.levels;
  let state = rng.nextUint32() | 1;
  for (let i = 0; i < n; i++) {
    const r = idx[i];
    // xorshift32 inline: a fresh uniform per row at negligible cost.
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    const u = (state >>> 0) / 4294967296;
    let q = Math.floor(grad[r] * inv + u);
    if (q > levels) q = levels;
    else if (q < -levels) q = -levels;
    packed[i] = q * base + 1;
  }
}

/** Histogram of rows idx[start..end) (packed gradients aligned with idx) into `hist`. */
export function buildHistogram(binned: BinnedFeatures, packed: Float64Array, idx: Uint32Array, start: number, end: number, hist: Float64Array): void {
  hist.fill(0);
  accumulateHistogram(binned.rowBins, binned.cols, binned.binOffset, packed, idx, start, end, hist);
}

/** Adds rows idx[start..end) into `hist`. Unrolled by four: the hottest loop of training. */
export function accumulateHistogram(
  rowBins: Uint8Array,
  cols: number,
  binOffset: Int32Array,
  packed: Float64Array,
  idx: Uint32Array,
  start: number,
  end: number,
  hist: Float64Array,
): void {
  const cols4 = cols & ~3;
  for (let i = start; i < end; i++) {
    const v = packed[i];
    const base = idx[i] * cols;
    let f = 0;
    for (; f < cols4; f += 4) {
      const p = base + f;
      hist[binOffset[f] + rowBins[p]] += v;
      hist[binOffset[f + 1] + rowBins[p + 1]] += v;
      hist[binOffset[f + 2] + rowBins[p + 2]] += v;
      hist[binOffset[f + 3] + rowBins[p + 3]] += v;
    }
    for (; f < cols; f++) hist[binOffset[f] + rowBins[base + f]] += v;
  }
}

/** parent -= child, in place: the sibling's histogram without touching its rows (exact). */
export function subtractHistogram(parent: Float64Array, child: Float64Array): void {
  for (let i = 0; i < parent.length; i++) parent[i] -= child[i];
}

/** Fixed pool of histogram buffers so growing a tree allocates nothing per node. */
export class HistogramPool {
  private readonly free: Float64Array[] = [];

  constructor(
    private readonly size: number,
    capacity: number,
  ) {
    for (let i = 0; i < capacity; i++) this.free.push(new Float64Array(size));
  }

  acquire(): Float64Array {
    return this.free.pop() ?? new Float64Array(this.size);
  }

  release(h: Float64Array): void {
    this.free.push(h);
  }
}
