/**
 * Gradient histograms. Every supported loss has a unit hessian (exact for L2; LightGBM's choice
 * for L1, Huber and quantile, whose leaf values are then refreshed), so a bin holds just
 * (sum of gradients, row count) and the row count doubles as the hessian sum. Layout: one
 * Float64Array per node, interleaved [g0, n0, g1, n1, ...] over all features' bins.
 */
import type { BinnedFeatures } from './binning.js';

/** Histogram of rows idx[start..end) into `hist` (overwritten). */
export function buildHistogram(
  binned: BinnedFeatures,
  grad: Float64Array,
  idx: Uint32Array,
  start: number,
  end: number,
  hist: Float64Array,
): void {
  hist.fill(0);
  accumulateHistogram(binned.bins, binned.cols, binned.binOffset, grad, idx, start, end, hist);
}

/** Adds rows idx[start..end) into `hist`; kept separate and monomorphic for the JIT. */
export function accumulateHistogram(
  bins: Uint8Array,
  cols: number,
  binOffset: Int32Array,
  grad: Float64Array,
  idx: Uint32Array,
  start: number,
  end: number,
  hist: Float64Array,
): void {
  for (let i = start; i < end; i++) {
    const r = idx[i];
    const g = grad[r];
    const base = r * cols;
    for (let f = 0; f < cols; f++) {
      const k = (binOffset[f] + bins[base + f]) << 1;
      hist[k] += g;
      hist[k + 1] += 1;
    }
  }
}

/** parent -= child, in place: the sibling's histogram without touching its rows. */
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
