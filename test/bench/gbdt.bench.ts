/**
 * GBDT fit benchmark: fit seconds, peak RSS and holdout RMSE on 24k and 1M synthetic rows
 * (20 features, 5% missing in one), each case in its own child process so peak RSS is per case.
 *
 * Comparison in the same run: etaops single-threaded vs the default thread setting, and, when
 * a Python with lightgbm and xgboost is found (GBDT_BENCH_PYTHON, else test/bench/.venv),
 * LightGBM and XGBoost (hist) on the same rows with the same settings and thread count.
 *
 *   node dist/test/bench/gbdt.bench.js [--rows 24000,1000000] [--trees 200] [--threads 2]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GBDTRegressor } from '../../src/ml/gbdt/index.js';
import { syntheticData } from '../unit/gbdt-fixtures.js';

const COLS = 20;
const HOLDOUT = 0.2;

interface CaseResult {
  engine: string;
  rows: number;
  threads: number;
  fitSeconds: number;
  /** User + system CPU of the whole process (all threads) during fit: robust on a busy machine. */
  fitCpuSeconds: number;
  peakRssMB: number;
  rmse: number;
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

function makeData(rows: number): ReturnType<typeof syntheticData> {
  return syntheticData(rows, COLS, 1234, 1.0);
}

function split(d: ReturnType<typeof syntheticData>): { trainRows: number } {
  return { trainRows: Math.floor(d.X.rows * (1 - HOLDOUT)) };
}

async function runEtaopsChild(rows: number, trees: number, threads: number): Promise<void> {
  const d = makeData(rows);
  const { trainRows } = split(d);
  const cols = d.X.cols;
  const trainX = { data: d.X.data.subarray(0, trainRows * cols), rows: trainRows, cols };
  const testX = { data: d.X.data.subarray(trainRows * cols), rows: rows - trainRows, cols };
  const m = new GBDTRegressor({ numTrees: trees, learningRate: 0.1, maxLeaves: 31, minDataInLeaf: 20, lambdaL2: 1, numThreads: threads });
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  await m.fit(trainX, d.y.subarray(0, trainRows));
  const fitSeconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const pred = m.predict(testX);
  let se = 0;
  for (let i = 0; i < pred.length; i++) se += (pred[i] - d.y[trainRows + i]) ** 2;
  const result: CaseResult = {
    engine: threads === 1 ? 'etaops 1 thread' : 'etaops',
    rows,
    threads,
    fitSeconds,
    fitCpuSeconds: (cpu.user + cpu.system) / 1e6,
    peakRssMB: process.resourceUsage().maxRSS / 1024,
    rmse: Math.sqrt(se / pred.length),
  };
  process.stdout.write(JSON.stringify(result) + '\n');
}

const PYTHON_BENCH = `
import json, resource, sys, time
import numpy as np
xf, yf, rows, cols, train_rows, trees, threads, engine = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:8]), sys.argv[8]
X = np.fromfile(xf, dtype=np.float32).reshape(rows, cols)
y = np.fromfile(yf, dtype=np.float64)
Xtr, ytr, Xte, yte = X[:train_rows], y[:train_rows], X[train_rows:], y[train_rows:]
t0 = time.perf_counter()
r0 = resource.getrusage(resource.RUSAGE_SELF)
if engine == 'lightgbm':
    import lightgbm as lgb
    m = lgb.train(dict(objective='regression', learning_rate=0.1, num_leaves=31, min_data_in_leaf=20, lambda_l2=1.0,
                       max_bin=255, num_threads=threads, verbose=-1, seed=1), lgb.Dataset(Xtr, ytr), num_boost_round=trees)
    fit = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    p = m.predict(Xte, num_threads=threads)
else:
    import xgboost as xgb
    d = xgb.DMatrix(Xtr, ytr, nthread=threads)
    m = xgb.train(dict(tree_method='hist', grow_policy='lossguide', max_leaves=31, max_depth=0, eta=0.1, min_child_weight=20,
                       reg_lambda=1.0, max_bin=256, nthread=threads, seed=1), d, num_boost_round=trees)
    fit = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    p = m.predict(xgb.DMatrix(Xte, nthread=threads))
cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
print(json.dumps(dict(engine=engine, rows=rows, threads=threads, fitSeconds=fit, fitCpuSeconds=cpu,
      peakRssMB=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, rmse=float(np.sqrt(np.mean((p - yte) ** 2))))))
`;

