import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { targetSeconds } from '../../src/ml/dataset/schema.js';
import { buildFeatures } from '../../src/ml/features/index.js';
import { regressionMetrics } from '../../src/ml/metrics/index.js';
import { ModelDirError, loadPredictor, readModelDir, sha256Hex, trainModel, TrainingError } from '../../src/ml/model/index.js';
import { loadPredictorOnThread } from '../../src/ml/model/predictor-thread.js';
import { predictCsv } from '../../src/ml/model/batch-predict.js';
import { makeDataset, utc, type OrderRow } from './features-fixtures.js';

/** Orders with a known signal: duration grows with driving estimate and items, market 3 is slow. */
function syntheticOrders(n: number, seed = 1): OrderRow[] {
  let s = seed;
  const rand = (): number => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  const start = utc('2015-01-22 00:00:00');
  const rows: OrderRow[] = [];
  for (let i = 0; i < n; i++) {
    const created = start + Math.floor(i * 600 + rand() * 300);
    const drive = 200 + Math.floor(rand() * 1200);
    const items = 1 + Math.floor(rand() * 6);
    const market = String(1 + Math.floor(rand() * 4));
    const duration = 900 + drive + 120 * items + (market === '3' ? 600 : 0) + Math.floor(rand() * 200);
    rows.push({
      created_at: created,
      actual_delivery_time: created + duration,
      market_id: i % 50 === 7 ? undefined : market,
      store_id: String(100 + Math.floor(rand() * 30)),
      store_primary_category: ['pizza', 'thai', 'american'][Math.floor(rand() * 3)],
      order_protocol: String(1 + Math.floor(rand() * 3)),
      total_items: items,
      subtotal: items * 900,
      num_distinct_items: items,
      min_item_price: 500,
      max_item_price: 1200,
      total_onshift_dashers: 20 + Math.floor(rand() * 20),
      total_busy_dashers: 10 + Math.floor(rand() * 10),
      total_outstanding_orders: 15 + Math.floor(rand() * 30),
      estimated_order_place_duration: 446,
      estimated_store_to_consumer_driving_duration: drive,
    });
  }
  return rows;
}

