/**
 * `make bench-serve`: the serving benchmark. In one run, under the same load tool (autocannon)
 * for the same time at the same concurrency on 127.0.0.1:
 *   - bare    a node:http server that reads and parses the same body and answers a constant:
 *             the ceiling any Node.js server can reach on this machine;
 *   - etaops  the etaops prediction server (validation, features, onnxruntime, metrics, log);
 *   - seed    the seed's design rebuilt: Flask + gunicorn (2 workers) + a scikit-learn pipeline,
 *             in a virtualenv under test/bench/.venv-serve (created on first run from PyPI).
 * Then batch scoring: rows/s through POST /predict with 1,000-order arrays, and through
 * `etaops predict` on a generated file; and the cost of one scoring call by the tree engine and
 * by onnxruntime on the same model and rows, in this process (whether the tree engine, which the
 * server and `etaops predict` use, still pays at every run size). Prints one table with the ratios and the goals.
 *
 * Flags: --duration S (default 10), --connections N (default 8), --rounds N (default 2: bare
 * and etaops alternate, best round kept), --skip-seed, --batch-file-rows N.
 * Each server runs in its own process; the load tool runs here. Results also go to
 * test/bench/results/serve-<time>.json.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { startServerProcess, stopServerProcess as stopTarget } from '../server-process.js';
import { loadPredictor, trainModel } from '../../../src/ml/model/index.js';
import { defaultBatchWorkers } from '../../../src/server/service.js';
import { buildFeatures } from '../../../src/ml/features/index.js';
import { EXAMPLE_ORDER, ordersToDataset, parseOrders } from '../../../src/server/order-input.js';

const ROOT = path.resolve(fileURLToPath(new URL('../../../../', import.meta.url)));
const BENCH_SRC = path.join(ROOT, 'test', 'bench', 'serve');
const RESULTS = path.join(ROOT, 'test', 'bench', 'results');
const WORK = path.join(RESULTS, 'serve-work');
const VENV = path.join(ROOT, 'test', 'bench', '.venv-serve');
const SAMPLE = path.resolve(ROOT, '..', 'shared', 'data', 'doordash_sample.csv');
const CLI = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');
const TARGETS = path.join(ROOT, 'dist', 'test', 'bench', 'serve', 'targets.js');

const { values: flags } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '8' },
    'skip-seed': { type: 'boolean', default: false },
    'batch-file-rows': { type: 'string', default: '1000000' },
    rounds: { type: 'string', default: '2' },
  },
});
const ROUNDS = Math.max(1, Number(flags.rounds));
const DURATION = Number(flags.duration);
const CONNECTIONS = Number(flags.connections);

interface LoadResult {
  name: string;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  non2xx: number;
  total: number;
}

/** The bench's servers run from test/bench/serve (the seed app imports its modules from there). */
const startTarget = (name: string, command: string, args: string[], opts: { env?: NodeJS.ProcessEnv; urlPattern?: RegExp } = {}) =>
  startServerProcess(name, command, args, { ...opts, cwd: BENCH_SRC });

function log(line: string): void {
  process.stderr.write(`bench-serve: ${line}\n`);
}

async function load(name: string, url: string, body: string, seconds: number, connections = CONNECTIONS): Promise<LoadResult> {
  const r = await autocannon({
    url, method: 'POST', body, headers: { 'content-type': 'application/json' }, connections, duration: seconds,
  });
  return {
    name,
    requestsPerSecond: r.requests.average,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    errors: r.errors + r.timeouts,
    non2xx: r.non2xx,
    total: r.requests.total,
  };
}

/** Warm-up then the measured run. */
async function measure(name: string, url: string, body: string): Promise<LoadResult> {
  await load(name, url, body, Math.min(3, DURATION));
  const result = await load(name, url, body, DURATION);
  log(`${name}: ${result.requestsPerSecond.toFixed(0)} req/s, p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms, errors ${result.errors}, non-2xx ${result.non2xx}`);
  return result;
}

async function ensureModel(): Promise<string> {
  const dir = path.join(WORK, 'model');
  if (existsSync(path.join(dir, 'model.json'))) return dir;
  let dataUri = SAMPLE;
  if (!existsSync(SAMPLE)) {
    dataUri = path.join(WORK, 'train.csv');
    log('the DoorDash sample is absent: training on 24,000 generated orders');
    run(process.execPath, [CLI, 'gen-data', '--rows', '24000', '--out', dataUri]);
  }
  log(`training the etaops model on ${dataUri}`);
  await trainModel({ dataUri, modelDir: dir, modelName: 'delivery-eta' });
  return dir;
}

