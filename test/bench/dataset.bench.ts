/**
 * `make bench`: speed and peak memory of the dataset reader and the generator, each against a
 * comparison measured in the same run on the same machine (figures are only meaningful as ratios
 * on a shared machine):
 *
 *  1. the real sample (24,000 rows), whole: etaops readDataset vs a naive JS parser (readFile,
 *     split('\n'), split(','), Number / Date.parse into typed arrays, no validation) and
 *     pandas.read_csv (parse_dates on both timestamps) when a Python with pandas is available
 *     (DATASET_BENCH_PYTHON, else test/bench/.venv/bin/python);
 *  2. a generated 10M-row file (ETAOPS_BENCH_ROWS to change; made once into
 *     $ETAOPS_CACHE/bench/ and reused), streamed: readDatasetBatches (100k-row batches) vs a naive
 *     streaming parser (readline + split) and pandas.read_csv(chunksize=100_000);
 *  3. generator throughput: rows/s generating CSV in memory, and writing a .csv.gz file.
 *
 * Every measurement runs in its own child process, so its peak RSS (maxRSS) is its own.
 * Results: a table on stdout and test/bench/results/dataset.json.
 */
import { spawnSync } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { readDataset, readDatasetBatches, parseTimestampUtc } from '../../src/ml/dataset/index.js';
import { generateCsvChunks, writeGeneratedCsv } from '../../src/ml/generate/index.js';

const self = fileURLToPath(import.meta.url);
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const SAMPLE = join(repoRoot, '../shared/data/doordash_sample.csv');
const cacheDir = join(process.env.ETAOPS_CACHE || join(homedir(), '.cache/etaops'), 'bench');
const BIG_ROWS = Number(process.env.ETAOPS_BENCH_ROWS || 10_000_000);
const BIG = join(cacheDir, `doordash-generated-${BIG_ROWS}-seed1.csv`);

interface Measurement {
  rows: number;
  seconds: number;
  /** User + system CPU time: steadier than wall time on a machine shared with other work. */
  cpuSeconds: number;
  maxRssMB: number;
}

// ---------------------------------------------------------------- child tasks (one per process)

/** Naive whole-file parse: what one writes without a CSV library. */
function naiveWhole(path: string): number {
  const lines = readFileSync(path, 'utf8').split('\n');
  const n = lines.length - 1;
  const cols = Array.from({ length: 16 }, () => new Float64Array(n));
  let rows = 0;
  for (let i = 1; i < lines.length; i++) {
    if (lines[i] === '') continue;
    const f = lines[i].split(',');
    for (let j = 0; j < 16; j++) cols[j][rows] = j === 1 || j === 2 ? Date.parse(f[j] + 'Z') / 1000 : j === 4 ? f[j].length : Number(f[j]);
    rows++;
  }
  return rows;
}

/** Naive streaming parse: readline + split, kept in 100k-row typed-array batches. */
async function naiveStream(path: string): Promise<number> {
  const batch = 100_000;
  const cols = Array.from({ length: 16 }, () => new Float64Array(batch));
  let rows = 0;
  let k = 0;
  let header = true;
  for await (const line of createInterface({ input: createReadStream(path), crlfDelay: Infinity })) {
    if (header) { header = false; continue; }
    if (line === '') continue;
    const f = line.split(',');
    for (let j = 0; j < 16; j++) cols[j][k] = j === 1 || j === 2 ? Date.parse(f[j] + 'Z') / 1000 : j === 4 ? f[j].length : Number(f[j]);
    rows++;
    if (++k === batch) k = 0;
  }
  return rows;
}

