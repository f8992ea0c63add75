/**
 * The generator's mechanics: determinism per seed, the exact header, gzip and plain files equal
 * to the in-memory Dataset, the date window, parameter validation, the CLI, and the PRNG /
 * alias sampler's distributions.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { COLUMN_NAMES, readDataset, parseTimestampUtc, type Dataset } from '../../src/ml/dataset/index.js';
import {
  AliasTable, generateCsvChunks, generateDataset, generateDatasetWithReport, Prng, SCENARIO_NAMES, writeGeneratedCsv,
} from '../../src/ml/generate/index.js';

const tmp = mkdtempSync(join(tmpdir(), 'etaops-generate-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));
const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

function csvText(options: Parameters<typeof generateCsvChunks>[0]): string {
  const parts: Buffer[] = [];
  for (const c of generateCsvChunks(options)) parts.push(Buffer.from(c));
  return Buffer.concat(parts).toString('utf8');
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function decoded(ds: Dataset, c: keyof Dataset['category']): (string | null)[] {
  return Array.from(ds.category[c].codes, (k) => (k < 0 ? null : ds.category[c].values[k]));
}

test('the same seed gives the same rows; another seed others; a longer run extends a shorter one', () => {
  const a = csvText({ rows: 20_000, seed: 42 });
  assert.equal(digest(csvText({ rows: 20_000, seed: 42 })), digest(a));
  assert.notEqual(digest(csvText({ rows: 20_000, seed: 43 })), digest(a));
  const longer = csvText({ rows: 30_000, seed: 42 });
  assert.ok(longer.startsWith(a), 'rows do not depend on how many follow (block size independent)');
  const lines = a.trimEnd().split('\n');
  assert.equal(lines[0], COLUMN_NAMES.join(','));
  assert.equal(lines.length, 20_001);
  assert.ok(lines.every((l) => l.split(',').length === 16));
});

test('plain and gzip files read back equal to generateDataset (same validation)', async () => {
  const options = { rows: 15_000, seed: 9 };
  const plain = join(tmp, 'g.csv');
  const gz = join(tmp, 'g.csv.gz');
  const w = await writeGeneratedCsv(plain, options);
  await writeGeneratedCsv(gz, options);
  assert.equal(w.rows, 15_000);
  assert.equal(gunzipSync(readFileSync(gz)).toString('utf8'), readFileSync(plain, 'utf8'));
  const fromFile = await readDataset(gz);
  const { dataset, report } = generateDatasetWithReport(options);
  assert.equal(fromFile.dataset.rowCount, dataset.rowCount);
  assert.deepEqual(fromFile.dataset.numeric, dataset.numeric);
  for (const c of ['market_id', 'store_id', 'store_primary_category', 'order_protocol'] as const) {
    assert.deepEqual(decoded(fromFile.dataset, c), decoded(dataset, c));
  }
  assert.deepEqual(fromFile.report.defects, report.defects);
  assert.equal(report.rowsDropped, 0);
});

test('created_at stays in the requested window; ids and labels are the sample\'s', () => {
  const ds = generateDataset({ rows: 10_000, seed: 4, start: '2026-11-01', days: 7 });
  const from = parseTimestampUtc('2026-11-01');
  const created = ds.numeric.created_at;
  for (let i = 0; i < ds.rowCount; i++) assert.ok(created[i] >= from && created[i] < from + 7 * 86400, `row ${i}`);
  assert.deepEqual([...ds.category.market_id.values].sort(), ['1', '2', '3', '4', '5', '6']);
  assert.ok(ds.category.store_id.values.every((v) => /^\d+$/.test(v) && Number(v) >= 1 && Number(v) <= 6986));
  assert.ok(ds.category.store_primary_category.values.includes('american'));
});

test('bad options are refused up front with the reason', () => {
  assert.throws(() => generateDataset({ rows: -1 }), /rows must be a whole number/);
  assert.throws(() => generateDataset({ rows: 1.5 }), /rows must be a whole number/);
  assert.throws(() => generateDataset({ rows: 10, shift: 'meteor' }), /unknown drift scenario 'meteor': choose one of busy-market/);
  assert.throws(() => generateDataset({ rows: 10, start: '2015-02-30' }), /start must be a real date/);
  assert.throws(() => generateDataset({ rows: 10, days: 0 }), /days must be a whole number/);
  assert.equal(generateDataset({ rows: 0 }).rowCount, 0);
});

test('etaops gen-data writes a readable file and lists the scenarios in --help', async () => {
  const out = join(tmp, 'cli.csv.gz');
  const r = spawnSync(process.execPath, [cli, 'gen-data', '--rows', '5000', '--seed', '3', '--out', out], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /wrote 5000 rows/);
  const { dataset } = await readDataset(out);
  assert.equal(dataset.rowCount, 5000);
  assert.deepEqual(dataset.numeric, generateDataset({ rows: 5000, seed: 3 }).numeric);
  const help = spawnSync(process.execPath, [cli, 'gen-data', '--help'], { encoding: 'utf8' }).stdout;
  for (const name of SCENARIO_NAMES) assert.match(help, new RegExp(`^  ${name} `, 'm'));
  const bad = spawnSync(process.execPath, [cli, 'gen-data', '--rows', 'many', '--out', out], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--rows must be a whole number/);
});

test('the PRNG is uniform and normal as claimed; the alias table samples its weights', () => {
  const rng = new Prng(123);
  const n = 200_000;
  let sum = 0;
  let sumSq = 0;
  let below = 0;
  for (let i = 0; i < n; i++) {
    const u = rng.uniform();
    assert.ok(u > 0 && u < 1);
    if (u < 0.25) below++;
    const z = rng.normal();
    sum += z;
    sumSq += z * z;
  }
  // Tolerances: > 5 standard errors of each estimate.
  assert.ok(Math.abs(below / n - 0.25) < 0.005);
  assert.ok(Math.abs(sum / n) < 0.012);
  assert.ok(Math.abs(sumSq / n - 1) < 0.02);
  const weights = [5, 0, 1, 3, 1];
  const table = new AliasTable(weights);
  const counts = new Array(weights.length).fill(0);
  for (let i = 0; i < n; i++) counts[table.sample(rng)]++;
  weights.forEach((w, i) => assert.ok(Math.abs(counts[i] / n - w / 10) < 0.006, `weight ${i}: ${counts[i] / n}`));
  assert.equal(new Prng(7).nextUint32(), new Prng(7).nextUint32());
  assert.notEqual(new Prng(7).nextUint32(), new Prng(8).nextUint32());
  assert.throws(() => new AliasTable([0, 0]), /must not all be 0/);
});
