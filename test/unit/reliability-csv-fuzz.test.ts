/**
 * CSV fuzzing of the data set reader (src/ml/dataset): generated files — random bytes,
 * truncated rows, random quoting, stray quotes, wrong headers, huge fields, CR/LF mixes, gzip
 * garbage — must give either a Dataset with a consistent defect report or a DataError that names
 * the line (and the column where one is concerned); never another exception, never a hang.
 * Transformations that keep a file's meaning (quoting fields, CRLF line ends, reordered
 * columns, gzip) must give the same Dataset as the original.
 *
 * Every file is read twice, whole (readDataset) and in small batches (readDatasetBatches):
 * both must reach the same verdict.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { DataError, readDataset, readDatasetBatches, type Dataset, type DefectReport, type ReadOptions } from '../../src/ml/dataset/index.js';
import { CATEGORY_COLUMNS, NUMERIC_COLUMNS } from '../../src/ml/dataset/schema.js';
import { SAMPLE_CSV, SAMPLE_MISSING } from './server-fixtures.js';
import { existsSync } from 'node:fs';

const skip = existsSync(SAMPLE_CSV) ? false : SAMPLE_MISSING;
/** Longest a read of these small files may take before it counts as a hang. */
const HANG_MS = 20_000;
const RUNS = 120;

type Outcome =
  | { kind: 'data'; dataset: Dataset; report: DefectReport }
  | { kind: 'error'; error: DataError };

let dir: string;
let fileNo = 0;

function withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`hang: ${what} took over ${HANG_MS} ms`)), HANG_MS); });
  return Promise.race([p, hang]).finally(() => clearTimeout(timer));
}

/** Anything but a DataError is a bug in the reader: rethrown so the property fails. */
function asDataError(err: unknown, what: string): DataError {
  if (err instanceof DataError) return err;
  const e = err as Error;
  throw new Error(`${what}: unhandled ${e?.name ?? typeof err}: ${e?.message ?? String(err)}`, { cause: err });
}

async function readWhole(file: string, opts: ReadOptions): Promise<Outcome> {
  try {
    const { dataset, report } = await withTimeout(readDataset(file, opts), file);
    return { kind: 'data', dataset, report };
  } catch (err) {
    return { kind: 'error', error: asDataError(err, `readDataset ${file}`) };
  }
}

/** Rows and report via bounded-memory batches, or the error they end with. */
async function readBatched(file: string, opts: ReadOptions): Promise<{ rows: number; report?: DefectReport } | { error: DataError }> {
  const batches = readDatasetBatches(file, { ...opts, batchRows: 7 });
  try {
    let rows = 0;
    await withTimeout((async () => { for await (const b of batches) rows += b.rowCount; })(), `batches of ${file}`);
    return { rows, report: batches.report };
  } catch (err) {
    return { error: asDataError(err, `readDatasetBatches ${file}`) };
  }
}

/** Writes `bytes`, reads them both ways, checks the outcome is well formed; returns it. */
async function readBytes(bytes: Uint8Array, opts: ReadOptions = {}, suffix = '.csv'): Promise<Outcome> {
  const file = path.join(dir, `f${fileNo++}${suffix}`);
  writeFileSync(file, bytes);
  const whole = await readWhole(file, opts);
  const batched = await readBatched(file, opts);
  const gzipped = suffix.endsWith('.gz') || (bytes[0] === 0x1f && bytes[1] === 0x8b);
  if (whole.kind === 'data') {
    checkReport(whole.dataset, whole.report, bytes, gzipped);
    assert.ok(!('error' in batched), `batches fail where the whole read succeeds: ${'error' in batched ? batched.error.message : ''}`);
    assert.equal(batched.rows, whole.dataset.rowCount, 'batches hold the same rows');
    assert.deepEqual(batched.report?.defects, whole.report.defects, 'batches report the same defects');
  } else {
    checkError(whole.error, bytes, gzipped);
    assert.ok('error' in batched, `batches succeed where the whole read fails with: ${whole.error.message}`);
    assert.equal(batched.error.message, whole.error.message, 'batches fail the same way');
  }
  rmSync(file, { force: true });
  return whole;
}

