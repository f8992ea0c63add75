/**
 * Leaf-wise (best-first) growth of one tree: always split the leaf whose best split gains most,
 * until maxLeaves, maxDepth or no split passes the constraints. Rows live in one index array;
 * each leaf owns a contiguous range of it, and a split partitions that range in place.
 * Only the smaller child's histogram is built; the larger is parent − smaller.
 */
import type { BinnedFeatures } from './binning.js';
import { buildHistogram, GradientPacking, HistogramPool, subtractHistogram } from './histogram.js';
import { findBestSplit, SplitResult, type SplitConstraints } from './split.js';
import type { Tree } from './tree.js';

export interface GrowerConfig extends SplitConstraints {
  maxLeaves: number;
  /** 0 = unlimited. */
  maxDepth: number;
}

/** Builds histograms for a row range; the booster may swap in a multi-threaded one. */
export type HistogramBuilder = (packed: Float64Array, idx: Uint32Array, start: number, end: number, hist: Float64Array) => void;

export class TreeGrower {
  /** After grow(): leaf k covers idx[leafStart[k]..leafEnd[k]) and is tree node leafNode[k]. */
  numLeaves = 0;
  readonly leafNode: Int32Array;
  readonly leafStart: Int32Array;
  readonly leafEnd: Int32Array;
  /** Quantized gradient sum of each leaf (see histogram.ts). */
  readonly leafGrad: Float64Array;
  private readonly leafDepth: Int32Array;
  private readonly leafHist: (Float64Array | null)[];
  private readonly leafSplit: SplitResult[];
  private readonly pool: HistogramPool;
  private readonly scratch: Uint32Array;
  private readonly scratchPacked: Float64Array;
  readonly buildHist: HistogramBuilder;

  constructor(
    private readonly binned: BinnedFeatures,
    private readonly cfg: GrowerConfig,
    buildHist?: HistogramBuilder,
  ) {
    const L = cfg.maxLeaves;
    this.leafNode = new Int32Array(L);
    this.leafStart = new Int32Array(L);
    this.leafEnd = new Int32Array(L);
    this.leafGrad = new Float64Array(L);
    this.leafDepth = new Int32Array(L);
    this.leafHist = new Array<Float64Array | null>(L).fill(null);
    this.leafSplit = Array.from({ length: L }, () => new SplitResult());
    this.pool = new HistogramPool(binned.totalBins, L + 1);
    this.scratch = new Uint32Array(binned.rows);
    this.scratchPacked = new Float64Array(binned.rows);
    this.buildHist = buildHist ?? ((packed, idx, start, end, hist) => buildHistogram(binned, packed, idx, start, end, hist));
  }

  private packing = new GradientPacking();

  /**
   * Grows `tree` over rows idx[0..n) (reordered in place) using only `features`; packed[i]
   * holds row idx[i]'s packed gradient under `packing` and is reordered along with idx.
   */
  grow(tree: Tree, packed: Float64Array, packing: GradientPacking, idx: Uint32Array, n: number, features: Int32Array): void {
    tree.reset();
    this.packing = packing;
    const rootHist = this.pool.acquire();
    this.buildHist(packed, idx, 0, n, rootHist);
    // Every row lands in exactly one bin of feature 0: its bins sum to the node total.
    let total = 0;
    for (let b = 0; b < this.binned.numBins[0]; b++) total += rootHist[b];
    this.setLeaf(0, 0, 0, n, Math.floor(total / packing.countBase), 0, rootHist);
    this.numLeaves = 1;
    this.evaluateLeaf(0, features);

    while (this.numLeaves < this.cfg.maxLeaves) {
      const best = this.bestLeaf();
      if (best < 0) break;
      this.splitLeaf(tree, best, packed, idx, features);
    }
    for (let k = 0; k < this.numLeaves; k++) {
      const h = this.leafHist[k];
      if (h) this.pool.release(h);
      this.leafHist[k] = null;
    }
  }

