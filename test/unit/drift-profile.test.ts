/** Training profile: contents, bounded size whatever the row count, strict parsing of saved ones. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ColumnSource } from '../../src/drift/columns.js';
import { FEATURE_DRIFT_COLUMNS } from '../../src/drift/columns.js';
import { parseTrainingProfile, profileFromColumns, profileSizeBound, ProfileError, buildTrainingProfile } from '../../src/drift/profile.js';
import { CATEGORY_COLUMNS, NUMERIC_COLUMNS, type Dataset } from '../../src/ml/dataset/schema.js';

function hostileSource(rows: number): ColumnSource {
  const values = new Float64Array(rows);
  for (let i = 0; i < rows; i++) values[i] = i % 7 === 0 ? Number.NaN : (i * 7919) % 100003;
  // Every row its own long, quote-laden category: worst case for top-K + label length.
  const labels = Array.from({ length: rows }, (_, i) => `"<${'x'.repeat(300)}>\u2028${i}`);
  const codes = Int32Array.from({ length: rows }, (_, i) => i);
  return { rowCount: rows, columns: new Map([['x', { type: 'numeric', values }], ['c', { type: 'categorical', codes, labels }]]) };
}

describe('training profile', () => {
  test('per-column summary: counts, missing share, quantiles, sketch, top-K + other', () => {
    const p = profileFromColumns(hostileSource(10_000), { sketchSize: 100, topK: 10 });
    const x = p.columns.x;
    assert.equal(x.type, 'numeric');
    if (x.type !== 'numeric') return;
    assert.equal(x.count + x.missing, 10_000);
    assert.ok(Math.abs(x.missing_share - 1429 / 10_000) < 1e-12);
    assert.equal(x.sketch.length, 100);
    assert.ok(x.sketch.every((v, i) => i === 0 || v >= x.sketch[i - 1]), 'sketch sorted');
    assert.ok((x.quantiles['0.5'] as number) > 40_000 && (x.quantiles['0.5'] as number) < 60_000);
    const c = p.columns.c;
    assert.equal(c.type, 'categorical');
    if (c.type !== 'categorical') return;
    assert.equal(c.top.length, 10);
    assert.equal(c.other_count, 9_990);
    assert.ok(c.top.every(([label]) => label.length <= 200), 'labels shortened');
    assert.equal(new Set(c.top.map(([l]) => l)).size, 10, 'distinct long labels stay distinct');
  });

  test('size stays under the stated bound from 1k to 60k rows', () => {
    const sizes: number[] = [];
    for (const rows of [1_000, 10_000, 60_000]) {
      const text = JSON.stringify(profileFromColumns(hostileSource(rows)));
      sizes.push(text.length);
      assert.ok(text.length <= profileSizeBound({}, 2), `${rows} rows: ${text.length} > ${profileSizeBound({}, 2)}`);
    }
    assert.ok(sizes[2] < sizes[1] * 1.5, `size must not follow row count: ${sizes.join(', ')}`);
  });

  test('buildTrainingProfile covers the 13 model inputs and the target, not store_id or timestamps', () => {
    const n = 50;
    const numeric = Object.fromEntries(NUMERIC_COLUMNS.map((c) => [c, Float64Array.from({ length: n }, (_, i) => i + 1)])) as Dataset['numeric'];
    numeric.created_at = Float64Array.from({ length: n }, (_, i) => 1.42e9 + i * 60);
    numeric.actual_delivery_time = Float64Array.from({ length: n }, (_, i) => 1.42e9 + i * 60 + 2400 + i);
    const category = Object.fromEntries(CATEGORY_COLUMNS.map((c) => [c, { codes: new Int32Array(n), values: ['1'] }])) as Dataset['category'];
    const ds: Dataset = { rowCount: n, numeric, category, sourceLine: new Int32Array(n) };
    const p = buildTrainingProfile(ds, { predictions: new Float64Array(n).fill(2500) });
    assert.deepEqual(Object.keys(p.columns).sort(), [...FEATURE_DRIFT_COLUMNS, 'prediction', 'target'].sort());
    assert.equal(FEATURE_DRIFT_COLUMNS.length, 13);
    const t = p.columns.target;
    assert.ok(t.type === 'numeric' && t.min === 2400 && t.max === 2449);
    assert.throws(() => buildTrainingProfile(ds, { predictions: new Float64Array(3) }), /3 values for 50 rows/);
    assert.throws(() => buildTrainingProfile(ds, { sketchSize: 3 }), ProfileError);
  });

  test('a saved profile round-trips; broken ones get errors naming the field', () => {
    const p = profileFromColumns(hostileSource(2_000));
    const again = parseTrainingProfile(JSON.parse(JSON.stringify(p)));
    assert.deepEqual(again.columns, p.columns);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the point is to write anything into it
    type Loose = Record<string, any>;
    const broken = (mutate: (o: Loose) => void): unknown => {
      const o = JSON.parse(JSON.stringify(p)) as Loose;
      mutate(o);
      return o;
    };
    assert.throws(() => parseTrainingProfile(broken((o) => { o.schema_version = 9; })), /schema_version must be 1, got 9/);
    assert.throws(() => parseTrainingProfile(broken((o) => { o.columns.x.sketch[3] = 'a'; })), /columns\.x\.sketch\[3\] must be a finite number/);
    assert.throws(() => parseTrainingProfile(broken((o) => { o.columns.x.sketch.reverse(); })), /sorted ascending/);
    assert.throws(() => parseTrainingProfile(broken((o) => { o.columns.c.other_count += 1; })), /counts add up to/);
    assert.throws(() => parseTrainingProfile(broken((o) => { o.columns.c.type = 'text'; })), /columns\.c\.type must be "numeric" or "categorical"/);
    assert.throws(() => parseTrainingProfile(null), /must be an object/);
  });
});
