/**
 * Value parsing, CSV splitting and the validation rules on small hand-written files (every
 * defect kind, quoting, CRLF, BOM, chunk boundaries), plus the http(s) source against a real
 * loopback HTTP server.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import {
  COLUMN_NAMES, DataError, formatReport, formatTimestampUtc, parseNumber, parseTimestampUtc, readDataset,
} from '../../src/ml/dataset/index.js';
import { CsvSplitter } from '../../src/ml/dataset/csv.js';

const tmp = mkdtempSync(join(tmpdir(), 'etaops-dataset-parse-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));
const HEADER = COLUMN_NAMES.join(',');
const GOOD = '1,2015-02-06 22:24:17,2015-02-06 23:27:16,1845,american,1,4,3441,4,557,1239,33,14,21,446,861';
let fileNo = 0;

function write(text: string | Buffer): string {
  const path = join(tmp, `f${fileNo++}.csv`);
  writeFileSync(path, text);
  return path;
}

/** A GOOD row with some fields replaced: { index: text }. */
function row(changes: Record<number, string>): string {
  const f = GOOD.split(',');
  for (const [i, v] of Object.entries(changes)) f[Number(i)] = v;
  return f.join(',');
}

test('parseTimestampUtc reads the data set format and ISO variants as UTC', () => {
  assert.equal(parseTimestampUtc('2015-02-06 22:24:17'), Date.UTC(2015, 1, 6, 22, 24, 17) / 1000);
  assert.equal(parseTimestampUtc('2015-02-06T22:24:17Z'), Date.UTC(2015, 1, 6, 22, 24, 17) / 1000);
  assert.equal(parseTimestampUtc('2015-02-06T14:24:17-08:00'), Date.UTC(2015, 1, 6, 22, 24, 17) / 1000);
  assert.equal(parseTimestampUtc('2015-02-06 22:24:17+00'), Date.UTC(2015, 1, 6, 22, 24, 17) / 1000);
  assert.equal(parseTimestampUtc('2015-02-06 22:24:17.250'), Date.UTC(2015, 1, 6, 22, 24, 17) / 1000 + 0.25);
  assert.equal(parseTimestampUtc(' 2015-02-06 22:24 '), Date.UTC(2015, 1, 6, 22, 24) / 1000);
  assert.equal(parseTimestampUtc('2016-02-29'), Date.UTC(2016, 1, 29) / 1000);
  for (const bad of ['', '2015-02-30 10:00:00', '2015-13-01 00:00:00', '2015-02-06 24:00:00', '2015-2-6 1:00:00',
    '2015-02-06 22:24:17 PST', '06/02/2015 22:24', 'yesterday', '2015-02-06 22:24:17Zx', '２０１５-02-06']) {
    assert.ok(Number.isNaN(parseTimestampUtc(bad)), `'${bad}' must not parse`);
  }
});

test('parseTimestampUtc agrees with Date.UTC and round-trips formatTimestampUtc (property)', () => {
  fc.assert(fc.property(fc.integer({ min: Date.UTC(1900, 0, 1) / 1000, max: Date.UTC(2200, 0, 1) / 1000 }), (s) => {
    const text = formatTimestampUtc(s);
    assert.equal(text, new Date(s * 1000).toISOString().slice(0, 19).replace('T', ' '));
    assert.equal(parseTimestampUtc(text), s);
  }), { numRuns: 2000 });
});

test('parseNumber reads decimals like Number() and refuses what is not a number', () => {
  for (const [text, v] of [['3441', 3441], ['-86', -86], ['33.0', 33], [' 1.5 ', 1.5], ['.5', 0.5], ['+7', 7], ['1e3', 1000], ['2.5E-1', 0.25], ['12345678901234567890', 1.2345678901234567e19]] as const) {
    assert.equal(parseNumber(text), v, text);
  }
  for (const bad of ['', '-', 'NaN', 'inf', '1,000', '$5', '1.2.3', '0x10', '1e', '3 4', '1e999']) assert.ok(Number.isNaN(parseNumber(bad)), `'${bad}'`);
  fc.assert(fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (x) => {
    assert.equal(parseNumber(String(x)), Number(String(x)));
  }), { numRuns: 2000 });
});

