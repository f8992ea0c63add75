/**
 * The server's parts on their own: order validation details, the micro-batcher (merging
 * concurrent requests into one model run, failure isolation, retire-after-drain), the rate
 * limiter, the recent-prediction memory and the live accuracy window.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EXAMPLE_ORDER, OrderValidationError, canonicalCategory, parseOrders, rowsToDataset } from '../../src/server/order-input.js';
import { ServingModel, type ModelPredictor } from '../../src/server/serving-model.js';
import { RateLimiter } from '../../src/server/rate-limit.js';
import { PredictionService } from '../../src/server/service.js';
import { LiveAccuracyWindow, RecentPredictions } from '../../src/server/live-accuracy.js';
import { parseInferRequest, InferRequestError } from '../../src/server/oip.js';
import type { Dataset } from '../../src/ml/dataset/schema.js';

describe('order validation', () => {
  test('ids: 1, "1", "1.0" and " 1 " are the same market; labels are kept as text', () => {
    assert.equal(canonicalCategory(1), '1');
    assert.equal(canonicalCategory('1'), '1');
    assert.equal(canonicalCategory('1.0'), '1');
    assert.equal(canonicalCategory(' 1 '), '1');
    assert.equal(canonicalCategory('store-9'), 'store-9');
    assert.equal(canonicalCategory(-1), undefined);
  });

  test('a batch becomes one columnar Dataset with shared category dictionaries and NaN for missing', () => {
    const { rows } = parseOrders([
      { ...EXAMPLE_ORDER, market_id: 2 },
      { ...EXAMPLE_ORDER, market_id: '2', total_onshift_dashers: null, store_primary_category: 'thai' },
      { ...EXAMPLE_ORDER, market_id: null },
    ]);
    const ds = rowsToDataset(rows);
    assert.equal(ds.rowCount, 3);
    assert.deepEqual(ds.category.market_id.values, ['2']);
    assert.deepEqual(Array.from(ds.category.market_id.codes), [0, 0, -1]);
    assert.deepEqual(ds.category.store_primary_category.values, ['american', 'thai']);
    assert.ok(Number.isNaN(ds.numeric.total_onshift_dashers[1]));
    assert.ok(Number.isNaN(ds.numeric.actual_delivery_time[0]), 'the target is what we predict');
    assert.equal(ds.numeric.created_at[0], Date.UTC(2015, 1, 6, 22, 24, 17) / 1000);
  });

  test('missing nullable fields are counted per field; unknown keys listed with paths', () => {
    const parsed = parseOrders([{ ...EXAMPLE_ORDER, market_id: null, extra: 1 }, { ...EXAMPLE_ORDER, market_id: '', order_protocol: undefined }]);
    assert.equal(parsed.missingFields.get('market_id'), 2);
    assert.equal(parsed.missingFields.get('order_protocol'), 1);
    assert.deepEqual(parsed.unknownFields, ['[0].extra']);
  });

  test('the error lists every bad field of every order', () => {
    try {
      parseOrders([{ ...EXAMPLE_ORDER, subtotal: 'abc' }, { ...EXAMPLE_ORDER }, { created_at: '2015-01-01' }]);
      assert.fail('expected an OrderValidationError');
    } catch (err) {
      assert.ok(err instanceof OrderValidationError);
      const paths = err.errors.map((e) => e.path);
      assert.ok(paths.includes('[0].subtotal'));
      assert.ok(paths.includes('[2].store_id'));
      assert.ok(!paths.some((p) => p.startsWith('[1]')));
      assert.match(err.message, /\[0\]\.subtotal: expected a number >= 0 \(cents\) up to \d+, got "abc"/);
    }
  });

  test('OIP: tensors become orders; a tensor of the wrong length is named', () => {
    const inputs = Object.entries(EXAMPLE_ORDER).map(([name, v]) => ({ name, shape: [1], datatype: typeof v === 'string' ? 'BYTES' : 'INT64', data: [v] }));
    const r = parseInferRequest({ inputs });
    assert.deepEqual(r.orders, [EXAMPLE_ORDER]);
    assert.throws(() => parseInferRequest({ inputs: [...inputs.slice(1), { ...inputs[0], shape: [2], data: [1, 2] }] }), (e: unknown) => e instanceof InferRequestError && /earlier inputs have 1/.test(e.message));
  });
});

/** A predictor that records each run's row count and returns row index * 10 + subtotal / 1000. */
function countingPredictor(delayMs = 5): ModelPredictor & { runs: number[]; closed: boolean; failNext: boolean } {
  const p = {
    runs: [] as number[],
    closed: false,
    failNext: false,
    async predict(ds: Dataset): Promise<Float64Array> {
      p.runs.push(ds.rowCount);
      await new Promise((r) => setTimeout(r, delayMs));
      if (p.failNext) { p.failNext = false; throw new Error('model failure'); }
      return Float64Array.from(ds.numeric.subtotal, (v) => v / 1000);
    },
    close() { p.closed = true; },
  };
  return p;
}