async function child(task: string, arg: string): Promise<void> {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  let rows = 0;
  if (task === 'etaops-whole') rows = (await readDataset(arg)).dataset.rowCount;
  else if (task === 'naive-whole') rows = naiveWhole(arg);
  else if (task === 'etaops-batches') {
    for await (const b of readDatasetBatches(arg, { batchRows: 100_000 })) rows += b.rowCount;
  } else if (task === 'naive-stream') rows = await naiveStream(arg);
  else if (task === 'generate-memory') {
    rows = Number(arg);
    let bytes = 0;
    for (const c of generateCsvChunks({ rows, seed: 1 })) bytes += c.length;
    if (bytes === 0) throw new Error('nothing generated');
  } else if (task === 'generate-gz') {
    rows = Number(arg);
    const out = join(tmpdir(), `etaops-bench-${process.pid}.csv.gz`);
    await writeGeneratedCsv(out, { rows, seed: 1 });
    rmSync(out, { force: true });
  } else if (task === 'generate-big') {
    rows = BIG_ROWS;
    const tmp = `${BIG}.partial`;
    await writeGeneratedCsv(tmp, { rows, seed: 1 });
    renameSync(tmp, BIG);
  } else throw new Error(`unknown task ${task}`);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  const m: Measurement = { rows, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, maxRssMB: process.resourceUsage().maxRSS / 1024 };
  process.stdout.write(JSON.stringify(m) + '\n');
}

// ---------------------------------------------------------------- parent