function findPython(): string | undefined {
  const candidates = [process.env.GBDT_BENCH_PYTHON, 'test/bench/.venv/bin/python'].filter((p): p is string => !!p);
  for (const py of candidates) {
    if (!existsSync(py)) continue;
    const probe = spawnSync(py, ['-c', 'import lightgbm, xgboost, numpy'], { stdio: 'ignore' });
    if (probe.status === 0) return py;
  }
  return undefined;
}

function runChild(args: string[]): CaseResult {
  const self = fileURLToPath(import.meta.url);
  const out = execFileSync(process.execPath, [self, '--child', ...args], { encoding: 'utf8', maxBuffer: 1 << 20 });
  return JSON.parse(out.trim().split('\n').pop() as string) as CaseResult;
}

function runPython(py: string, engine: string, rows: number, trees: number, threads: number): CaseResult {
  const d = makeData(rows);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gbdt-bench-'));
  try {
    const xf = path.join(dir, 'X.f32');
    const yf = path.join(dir, 'y.f64');
    writeFileSync(xf, new Uint8Array(d.X.data.buffer, d.X.data.byteOffset, d.X.data.byteLength));
    writeFileSync(yf, new Uint8Array(d.y.buffer, d.y.byteOffset, d.y.byteLength));
    const out = execFileSync(py, ['-c', PYTHON_BENCH, xf, yf, String(rows), String(COLS), String(split(d).trainRows), String(trees), String(threads), engine], {
      encoding: 'utf8',
    });
    return JSON.parse(out.trim().split('\n').pop() as string) as CaseResult;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  if (process.argv[2] === '--child') {
    await runEtaopsChild(Number(process.argv[3]), Number(process.argv[4]), Number(process.argv[5]));
    return;
  }
  const rowsList = arg('rows', '24000,1000000').split(',').map(Number);
  const trees = Number(arg('trees', '200'));
  const threads = Number(arg('threads', String(Math.min(os.availableParallelism(), 8))));
  const py = findPython();
  if (!py) console.log('(no Python with lightgbm+xgboost: set GBDT_BENCH_PYTHON to compare against them)');
  console.log(`GBDT fit: ${COLS} features, ${trees} trees, 31 leaves, lr 0.1, holdout ${HOLDOUT * 100}%, threads ${threads}`);
  for (const rows of rowsList) {
    const results: CaseResult[] = [runChild([String(rows), String(trees), '1']), runChild([String(rows), String(trees), String(threads)])];
    if (py) for (const engine of ['lightgbm', 'xgboost']) results.push(runPython(py, engine, rows, trees, threads));
    const ref = results[1];
    console.log(`\nrows ${rows}`);
    console.log('engine            threads  fit s    fit CPU s  peak RSS MB  holdout RMSE  etaops/this fit  etaops/this CPU  etaops/this RMSE');
    for (const r of results) {
      console.log(
        `${r.engine.padEnd(18)}${String(r.threads).padEnd(9)}${r.fitSeconds.toFixed(2).padEnd(9)}${r.fitCpuSeconds.toFixed(2).padEnd(11)}` +
          `${r.peakRssMB.toFixed(0).padEnd(13)}${r.rmse.toFixed(4).padEnd(14)}` +
          `${(ref.fitSeconds / r.fitSeconds).toFixed(3).padEnd(17)}${(ref.fitCpuSeconds / r.fitCpuSeconds).toFixed(3).padEnd(17)}${(ref.rmse / r.rmse).toFixed(4)}`,
      );
    }
  }
}

await main();