  private setLeaf(k: number, node: number, start: number, end: number, sumGrad: number, depth: number, hist: Float64Array): void {
    this.leafNode[k] = node;
    this.leafStart[k] = start;
    this.leafEnd[k] = end;
    this.leafGrad[k] = sumGrad;
    this.leafDepth[k] = depth;
    this.leafHist[k] = hist;
  }

  private evaluateLeaf(k: number, features: Int32Array): void {
    const split = this.leafSplit[k];
    if (this.cfg.maxDepth > 0 && this.leafDepth[k] >= this.cfg.maxDepth) {
      split.reset();
      return;
    }
    const count = this.leafEnd[k] - this.leafStart[k];
    findBestSplit(this.binned, this.leafHist[k] as Float64Array, features, this.leafGrad[k], count, this.packing, this.cfg, split);
  }

  private bestLeaf(): number {
    let best = -1;
    let bestGain = -Infinity;
    for (let k = 0; k < this.numLeaves; k++) {
      const g = this.leafSplit[k].gain;
      if (g > bestGain) {
        bestGain = g;
        best = k;
      }
    }
    return best;
  }

  private splitLeaf(tree: Tree, k: number, packed: Float64Array, idx: Uint32Array, features: Int32Array): void {
    const s = this.leafSplit[k];
    const f = s.feature;
    const start = this.leafStart[k];
    const end = this.leafEnd[k];
    const parentHist = this.leafHist[k] as Float64Array;
    const leftNode = tree.split(this.leafNode[k], f, s.bin, this.binned.upper[f][s.bin - 1], s.defaultLeft, s.gain);
    const mid = partitionRows(this.binned, f, s.bin, s.defaultLeft, idx, packed, start, end, this.scratch, this.scratchPacked);
    const depth = this.leafDepth[k] + 1;
    const leftGrad = s.leftGrad;
    const rightGrad = this.leafGrad[k] - leftGrad;
    const smallHist = this.pool.acquire();
    const j = this.numLeaves++;
    if (mid - start <= end - mid) {
      this.buildHist(packed, idx, start, mid, smallHist);
      subtractHistogram(parentHist, smallHist);
      this.setLeaf(k, leftNode, start, mid, leftGrad, depth, smallHist);
      this.setLeaf(j, leftNode + 1, mid, end, rightGrad, depth, parentHist);
    } else {
      this.buildHist(packed, idx, mid, end, smallHist);
      subtractHistogram(parentHist, smallHist);
      this.setLeaf(k, leftNode, start, mid, leftGrad, depth, parentHist);
      this.setLeaf(j, leftNode + 1, mid, end, rightGrad, depth, smallHist);
    }
    this.evaluateLeaf(k, features);
    this.evaluateLeaf(j, features);
  }
}

/**
 * Stable in-place partition of idx[start..end) (and the packed gradients aligned with it): rows
 * going left first. Returns the boundary. Missing (bin 0) follows defaultLeft; value bins
 * <= bin go left.
 */
export function partitionRows(
  binned: BinnedFeatures,
  feature: number,
  bin: number,
  defaultLeft: boolean,
  idx: Uint32Array,
  packed: Float64Array,
  start: number,
  end: number,
  scratch: Uint32Array,
  scratchPacked: Float64Array,
): number {
  const column = binned.bins.subarray(feature * binned.rows, (feature + 1) * binned.rows);
  let l = start;
  let nRight = 0;
  for (let i = start; i < end; i++) {
    const r = idx[i];
    const b = column[r];
    if (b === 0 ? defaultLeft : b <= bin) {
      packed[l] = packed[i];
      idx[l++] = r;
    } else {
      scratchPacked[nRight] = packed[i];
      scratch[nRight++] = r;
    }
  }
  idx.set(scratch.subarray(0, nRight), l);
  packed.set(scratchPacked.subarray(0, nRight), l);
  return l;
}
