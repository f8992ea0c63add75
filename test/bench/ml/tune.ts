/**
 * How ETA_DEFAULT_PARAMS (src/ml/model/train.ts) were chosen: time-ordered cross-validation on
 * the real sample, run by hand (`node dist/test/bench/ml/tune.js`), not by a make target.
 *
 * Procedure:
 * 1. Take only the train part of the pipeline's time holdout (the earliest 80% by created_at):
 *    the holdout that the benchmark and model.json report stays unseen by tuning.
 * 2. Split that part into 3 expanding-window time folds (fold i trains on time blocks 0..i and
 *    validates on block i+1; src/ml/split.ts timeSeriesFolds).
 * 3. In each fold, the feature spec is fitted on the fold's train rows; the model is fitted with
 *    the pipeline's early stopping (latest 10% of the fold's train rows, 50 rounds) and scored
 *    (RMSE, seconds) on the fold's validation block. The score of a setting is the mean over
 *    folds.
 * 4. Coordinate search from a LightGBM-like start (learning rate 0.05, 31 leaves, 20 rows per
 *    leaf, L2 1, squared loss): one parameter's candidates at a time, keeping the best value
 *    before moving to the next parameter; then one more pass over the learning rate.
 *
 *   node dist/test/bench/ml/tune.js [--data CSV] [--folds 3]
 */
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readDataset } from '../../../src/ml/dataset/read.js';
import { targetSeconds, type Dataset } from '../../../src/ml/dataset/schema.js';
import { buildFeatures, fitFeatureSpec } from '../../../src/ml/features/index.js';
import { GBDTRegressor, type GBDTParams } from '../../../src/ml/gbdt/index.js';
import { regressionMetrics } from '../../../src/ml/metrics/index.js';
import { timeHoldout, timeSeriesFolds, type Fold } from '../../../src/ml/split.js';
import { usableRows } from './prepare.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

async function foldScore(ds: Dataset, y: Float64Array, fold: Fold, params: Partial<GBDTParams>): Promise<{ rmse: number; trees: number }> {
  const spec = fitFeatureSpec(ds, fold.train);
  const inner = timeHoldout(ds.numeric.created_at, fold.train, 0.1);
  const gather = (rows: Int32Array): Float64Array => Float64Array.from(rows, (r) => y[r]);
  const model = new GBDTRegressor(params);
  await model.fit(buildFeatures(ds, spec, inner.train), gather(inner.train), {
    validation: { X: buildFeatures(ds, spec, inner.holdout), y: gather(inner.holdout) },
  });
  const pred = model.predict(buildFeatures(ds, spec, fold.valid));
  return { rmse: regressionMetrics(gather(fold.valid), pred).rmse, trees: model.bestIteration };
}

async function main(): Promise<void> {
  const data = arg('data', path.resolve(root, '../shared/data/doordash_sample.csv'));
  const k = Number(arg('folds', '3'));
  const { dataset: ds } = await readDataset(data);
  const y = targetSeconds(ds);
  const trainPart = timeHoldout(ds.numeric.created_at, usableRows(ds), 0.2).train;
  const folds = timeSeriesFolds(ds.numeric.created_at, trainPart, k);
  const base: Partial<GBDTParams> = {
    numTrees: 3000,
    learningRate: 0.05,
    maxLeaves: 31,
    minDataInLeaf: 20,
    lambdaL2: 1,
    loss: 'l2',
    earlyStoppingRounds: 50,
    numThreads: Math.min(os.availableParallelism(), 8),
  };
  const cache = new Map<string, number>();
  const evaluate = async (p: Partial<GBDTParams>): Promise<number> => {
    const key = JSON.stringify(p);
    const known = cache.get(key);
    if (known !== undefined) return known;
    const scores = [];
    for (const f of folds) scores.push(await foldScore(ds, y, f, p));
    const mean = scores.reduce((s, x) => s + x.rmse, 0) / scores.length;
    cache.set(key, mean);
    const shown = Object.entries(p).filter(([n]) => !['numTrees', 'earlyStoppingRounds', 'numThreads'].includes(n)).map(([n, v]) => `${n}=${String(v)}`).join(' ');
    console.log(`${mean.toFixed(2).padStart(9)}  trees ${scores.map((s) => s.trees).join('/').padEnd(14)} ${shown}`);
    return mean;
  };

  const grid: [keyof GBDTParams, (string | number)[]][] = [
    ['learningRate', [0.03, 0.05, 0.1]],
    ['maxLeaves', [15, 31, 63]],
    ['minDataInLeaf', [10, 20, 50, 100]],
    ['lambdaL2', [0, 1, 10, 100]],
    ['loss', ['l2', 'huber']],
    ['learningRate', [0.02, 0.03, 0.05]],
  ];
  let best = { ...base };
  let bestScore = await evaluate(best);
  for (const [name, values] of grid) {
    for (const v of values) {
      // Huber's delta is in target units (seconds): about one typical absolute error.
      const candidate = { ...best, [name]: v, ...(name === 'loss' && v === 'huber' ? { huberDelta: 600 } : {}) };
      const s = await evaluate(candidate);
      if (s < bestScore) {
        bestScore = s;
        best = candidate;
      }
    }
    console.log(`-- best after ${name}: ${bestScore.toFixed(2)} ${JSON.stringify(best)}`);
  }
  console.log(`\nchosen (mean CV RMSE ${bestScore.toFixed(2)} s over ${k} time folds): ${JSON.stringify(best)}`);
}

await main();
