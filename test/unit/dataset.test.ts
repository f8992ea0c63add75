/**
 * The reader against the real DoorDash sample (../shared/data/doordash_sample.csv from the repo
 * root; skipped with a message where absent) and against damaged copies of it written to a
 * temp dir: truncated, wrong header, a bad middle row, gzip, batches.
 *
 * The truths hard-coded here were established independently of this reader, with Python's
 * csv module and datetime (see the comment at each constant):
 *   rows = list(csv.reader(open('doordash_sample.csv')))  # 24,001 records incl. header,
 *   `wc -l` agrees (24,001 lines); every record has 16 fields.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import {
  concatDatasets, DataError, readDataset, readDatasetBatches, trainingRows, subsetRows, COLUMN_NAMES,
  type Dataset,
} from '../../src/ml/dataset/index.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const SAMPLE = join(repoRoot, '../shared/data/doordash_sample.csv');
const noSample = existsSync(SAMPLE) ? false : `the real sample is absent at ${SAMPLE}`;

// Counted with Python's csv module (len(rows) - 1) and `wc -l` minus the header line.
const SAMPLE_ROWS = 24_000;

const tmp = mkdtempSync(join(tmpdir(), 'etaops-dataset-test-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

function sampleText(): string {
  return readFileSync(SAMPLE, 'utf8');
}

async function rejects(uri: string, pattern: RegExp): Promise<DataError> {
  let caught: unknown;
  try {
    await readDataset(uri);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof DataError, `expected a DataError, got ${String(caught)}`);
  assert.match(caught.message, pattern);
  return caught;
}

function assertSameDataset(a: Dataset, b: Dataset): void {
  assert.equal(a.rowCount, b.rowCount);
  assert.deepEqual(a.numeric, b.numeric);
  assert.deepEqual(a.sourceLine, b.sourceLine);
  for (const c of Object.keys(a.category) as (keyof Dataset['category'])[]) {
    const decode = (d: Dataset) => Array.from(d.category[c].codes, (k) => (k < 0 ? null : d.category[c].values[k]));
    assert.deepEqual(decode(a), decode(b), `column ${c}`);
  }
}

test('reads every row of the real sample with its values', { skip: noSample }, async () => {
  const { dataset, report } = await readDataset(SAMPLE);
  assert.equal(dataset.rowCount, SAMPLE_ROWS);
  assert.equal(report.recordsRead, SAMPLE_ROWS);
  assert.equal(report.rowsDropped, 0);
  // Line 2: 1,2015-02-06 22:24:17,2015-02-06 23:27:16,1845,american,1,4,3441,4,557,1239,33,14,21,446,861
  // epoch seconds from calendar.timegm(datetime(2015,2,6,22,24,17).timetuple()).
  assert.equal(dataset.numeric.created_at[0], 1423261457);
  assert.equal(dataset.numeric.actual_delivery_time[0], 1423265236);
  assert.equal(dataset.numeric.subtotal[0], 3441);
  assert.equal(dataset.numeric.total_onshift_dashers[0], 33);
  assert.equal(dataset.numeric.estimated_store_to_consumer_driving_duration[0], 861);
  const cat = (c: keyof Dataset['category'], i: number) => dataset.category[c].values[dataset.category[c].codes[i]];
  assert.equal(cat('market_id', 0), '1');
  assert.equal(cat('store_id', 0), '1845');
  assert.equal(cat('store_primary_category', 0), 'american');
  assert.equal(cat('order_protocol', 0), '1');
  assert.equal(dataset.sourceLine[0], 2);
  assert.equal(dataset.sourceLine[SAMPLE_ROWS - 1], SAMPLE_ROWS + 1);
  // Category dictionaries hold the values as strings: markets 1..6, protocols 1..7 (Python: set(r[0]), set(r[5])).
  assert.deepEqual([...dataset.category.market_id.values].sort(), ['1', '2', '3', '4', '5', '6']);
  assert.deepEqual([...dataset.category.order_protocol.values].sort(), ['1', '2', '3', '4', '5', '6', '7']);
  assert.equal(dataset.category.store_primary_category.values.length, 70); // 71 distinct incl. ''
});

test('counts each defect of the real sample as it occurs, with its lines', { skip: noSample }, async () => {
  const { dataset, report } = await readDataset(SAMPLE);
  const d = report.defects;
  // Two rows without actual_delivery_time, at lines 111 and 7672 (Python: r[2] == '').
  assert.equal(d.missing_target.count, 2);
  assert.deepEqual(d.missing_target.lines, [111, 7672]);
  // The 98-day delivery: line 2692, created 2014-10-19 05:24:15, delivered 2015-01-25 19:11:54.
  assert.equal(d.duration_too_long.count, 1);
  assert.deepEqual(d.duration_too_long.lines, [2692]);
  assert.ok(Number.isNaN(dataset.numeric.actual_delivery_time[2692 - 2]), 'the 98-day target is removed');
  assert.equal(d.nonpositive_duration.count, 0);
  // Negative values (Python: value.startswith('-')): min_item_price -86 (l.792), -1 (l.1353);
  // total_onshift_dashers -2 (l.6036); total_busy_dashers -1 (l.7999);
  // total_outstanding_orders -2, -5, -5, -1 (l.4991, 15619, 22529, 23770).
  assert.equal(d.negative_value.count, 8);
  assert.deepEqual(d.negative_value.columns, { min_item_price: 2, total_onshift_dashers: 1, total_busy_dashers: 1, total_outstanding_orders: 4 });
  assert.deepEqual(d.negative_value.lines, [792, 1353, 4991, 6036, 7999, 15619, 22529, 23770]);
  assert.ok(Number.isNaN(dataset.numeric.min_item_price[792 - 2]));
  assert.ok(Number.isNaN(dataset.numeric.total_onshift_dashers[6036 - 2]));
  for (const kind of ['missing_created_at', 'unparsable_timestamp', 'unparsable_number', 'missing_required_value', 'wrong_field_count', 'unknown_column'] as const) {
    assert.equal(d[kind].count, 0, kind);
  }
  // Empty cells per column (Python: sum(v == '')).
  assert.equal(report.missing.market_id, 121);
  assert.equal(report.missing.store_primary_category, 604);
  assert.equal(report.missing.order_protocol, 108);
  assert.equal(report.missing.total_onshift_dashers, 1894);
  assert.equal(report.missing.estimated_store_to_consumer_driving_duration, 68);
  // Training may use all rows but the two without target and the 98-day one.
  assert.equal(report.rowsForTraining, SAMPLE_ROWS - 3);
  assert.equal(report.rowsWithoutTarget, 3);
  assert.equal(trainingRows(dataset).length, SAMPLE_ROWS - 3);
});

test('the maximum duration is configurable: 5 h also flags the three 5.2-5.6 h deliveries', { skip: noSample }, async () => {
  // Python: durations > 5 h are 18809 s (l.2519), 19600 s (l.12993), 20140 s (l.19219) and the 98-day one.
  const { report } = await readDataset(SAMPLE, { maxDurationSeconds: 5 * 3600 });
  assert.deepEqual(report.defects.duration_too_long.lines, [2519, 2692, 12993, 19219]);
});

test('a truncated copy is rejected naming the line and the missing field', { skip: noSample }, async () => {
  const text = sampleText();
  // Cut in the middle of line 1001 (1,000 data rows complete, the next one cut after 40 bytes).
  let cut = 0;
  for (let i = 0; i < 1000; i++) cut = text.indexOf('\n', cut) + 1;
  const path = join(tmp, 'truncated.csv');
  writeFileSync(path, text.slice(0, cut + 40));
  const line1001 = text.slice(cut, text.indexOf('\n', cut));
  const fieldsKept = line1001.slice(0, 40).split(',').length;
  const err = await rejects(path, /line 1001: expected 16 fields as in the header, found \d+/);
  assert.equal(err.line, 1001);
  assert.equal(err.column, COLUMN_NAMES[fieldsKept]);
  assert.match(err.message, new RegExp(`field ${fieldsKept + 1} \\('${COLUMN_NAMES[fieldsKept]}'\\) is absent`));
  assert.match(err.hint ?? '', /truncated/);
});

test('a wrong header is rejected naming the column', { skip: noSample }, async () => {
  const text = sampleText();
  const renamed = join(tmp, 'renamed.csv');
  writeFileSync(renamed, text.replace('subtotal,', 'sub_total,'));
  const err = await rejects(renamed, /line 1 \(header\): missing column 'subtotal'/);
  assert.equal(err.column, 'subtotal');
  const noHeader = join(tmp, 'no-header.csv');
  writeFileSync(noHeader, text.slice(text.indexOf('\n') + 1, 5000));
  const err2 = await rejects(noHeader, /missing columns 'market_id', 'created_at'/);
  assert.match(err2.hint ?? '', /looks like data/);
  const upper = join(tmp, 'upper.csv');
  writeFileSync(upper, text.replace('market_id', 'Market_ID').slice(0, 2000));
  const err3 = await rejects(upper, /missing column 'market_id'/);
  assert.match(err3.hint ?? '', /case-sensitive: found 'Market_ID'/);
});

test('a middle row with the wrong field count is named; onMalformedRow: skip drops and counts it', { skip: noSample }, async () => {
  const lines = sampleText().split('\n');
  lines[499] = lines[499] + ',extra'; // line 500
  lines[1999] = lines[1999].split(',').slice(0, 10).join(','); // line 2000
  const path = join(tmp, 'bad-middle.csv');
  writeFileSync(path, lines.join('\n'));
  const err = await rejects(path, /line 500: expected 16 fields as in the header, found 17: field 17 is beyond/);
  assert.equal(err.line, 500);
  const { dataset, report } = await readDataset(path, { onMalformedRow: 'skip' });
  assert.equal(report.defects.wrong_field_count.count, 2);
  assert.deepEqual(report.defects.wrong_field_count.lines, [500, 2000]);
  assert.equal(dataset.rowCount, SAMPLE_ROWS - 2);
  assert.equal(report.rowsDropped, 2);
});

test('gzip reads the same as plain, by name and by magic bytes; a truncated gzip is named', { skip: noSample }, async () => {
  const plain = await readDataset(SAMPLE);
  const gz = gzipSync(readFileSync(SAMPLE));
  const named = join(tmp, 'sample.csv.gz');
  const unnamed = join(tmp, 'sample-compressed.csv');
  writeFileSync(named, gz);
  writeFileSync(unnamed, gz);
  for (const path of [named, pathToFileURL(unnamed).href]) {
    const r = await readDataset(path);
    assertSameDataset(r.dataset, plain.dataset);
    assert.deepEqual(r.report.defects, plain.report.defects);
  }
  const cut = join(tmp, 'cut.csv.gz');
  writeFileSync(cut, gz.subarray(0, gz.length >> 1));
  await rejects(cut, /gzip stream ends early: the file is truncated/);
});

test('batches concatenate to the whole and share category codes', { skip: noSample }, async () => {
  const whole = await readDataset(SAMPLE);
  const batches = readDatasetBatches(SAMPLE, { batchRows: 7_000 });
  const parts: Dataset[] = [];
  for await (const b of batches) parts.push(b);
  assert.deepEqual(parts.map((p) => p.rowCount), [7000, 7000, 7000, 3000]);
  assertSameDataset(concatDatasets(parts), whole.dataset);
  assert.deepEqual(batches.report.defects, whole.report.defects);
  assert.deepEqual(batches.report.missing, whole.report.missing);
  // Codes are the same in every batch: the last batch's dictionary extends the first's.
  const first = parts[0].category.store_primary_category.values;
  assert.deepEqual(parts[3].category.store_primary_category.values.slice(0, first.length), first);
});

test('subsetRows(trainingRows) keeps only rows with a usable target', { skip: noSample }, async () => {
  const { dataset } = await readDataset(SAMPLE);
  const train = subsetRows(dataset, trainingRows(dataset));
  assert.equal(train.rowCount, SAMPLE_ROWS - 3);
  assert.ok(train.numeric.actual_delivery_time.every((t) => Number.isFinite(t)));
  assert.ok(!Array.from(train.sourceLine).includes(2692));
});