/** Lines as the reader numbers them (LF ends a line; header = 1). */
function lineCount(bytes: Uint8Array): number {
  let n = 1;
  for (const b of bytes) if (b === 10) n++;
  return n;
}

function checkReport(ds: Dataset, r: DefectReport, bytes: Uint8Array, gzipped: boolean): void {
  assert.equal(r.rowsKept, ds.rowCount, 'report.rowsKept = rows in the Dataset');
  assert.equal(r.recordsRead, r.rowsKept + r.rowsDropped, 'every record read is kept or dropped');
  assert.equal(r.rowsForTraining + r.rowsWithoutTarget, r.rowsKept, 'every kept row has a usable target or not');
  let last = 1;
  for (const line of ds.sourceLine) {
    assert.ok(line > last, `source lines increase: ${line} after ${last}`);
    last = line;
  }
  if (!gzipped) assert.ok(last <= lineCount(bytes), `source line ${last} within the file's ${lineCount(bytes)} lines`);
}

function checkError(e: DataError, bytes: Uint8Array, gzipped: boolean): void {
  assert.ok(e.message.length > 10, 'an error says something');
  // A source with no header at all is one whole-file error (its line is 1).
  if (/the source is empty: no header line/.test(e.message)) return;
  if (gzipped) {
    assert.match(e.message, /gzip|line \d+/, `a gzip failure says so: ${e.message}`);
    return;
  }
  assert.ok(Number.isInteger(e.line) && (e.line as number) >= 1, `a plain-file error names its line: ${e.message}`);
  assert.ok((e.line as number) <= lineCount(bytes), `line ${e.line} exists (file has ${lineCount(bytes)}): ${e.message}`);
  assert.match(e.message, new RegExp(`line ${e.line}\\b`), `the message names line ${e.line}: ${e.message}`);
}

/** Comparable content of a Dataset: numbers (NaN kept) and category texts per row. */
function content(ds: Dataset): unknown {
  const numeric = Object.fromEntries(NUMERIC_COLUMNS.map((c) => [c, Array.from(ds.numeric[c], (v) => (Number.isNaN(v) ? 'NaN' : v))]));
  const category = Object.fromEntries(CATEGORY_COLUMNS.map((c) => [c, Array.from(ds.category[c].codes, (k) => (k < 0 ? null : ds.category[c].values[k]))]));
  return { rowCount: ds.rowCount, numeric, category };
}

/** Splits a plain (unquoted) CSV text into cells. */
function cells(text: string): string[][] {
  return text.trimEnd().split('\n').map((l) => l.split(','));
}

const join = (rows: string[][], eol = '\n') => rows.map((r) => r.join(',')).join(eol) + eol;