const identity = { name: 'm', version: '1', sha256: 'a'.repeat(64), source: 'test' };
const rowsWith = (subtotal: number) => parseOrders({ ...EXAMPLE_ORDER, subtotal }).rows;

describe('micro-batching serving model', () => {
  test('concurrent requests are merged into few model runs and each gets its own rows back', async () => {
    const predictor = countingPredictor();
    const model = new ServingModel({ ...identity, predictor });
    const first = Array.from({ length: 20 }, (_, i) => model.predictRows(rowsWith(1000 * (i + 1))));
    // Requests that arrive while that run is in flight share the next one.
    await new Promise((r) => setImmediate(r));
    const later = Array.from({ length: 5 }, (_, i) => model.predictRows(rowsWith(1000 * (i + 21))));
    const outs = await Promise.all([...first, ...later]);
    outs.forEach((o, i) => assert.deepEqual(Array.from(o), [i + 1]));
    assert.deepEqual(predictor.runs, [20, 5], 'requests of one event-loop turn share a run; those that came during it, the next');
  });

  test('an idle model adds no waiting window: a lone request runs in the same event-loop turn', async () => {
    const predictor = countingPredictor();
    const model = new ServingModel({ ...identity, predictor });
    const out = model.predictRows(rowsWith(3000));
    assert.deepEqual(predictor.runs, [], 'not inside the caller: requests of this turn may still join');
    // Immediates run in order: the model's run was queued before this one.
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(predictor.runs, [1]);
    assert.deepEqual(Array.from(await out), [3]);
  });

  test('a failed run fails only the requests in it; the next run works', async () => {
    const predictor = countingPredictor();
    const model = new ServingModel({ ...identity, predictor });
    predictor.failNext = true;
    await assert.rejects(model.predictRows(rowsWith(1000)), /model failure/);
    assert.deepEqual(Array.from(await model.predictRows(rowsWith(2000))), [2]);
  });

  test('retire waits for in-flight requests before closing the predictor', async () => {
    const predictor = countingPredictor(30);
    const model = new ServingModel({ ...identity, predictor });
    const pending = model.predictRows(rowsWith(5000));
    const retired = model.retire();
    assert.equal(predictor.closed, false);
    assert.deepEqual(Array.from(await pending), [5]);
    await retired;
    assert.equal(predictor.closed, true);
    await assert.rejects(model.predictRows(rowsWith(1000)), /closed/);
  });

  test('warm-up refuses a model that returns non-finite values', async () => {
    const model = new ServingModel({ ...identity, predictor: { predict: async () => Float64Array.of(NaN), close: () => undefined } });
    await assert.rejects(model.warm(rowsWith(1000)), /non-finite/);
  });
});