test('trainModel writes a model whose ONNX predictions match the trained forest and whose metrics are the holdout\'s', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'etaops-train-'));
  try {
    const ds = makeDataset(syntheticOrders(600));
    const progress: number[] = [];
    const result = await trainModel({ dataset: ds, modelDir: dir, params: { numTrees: 40, learningRate: 0.2, numThreads: 1 }, onProgress: (p) => progress.push(p.tree) });
    const { meta } = await readModelDir(dir);
    assert.ok(progress.length > 0, 'progress was reported');
    assert.equal(meta.split.trainRows + meta.split.holdoutRows, 600);
    assert.equal(meta.split.holdoutRows, 120);
    assert.ok(meta.bestIteration >= 1 && meta.bestIteration <= 40);
    assert.equal(meta.params.numTrees, meta.bestIteration, 'the refit uses the early-stopped tree count');
    assert.match(meta.data.fingerprint, /^[0-9a-f]{64}$/);
    assert.ok(meta.training_profile && typeof meta.training_profile === 'object', 'training profile filled by src/drift');

    // The holdout is the latest 20% of rows, untouched by fitting.
    const created = ds.numeric.created_at;
    const latestTrain = Math.max(...Array.from(result.split.train, (r) => created[r]));
    assert.ok(Array.from(result.split.holdout).every((r) => created[r] > latestTrain));
    assert.equal(meta.split.holdoutFrom, new Date(created[result.split.holdout[0]] * 1000).toISOString());

    // ONNX (onnxruntime) and the TS forest agree on every row.
    const predictor = await loadPredictor(dir);
    try {
      const onnx = await predictor.predict(ds);
      const ts = result.model.predict(buildFeatures(ds, result.spec));
      for (let i = 0; i < ds.rowCount; i++) assert.ok(Math.abs(onnx[i] - ts[i]) <= 1e-4 * Math.abs(ts[i]), `row ${i}: ${onnx[i]} vs ${ts[i]}`);
      const y = targetSeconds(ds);
      const holdoutMetrics = regressionMetrics(y, onnx, result.split.holdout);
      assert.ok(Math.abs(holdoutMetrics.rmse - meta.metrics.overall.rmse) < 1e-6);
      // The signal is learnable: far better than predicting the mean.
      assert.ok(meta.metrics.overall.r2 > 0.8, `holdout R² ${meta.metrics.overall.r2}`);
      assert.ok(meta.metrics.byMarket['3'].count > 0 && meta.metrics.byMarket['(missing)'].count > 0);
    } finally {
      await predictor.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('training is deterministic: same data and seed, same model bytes', async () => {
  const ds = makeDataset(syntheticOrders(300, 5));
  const params = { numTrees: 15, learningRate: 0.3, numThreads: 1, rowSubsample: 0.8, seed: 3 };
  const a = await trainModel({ dataset: ds, params });
  const b = await trainModel({ dataset: ds, params });
  assert.equal(a.meta.onnx.sha256, b.meta.onnx.sha256);
});

test('too few usable rows and bad options fail with a clear message before any training', async () => {
  const ds = makeDataset(syntheticOrders(10));
  await assert.rejects(trainModel({ dataset: ds }), (err: unknown) => err instanceof TrainingError && /10 rows with a usable delivery time; training needs at least 20/.test(err.message));
  await assert.rejects(trainModel({ dataset: makeDataset(syntheticOrders(50)), holdoutFraction: 1.5 }), /holdoutFraction must be a number > 0 and < 1/);
  await assert.rejects(trainModel({ dataset: ds, params: { maxLeaves: 1 } }), /maxLeaves/);
});

test('the predictor rejects ONNX bytes that do not belong to the meta', async () => {
  const ds = makeDataset(syntheticOrders(100));
  const r = await trainModel({ dataset: ds, params: { numTrees: 5, numThreads: 1 } });
  await assert.rejects(loadPredictor({ onnx: Uint8Array.of(1, 2, 3), meta: r.meta }), /sha256/);
  const p = await loadPredictor({ onnx: r.onnx, meta: r.meta });
  const one = await p.predict(makeDataset([syntheticOrders(1)[0]]));
  assert.equal(one.length, 1);
  assert.ok(Number.isFinite(one[0]));
  await p.close();
  await assert.rejects(p.predict(ds), /closed/);
});

test('batch prediction keeps quoted fields and CRLF input intact and scores in small batches', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'etaops-batch-'));
  try {
    const r = await trainModel({ dataset: makeDataset(syntheticOrders(200)), params: { numTrees: 5, numThreads: 1 } });
    const header = 'market_id,created_at,store_id,store_primary_category,order_protocol,total_items,subtotal,num_distinct_items,min_item_price,max_item_price,total_onshift_dashers,total_busy_dashers,total_outstanding_orders,estimated_order_place_duration,estimated_store_to_consumer_driving_duration';
    const rows = [
      '1,2015-02-06 22:24:17,1845,"pizza, thin ""crust""",1,4,3441,4,557,1239,33,14,21,446,861',
      '2,,1845,thai,1,4,3441,4,557,1239,33,14,21,446,861',
      '3,2015-02-07 22:24:17,1845,thai,1,4,3441,4,557,1239,,,,446,861',
    ];
    const input = path.join(dir, 'in.csv');
    await writeFile(input, [header, ...rows].join('\r\n') + '\r\n');
    const output = path.join(dir, 'out.csv');
    const p = await loadPredictor({ onnx: r.onnx, meta: r.meta });
    const summary = await predictCsv(p, input, output, { batchRows: 1 });
    await p.close();
    assert.deepEqual([summary.recordsRead, summary.scored, summary.notScored], [3, 2, 1]);
    const out = (await readFile(output, 'utf8')).trimEnd().split('\n');
    assert.equal(out[0], `${header},predicted_duration_seconds,prediction_error`);
    assert.match(out[1], /^1,2015-02-06 22:24:17,1845,"pizza, thin ""crust""",1,.*,861,\d+\.\d,$/);
    assert.match(out[2], /^2,,1845,thai,.*,861,,created_at is empty/);
    assert.match(out[3], /^3,.*,,,,446,861,\d+\.\d,$/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('batch prediction of a large file waits on the output without piling up listeners, and a failing output fails the run', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'etaops-batch-'));
  const warnings: string[] = [];
  const onWarning = (w: Error): void => { warnings.push(`${w.name}: ${w.message}`); };
  process.on('warning', onWarning);
  try {
    const r = await trainModel({ dataset: makeDataset(syntheticOrders(200)), params: { numTrees: 5, numThreads: 1 } });
    const header = 'market_id,created_at,store_id,store_primary_category,order_protocol,total_items,subtotal,num_distinct_items,min_item_price,max_item_price,total_onshift_dashers,total_busy_dashers,total_outstanding_orders,estimated_order_place_duration,estimated_store_to_consumer_driving_duration';
    const row = '1,2015-02-06 22:24:17,1845,american,1,4,3441,4,557,1239,33,14,21,446,861';
    const input = path.join(dir, 'in.csv');
    // ~1.7 MB out in 500-row writes of ~45 KB: each overfills the output stream's 16 KiB buffer.
    await writeFile(input, `${header}\n${`${row}\n`.repeat(20_000)}`);
    const p = await loadPredictor({ onnx: r.onnx, meta: r.meta });
    try {
      const summary = await predictCsv(p, input, path.join(dir, 'out.csv'), { batchRows: 500 });
      assert.equal(summary.scored, 20_000);
      await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
      assert.deepEqual(warnings.filter((w) => /MaxListeners/.test(w)), []);
      await assert.rejects(predictCsv(p, input, path.join(dir, 'no-such-dir', 'out.csv'), { batchRows: 100 }), /ENOENT/);
    } finally {
      await p.close();
    }
  } finally {
    process.off('warning', onWarning);
    await rm(dir, { recursive: true, force: true });
  }
});

