/**
 * Losses: gradient w.r.t. the prediction, initial score, per-row loss for reporting, and for
 * L1 / quantile the LightGBM-style leaf refresh (a leaf's value becomes the median / quantile
 * of its rows' residuals, which a unit-hessian Newton step cannot find).
 * Hessians are 1 for every loss (see histogram.ts).
 */
import type { GBDTParams, LossName } from './params.js';

export interface Objective {
  readonly name: LossName;
  /** grad[i] = dLoss/dPrediction at pred[i]. */
  gradients(y: Float64Array, pred: Float64Array, grad: Float64Array): void;
  /** Constant prediction minimising the loss over y. */
  initScore(y: Float64Array): number;
  /** Loss of one prediction (mean of it over rows is reported; L2 reports its root). */
  loss(y: number, p: number): number;
  /** Residual quantile the leaf value is refreshed to; undefined = keep the Newton step. */
  readonly refreshQuantile: number | undefined;
  /** Turns a mean per-row loss into the reported metric (RMSE for L2). */
  report(meanLoss: number): number;
}

/** q-quantile of values (linear interpolation between order statistics); sorts `scratch`. */
export function quantileOf(values: Float64Array, q: number): number {
  const n = values.length;
  if (n === 0) return 0;
  const sorted = values.sort();
  const pos = q * (n - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

function mean(y: Float64Array): number {
  let s = 0;
  for (let i = 0; i < y.length; i++) s += y[i];
  return y.length > 0 ? s / y.length : 0;
}

class L2 implements Objective {
  readonly name = 'l2' as const;
  readonly refreshQuantile = undefined;
  gradients(y: Float64Array, pred: Float64Array, grad: Float64Array): void {
    for (let i = 0; i < y.length; i++) grad[i] = pred[i] - y[i];
  }
  initScore(y: Float64Array): number {
    return mean(y);
  }
  loss(y: number, p: number): number {
    const d = p - y;
    return 0.5 * d * d;
  }
  report(meanLoss: number): number {
    return Math.sqrt(2 * meanLoss);
  }
}

class L1 implements Objective {
  readonly name = 'l1' as const;
  readonly refreshQuantile = 0.5;
  gradients(y: Float64Array, pred: Float64Array, grad: Float64Array): void {
    for (let i = 0; i < y.length; i++) {
      const d = pred[i] - y[i];
      grad[i] = d > 0 ? 1 : d < 0 ? -1 : 0;
    }
  }
  initScore(y: Float64Array): number {
    return quantileOf(Float64Array.from(y), 0.5);
  }
  loss(y: number, p: number): number {
    return Math.abs(p - y);
  }
  report(meanLoss: number): number {
    return meanLoss;
  }
}

class Huber implements Objective {
  readonly name = 'huber' as const;
  readonly refreshQuantile = undefined;
  constructor(private readonly delta: number) {}
  gradients(y: Float64Array, pred: Float64Array, grad: Float64Array): void {
    const delta = this.delta;
    for (let i = 0; i < y.length; i++) {
      const d = pred[i] - y[i];
      grad[i] = d > delta ? delta : d < -delta ? -delta : d;
    }
  }
  initScore(y: Float64Array): number {
    return quantileOf(Float64Array.from(y), 0.5);
  }
  loss(y: number, p: number): number {
    const a = Math.abs(p - y);
    return a <= this.delta ? 0.5 * a * a : this.delta * (a - 0.5 * this.delta);
  }
  report(meanLoss: number): number {
    return meanLoss;
  }
}

class Quantile implements Objective {
  readonly name = 'quantile' as const;
  readonly refreshQuantile: number;
  constructor(private readonly alpha: number) {
    this.refreshQuantile = alpha;
  }
  gradients(y: Float64Array, pred: Float64Array, grad: Float64Array): void {
    const a = this.alpha;
    for (let i = 0; i < y.length; i++) {
      const d = pred[i] - y[i];
      grad[i] = d > 0 ? 1 - a : d < 0 ? -a : 0;
    }
  }
  initScore(y: Float64Array): number {
    return quantileOf(Float64Array.from(y), this.alpha);
  }
  loss(y: number, p: number): number {
    const d = y - p;
    return d >= 0 ? this.alpha * d : (this.alpha - 1) * d;
  }
  report(meanLoss: number): number {
    return meanLoss;
  }
}

export function makeObjective(p: Pick<GBDTParams, 'loss' | 'huberDelta' | 'quantileAlpha'>): Objective {
  switch (p.loss) {
    case 'l2':
      return new L2();
    case 'l1':
      return new L1();
    case 'huber':
      return new Huber(p.huberDelta);
    case 'quantile':
      return new Quantile(p.quantileAlpha);
  }
}

/** Reported metric of predictions `pred` against `y` under the objective. */
export function evaluateLoss(obj: Objective, y: Float64Array, pred: Float64Array): number {
  let s = 0;
  for (let i = 0; i < y.length; i++) s += obj.loss(y[i], pred[i]);
  return obj.report(y.length > 0 ? s / y.length : 0);
}
