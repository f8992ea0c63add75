/**
 * Child process of compare.ts: fits etaops' GBDT on the matrices in DIR with the protocol of
 * the training pipeline (early stopping on the latest rows of the train part, then a refit on
 * the whole train part with the chosen tree count), predicts the holdout, and prints one JSON
 * line (fit seconds, peak RSS of this process, trees, predictions file). Run alone so its peak
 * RSS is its own.
 *
 *   node dist/test/bench/ml/fit-etaops.js DIR
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { GBDTRegressor, type GBDTParams } from '../../../src/ml/gbdt/index.js';
import type { FeatureMatrix } from '../../../src/ml/gbdt/types.js';

interface BenchMeta {
  cols: number;
  trainRows: number;
  testRows: number;
  earlyStoppingRows: number;
  params: GBDTParams;
  threads: number;
}

function readF32(file: string): Float32Array {
  const b = readFileSync(file);
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
}

function readF64(file: string): Float64Array {
  const b = readFileSync(file);
  return new Float64Array(b.buffer, b.byteOffset, b.byteLength / 8);
}

async function main(): Promise<void> {
  const dir = process.argv[2];
  const meta = JSON.parse(readFileSync(path.join(dir, 'meta.json'), 'utf8')) as BenchMeta;
  const X: FeatureMatrix = { data: readF32(path.join(dir, 'X_train.f32')), rows: meta.trainRows, cols: meta.cols };
  const y = readF64(path.join(dir, 'y_train.f64'));
  const Xt: FeatureMatrix = { data: readF32(path.join(dir, 'X_test.f32')), rows: meta.testRows, cols: meta.cols };
  const params = { ...meta.params, numThreads: meta.threads };
  const nEs = params.earlyStoppingRounds > 0 ? meta.earlyStoppingRows : 0;

  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  let trees = params.numTrees;
  if (nEs > 0) {
    const cut = meta.trainRows - nEs;
    const probe = new GBDTRegressor(params);
    await probe.fit({ data: X.data.subarray(0, cut * meta.cols), rows: cut, cols: meta.cols }, y.subarray(0, cut), {
      validation: { X: { data: X.data.subarray(cut * meta.cols), rows: nEs, cols: meta.cols }, y: y.subarray(cut) },
    });
    trees = Math.max(1, probe.bestIteration);
  }
  const model = new GBDTRegressor({ ...params, numTrees: trees, earlyStoppingRounds: 0 });
  await model.fit(X, y);
  const fitSeconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0); // whole process: the main thread and the worker threads
  const fitCpuSeconds = (cpu.user + cpu.system) / 1e6;

  const out = path.join(dir, 'pred_etaops.f64');
  const pred = model.predict(Xt);
  writeFileSync(out, new Uint8Array(pred.buffer, pred.byteOffset, pred.byteLength));
  const peakRssMB = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(JSON.stringify({ engine: 'etaops', fitSeconds, fitCpuSeconds, peakRssMB, trees, predictions: out }) + '\n');
}

await main();