function run(command: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): string {
  const r = spawnSync(command, args, { encoding: 'utf8', cwd: opts.cwd, env: opts.env ?? process.env, maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** The seed design's virtualenv and pickled pipeline (trained on the same data). */
function ensureSeed(trainCsv: string): { python: string; gunicorn: string; model: string } {
  const python = path.join(VENV, 'bin', 'python');
  const gunicorn = path.join(VENV, 'bin', 'gunicorn');
  if (!existsSync(gunicorn)) {
    log(`creating the seed design's virtualenv in ${VENV} (flask, gunicorn, scikit-learn)`);
    run('python3', ['-m', 'venv', VENV]);
    run(path.join(VENV, 'bin', 'pip'), ['install', '-q', 'flask', 'gunicorn', 'scikit-learn']);
  }
  const model = path.join(WORK, 'seed-pipeline.pkl');
  if (!existsSync(model)) {
    log('training the seed pipeline (DictVectorizer + HistGradientBoostingRegressor)');
    log(run(python, [path.join(BENCH_SRC, 'train_seed_model.py'), trainCsv, model], { cwd: BENCH_SRC }).trim());
  }
  return { python, gunicorn, model };
}

/** 1,000 real orders the server accepts, as one /predict body. */
function batchBody(rows: number): string {
  const orders: Record<string, unknown>[] = [];
  if (existsSync(SAMPLE)) {
    const lines = readFileSync(SAMPLE, 'utf8').split('\n');
    const header = lines[0].split(',');
    for (let i = 1; i < lines.length && orders.length < rows; i++) {
      const cells = lines[i].split(',');
      const order: Record<string, string> = {};
      header.forEach((h, j) => { if (cells[j] !== '' && h !== 'actual_delivery_time') order[h] = cells[j]; });
      try {
        parseOrders(order);
        orders.push(order);
      } catch {
        // impossible values: the server would refuse the whole batch
      }
    }
  }
  while (orders.length < rows) orders.push({ ...EXAMPLE_ORDER, subtotal: 1000 + orders.length });
  return JSON.stringify(orders);
}

interface BatchResult {
  /** --batch-workers of the server measured ('default' = what etaops serve picks). */
  workers: string;
  connections: number;
  rowsPerSecond: number;
  requests: number;
  errors: number;
  p99Ms: number;
}

/** rows/s through POST /predict with `rowsPerRequest`-order arrays, at 2 and at CONNECTIONS connections. */
async function batchThroughServer(modelDir: string, rowsPerRequest: number, workers: string): Promise<BatchResult[]> {
  const args = [TARGETS, 'etaops', modelDir, ...(workers === 'default' ? [] : [workers])];
  const { url, child } = await startTarget(`etaops (batch, workers ${workers})`, process.execPath, args);
  try {
    const body = batchBody(rowsPerRequest);
    // Batch workers start in the background: the warm-up gives them time to be ready.
    await load('batch warm-up', `${url}/predict`, body, 3, 2);
    const out: BatchResult[] = [];
    for (const connections of [2, CONNECTIONS]) {
      const r = await load('batch', `${url}/predict`, body, DURATION, connections);
      const rowsPerSecond = r.requestsPerSecond * rowsPerRequest;
      log(`batch /predict (${rowsPerRequest} rows per request, ${connections} connections, batch workers ${workers}): ${rowsPerSecond.toFixed(0)} rows/s, p99 ${r.p99Ms} ms, errors ${r.errors + r.non2xx}`);
      out.push({ workers, connections, rowsPerSecond, requests: r.total, errors: r.errors + r.non2xx, p99Ms: r.p99Ms });
    }
    return out;
  } finally {
    await stopTarget(child);
  }
}

async function batchThroughCli(modelDir: string, rows: number): Promise<{ rowsPerSecond: number; seconds: number; rows: number } | string> {
  const help = spawnSync(process.execPath, [CLI, '--help'], { encoding: 'utf8' }).stdout;
  if (!/^\s+predict\s/m.test(help) || !/^\s+gen-data\s/m.test(help)) return "skipped: 'etaops predict' or 'etaops gen-data' is not in this build";
  const input = path.join(WORK, `orders-${rows}.csv`);
  if (!existsSync(input)) {
    log(`generating ${rows} orders for etaops predict`);
    run(process.execPath, [CLI, 'gen-data', '--rows', String(rows), '--out', input]);
  }
  const output = path.join(WORK, 'predicted.csv');
  const started = performance.now();
  run(process.execPath, [CLI, 'predict', '--model-dir', modelDir, '--input', input, '--output', output]);
  const seconds = (performance.now() - started) / 1000;
  const rowsPerSecond = rows / seconds;
  log(`etaops predict: ${rows} rows in ${seconds.toFixed(2)} s (${rowsPerSecond.toFixed(0)} rows/s, whole process incl. start-up, read and write; ${((await stat(output)).size / 1e6).toFixed(0)} MB out)`);
  return { rowsPerSecond, seconds, rows };
}

interface EngineCost {
  rows: number;
  onnxruntimeMicros: number;
  treeEngineMicros: number;
}

/**
 * Microseconds per scoring call (features built once), both engines alternating, best of 5
 * rounds each. Calls cycle through windows of 4,000 real orders: the first few rows alone are
 * easier than most (short paths), which flatters a walk that stops at the leaf.
 */
async function engineCosts(modelDir: string): Promise<EngineCost[]> {
  const ortOnly = await loadPredictor(modelDir, { threads: 1 });
  const tree = await loadPredictor(modelDir, { threads: 1, treeEngine: true });
  if (!/^tree engine/.test(tree.engine)) throw new Error(`no tree engine: ${tree.engine}`);
  const { dataset } = ordersToDataset(JSON.parse(batchBody(4000)) as unknown[]);
  const all = buildFeatures(dataset, ortOnly.meta.featureSpec);
  const out: EngineCost[] = [];
  try {
    for (const rows of [1, 2, 4, 8, 16, 64, 1000]) {
      const windows = Array.from({ length: Math.floor(all.rows / rows) }, (_, w) => ({ data: all.data.subarray(w * rows * all.cols, (w + 1) * rows * all.cols), rows, cols: all.cols }));
      const calls = Math.max(20, Math.floor(100_000 / rows));
      const time = async (p: typeof ortOnly) => {
        const t0 = performance.now();
        for (let i = 0; i < calls; i++) await p.predictFeatures(windows[i % windows.length]);
        return ((performance.now() - t0) * 1000) / calls;
      };
      let o = Infinity;
      let s = Infinity;
      for (let round = 0; round < 5; round++) {
        o = Math.min(o, await time(ortOnly));
        s = Math.min(s, await time(tree));
      }
      out.push({ rows, onnxruntimeMicros: o, treeEngineMicros: s });
      log(`scoring call, ${rows} rows: onnxruntime ${o.toFixed(1)} µs, tree engine ${s.toFixed(1)} µs`);
    }
  } finally {
    await ortOnly.close();
    await tree.close();
  }
  return out;
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

async function main(): Promise<void> {
  await mkdir(WORK, { recursive: true });
  const modelDir = await ensureModel();
  const body = JSON.stringify(EXAMPLE_ORDER);
  const results: LoadResult[] = [];

  // The machine is shared: bare and etaops alternate for ROUNDS rounds and each keeps its best
  // round, so a burst of someone else's work does not decide the ratio.
  const best = (a: LoadResult | undefined, b: LoadResult) => (!a || b.requestsPerSecond > a.requestsPerSecond ? b : a);
  let bareBest: LoadResult | undefined;
  let oursBest: LoadResult | undefined;
  const bare = await startTarget('bare', process.execPath, [TARGETS, 'bare']);
  const etaops = await startTarget('etaops', process.execPath, [TARGETS, 'etaops', modelDir]);
  try {
    for (let round = 0; round < ROUNDS; round++) {
      bareBest = best(bareBest, await measure('bare node:http (ceiling)', `${bare.url}/predict`, body));
      oursBest = best(oursBest, await measure('etaops serve', `${etaops.url}/predict`, body));
    }
  } finally {
    await stopTarget(bare.child);
    await stopTarget(etaops.child);
  }
  results.push(bareBest as LoadResult, oursBest as LoadResult);

  let seedNote = '';
  if (!flags['skip-seed']) {
    try {
      const trainCsv = existsSync(SAMPLE) ? SAMPLE : path.join(WORK, 'train.csv');
      const seed = ensureSeed(trainCsv);
      const port = 20_000 + Math.floor(Math.random() * 20_000);
      // One BLAS/OpenMP thread per worker: scikit-learn's default of one per core makes each
      // single-row predict spin up a thread team, which on a shared machine costs the seed
      // design seconds per request; a fair operator would set this.
      const env = { ...process.env, SEED_MODEL: seed.model, PYTHONPATH: BENCH_SRC, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' };
      const server = await startTarget('seed', seed.gunicorn, ['-w', '2', '-b', `127.0.0.1:${port}`, '--log-level', 'info', 'seed_app:app'], { env, urlPattern: /Listening at: (http\S+)/ });
      try {
        // gunicorn prints Listening before its workers have imported the app: wait for an answer.
        for (let i = 0; i < 100; i++) {
          const r = await fetch(`${server.url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body }).catch(() => undefined);
          if (r?.ok) break;
          await new Promise((res) => setTimeout(res, 200));
        }
        results.push(await measure('seed: Flask + gunicorn -w 2 + sklearn', `${server.url}/predict`, body));
      } finally {
        await stopTarget(server.child);
      }
    } catch (err) {
      seedNote = `seed design not measured: ${(err as Error).message.split('\n')[0]}`;
      log(seedNote);
    }
  }

  // With the batch workers etaops serve starts by default, and without any (the comparison).
  const batch = [...await batchThroughServer(modelDir, 1000, 'default'), ...await batchThroughServer(modelDir, 1000, '0')];
  const batchAt = (workers: string, connections: number) => batch.find((b) => b.workers === workers && b.connections === connections) as BatchResult;
  const cli = await batchThroughCli(modelDir, Number(flags['batch-file-rows']));
  const engines = await engineCosts(modelDir);

  const [ceiling, ours, seed] = [results[0], results[1], results[2]];
  const lines = [
    '',
    `Serving benchmark: ${CONNECTIONS} connections, ${DURATION} s each (bare/etaops: best of ${ROUNDS} alternating rounds), autocannon, 127.0.0.1, ${new Date().toISOString()}`,
    `| ${pad('server', 40)} | ${pad('req/s', 9)} | p50 ms | p99 ms | errors | non-2xx |`,
    `| ${'-'.repeat(40)} | ${'-'.repeat(9)} | ------ | ------ | ------ | ------- |`,
    ...results.map((r) => `| ${pad(r.name, 40)} | ${pad(r.requestsPerSecond.toFixed(0), 9)} | ${pad(String(r.p50Ms), 6)} | ${pad(String(r.p99Ms), 6)} | ${pad(String(r.errors), 6)} | ${pad(String(r.non2xx), 7)} |`),
    '',
    `etaops / ceiling: ${(ours.requestsPerSecond / ceiling.requestsPerSecond).toFixed(2)}x (goal >= 0.5x)`,
    seed ? `etaops / seed:    ${(ours.requestsPerSecond / seed.requestsPerSecond).toFixed(1)}x (goal >= 20x)` : `etaops / seed:    n/a (${seedNote || 'skipped'})`,
    `etaops p99:       ${ours.p99Ms} ms (goal < 5 ms), errors ${ours.errors + ours.non2xx} (goal 0)`,
    `batch /predict:   1,000-order requests (goal >= 200,000 rows/s), rows/s by connections, errors ${batch.reduce((n, b) => n + b.errors, 0)}:`,
    `| ${pad('server', 40)} | ${pad('2 connections', 13)} | ${pad(`${CONNECTIONS} connections`, 13)} |`,
    `| ${'-'.repeat(40)} | ${'-'.repeat(13)} | ${'-'.repeat(13)} |`,
    ...[['default', `etaops (${defaultBatchWorkers()} batch workers)`], ['0', 'etaops --batch-workers 0']].map(([w, name]) => `| ${pad(name, 40)} | ${pad(batchAt(w, 2).rowsPerSecond.toFixed(0), 13)} | ${pad(batchAt(w, CONNECTIONS).rowsPerSecond.toFixed(0), 13)} |`),
    typeof cli === 'string' ? `etaops predict:   ${cli}` : `etaops predict:   ${cli.rowsPerSecond.toFixed(0)} rows/s (${cli.rows} rows in ${cli.seconds.toFixed(2)} s, whole process) (goal >= 200,000)`,
    '',
    `One scoring call on the same model and rows (µs; the server and etaops predict score with the tree engine):`,
    `| rows | onnxruntime | tree engine | onnxruntime / engine |`,
    `| ---- | ----------- | ----------- | -------------------- |`,
    ...engines.map((e) => `| ${pad(String(e.rows), 4)} | ${pad(e.onnxruntimeMicros.toFixed(1), 11)} | ${pad(e.treeEngineMicros.toFixed(1), 11)} | ${pad((e.onnxruntimeMicros / e.treeEngineMicros).toFixed(2), 20)} |`),
    '',
  ];
  process.stdout.write(lines.join('\n'));
  await writeFile(path.join(RESULTS, `serve-${new Date().toISOString().replace(/[:.]/g, '-')}.json`), JSON.stringify({ connections: CONNECTIONS, durationSeconds: DURATION, results, batch, cli, engines }, null, 2));
}

main().catch((err: unknown) => {
  process.stderr.write(`bench-serve failed: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exitCode = 1;
});
