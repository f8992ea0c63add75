/** GBDTRegressor: validated params in the constructor, fit/predict, JSON round trip. */
import { trainForest } from './booster.js';
import type { TrainedForest } from './forest.js';
import { GBDTInputError, resolveParams, type GBDTParams } from './params.js';
import { CompiledForest } from './predict.js';
import type { FeatureMatrix, FitOptions } from './types.js';

export class GBDTRegressor {
  readonly params: GBDTParams;
  private forest: TrainedForest | undefined;
  private compiled: CompiledForest | undefined;

  constructor(params?: Partial<GBDTParams>) {
    this.params = resolveParams(params);
  }

  /** Trains on X (row-major float32, NaN = missing) and finite targets y. */
  async fit(X: FeatureMatrix, y: Float64Array, opts: FitOptions = {}): Promise<this> {
    const forest = await trainForest(X, y, this.params, opts);
    this.forest = forest;
    this.compiled = new CompiledForest(forest);
    return this;
  }

  predict(X: FeatureMatrix): Float64Array {
    if (!this.compiled) throw new GBDTInputError('the model is not fitted: call fit() or fromJSON() first');
    return this.compiled.predict(X);
  }

  /** Trees kept (the best validation iteration when early stopping ran). */
  get bestIteration(): number {
    return this.forest?.bestIteration ?? 0;
  }

  /** Total split gain per feature over the trees kept. */
  featureImportance(): Float64Array {
    return Float64Array.from(this.requireForest().gainImportance);
  }

  toJSON(): TrainedForest {
    return this.requireForest();
  }

  /** Rebuilds a fitted model; the forest is validated (bad input → GBDTInputError). */
  static fromJSON(f: TrainedForest): GBDTRegressor {
    const compiled = new CompiledForest(f);
    const m = new GBDTRegressor(f.params);
    m.forest = f;
    m.compiled = compiled;
    return m;
  }

  private requireForest(): TrainedForest {
    if (!this.forest) throw new GBDTInputError('the model is not fitted: call fit() or fromJSON() first');
    return this.forest;
  }
}
