/**
 * Train/holdout splits and cross-validation folds, as row-index arrays into one Dataset.
 *
 * Default for model evaluation: a time-based holdout. Deliveries are predicted for the future,
 * and market state (dashers, outstanding orders) drifts over days, so a random split would
 * score the model on days it has already seen and flatter it. `timeHoldout` orders the rows by
 * created_at (ties by row index, so the split is deterministic) and holds out the last
 * `fraction` of them; rows with an unknown created_at cannot be placed in time and stay in the
 * training part.
 *
 * For CV: `timeSeriesFolds` (expanding window, like scikit-learn's TimeSeriesSplit: fold i trains
 * on time blocks 0..i and validates on block i+1) and the classic shuffled `kFold`.
 */

export interface Split {
  train: Int32Array;
  holdout: Int32Array;
}

export interface Fold {
  train: Int32Array;
  valid: Int32Array;
}

export class SplitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SplitError';
  }
}

/** `rows` ordered by time; rows with a NaN time first (kept in training by callers). */
export function orderByTime(createdAt: Float64Array, rows: Int32Array): Int32Array {
  const out = Int32Array.from(rows);
  out.sort((a, b) => {
    const ta = createdAt[a];
    const tb = createdAt[b];
    const na = Number.isNaN(ta);
    const nb = Number.isNaN(tb);
    if (na || nb) return na === nb ? a - b : na ? -1 : 1;
    return ta - tb || a - b;
  });
  return out;
}

/** The last `fraction` of `rows` by created_at become the holdout (at least one row each side). */
export function timeHoldout(createdAt: Float64Array, rows: Int32Array, fraction: number): Split {
  checkFraction(fraction);
  const ordered = orderByTime(createdAt, rows);
  const holdoutSize = clampSize(Math.round(ordered.length * fraction), ordered.length);
  const firstDated = ordered.findIndex((r) => !Number.isNaN(createdAt[r]));
  const cut = Math.max(ordered.length - holdoutSize, firstDated < 0 ? ordered.length : firstDated);
  return { train: ordered.slice(0, cut).sort(), holdout: ordered.slice(cut).sort() };
}

/** Shuffled split with a seed: same seed, same split. */
export function randomHoldout(rows: Int32Array, fraction: number, seed: number): Split {
  checkFraction(fraction);
  const shuffled = shuffle(rows, seed);
  const holdoutSize = clampSize(Math.round(rows.length * fraction), rows.length);
  const cut = rows.length - holdoutSize;
  return { train: shuffled.slice(0, cut).sort(), holdout: shuffled.slice(cut).sort() };
}

/** Expanding-window time folds: k folds over k+1 equal time blocks. */
export function timeSeriesFolds(createdAt: Float64Array, rows: Int32Array, k: number): Fold[] {
  checkFoldCount(k, rows.length);
  const ordered = orderByTime(createdAt, rows);
  const bound = (b: number): number => Math.round((ordered.length * b) / (k + 1));
  const folds: Fold[] = [];
  for (let i = 0; i < k; i++) {
    folds.push({ train: ordered.slice(0, bound(i + 1)).sort(), valid: ordered.slice(bound(i + 1), bound(i + 2)).sort() });
  }
  return folds;
}

/** Shuffled K-fold: every row is validated exactly once. */
export function kFold(rows: Int32Array, k: number, seed: number): Fold[] {
  checkFoldCount(k, rows.length);
  const shuffled = shuffle(rows, seed);
  const folds: Fold[] = [];
  for (let i = 0; i < k; i++) {
    const lo = Math.round((shuffled.length * i) / k);
    const hi = Math.round((shuffled.length * (i + 1)) / k);
    const train = new Int32Array(shuffled.length - (hi - lo));
    train.set(shuffled.subarray(0, lo), 0);
    train.set(shuffled.subarray(hi), lo);
    folds.push({ train: train.sort(), valid: shuffled.slice(lo, hi).sort() });
  }
  return folds;
}

/** All row indices 0..n-1, or those where `mask` is 1. */
export function rowIndices(n: number, mask?: Uint8Array): Int32Array {
  if (!mask) return Int32Array.from({ length: n }, (_, i) => i);
  let count = 0;
  for (let i = 0; i < n; i++) if (mask[i]) count++;
  const out = new Int32Array(count);
  for (let i = 0, k = 0; i < n; i++) if (mask[i]) out[k++] = i;
  return out;
}

function checkFraction(fraction: number): void {
  if (!(fraction > 0 && fraction < 1)) throw new SplitError(`holdout fraction must be a number > 0 and < 1, got ${fraction}`);
}

function checkFoldCount(k: number, n: number): void {
  if (!Number.isInteger(k) || k < 2) throw new SplitError(`fold count must be an integer >= 2, got ${k}`);
  if (n < k + 1) throw new SplitError(`${n} rows are too few for ${k} folds`);
}

function clampSize(size: number, n: number): number {
  if (n < 2) throw new SplitError(`a holdout split needs at least 2 rows, got ${n}`);
  return Math.min(Math.max(size, 1), n - 1);
}

/** Fisher-Yates with mulberry32: deterministic per seed, no per-call allocation beyond the copy. */
function shuffle(rows: Int32Array, seed: number): Int32Array {
  const out = Int32Array.from(rows);
  const rand = mulberry32(seed);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = out[i];
    out[i] = out[j];
    out[j] = t;
  }
  return out;
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