test('the CSV splitter gives the same records whatever the chunk boundaries (property)', () => {
  const field = fc.oneof(fc.stringMatching(/^[a-z0-9 .-]{0,6}$/), fc.string({ maxLength: 6 }).map((s) => `"${s.replace(/"/g, '""')}"`));
  const records = fc.array(fc.array(field, { minLength: 2, maxLength: 4 }), { minLength: 1, maxLength: 8 });
  fc.assert(fc.property(records, fc.boolean(), fc.integer({ min: 1, max: 7 }), (recs, crlf, step) => {
    const text = recs.map((r) => r.join(',')).join(crlf ? '\r\n' : '\n');
    const bytes = new TextEncoder().encode(text);
    const collect = (chunk: number) => {
      const out: string[][] = [];
      const splitter = new CsvSplitter({
        record(buf, s, e, n) { out.push(Array.from({ length: n }, (_, i) => new TextDecoder().decode(buf.subarray(s[i], e[i])))); },
      }, 'test');
      for (let i = 0; i < bytes.length; i += chunk) splitter.push(bytes.slice(i, i + chunk));
      splitter.end();
      return out;
    };
    assert.deepEqual(collect(step), collect(bytes.length + 1));
  }), { numRuns: 300 });
});

test('quoted fields, CRLF, a BOM and blank lines are read correctly', async () => {
  const text = '\ufeff' + HEADER + '\r\n' + row({ 4: '"tex-mex, ""fresh"""' }) + '\r\n\r\n' + row({ 4: '"multi\nline"' }) + '\r\n' + row({}) ;
  const { dataset } = await readDataset(write(text));
  assert.equal(dataset.rowCount, 3);
  const cuisine = dataset.category.store_primary_category;
  assert.deepEqual(Array.from(cuisine.codes, (c) => cuisine.values[c]), ['tex-mex, "fresh"', 'multi\nline', 'american']);
  assert.deepEqual(Array.from(dataset.sourceLine), [2, 4, 6]); // the blank line 3 skipped; the quoted newline counted
  assert.equal(dataset.numeric.estimated_store_to_consumer_driving_duration[2], 861); // no \r left
});

