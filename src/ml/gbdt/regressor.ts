/** GBDTRegressor: validated params in the constructor, fit/predict, JSON round trip. */
import type { TrainedForest } from './forest.js';
import { GBDTInputError, resolveParams, type GBDTParams } from './params.js';
import type { FeatureMatrix, FitOptions } from './types.js';

export class GBDTRegressor {
  readonly params: GBDTParams;
  private forest: TrainedForest | undefined;

  constructor(params?: Partial<GBDTParams>) {
    this.params = resolveParams(params);
  }

  async fit(_X: FeatureMatrix, _y: Float64Array, _opts: FitOptions = {}): Promise<this> {
    throw new Error('GBDTRegressor.fit: implementation in progress');
  }

  predict(_X: FeatureMatrix): Float64Array {
    throw new GBDTInputError('predict called before fit');
  }

  get bestIteration(): number {
    return this.forest?.bestIteration ?? 0;
  }

  featureImportance(): Float64Array {
    return Float64Array.from(this.requireForest().gainImportance);
  }

  toJSON(): TrainedForest {
    return this.requireForest();
  }

  static fromJSON(f: TrainedForest): GBDTRegressor {
    const m = new GBDTRegressor(f.params);
    m.forest = f;
    return m;
  }

  private requireForest(): TrainedForest {
    if (!this.forest) throw new GBDTInputError('the model is not fitted: call fit() or fromJSON() first');
    return this.forest;
  }
}
