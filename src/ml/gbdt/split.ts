/**
 * Best split of one node from its histogram. For each feature and each cut "value bins 1..t go
 * left", missing rows (bin 0) are tried on both sides and the better side is kept. Gain is the
 * L2-regularised loss reduction G_L²/(n_L+λ) + G_R²/(n_R+λ) − G²/(n+λ) with unit hessians.
 */
import type { BinnedFeatures } from './binning.js';

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

  copyFrom(o: SplitResult): void {
    this.gain = o.gain;
    this.feature = o.feature;
    this.bin = o.bin;
    this.defaultLeft = o.defaultLeft;
    this.leftGrad = o.leftGrad;
    this.leftCount = o.leftCount;
  }
}

function childAllowed(count: number, c: SplitConstraints): boolean {
  return count >= c.minDataInLeaf && count >= c.minSumHessianInLeaf;
}

/**
 * Best split of feature f into `out` if better than what `out` already holds (ties keep the
 * earlier candidate: lower feature, lower bin, missing-right first, which makes results
 * independent of evaluation order).
 */
export function findBestSplitForFeature(
  hist: Float64Array,
  offset: number,
  numBins: number,
  feature: number,
  sumGrad: number,
  count: number,
  c: SplitConstraints,
  out: SplitResult,
): void {
  const lambda = c.lambdaL2;
  const parentScore = (sumGrad * sumGrad) / (count + lambda);
  const missG = hist[offset << 1];
  const missN = hist[(offset << 1) + 1];
  const hasMissing = missN > 0;
  let gL = 0;
  let nL = 0;
  for (let t = 1; t < numBins; t++) {
    const k = (offset + t) << 1;
    gL += hist[k];
    nL += hist[k + 1];
    // Missing right: left = value bins 1..t.
    if (nL > 0) {
      const nR = count - nL;
      if (childAllowed(nL, c) && childAllowed(nR, c)) {
        const gR = sumGrad - gL;
        const gain = (gL * gL) / (nL + lambda) + (gR * gR) / (nR + lambda) - parentScore;
        if (gain > out.gain) setSplit(out, gain, feature, t, false, gL, nL);
      }
    }
    // Missing left: left = missing + value bins 1..t (only meaningful with missing rows).
    if (hasMissing) {
      const gLm = gL + missG;
      const nLm = nL + missN;
      const nR = count - nLm;
      if (nR > 0 && childAllowed(nLm, c) && childAllowed(nR, c)) {
        const gR = sumGrad - gLm;
        const gain = (gLm * gLm) / (nLm + lambda) + (gR * gR) / (nR + lambda) - parentScore;
        if (gain > out.gain) setSplit(out, gain, feature, t, true, gLm, nLm);
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
  sumGrad: number,
  count: number,
  c: SplitConstraints,
  out: SplitResult,
): void {
  out.reset();
  if (count < 2 * c.minDataInLeaf) return;
  for (let i = 0; i < features.length; i++) {
    const f = features[i];
    findBestSplitForFeature(hist, binned.binOffset[f], binned.numBins[f], f, sumGrad, count, c, out);
  }
  if (!(out.gain > c.minGainToSplit && out.gain > 1e-12)) out.reset();
}

/** Leaf output minimising the regularised L2 loss: −G/(n+λ). */
export function leafOutput(sumGrad: number, count: number, lambdaL2: number): number {
  return -sumGrad / (count + lambdaL2);
}