test('every defect kind is counted with its line and handled by its rule', async () => {
  const rows = [
    row({}), // 2 good
    row({ 1: '' }), // 3 missing created_at -> dropped
    row({ 1: '2015-02-30 10:00:00' }), // 4 unparsable created_at -> dropped
    row({ 2: 'soon' }), // 5 unparsable target -> no target
    row({ 2: '' }), // 6 missing target
    row({ 2: '2015-02-06 22:24:17' }), // 7 zero duration
    row({ 2: '2015-02-06 21:00:00' }), // 8 negative duration
    row({ 2: '2015-02-07 05:00:00' }), // 9 6.6 h
    row({ 7: 'abc', 6: '2.5' }), // 10 unparsable subtotal; non-whole total_items
    row({ 11: '-3', 9: '-1' }), // 11 negative dashers, price
    row({ 3: '', 7: '' }), // 12 required store_id and subtotal empty
    row({ 0: '2.0', 5: ' 3.0 ' }), // 13 pandas-style ids
  ];
  const path = write(HEADER + ',promo_code\n' + rows.map((r) => r + ',X').join('\n') + '\n');
  const { dataset, report } = await readDataset(path);
  const d = report.defects;
  assert.deepEqual(d.missing_created_at.lines, [3]);
  assert.deepEqual(d.unparsable_timestamp.lines, [4, 5]);
  assert.deepEqual(d.unparsable_timestamp.columns, { created_at: 1, actual_delivery_time: 1 });
  assert.deepEqual(d.missing_target.lines, [6]);
  assert.deepEqual(d.nonpositive_duration.lines, [7, 8]);
  assert.deepEqual(d.duration_too_long.lines, [9]);
  assert.deepEqual(d.unparsable_number.columns, { total_items: 1, subtotal: 1 });
  assert.deepEqual(d.unparsable_number.lines, [10]);
  assert.deepEqual(d.negative_value.columns, { min_item_price: 1, total_onshift_dashers: 1 });
  assert.deepEqual(d.missing_required_value.columns, { store_id: 1, subtotal: 1 });
  assert.deepEqual(d.unknown_column.columns, { promo_code: 1 });
  assert.deepEqual(report.unknownColumns, ['promo_code']);
  assert.match(report.warnings.join('\n'), /'promo_code' is not a DoorDash column/);
  assert.equal(report.recordsRead, 12);
  assert.equal(report.rowsDropped, 2);
  assert.equal(dataset.rowCount, 10);
  assert.deepEqual(Array.from(dataset.sourceLine), [2, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
  assert.equal(report.rowsForTraining, 5); // lines 2, 10, 11, 12, 13
  assert.equal(report.rowsWithoutTarget, 5);
  const at = (line: number) => Array.from(dataset.sourceLine).indexOf(line);
  assert.ok(Number.isNaN(dataset.numeric.subtotal[at(10)]));
  assert.ok(Number.isNaN(dataset.numeric.total_onshift_dashers[at(11)]));
  assert.equal(dataset.numeric.total_busy_dashers[at(11)], 14); // the rest of the row is kept
  assert.equal(dataset.category.store_id.codes[at(12)], -1);
  const m = dataset.category.market_id;
  assert.equal(m.values[m.codes[at(13)]], '2');
  assert.equal(dataset.category.order_protocol.values[dataset.category.order_protocol.codes[at(13)]], '3');
  const table = formatReport(report);
  assert.match(table, /duration_too_long\s+1\s+actual_delivery_time=1/);
  assert.match(table, /unknown_column/);
});

test('prediction input may lack the target column when requireTarget is false', async () => {
  const header = COLUMN_NAMES.filter((c) => c !== 'actual_delivery_time').join(',');
  const r = row({}).split(',');
  r.splice(2, 1);
  const path = write(`${header}\n${r.join(',')}\n`);
  await assert.rejects(readDataset(path), /missing column 'actual_delivery_time'/);
  const { dataset, report } = await readDataset(path, { requireTarget: false });
  assert.equal(dataset.rowCount, 1);
  assert.ok(Number.isNaN(dataset.numeric.actual_delivery_time[0]));
  assert.equal(report.rowsWithoutTarget, 1);
});

test('empty files, missing files, duplicate columns and unclosed quotes are precise errors', async () => {
  await assert.rejects(readDataset(write('')), (e: unknown) => e instanceof DataError && /empty: no header line/.test(e.message));
  await assert.rejects(readDataset(join(tmp, 'nope.csv')), (e: unknown) => e instanceof DataError && /nope\.csv: no such file/.test(e.message));
  await assert.rejects(readDataset(write(`${HEADER},subtotal\n`)), /column 'subtotal' appears twice \(fields 8 and 17\)/);
  await assert.rejects(readDataset(write(`${HEADER}\n${row({ 4: '"thai' })}\n`)), /line 2: field 5 opens a quote that is never closed/);
  await assert.rejects(readDataset(write(`${HEADER}\n${row({ 4: '"thai"x' })}\n`)), /line 2: field 5 has text after its closing quote/);
  await assert.rejects(readDataset('ftp://example.invalid/x.csv'), /unsupported URI scheme/);
  await assert.rejects(readDataset(write(HEADER), { maxDurationSeconds: -1 }), /maxDurationSeconds must be a positive/);
});

test('an http(s) URI streams from a real server; HTTP errors are named', async () => {
  const body = `${HEADER}\n${row({})}\n${row({ 2: '' })}\n`;
  const server = createServer((req, res) => {
    if (req.url === '/data.csv') { res.writeHead(200, { 'content-type': 'text/csv' }); res.end(body); }
    else { res.writeHead(404); res.end(); }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    const { dataset, report } = await readDataset(`http://127.0.0.1:${port}/data.csv`);
    assert.equal(dataset.rowCount, 2);
    assert.equal(report.defects.missing_target.count, 1);
    await assert.rejects(readDataset(`http://user:secret@127.0.0.1:${port}/missing.csv`), (e: unknown) =>
      e instanceof DataError && /HTTP 404/.test(e.message) && !e.message.includes('secret'));
  } finally {
    server.close();
  }
});