describe('rate limiter', () => {
  test('allows the burst, then the sustained rate, per client', () => {
    let now = 0;
    const rl = new RateLimiter({ ratePerSecond: 10, burst: 5 }, () => now);
    for (let i = 0; i < 5; i++) assert.equal(rl.allow('a'), true);
    assert.equal(rl.allow('a'), false);
    assert.equal(rl.allow('b'), true, 'another client has its own bucket');
    now += 100; // 0.1 s at 10/s refills one token
    assert.equal(rl.allow('a'), true);
    assert.equal(rl.allow('a'), false);
    assert.ok(rl.retryAfterSeconds('a') >= 1);
  });

  test('a server made with no options limits bodies (1 MiB) and the per-client rate', () => {
    const service = new PredictionService();
    assert.equal(service.options.bodyLimitBytes, 1024 * 1024);
    assert.equal(service.limiter.enabled, true, 'rate limiting is on by default');
    assert.deepEqual(service.options.rateLimit, { ratePerSecond: 20_000, burst: 40_000 });
    // The default burst is really enforced: one client as fast as it can; what refills during
    // the loop (20,000/s) is allowed on top of the 40,000 burst.
    let allowed = 0;
    const t0 = performance.now();
    while (service.limiter.allow('198.51.100.7') && allowed < 1_000_000) allowed++;
    const refilled = Math.ceil((20_000 * (performance.now() - t0)) / 1000) + 1;
    assert.ok(allowed >= 40_000 && allowed <= 40_000 + refilled, `allowed ${allowed} requests (burst 40,000 + ${refilled} refilled)`);
  });

  test('idle buckets are swept; rate 0 turns the limiter off', () => {
    let now = 0;
    const rl = new RateLimiter({ ratePerSecond: 10, burst: 5 }, () => now);
    for (let i = 0; i < 100; i++) rl.allow(`client-${i}`);
    assert.equal(rl.trackedClients, 100);
    now += 120_000;
    rl.allow('new');
    assert.equal(rl.trackedClients, 1);
    const off = new RateLimiter({ ratePerSecond: 0, burst: 1 });
    for (let i = 0; i < 1000; i++) assert.equal(off.allow('x'), true);
    assert.throws(() => new RateLimiter({ ratePerSecond: -1, burst: 1 }), RangeError);
  });
});

describe('recent predictions and live accuracy', () => {
  test('single and batch entries are found by id and forgotten oldest first', () => {
    const recent = new RecentPredictions(4);
    const p = (v: number) => ({ prediction: v, model: 'm', version: '1', at: 0, createdAt: 0 });
    for (let i = 0; i < 6; i++) recent.remember(`r${i}`, p(i));
    assert.equal(recent.get('r0'), undefined);
    assert.equal(recent.get('r5')?.prediction, 5);
    recent.rememberBatch('b1', { predictions: Float64Array.of(1, 2, 3), createdAt: Float64Array.of(10, 20, 30), model: 'm', version: '1', at: 0 });
    assert.equal(recent.get('b1:2')?.prediction, 3);
    assert.equal(recent.get('b1:2')?.createdAt, 30);
    assert.equal(recent.get('b1:3'), undefined);
    recent.rememberBatch('b2', { predictions: Float64Array.of(4, 5, 6), createdAt: new Float64Array(3), model: 'm', version: '1', at: 0 });
    assert.equal(recent.get('b1:0'), undefined, 'the older batch is forgotten beyond capacity');
    assert.equal(recent.get('b2:0')?.prediction, 4);
  });

  test('MAE and RMSE over the window; old errors leave it', () => {
    let now = 0;
    const w = new LiveAccuracyWindow(60, 1000, () => now);
    assert.equal(w.current(), null);
    w.add(110, 100);
    w.add(70, 100);
    assert.deepEqual(w.current(), { mae: 20, rmse: Math.sqrt((100 + 900) / 2), count: 2 });
    now += 61_000;
    w.add(105, 100);
    assert.deepEqual(w.current(), { mae: 5, rmse: 5, count: 1 });
  });

  test('a full store keeps exactly the newest ids; a repeated id is updated, not stored twice', () => {
    const recent = new RecentPredictions(100);
    const p = (v: number) => ({ prediction: v, model: 'm', version: '1', at: 0, createdAt: 0 });
    for (let i = 0; i < 1000; i++) recent.remember(`r${i}`, p(i));
    assert.equal(recent.size, 100);
    assert.equal(recent.get('r899'), undefined);
    for (let i = 900; i < 1000; i++) assert.equal(recent.get(`r${i}`)?.prediction, i);
    recent.remember('r950', p(-1));
    assert.equal(recent.size, 100);
    assert.equal(recent.get('r950')?.prediction, -1);
    recent.remember('new', p(7));
    assert.equal(recent.get('r900'), undefined, 'the oldest goes first');
    assert.equal(recent.get('r901')?.prediction, 901);
  });

  test('the accuracy window holds at most a tenth more than its sample limit, and the newest samples', () => {
    const w = new LiveAccuracyWindow(3600, 100, () => 0);
    for (let i = 0; i < 1000; i++) w.add(i, 0);
    const c = w.current()!;
    assert.ok(c.count >= 100 && c.count <= 110, `count ${c.count}`);
    // The newest `count` errors are 1000 - count ... 999.
    assert.equal(c.mae, (999 + (1000 - c.count)) / 2);
  });
});
