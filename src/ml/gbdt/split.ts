/**
 * Best split of one node from its histogram. For each feature and each cut "value bins 1..t go
 * left", missing rows (bin 0) are tried on both sides and the better side is kept. Gain is the
 * L2-regularised loss reduction G_L²/(n_L+λ) + G_R²/(n_R+λ) − G²/(n+λ) with unit hessians
 * (G in real gradient units = quantized sum × scale).
 */
import type { BinnedFeatures } from './binning.js';
import type { GradientPacking } from './histogram.js';

export interface SplitConstraints {
  lambdaL2: number;
  minDataInLeaf: number;
  minSumHessianInLeaf: number;
  minGainToSplit: number;
}

/** Mutable result reused across calls (no allocation per node). gain = -Infinity: no split. */
export class SplitResult {
  gain = -Infinity;
  feature = -1;
  /** Last value bin going left. */
  bin = 0;
  defaultLeft = false;
  /** Quantized gradient sum of the left child. */
  leftGrad = 0;
  leftCount = 0;

  reset(): void {
    this.gain = -Infinity;
    this.feature = -1;
    this.bin = 0;
    this.defaultLeft = false;
    this.leftGrad = 0;
    this.leftCount = 0;
  }
}

function childAllowed(count: number, c: SplitConstraints): boolean {
  return count >= c.minDataInLeaf && count >= c.minSumHessianInLeaf;
}

/**
 * Best split of feature f into `out` if better than what `out` already holds (ties keep the
 * earlier candidate: lower feature, lower bin, missing-right first, which makes results
 * independent of evaluation order). The histogram is packed (see histogram.ts); node and
 * child gradient sums are kept in quantized units (integers) and scaled for the gain.
 */
export function findBestSplitForFeature(
  hist: Float64Array,
  offset: number,
  numBins: number,
  feature: number,
  sumQ: number,
  count: number,
  countBase: number,
  scale: number,
  c: SplitConstraints,
  out: SplitResult,
): void {
  const lambda = c.lambdaL2;
  const sumGrad = sumQ * scale;
  const parentScore = (sumGrad * sumGrad) / (count + lambda);
  const missQ = Math.floor(hist[offset] / countBase);
  const missN = hist[offset] - missQ * countBase;
  const hasMissing = missN > 0;
  let qL = 0;
  let nL = 0;
  const minLeft = Math.max(c.minDataInLeaf, c.minSumHessianInLeaf);
  for (let t = 1; t < numBins; t++) {
    const s = hist[offset + t];
    // An empty bin repeats the previous cut exactly (ties keep the earlier one): skip it.
    if (s === 0) continue;
    const q = Math.floor(s / countBase);
    qL += q;
    nL += s - q * countBase;
    // Left only grows with t: once the right side is too small for both variants, stop.
    if (count - nL < minLeft) break;
    if (nL + missN < minLeft) continue;
    // Missing right: left = value bins 1..t.
    if (nL > 0) {
      const nR = count - nL;
      if (childAllowed(nL, c) && childAllowed(nR, c)) {
        const gL = qL * scale;
        const gR = sumGrad - gL;
        const gain = (gL * gL) / (nL + lambda) + (gR * gR) / (nR + lambda) - parentScore;
        if (gain > out.gain) setSplit(out, gain, feature, t, false, qL, nL);
      }
    }
    // Missing left: left = missing + value bins 1..t (only meaningful with missing rows).
    if (hasMissing) {
      const qLm = qL + missQ;
      const nLm = nL + missN;
      const nR = count - nLm;
      if (nR > 0 && childAllowed(nLm, c) && childAllowed(nR, c)) {
        const gL = qLm * scale;
        const gR = sumGrad - gL;
        const gain = (gL * gL) / (nLm + lambda) + (gR * gR) / (nR + lambda) - parentScore;
        if (gain > out.gain) setSplit(out, gain, feature, t, true, qLm, nLm);
      }
    }
  }
}

function setSplit(out: SplitResult, gain: number, feature: number, bin: number, defaultLeft: boolean, g: number, n: number): void {
  out.gain = gain;
  out.feature = feature;
  out.bin = bin;
  out.defaultLeft = defaultLeft;
  out.leftGrad = g;
  out.leftCount = n;
}

/**
 * Best split over the allowed features; `out.gain` stays -Infinity when nothing beats
 * minGainToSplit (and a strictly positive gain).
 */
export function findBestSplit(
  binned: BinnedFeatures,
  hist: Float64Array,
  features: Int32Array,
  sumQ: number,
  count: number,
  packing: GradientPacking,
  c: SplitConstraints,
  out: SplitResult,
): void {
  out.reset();
  if (count < 2 * c.minDataInLeaf) return;
  const { countBase, scale } = packing;
  for (let i = 0; i < features.length; i++) {
    const f = features[i];
    findBestSplitForFeature(hist, binned.binOffset[f], binned.numBins[f], f, sumQ, count, countBase, scale, c, out);
  }
  if (!(out.gain > c.minGainToSplit && out.gain > 1e-12)) out.reset();
}

/** Leaf output minimising the regularised L2 loss: −G/(n+λ). */
export function leafOutput(sumGrad: number, count: number, lambdaL2: number): number {
  const denom = count + lambdaL2;
  return denom > 0 ? -sumGrad / denom : 0;
}