function runNode(task: string, arg: string): Measurement {
  const r = spawnSync(process.execPath, [self, 'child', task, arg], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`${task} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Measurement;
}

const PANDAS = `
import sys, time, resource
import pandas as pd
path, mode = sys.argv[1], sys.argv[2]
t0 = time.perf_counter()
c0 = time.process_time()
kw = dict(parse_dates=['created_at', 'actual_delivery_time'], date_format='%Y-%m-%d %H:%M:%S',
          dtype={'market_id': 'category', 'store_id': 'category', 'store_primary_category': 'category', 'order_protocol': 'category'})
rows = 0
if mode == 'whole':
    rows = len(pd.read_csv(path, **kw))
else:
    for chunk in pd.read_csv(path, chunksize=100_000, **kw):
        rows += len(chunk)
print('{"rows": %d, "seconds": %f, "cpuSeconds": %f, "maxRssMB": %f}' % (rows, time.perf_counter() - t0, time.process_time() - c0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))
`;

function pythonWithPandas(): string | undefined {
  const candidates = [process.env.DATASET_BENCH_PYTHON, join(repoRoot, 'test/bench/.venv/bin/python')].filter((p): p is string => !!p);
  for (const p of candidates) {
    if (spawnSync(p, ['-c', 'import pandas'], { encoding: 'utf8' }).status === 0) return p;
  }
  return undefined;
}

function runPandas(python: string, path: string, mode: 'whole' | 'chunks'): Measurement {
  const r = spawnSync(python, ['-c', PANDAS, path, mode], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`pandas failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Measurement;
}

/** Best (least CPU) of `n` runs; its own peak memory. */
function best(n: number, run: () => Measurement): Measurement {
  let b: Measurement | undefined;
  for (let i = 0; i < n; i++) {
    const m = run();
    if (!b || m.cpuSeconds < b.cpuSeconds) b = m;
  }
  return b!;
}

interface Row {
  case: string;
  rows: number;
  seconds: number;
  cpuSeconds: number;
  rowsPerSecond: number;
  rowsPerCpuSecond: number;
  maxRssMB: number;
}

function row(name: string, m: Measurement): Row {
  return {
    case: name, rows: m.rows, seconds: +m.seconds.toFixed(3), cpuSeconds: +m.cpuSeconds.toFixed(3),
    rowsPerSecond: Math.round(m.rows / m.seconds), rowsPerCpuSecond: Math.round(m.rows / m.cpuSeconds), maxRssMB: +m.maxRssMB.toFixed(0),
  };
}

function print(rows: Row[], baseline: string): void {
  const base = rows.find((r) => r.case === baseline);
  console.log(`  ${'case'.padEnd(40)} ${'rows'.padStart(10)} ${'wall s'.padStart(8)} ${'rows/s'.padStart(10)} ${'CPU s'.padStart(8)} ${'rows/CPU-s'.padStart(11)} ${'peak RSS'.padStart(9)}`);
  for (const r of rows) {
    const ratio = base && r !== base ? `  ${(r.rowsPerCpuSecond / base.rowsPerCpuSecond).toFixed(2)}x ${base.case} (per CPU-s)` : '';
    console.log(`  ${r.case.padEnd(40)} ${String(r.rows).padStart(10)} ${r.seconds.toFixed(2).padStart(8)} ${String(r.rowsPerSecond).padStart(10)} ${r.cpuSeconds.toFixed(2).padStart(8)} ${String(r.rowsPerCpuSecond).padStart(11)} ${String(r.maxRssMB).padStart(6)} MB${ratio}`);
  }
}

async function main(): Promise<void> {
  const results: Record<string, Row[] | string> = { machine: `${process.platform} ${process.arch}, node ${process.version}, load average ${(await import('node:os')).loadavg()[0].toFixed(1)} at start` };
  const python = pythonWithPandas();
  const pandasNote = python ? `pandas via ${python}` : 'pandas not available (set DATASET_BENCH_PYTHON): compared with the naive JS parsers only';
  console.log(`dataset benchmark (${pandasNote})`);

  if (existsSync(SAMPLE)) {
    const sample: Row[] = [
      row('etaops readDataset', best(5, () => runNode('etaops-whole', SAMPLE))),
      row('naive split+Number (no validation)', best(5, () => runNode('naive-whole', SAMPLE))),
    ];
    if (python) sample.push(row('pandas.read_csv', best(3, () => runPandas(python, SAMPLE, 'whole'))));
    console.log('\n1. real sample, whole file (best of 5; pandas best of 3):');
    print(sample, 'naive split+Number (no validation)');
    results.sample = sample;
  } else {
    console.log(`\n1. skipped: the real sample is absent at ${SAMPLE}`);
  }

  mkdirSync(cacheDir, { recursive: true });
  const gen: Row[] = [];
  if (!existsSync(BIG)) {
    console.log(`\n(generating ${BIG_ROWS} rows into ${BIG} once; reused by later runs)`);
    gen.push(row(`gen-data ${BIG_ROWS} rows -> plain CSV file`, runNode('generate-big', String(BIG_ROWS))));
  }
  const million = Math.min(1_000_000, BIG_ROWS);
  gen.push(row(`generate ${million} rows (CSV in memory)`, runNode('generate-memory', String(million))));
  gen.push(row(`generate ${million} rows -> .csv.gz file`, runNode('generate-gz', String(million))));
  console.log('\n3. generator throughput:');
  print(gen, '');
  results.generator = gen;

  const size = statSync(BIG).size;
  const big: Row[] = [
    row('etaops readDatasetBatches (100k)', runNode('etaops-batches', BIG)),
    row('naive readline+split (no validation)', runNode('naive-stream', BIG)),
  ];
  if (python) big.push(row('pandas.read_csv chunksize=100k', runPandas(python, BIG, 'chunks')));
  console.log(`\n2. generated file, ${BIG_ROWS} rows, ${(size / 1e6).toFixed(0)} MB, streamed (one run each):`);
  print(big, 'naive readline+split (no validation)');
  results.generated = big;

  const outDir = join(repoRoot, 'test/bench/results');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'dataset.json'), JSON.stringify(results, null, 2) + '\n');
  console.log(`\nresults written to ${join(outDir, 'dataset.json')}`);
}

if (process.argv[2] === 'child') {
  await child(process.argv[3], process.argv[4]);
} else {
  // parseTimestampUtc is imported so a broken parser fails the bench early rather than mid-run.
  if (parseTimestampUtc('2015-02-06 22:24:17') !== 1423261457) throw new Error('timestamp parser is broken');
  await main();
}
