import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  buildFeatures,
  FEATURE_NAMES_V1,
  fitFeatureSpec,
  LocalClock,
  validateFeatureSpec,
  FeatureSpecError,
} from '../../src/ml/features/index.js';
import { existsSync, readFileSync } from 'node:fs';
import { readDataset } from '../../src/ml/dataset/index.js';
import { ordersToDataset, OrderValidationError } from '../../src/server/order-input.js';
import { makeDataset, oneRow, SAMPLE_CSV, utc, type OrderRow } from './features-fixtures.js';

const col = (name: string): number => FEATURE_NAMES_V1.indexOf(name as (typeof FEATURE_NAMES_V1)[number]);

const base: OrderRow = {
  created_at: utc('2015-02-06 22:24:17'),
  actual_delivery_time: utc('2015-02-06 23:27:16'),
  market_id: '1',
  store_id: '1845',
  store_primary_category: 'american',
  order_protocol: '1',
  total_items: 4,
  subtotal: 3441,
  num_distinct_items: 4,
  min_item_price: 557,
  max_item_price: 1239,
  total_onshift_dashers: 33,
  total_busy_dashers: 14,
  total_outstanding_orders: 21,
  estimated_order_place_duration: 446,
  estimated_store_to_consumer_driving_duration: 861,
};

test('local hour and weekday follow US/Pacific including both DST changes', () => {
  const clock = new LocalClock();
  // 2015-02-06 22:24 UTC = 14:24 PST (UTC-8), a Friday.
  assert.equal(clock.hour(utc('2015-02-06 22:24:17')), 14);
  assert.equal(clock.weekday(utc('2015-02-06 22:24:17')), 5);
  // 2015-02-07 03:00 UTC = Friday 19:00 PST: the local day is still Friday.
  assert.equal(clock.weekday(utc('2015-02-07 03:00:00')), 5);
  // DST began 2015-03-08 at 10:00 UTC (02:00 PST → 03:00 PDT).
  assert.equal(clock.hour(utc('2015-03-08 09:59:59')), 1);
  assert.equal(clock.hour(utc('2015-03-08 10:00:00')), 3);
  assert.equal(clock.offsetSeconds(utc('2015-03-08 10:00:00')), -7 * 3600);
  // DST ended 2015-11-01 at 09:00 UTC (02:00 PDT → 01:00 PST): 01:xx happens twice.
  assert.equal(clock.hour(utc('2015-11-01 08:30:00')), 1);
  assert.equal(clock.hour(utc('2015-11-01 09:30:00')), 1);
  assert.equal(clock.offsetSeconds(utc('2015-11-01 09:30:00')), -8 * 3600);
  assert.ok(Number.isNaN(clock.hour(NaN)));
});

test('the offset table agrees with Intl at random instants across decades', () => {
  const clock = new LocalClock();
  fc.assert(
    fc.property(fc.integer({ min: utc('1990-01-01 00:00:00'), max: utc('2040-01-01 00:00:00') }), (t) => {
      assert.equal(clock.offsetSeconds(t), clock.exactOffsetSeconds(t));
    }),
    { numRuns: 300 },
  );
});

test('an unknown time zone fails up front', () => {
  assert.throws(() => new LocalClock('Mars/Olympus_Mons'), RangeError);
});

test('derived features: ratios, free dashers, estimate sum, average price', () => {
  const ds = makeDataset([base]);
  const X = buildFeatures(ds, fitFeatureSpec(ds));
  assert.equal(X.cols, FEATURE_NAMES_V1.length);
  assert.equal(X.rows, 1);
  const v = (name: string): number => X.data[col(name)];
  assert.equal(v('local_hour'), 14);
  assert.equal(v('busy_ratio'), Math.fround(14 / 33));
  assert.equal(v('outstanding_per_onshift'), Math.fround(21 / 33));
  assert.equal(v('free_dashers'), 19);
  assert.equal(v('estimate_sum'), 446 + 861);
  assert.equal(v('avg_item_price'), Math.fround(3441 / 4));
  assert.equal(v('subtotal'), 3441);
  assert.equal(v('market_code'), 0);
});

test('missing and impossible inputs become NaN, not errors', () => {
  const ds = makeDataset([
    { ...base, total_onshift_dashers: 0 },
    { ...base, total_onshift_dashers: -3 },
    { ...base, total_onshift_dashers: undefined, market_id: undefined, total_items: 0 },
  ]);
  const X = buildFeatures(ds, fitFeatureSpec(ds));
  const at = (r: number, name: string): number => X.data[r * X.cols + col(name)];
  for (const r of [0, 1, 2]) {
    assert.ok(Number.isNaN(at(r, 'busy_ratio')), `row ${r} busy_ratio`);
    assert.ok(Number.isNaN(at(r, 'outstanding_per_onshift')), `row ${r} outstanding_per_onshift`);
  }
  assert.ok(Number.isNaN(at(2, 'market_code')));
  assert.ok(Number.isNaN(at(2, 'free_dashers')));
  assert.ok(Number.isNaN(at(2, 'avg_item_price')));
});

