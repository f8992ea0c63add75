/**
 * `make bench-ml`: etaops vs XGBoost (hist) vs LightGBM on delivery times, in one run.
 *
 * Cases: the real sample (24k rows) and 1M generated rows (`etaops gen-data`, cached under
 * $ETAOPS_CACHE/bench/). For each case:
 * - the data goes through etaops' reader, time holdout (latest 20%) and `buildFeatures`; the
 *   resulting matrices are written to files that every engine reads, so features are identical;
 * - each engine fits in its own process (so its peak RSS is its own) with the same parameters
 *   (etaops' defaults, mapped to each library's names), the same thread count and the same
 *   protocol (early stopping on the latest 10% of the train part, refit on the whole train part);
 * - RMSE/MAE are computed here on the untouched holdout from each engine's predictions;
 * - the full `etaops train` CLI also runs on the case's CSV: its wall time and peak RSS cover
 *   everything (reading, validation, features, training, ONNX export, holdout scoring, profile).
 * Ratios are etaops / other engine: RMSE ratio < 0.99 means etaops is >= 1% better; fit ratio
 * <= 1.0 means etaops is at least as fast.
 *
 * A second reading on the sample (and on 1M rows with --library-defaults-1m): XGBoost and LightGBM
 * with their own default learning rate and tree shape, same threads, bins and protocol.
 *
 *   node dist/test/bench/ml/compare.js [--rows 1000000] [--threads N] [--python PATH] [--skip-1m]
 *     [--library-defaults-1m]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readDataset } from '../../../src/ml/dataset/read.js';
import { resolveParams, type GBDTParams } from '../../../src/ml/gbdt/index.js';
import { regressionMetrics } from '../../../src/ml/metrics/index.js';
import { ETA_DEFAULT_PARAMS } from '../../../src/ml/model/train.js';
import { prepare, writePrepared } from './prepare.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../../../..');
const cliMain = path.join(root, 'dist/src/cli/main.js');
const SAMPLE = path.resolve(root, '../shared/data/doordash_sample.csv');

interface EngineRun {
  engine: string;
  fitSeconds: number;
  fitCpuSeconds: number;
  peakRssMB: number;
  trees: number;
  rmse: number;
  mae: number;
}

interface CaseReport {
  name: string;
  rows: number;
  trainRows: number;
  holdoutRows: number;
  engines: EngineRun[];
  cli?: { seconds: number; peakRssMB: number; holdoutRmse: number };
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function cacheDir(): string {
  const base = process.env.ETAOPS_CACHE ?? path.join(os.homedir(), '.cache', 'etaops');
  const dir = path.join(base, 'bench');
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** The generated CSV, made once per (rows, seed) with the project's own generator. */
function generatedCsv(rows: number, seed: number): string {
  const file = path.join(cacheDir(), `generated-${rows}-seed${seed}.csv`);
  if (existsSync(file)) return file;
  console.error(`generating ${rows} rows into ${file} (cached for later runs)…`);
  const r = spawnSync(process.execPath, [cliMain, 'gen-data', '--rows', String(rows), '--seed', String(seed), '--out', `${file}.tmp`], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error(`etaops gen-data failed (exit ${r.status}); the 1M-row case needs the generator`);
  execFileSync('mv', [`${file}.tmp`, file]);
  return file;
}

/**
 * OMP_WAIT_POLICY=PASSIVE: OpenMP's default spin-waiting collapses when the machine is shared
 * (measured here under load ~15 on 2 cores: LightGBM 32 s spinning vs 7 s passive on the
 * sample). Passive waiting is the kinder setting for XGBoost and LightGBM on a busy machine and
 * costs little on an idle one.
 */
function runJson(cmd: string, args: string[]): Record<string, unknown> {
  const env = { ...process.env, OMP_WAIT_POLICY: process.env.OMP_WAIT_POLICY ?? 'PASSIVE' };
  const out = execFileSync(cmd, args, { encoding: 'utf8', maxBuffer: 16 << 20, stdio: ['ignore', 'pipe', 'inherit'], env });
  return JSON.parse(out.trim().split('\n').pop() as string) as Record<string, unknown>;
}

function readF64(file: string): Float64Array {
  const b = readFileSync(file);
  return new Float64Array(b.buffer, b.byteOffset, b.byteLength / 8);
}

function findPython(): string | undefined {
  const candidates = [arg('python'), process.env.BENCH_PYTHON, path.join(root, 'test/bench/.venv/bin/python')].filter((p): p is string => !!p);
  for (const py of candidates) {
    if (existsSync(py) && spawnSync(py, ['-c', 'import lightgbm, xgboost, numpy'], { stdio: 'ignore' }).status === 0) return py;
  }
  return undefined;
}

async function runCase(name: string, csv: string, params: GBDTParams, threads: number, py: string | undefined, libraryDefaults: boolean): Promise<CaseReport> {
  console.error(`\n[${name}] reading ${csv} and building features…`);
  const { dataset } = await readDataset(csv);
  const d = prepare(dataset);
  const dir = path.join(cacheDir(), 'ml-matrices', name.replace(/\W+/g, '-'));
  writePrepared(dir, d, params, threads);
  const report: CaseReport = { name, rows: dataset.rowCount, trainRows: d.Xtrain.rows, holdoutRows: d.Xtest.rows, engines: [] };
  const score = (r: Record<string, unknown>): EngineRun => {
    const pred = readF64(r.predictions as string);
    const m = regressionMetrics(d.ytest, pred);
    return { engine: r.engine as string, fitSeconds: r.fitSeconds as number, fitCpuSeconds: r.fitCpuSeconds as number, peakRssMB: r.peakRssMB as number, trees: r.trees as number, rmse: m.rmse, mae: m.mae };
  };
  console.error(`[${name}] etaops fit (${d.Xtrain.rows} rows x ${d.Xtrain.cols} features, ${threads} threads)…`);
  report.engines.push(score(runJson(process.execPath, [path.join(here, 'fit-etaops.js'), dir])));
  if (py) {
    for (const engine of ['xgboost', 'lightgbm']) {
      console.error(`[${name}] ${engine} fit…`);
      report.engines.push(score(runJson(py, [path.join(root, 'test/bench/ml/fit_python.py'), engine, dir])));
    }
    // A second reading: the libraries with their own default tree shape and learning rate.
    for (const engine of libraryDefaults ? ['xgboost', 'lightgbm'] : []) {
      console.error(`[${name}] ${engine} fit with its library defaults…`);
      report.engines.push(score(runJson(py, [path.join(root, 'test/bench/ml/fit_python.py'), engine, dir, 'library-defaults'])));
    }
  }
  console.error(`[${name}] full 'etaops train' CLI…`);
  const modelDir = path.join(dir, 'model');
  const cli = spawnSync(process.execPath, [path.join(here, 'cli-peak.js'), 'train', '--data', csv, '--model-dir', modelDir, '--params', JSON.stringify({ numThreads: threads }), '--quiet', '--json'], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  const line = cli.stderr.split('\n').find((l) => l.startsWith('BENCH '));
  if (cli.status === 0 && line) {
    const b = JSON.parse(line.slice(6)) as { peakRssMB: number; seconds: number };
    const summary = JSON.parse(cli.stdout) as { metrics: { overall: { rmse: number } } };
    report.cli = { seconds: b.seconds, peakRssMB: b.peakRssMB, holdoutRmse: summary.metrics.overall.rmse };
  } else {
    console.error(`etaops train CLI failed (exit ${cli.status}): ${cli.stderr.slice(-2000)}`);
  }
  rmSync(dir, { recursive: true, force: true });
  return report;
}

function printCase(c: CaseReport): void {
  const ref = c.engines[0];
  console.log(`\n${c.name}: ${c.rows} rows (train ${c.trainRows}, time holdout ${c.holdoutRows})`);
  const head = ['engine', 'trees', 'RMSE s', 'MAE s', 'fit s', 'fit CPU s', 'peak RSS MB', 'etaops/x RMSE', 'etaops/x MAE', 'etaops/x fit', 'etaops/x CPU'];
  const rows = c.engines.map((e) => [
    e.engine,
    String(e.trees),
    e.rmse.toFixed(2),
    e.mae.toFixed(2),
    e.fitSeconds.toFixed(2),
    e.fitCpuSeconds.toFixed(2),
    e.peakRssMB.toFixed(0),
    (ref.rmse / e.rmse).toFixed(4),
    (ref.mae / e.mae).toFixed(4),
    (ref.fitSeconds / e.fitSeconds).toFixed(3),
    (ref.fitCpuSeconds / e.fitCpuSeconds).toFixed(3),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (cells: string[]): string => cells.map((x, i) => (i === 0 ? x.padEnd(widths[i]) : x.padStart(widths[i]))).join('  ');
  console.log(fmt(head));
  console.log(fmt(widths.map((w) => '-'.repeat(w))));
  for (const r of rows) console.log(fmt(r));
  if (c.cli) console.log(`etaops train CLI (read + validate + features + fit + ONNX + holdout + profile): ${c.cli.seconds.toFixed(1)} s, peak RSS ${c.cli.peakRssMB.toFixed(0)} MB, holdout RMSE ${c.cli.holdoutRmse.toFixed(2)}`);
  if (c.rows >= 1_000_000) {
    const worst = Math.max(ref.peakRssMB, c.cli?.peakRssMB ?? 0);
    console.log(`goal peak memory < 1536 MB: ${worst < 1536 ? 'MET' : 'MISSED'} (fit process ${ref.peakRssMB.toFixed(0)} MB, whole CLI ${c.cli ? c.cli.peakRssMB.toFixed(0) : '?'} MB)`);
  }
  for (const e of c.engines.slice(1)) {
    const better = (1 - ref.rmse / e.rmse) * 100;
    console.log(`goal vs ${e.engine}: RMSE ${better >= 1 ? 'MET' : 'MISSED'} (etaops ${better.toFixed(2)}% lower, goal >= 1%); fit time ${ref.fitSeconds <= e.fitSeconds ? 'MET' : 'MISSED'} (wall ratio ${(ref.fitSeconds / e.fitSeconds).toFixed(3)}, CPU ratio ${(ref.fitCpuSeconds / e.fitCpuSeconds).toFixed(3)}, goal <= 1.0)`);
  }
}

async function main(): Promise<void> {
  const threads = Number(arg('threads') ?? os.availableParallelism());
  const rows = Number(arg('rows') ?? 1_000_000);
  const params = resolveParams({ ...ETA_DEFAULT_PARAMS, numThreads: threads });
  const py = findPython();
  if (!py) console.error('no Python with xgboost + lightgbm found (make bench-ml creates test/bench/.venv): etaops only');
  console.log(`etaops ${JSON.stringify(ETA_DEFAULT_PARAMS)} | threads ${threads} | holdout: latest 20% by created_at | same features and protocol for all engines`);
  console.log(`machine: ${os.availableParallelism()} cores, load average at start ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} (other work on the machine slows every engine)`);
  const reports: CaseReport[] = [];
  if (existsSync(SAMPLE)) reports.push(await runCase('real sample', SAMPLE, params, threads, py, true));
  else console.error(`real sample not found at ${SAMPLE}: skipped`);
  if (!process.argv.includes('--skip-1m')) reports.push(await runCase(`generated ${rows}`, generatedCsv(rows, 1), params, threads, py, process.argv.includes('--library-defaults-1m')));
  for (const r of reports) printCase(r);
  const resultsDir = path.join(root, 'test/bench/results');
  mkdirSync(resultsDir, { recursive: true });
  const file = path.join(resultsDir, `bench-ml-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ params, threads, reports }, null, 2));
  console.log(`\nresults: ${file}`);
}

await main();
