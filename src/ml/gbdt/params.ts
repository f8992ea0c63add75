/**
 * GBDT hyper-parameters: defaults and up-front validation (scikit-learn's contract: a bad
 * parameter fails in the constructor with the parameter's name and allowed range, not deep
 * inside fit).
 */
import os from 'node:os';

export type LossName = 'l2' | 'l1' | 'huber' | 'quantile';
export const LOSS_NAMES: readonly LossName[] = ['l2', 'l1', 'huber', 'quantile'];

export interface GBDTParams {
  /** Boosting rounds (trees); early stopping may keep fewer. */
  numTrees: number;
  /** Shrinkage applied to every leaf value. */
  learningRate: number;
  /** Maximum leaves per tree (leaf-wise growth stops here). */
  maxLeaves: number;
  /** Maximum depth of a tree; 0 = no limit (only maxLeaves bounds it). */
  maxDepth: number;
  /** Minimum training rows in a leaf. */
  minDataInLeaf: number;
  /** Minimum sum of hessians in a leaf. */
  minSumHessianInLeaf: number;
  /** L2 regularisation on leaf values. */
  lambdaL2: number;
  /** A split must improve the regularised loss by at least this much. */
  minGainToSplit: number;
  /** Bins per feature including the missing bin (2..255). */
  maxBins: number;
  /** Share of rows drawn (without replacement) for each tree; 1 = all. */
  rowSubsample: number;
  /** Share of features drawn for each tree; 1 = all. */
  colSubsample: number;
  loss: LossName;
  /** Huber loss: residuals beyond this are treated linearly (in target units). */
  huberDelta: number;
  /** Quantile loss: the quantile predicted (0 < alpha < 1). */
  quantileAlpha: number;
  /** Stop when the validation loss has not improved for this many rounds; 0 = off. */
  earlyStoppingRounds: number;
  /** Seed of the subsampling PRNG: same seed, same data → identical trees. */
  seed: number;
  /** Worker threads for histogram building; 0 = auto (min(available cores, 8)). Data under
   *  100k rows always trains on one thread: starting workers costs more than they save. */
  numThreads: number;
}

export const DEFAULT_PARAMS: Readonly<GBDTParams> = Object.freeze({
  numTrees: 600,
  learningRate: 0.05,
  maxLeaves: 31,
  maxDepth: 0,
  minDataInLeaf: 20,
  minSumHessianInLeaf: 1e-3,
  lambdaL2: 1,
  minGainToSplit: 0,
  maxBins: 255,
  rowSubsample: 1,
  colSubsample: 1,
  loss: 'l2',
  huberDelta: 1,
  quantileAlpha: 0.5,
  earlyStoppingRounds: 0,
  seed: 42,
  numThreads: 0,
});

/** A parameter outside its allowed range; `param` names it for callers that map errors. */
export class GBDTParamError extends Error {
  constructor(
    readonly param: string,
    readonly allowed: string,
    readonly value: unknown,
  ) {
    super(`invalid GBDT parameter ${param}=${JSON.stringify(value)}: must be ${allowed}`);
    this.name = 'GBDTParamError';
  }
}

/** Bad training or prediction input (shapes, non-finite targets, too few rows). */
export class GBDTInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GBDTInputError';
  }
}

type NumericParam = Exclude<keyof GBDTParams, 'loss'>;
interface Range {
  min: number;
  max: number;
  minExclusive?: boolean;
  maxExclusive?: boolean;
  integer?: boolean;
}

const RANGES: Record<NumericParam, Range> = {
  numTrees: { min: 1, max: 100_000, integer: true },
  learningRate: { min: 0, max: 1, minExclusive: true },
  maxLeaves: { min: 2, max: 131_072, integer: true },
  maxDepth: { min: 0, max: 64, integer: true },
  minDataInLeaf: { min: 1, max: Number.MAX_SAFE_INTEGER, integer: true },
  minSumHessianInLeaf: { min: 0, max: Number.MAX_VALUE },
  lambdaL2: { min: 0, max: Number.MAX_VALUE },
  minGainToSplit: { min: 0, max: Number.MAX_VALUE },
  maxBins: { min: 2, max: 255, integer: true },
  rowSubsample: { min: 0, max: 1, minExclusive: true },
  colSubsample: { min: 0, max: 1, minExclusive: true },
  huberDelta: { min: 0, max: Number.MAX_VALUE, minExclusive: true },
  quantileAlpha: { min: 0, max: 1, minExclusive: true, maxExclusive: true },
  earlyStoppingRounds: { min: 0, max: 100_000, integer: true },
  seed: { min: 0, max: 2 ** 32 - 1, integer: true },
  numThreads: { min: 0, max: 256, integer: true },
};

function describe(r: Range): string {
  const lo = `${r.minExclusive ? '>' : '>='} ${r.min}`;
  const hi = r.max === Number.MAX_VALUE || r.max === Number.MAX_SAFE_INTEGER ? '' : ` and ${r.maxExclusive ? '<' : '<='} ${r.max}`;
  return `${r.integer ? 'an integer' : 'a finite number'} ${lo}${hi}`;
}

function inRange(v: number, r: Range): boolean {
  if (typeof v !== 'number' || !Number.isFinite(v)) return false;
  if (r.integer && !Number.isInteger(v)) return false;
  if (r.minExclusive ? v <= r.min : v < r.min) return false;
  if (r.maxExclusive ? v >= r.max : v > r.max) return false;
  return true;
}

/** Defaults merged with `given`, every value checked; unknown keys are rejected too. */
export function resolveParams(given: Partial<GBDTParams> = {}): GBDTParams {
  if (given === null || typeof given !== 'object') throw new GBDTParamError('params', 'an object', given);
  const out: GBDTParams = { ...DEFAULT_PARAMS };
  for (const [key, value] of Object.entries(given)) {
    if (value === undefined) continue;
    if (key === 'loss') {
      if (!LOSS_NAMES.includes(value as LossName)) throw new GBDTParamError('loss', `one of ${LOSS_NAMES.join(', ')}`, value);
      out.loss = value as LossName;
      continue;
    }
    const range = RANGES[key as NumericParam];
    if (!range) throw new GBDTParamError(key, `one of the known parameters (${[...Object.keys(RANGES), 'loss'].join(', ')})`, value);
    if (!inRange(value as number, range)) throw new GBDTParamError(key, describe(range), value);
    (out as unknown as Record<string, number>)[key] = value as number;
  }
  return out;
}

/** Threads actually used: an explicit count, or the machine's parallelism capped at 8. */
export function effectiveThreads(p: GBDTParams): number {
  if (p.numThreads > 0) return p.numThreads;
  return Math.max(1, Math.min(os.availableParallelism(), 8));
}