test('category codes are frequency-ordered; unseen values get the dedicated code', () => {
  const train = makeDataset([
    { ...base, market_id: '4' },
    { ...base, market_id: '2' },
    { ...base, market_id: '2' },
    { ...base, market_id: '1' },
    { ...base, market_id: '2' },
    { ...base, market_id: '1' },
  ]);
  const spec = fitFeatureSpec(train);
  assert.deepEqual(spec.categories.market_id.values, ['2', '1', '4']);
  assert.equal(spec.categories.market_id.unseenCode, 3);
  const serve = makeDataset([{ ...base, market_id: '4' }, { ...base, market_id: '99' }, { ...base, market_id: '2' }]);
  const X = buildFeatures(serve, spec);
  assert.deepEqual([0, 1, 2].map((r) => X.data[r * X.cols + col('market_code')]), [2, 3, 0]);
});

test('fitting on a subset of rows learns only from those rows', () => {
  const ds = makeDataset([{ ...base, market_id: '7' }, { ...base, market_id: '8' }, { ...base, market_id: '8' }]);
  const spec = fitFeatureSpec(ds, Int32Array.of(0));
  assert.deepEqual(spec.categories.market_id.values, ['7']);
  const X = buildFeatures(ds, spec, Int32Array.of(2, 0));
  assert.equal(X.rows, 2);
  assert.deepEqual([X.data[col('market_code')], X.data[X.cols + col('market_code')]], [1, 0]);
});

const orderArb: fc.Arbitrary<OrderRow> = fc.record(
  {
    created_at: fc.integer({ min: utc('2014-01-01 00:00:00'), max: utc('2016-12-31 00:00:00') }),
    market_id: fc.constantFrom('1', '2', '3', '4', '5', '6', 'new'),
    store_primary_category: fc.constantFrom('american', 'pizza', 'thai', 'never-seen'),
    order_protocol: fc.constantFrom('1', '2', '3', '7'),
    total_items: fc.integer({ min: -1, max: 40 }),
    subtotal: fc.integer({ min: 0, max: 30_000 }),
    num_distinct_items: fc.integer({ min: 0, max: 20 }),
    min_item_price: fc.integer({ min: -100, max: 5000 }),
    max_item_price: fc.integer({ min: 0, max: 9000 }),
    total_onshift_dashers: fc.integer({ min: -5, max: 170 }),
    total_busy_dashers: fc.integer({ min: -5, max: 160 }),
    total_outstanding_orders: fc.integer({ min: -5, max: 280 }),
    estimated_order_place_duration: fc.integer({ min: 0, max: 2700 }),
    estimated_store_to_consumer_driving_duration: fc.integer({ min: 0, max: 2100 }),
  },
  { requiredKeys: ['created_at'] },
);

test('property: an order gives the same vector in a batch and as a one-row Dataset', () => {
  fc.assert(
    fc.property(fc.array(orderArb, { minLength: 1, maxLength: 30 }), (orders) => {
      const train = makeDataset([{ ...base }, { ...base, market_id: '3', store_primary_category: 'pizza', order_protocol: '2' }]);
      const spec = fitFeatureSpec(train);
      // The batch numbers its dictionary in reverse to make sure codes do not leak through.
      const batch = makeDataset(orders, 'reversed');
      const X = buildFeatures(batch, spec);
      for (let r = 0; r < orders.length; r++) {
        const single = buildFeatures(oneRow(batch, r), spec);
        const expected = X.data.subarray(r * X.cols, (r + 1) * X.cols);
        assert.deepEqual(Array.from(single.data), Array.from(expected), `row ${r}`);
      }
    }),
    { numRuns: 60 },
  );
});

test('the spec survives a JSON round trip and bad specs are rejected with the field named', () => {
  const ds = makeDataset([base]);
  const spec = fitFeatureSpec(ds);
  const back = validateFeatureSpec(JSON.parse(JSON.stringify(spec)));
  assert.deepEqual(Array.from(buildFeatures(ds, back).data), Array.from(buildFeatures(ds, spec).data));
  assert.throws(() => validateFeatureSpec({ ...spec, version: 99 }), /version 99 is not supported/);
  assert.throws(() => validateFeatureSpec({ ...spec, names: ['a'] }), FeatureSpecError);
  const broken = JSON.parse(JSON.stringify(spec));
  broken.categories.order_protocol.unseenCode = 0;
  assert.throws(() => validateFeatureSpec(broken), /categories\.order_protocol/);
});

test('real sample: every order gives the same vector from the CSV batch and as server JSON', { skip: existsSync(SAMPLE_CSV) ? false : `real sample not found at ${SAMPLE_CSV.pathname}` }, async () => {
  const { dataset } = await readDataset(SAMPLE_CSV.pathname);
  const spec = fitFeatureSpec(dataset);
  const X = buildFeatures(dataset, spec);
  const lines = readFileSync(SAMPLE_CSV, 'utf8').trimEnd().split('\n');
  const header = lines[0].split(',');
  let compared = 0;
  for (let r = 0; r < dataset.rowCount; r += 37) {
    const fields = lines[dataset.sourceLine[r] - 1].split(',');
    const order: Record<string, string | null> = {};
    header.forEach((name, i) => {
      if (name !== 'actual_delivery_time') order[name] = fields[i] === '' ? null : fields[i];
    });
    let single;
    try {
      single = ordersToDataset(order).dataset;
    } catch (err) {
      assert.ok(err instanceof OrderValidationError, String(err)); // the server refuses impossible values outright
      continue;
    }
    const v = buildFeatures(single, spec).data;
    assert.deepEqual(Array.from(v), Array.from(X.data.subarray(r * X.cols, (r + 1) * X.cols)), `source line ${dataset.sourceLine[r]}`);
    compared++;
  }
  assert.ok(compared > 600, `compared ${compared} orders`);
});