test('a predictor on a worker thread scores exactly as one on this thread, and fails cleanly', async () => {
  const r = await trainModel({ dataset: makeDataset(syntheticOrders(300)), params: { numTrees: 8, numThreads: 1 } });
  const ds = makeDataset(syntheticOrders(120, 5));
  const here = await loadPredictor({ onnx: r.onnx, meta: r.meta }, { threads: 1 });
  const there = await loadPredictorOnThread({ onnx: r.onnx, meta: r.meta }, { threads: 1 });
  try {
    assert.match(there.engine, /on a worker thread/);
    // Several calls in flight at once come back to their own callers.
    const [a, b, c] = await Promise.all([there.predict(ds), there.predict(ds, Int32Array.of(5, 6, 7)), here.predict(ds)]);
    assert.deepEqual(a, c);
    assert.deepEqual(b, c.slice(5, 8));
    const X = buildFeatures(ds, r.meta.featureSpec);
    assert.deepEqual(await there.predictFeatures(X), c);
    assert.equal(X.data.length, X.rows * X.cols, 'a caller\'s matrix is copied, not handed over');
    await assert.rejects(there.predictFeatures({ data: new Float32Array(3), rows: 1, cols: 3 }), /3 columns, the model expects/);
  } finally {
    await here.close();
    await there.close();
  }
  await assert.rejects(there.predict(ds), /closed/);
  await assert.rejects(loadPredictorOnThread({ onnx: Buffer.from('not a model'), meta: r.meta }), (e: unknown) => e instanceof ModelDirError && /sha256/.test((e as Error).message));
  const badOnnx = Buffer.from('not a model');
  await assert.rejects(loadPredictorOnThread({ onnx: badOnnx, meta: { ...r.meta, onnx: { ...r.meta.onnx, sha256: sha256Hex(badOnnx) } } }), (e: unknown) => e instanceof ModelDirError && /onnxruntime cannot load/.test((e as Error).message));
});