describe('CSV reader fuzz', { skip }, () => {
  let original: string;
  let table: string[][];
  let reference: Outcome;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'etaops-csv-fuzz-'));
    // Rows with the sample's real defects in them (missing values, impossible durations).
    original = readFileSync(SAMPLE_CSV, 'utf8').split('\n').slice(0, 301).join('\n') + '\n';
    table = cells(original);
    reference = await readBytes(Buffer.from(original));
    assert.equal(reference.kind, 'data');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const sameAsOriginal = async (bytes: Uint8Array, suffix = '.csv') => {
    const got = await readBytes(bytes, {}, suffix);
    assert.equal(got.kind, 'data', got.kind === 'error' ? got.error.message : '');
    assert.deepEqual(content((got as { dataset: Dataset }).dataset), content((reference as { dataset: Dataset }).dataset));
  };

  test('random bytes: a Dataset with a consistent report or a DataError naming the line', async () => {
    const kinds = { data: 0, error: 0 };
    await fc.assert(fc.asyncProperty(
      fc.oneof(
        fc.uint8Array({ maxLength: 3000 }),
        // Random bytes after a valid header: the row parser sees garbage, not the header check.
        fc.uint8Array({ maxLength: 3000 }).map((b) => Buffer.concat([Buffer.from(table[0].join(',') + '\n'), b])),
        // Text made of CSV's own special characters.
        fc.string({ unit: fc.constantFrom(',', '"', '\n', '\r', 'a', '1', ' ', '\t', '\u00e9'), maxLength: 2000 }).map((s) => Buffer.from(table[0].join(',') + '\n' + s)),
      ),
      async (bytes) => { kinds[(await readBytes(bytes)).kind]++; },
    ), { numRuns: RUNS * 2, seed: 8 });
    assert.ok(kinds.data > 0 && kinds.error > 0, `both outcomes reached: ${JSON.stringify(kinds)}`);
  });

  test('a file cut at any byte is either read or refused at the cut line', async () => {
    const bytes = Buffer.from(original);
    await fc.assert(fc.asyncProperty(fc.nat({ max: bytes.length - 1 }), async (cut) => {
      const part = bytes.subarray(0, cut);
      const got = await readBytes(part);
      if (got.kind === 'data') {
        assert.ok(got.dataset.rowCount <= (reference as { dataset: Dataset }).dataset.rowCount);
      } else {
        // A short last row is the truncation: the error is at the last line, naming the column.
        assert.equal(got.error.line, lineCount(part), got.error.message);
        if (/expected 16 fields/.test(got.error.message)) assert.ok(got.error.column, `the absent column is named: ${got.error.message}`);
      }
    }), { numRuns: RUNS, seed: 9 });
  });

  test('quoting fields, CRLF line ends and reordered columns change nothing', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(fc.boolean(), { minLength: table.length * 16, maxLength: table.length * 16 }),
      fc.array(fc.constantFrom('\n', '\r\n'), { minLength: table.length, maxLength: table.length }),
      fc.shuffledSubarray([...table[0].keys()], { minLength: 16, maxLength: 16 }),
      async (quote, eols, order) => {
        const rows = table.map((r, i) => order.map((k) => (quote[i * 16 + k] ? `"${r[k]}"` : r[k])));
        const text = rows.map((r, i) => r.join(',') + eols[i]).join('');
        await sameAsOriginal(Buffer.from(text));
      },
    ), { numRuns: 40, seed: 10 });
    // Quotes that are escaped ("") or hold commas and newlines are field text, kept verbatim.
    const rows = table.map((r) => [...r]);
    rows[5][4] = '"thai, ""spicy""\nstyle"';
    const got = await readBytes(Buffer.from(join(rows)));
    assert.equal(got.kind, 'data');
    const ds = (got as { dataset: Dataset }).dataset;
    const cat = ds.category.store_primary_category;
    assert.equal(cat.values[cat.codes[4]], 'thai, "spicy"\nstyle');
    assert.equal(ds.sourceLine[5], 8, 'the row after a quoted newline starts one line later');
  });

  test('stray and unclosed quotes are refused at the line they break', async () => {
    await fc.assert(fc.asyncProperty(fc.integer({ min: 1, max: table.length - 1 }), fc.nat(), fc.constantFrom('"', 'x"', '"x', '""'), async (row, at, junk) => {
      const rows = table.map((r) => [...r]);
      const line = rows[row].join(',');
      const pos = at % (line.length + 1);
      rows[row] = [line.slice(0, pos) + junk + line.slice(pos)];
      const got = await readBytes(Buffer.from(join(rows)));
      if (got.kind === 'error') assert.ok((got.error.line as number) >= row + 1, `the error is at or after the broken line ${row + 1}: ${got.error.message}`);
    }), { numRuns: RUNS, seed: 11 });
  });

  test('wrong headers: a missing, misspelt or duplicated column is named; an extra one is a warning', async () => {
    const header = table[0];
    for (const [i, name] of header.entries()) {
      const dropped = table.map((r) => r.filter((_, k) => k !== i));
      const e1 = await readBytes(Buffer.from(join(dropped)));
      assert.equal(e1.kind, 'error');
      assert.equal((e1 as { error: DataError }).error.column, name);
      assert.equal((e1 as { error: DataError }).error.line, 1);
      const upper = [header.map((h, k) => (k === i ? h.toUpperCase() : h)), ...table.slice(1)];
      const e2 = await readBytes(Buffer.from(join(upper)));
      assert.match((e2 as { error: DataError }).error.message, new RegExp(`missing column '${name}'`));
      assert.match((e2 as { error: DataError }).error.hint ?? '', /case-sensitive/);
    }
    const twice = [[...header, header[7]], ...table.slice(1).map((r) => [...r, r[7]])];
    const e3 = await readBytes(Buffer.from(join(twice)));
    assert.match((e3 as { error: DataError }).error.message, /column 'subtotal' appears twice \(fields 8 and 17\)/);
    const extra = [[...header, 'tip'], ...table.slice(1).map((r) => [...r, '5'])];
    const ok = await readBytes(Buffer.from(join(extra)));
    assert.equal(ok.kind, 'data');
    assert.deepEqual((ok as { report: DefectReport }).report.unknownColumns, ['tip']);
    const noHeader = await readBytes(Buffer.from(join(table.slice(1))));
    assert.match((noHeader as { error: DataError }).error.hint ?? '', /looks like data/);
    assert.equal((await readBytes(Buffer.from(''))).kind, 'error', 'an empty file is refused');
  });

  test('huge fields: a 2 MiB quoted category is data; 17 MiB without a line end is refused with its line', async () => {
    const rows = table.slice(0, 4).map((r) => [...r]);
    rows[2][4] = `"${'k'.repeat(2 << 20)}"`;
    const got = await readBytes(Buffer.from(join(rows)));
    assert.equal(got.kind, 'data');
    assert.equal((got as { dataset: Dataset }).dataset.category.store_primary_category.values.some((v) => v.length === 2 << 20), true);
    const endless = Buffer.concat([Buffer.from(original.split('\n').slice(0, 3).join('\n') + '\n'), Buffer.alloc(17 << 20, 0x61)]);
    const big = await readBytes(endless);
    assert.equal(big.kind, 'error');
    assert.equal((big as { error: DataError }).error.line, 4);
    assert.match((big as { error: DataError }).error.message, /line 4: a record longer than 16 MiB/);
    const unclosed = Buffer.from(original.split('\n').slice(0, 3).join('\n') + '\n"' + 'b'.repeat(1000));
    const open = await readBytes(unclosed);
    assert.match((open as { error: DataError }).error.message, /line 4: field 1 opens a quote that is never closed/);
  });

  test('gzip: the same data reads the same; cut or corrupted gzip is a DataError, never a crash', async () => {
    const gz = gzipSync(Buffer.from(original));
    await sameAsOriginal(gz, '.csv.gz');
    await sameAsOriginal(gz, '.csv'); // recognised by its magic bytes
    await fc.assert(fc.asyncProperty(
      fc.oneof(
        fc.nat({ max: gz.length - 2 }).map((cut) => gz.subarray(0, cut + 2)),
        fc.tuple(fc.nat({ max: gz.length - 1 }), fc.integer({ min: 1, max: 255 })).map(([at, x]) => { const b = Buffer.from(gz); b[at] ^= x; return b; }),
        fc.uint8Array({ maxLength: 2000 }).map((b) => Buffer.concat([Buffer.from([0x1f, 0x8b]), b])),
        fc.uint8Array({ maxLength: 2000 }).map((b) => gzipSync(b)),
      ),
      async (bytes) => { await readBytes(bytes, {}, '.csv.gz'); },
    ), { numRuns: RUNS, seed: 12 });
    const cut = await readBytes(gz.subarray(0, gz.length - 100), {}, '.csv.gz');
    assert.equal(cut.kind, 'error');
    assert.match((cut as { error: DataError }).error.message, /truncated|ends early|line \d+/);
  });

  test("onMalformedRow 'skip': broken rows are counted, never fatal", async () => {
    await fc.assert(fc.asyncProperty(fc.array(fc.tuple(fc.integer({ min: 1, max: table.length - 1 }), fc.integer({ min: 2, max: 16 })), { minLength: 1, maxLength: 10 }), async (cuts) => {
      const rows = table.map((r) => [...r]);
      // Fewer fields than the header (a cut row) or one more (an unquoted comma).
      for (const [row, keep] of cuts) rows[row] = keep === 16 ? [...table[row], 'x'] : table[row].slice(0, keep);
      const got = await readBytes(Buffer.from(join(rows)), { onMalformedRow: 'skip' });
      assert.equal(got.kind, 'data', got.kind === 'error' ? got.error.message : '');
      const broken = new Set(cuts.map(([row]) => row)).size;
      assert.equal((got as { report: DefectReport }).report.defects.wrong_field_count?.count ?? 0, broken);
    }), { numRuns: 40, seed: 13 });
  });
});
