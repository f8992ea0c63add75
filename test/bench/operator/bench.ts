/**
 * `make bench-operator`: the etaops operator under a burst, and at rest.
 *
 * Against the real kube-apiserver of hack/cluster.sh (its kube-controller-manager runs the Job
 * controller) with the real `etaops controller` as a separate process:
 *   1. bare    N plain batch/v1 Jobs (the same pod template the controller builds), created by
 *              the bench and completed by kube's Job controller + kwok: the floor of what the
 *              cluster itself takes for N Jobs;
 *   2. etaops  N TrainingRuns applied at once: the controller creates the Jobs, kwok completes
 *              their pods with a trainer result, the controller registers a ModelVersion per run
 *              and validates each one against a real model directory (file://), then promotes
 *              by policy. Measured: time until every run has its ModelVersion and until every
 *              ModelVersion is validated (also as a ratio to bare), the controller's API
 *              requests per run by verb and resource, reconciles and their durations (from its
 *              /metrics), its peak RSS (VmHWM);
 *   3. rest    a fresh controller over ~R objects (R/2 runs, each with its ModelVersion; their
 *              Jobs and pods too), then a quiet window: reconciles and API requests per minute
 *              (no hot loops means ~0 reconciles), RSS and heap slopes (no leak means ~0).
 * How kwok writes the trainer's result: see test/support/kwok-node.ts (the bench's own node and kwok).
 *
 * Flags: --runs N (200), --models M (10: runs are spread over M models), --concurrency C (20
 * creates in flight), --workers W (4, the controller's default), --rest-objects R (1000; 0
 * skips), --rest-window S (150), --timeout S (900 per phase), --skip-bare.
 * Needs the cluster's env (eval "$(hack/cluster.sh env)") and the kwok binary in the cache.
 * Every namespace and the node are deleted at the end (also on Ctrl-C). Results:
 * test/bench/results/operator-<time>.json; controller and kwok logs beside it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { V1Job } from '@kubernetes/client-node';
import type { ModelVersion, TrainingRun } from '../../../src/api/index.js';
import { getCondition } from '../../../src/controller/conditions.js';
import type { ControllerConfig } from '../../../src/controller/config.js';
import { Informer } from '../../../src/controller/runtime/informer.js';
import { GVRS, KubeClient, type KubeObject } from '../../../src/controller/runtime/kube.js';
import { loadKubeConfigFile } from '../../../src/controller/runtime/kubeconfig.js';
import { buildJob, LABEL_RUN, MODELVERSIONS, TRAININGRUNS } from '../../../src/controller/trainingrun.js';
import { ensureNamespace, installCRDs, tinyOnnx } from '../../integration/controller-helpers.js';
import { startController, type ControllerProc } from '../../support/controller-proc.js';
import { startBenchNode, type BenchNode } from '../../support/kwok-node.js';
import { deltaBy, histogramQuantile, slope, sum, type Sample } from '../../support/prom-text.js';

const ROOT = path.resolve(fileURLToPath(new URL('../../../../', import.meta.url)));
const CLI = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');
const RESULTS = path.join(ROOT, 'test', 'bench', 'results');
const CACHE = process.env.ETAOPS_CACHE ?? path.join(process.env.HOME ?? '/root', '.cache', 'etaops');

const { values: flags } = parseArgs({
  options: {
    runs: { type: 'string', default: '200' },
    models: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '20' },
    workers: { type: 'string', default: '4' },
    'rest-objects': { type: 'string', default: '1000' },
    'rest-window': { type: 'string', default: '150' },
    timeout: { type: 'string', default: '900' },
    'skip-bare': { type: 'boolean', default: false },
  },
});
function intFlag(name: keyof typeof flags, min: number): number {
  const v = Number(flags[name]);
  if (!Number.isInteger(v) || v < min) throw new Error(`--${name} must be an integer ≥ ${min}, got ${String(flags[name])}`);
  return v;
}
const RUNS = intFlag('runs', 1);
const MODELS = intFlag('models', 1);
const CONCURRENCY = intFlag('concurrency', 1);
const WORKERS = intFlag('workers', 1);
const REST_OBJECTS = intFlag('rest-objects', 0);
const REST_WINDOW_S = intFlag('rest-window', 10);
const TIMEOUT_MS = intFlag('timeout', 10) * 1000;

const log = (m: string) => process.stderr.write(`bench-operator ${new Date().toISOString().slice(11, 19)}: ${m}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const secs = (ms: number) => Math.round(ms / 10) / 100;

/** Runs fn over items with at most `limit` in flight. */
async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]);
  }));
}

/** Resolves when check() is true (checked every 250 ms); throws after timeoutMs. */
async function until(what: string, check: () => boolean, timeoutMs = TIMEOUT_MS): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out after ${secs(timeoutMs)} s waiting for ${what}`);
    await sleep(250);
  }
}

const percentile = (xs: number[], q: number) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};

// ----------------------------------------------------------------------------- setup

interface Env {
  c: KubeClient;
  kubeconfig: string;
  id: string;
  work: string;
  modelsDir: string;
  onnxSha: string;
  node: BenchNode;
  namespaces: string[];
  controllers: ControllerProc[];
}

const FEATURES = ['a', 'b', 'c'];
const ONNX = tinyOnnx(FEATURES.length);

/** A real model directory (model.onnx + model.json) that the controller's validation accepts. */
function writeModelDir(dir: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'model.onnx'), ONNX);
  writeFileSync(path.join(dir, 'model.json'), JSON.stringify({ featureSpec: { names: FEATURES }, onnx: { inputName: 'features' } }));
}

const runName = (i: number) => `run-${String(i).padStart(4, '0')}`;
const modelOf = (i: number) => `eta-${i % MODELS}`;

async function newNamespace(env: Env, phase: string): Promise<string> {
  const ns = `etaops-bench-${phase}-${env.id}`;
  env.namespaces.push(ns);
  await ensureNamespace(env.c, ns);
  return ns;
}

// ----------------------------------------------------------------------------- 1. bare Jobs

interface BareResult { jobs: number; applySeconds: number; allCompleteSeconds: number; failed: number }

async function bareJobs(env: Env, n: number): Promise<BareResult> {
  const ns = await newNamespace(env, 'bare');
  const cfg: ControllerConfig = { command: ['etaops'], jobServiceAccount: 'etaops-job', jobNodeSelector: env.node.nodeSelector, jobTolerate: [env.node.tolerate] };
  const stop = new AbortController();
  const jobs = new Informer<V1Job & KubeObject>(env.c, GVRS.jobs, { namespace: ns });
  const complete = new Set<string>();
  const failed = new Set<string>();
  jobs.on((_t, j) => {
    const conds = j.status?.conditions ?? [];
    if (conds.some((x) => x.type === 'Complete' && x.status === 'True')) complete.add(j.metadata.name!);
    if (conds.some((x) => x.type === 'Failed' && x.status === 'True')) failed.add(j.metadata.name!);
  });
  void jobs.run(stop.signal);
  await jobs.waitForSync();
  try {
    const t0 = Date.now();
    await pool(Array.from({ length: n }, (_, i) => i), CONCURRENCY, async (i) => {
      // The controller's own Job for a run, minus the owner reference (no run owns these).
      const run = { apiVersion: 'etaops.io/v1alpha1', kind: 'TrainingRun', metadata: { name: runName(i), namespace: ns, uid: 'bare' }, spec: { model: modelOf(i), dataset: { uri: 'file:///bench/data.csv' } } } as TrainingRun;
      const job = buildJob(run, cfg, 'etaops:bench', 'file:///bench/models');
      delete job.metadata!.ownerReferences;
      await env.c.create(GVRS.jobs, ns, job);
    });
    const applied = Date.now();
    await until(`${n} bare Jobs complete`, () => complete.size + failed.size >= n);
    return { jobs: n, applySeconds: secs(applied - t0), allCompleteSeconds: secs(Date.now() - t0), failed: failed.size };
  } finally {
    stop.abort();
  }
}

// ----------------------------------------------------------------------------- 2. etaops runs

interface Watched {
  created: Map<string, number>;
  mvAt: Map<string, number>;
  validAt: Map<string, number>;
  invalid: Map<string, string>;
  failedRuns: Map<string, string>;
  versions: Informer<ModelVersion & KubeObject>;
  runs: Informer<TrainingRun & KubeObject>;
}

/** The bench's own informers on the runs and versions of a namespace (not counted as the controller's). */
async function watchRuns(env: Env, ns: string, signal: AbortSignal): Promise<Watched> {
  const w: Watched = {
    created: new Map(), mvAt: new Map(), validAt: new Map(), invalid: new Map(), failedRuns: new Map(),
    runs: new Informer<TrainingRun & KubeObject>(env.c, TRAININGRUNS, { namespace: ns }),
    versions: new Informer<ModelVersion & KubeObject>(env.c, MODELVERSIONS, { namespace: ns }),
  };
  w.versions.on((_t, mv) => {
    const run = mv.metadata.labels?.[LABEL_RUN] ?? mv.metadata.name!;
    if (!w.mvAt.has(run)) w.mvAt.set(run, Date.now());
    const v = getCondition(mv.status?.conditions, 'Validated');
    if (v?.status === 'True' && !w.validAt.has(run)) w.validAt.set(run, Date.now());
    if (v?.status === 'False') w.invalid.set(run, `${v.reason}: ${v.message}`);
  });
  w.runs.on((_t, r) => {
    if (r.status?.phase === 'Failed') w.failedRuns.set(r.metadata.name!, r.status.message ?? '');
  });
  void w.runs.run(signal);
  void w.versions.run(signal);
  await Promise.all([w.runs.waitForSync(), w.versions.waitForSync()]);
  return w;
}

async function launchController(env: Env, ns: string): Promise<ControllerProc> {
  const proc = await startController({
    cli: CLI, kubeconfig: env.kubeconfig, namespace: ns, workers: WORKERS, log,
    logFile: path.join(env.work, `controller-${ns}.log`),
    env: {
      ETAOPS_IMAGE: 'etaops:bench',
      ETAOPS_ARTIFACT_ROOT: 'file:///bench/models', // where a real trainer would write; kwok reports env.modelsDir instead
      ETAOPS_JOB_NODE_SELECTOR: Object.entries(env.node.nodeSelector).map(([k, v]) => `${k}=${v}`).join(','),
      ETAOPS_JOB_TOLERATE: env.node.tolerate,
    },
  });
  env.controllers.push(proc);
  const end = Date.now() + 60_000;
  while (sum(await proc.metrics(), 'etaops_controller_leader') !== 1) {
    if (Date.now() > end) throw new Error('the controller did not take its Lease within 60 s');
    await sleep(200);
  }
  return proc;
}

/** Waits until the controller's queues are empty and no reconcile ran for quietMs. */
async function settle(proc: ControllerProc, quietMs = 5000, timeoutMs = 180_000): Promise<number> {
  const t0 = Date.now();
  let last = -1;
  let quietSince = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    const m = await proc.metrics();
    const total = sum(m, 'etaops_controller_reconcile_total');
    const busy = sum(m, 'etaops_controller_workqueue_depth') + sum(m, 'etaops_controller_workqueue_in_flight');
    if (total !== last || busy > 0) {
      last = total;
      quietSince = Date.now();
    } else if (Date.now() - quietSince >= quietMs) {
      return quietSince;
    }
    await sleep(500);
  }
  throw new Error(`the controller did not go quiet within ${secs(timeoutMs)} s`);
}

interface ReconcileStats { total: number; byResult: Record<string, number>; meanMs: number; p50Ms: number; p99Ms: number }

function reconcileStats(m0: Sample[], m1: Sample[]): Record<string, ReconcileStats> {
  const out: Record<string, ReconcileStats> = {};
  const byKindResult = deltaBy(m0, m1, 'etaops_controller_reconcile_total', ['kind', 'result']);
  for (const [k, n] of byKindResult) {
    const [kind, result] = k.split(' ');
    const name = 'etaops_controller_reconcile_duration_seconds';
    out[kind] ??= {
      total: 0, byResult: {},
      meanMs: (1000 * (sum(m1, `${name}_sum`, { kind }) - sum(m0, `${name}_sum`, { kind }))) / Math.max(1, sum(m1, `${name}_count`, { kind }) - sum(m0, `${name}_count`, { kind })),
      p50Ms: 1000 * histogramQuantile(m0, m1, name, { kind }, 0.5),
      p99Ms: 1000 * histogramQuantile(m0, m1, name, { kind }, 0.99),
    };
    out[kind].total += n;
    out[kind].byResult[result] = n;
  }
  return out;
}

/** API requests between two scrapes by `VERB resource` (code left out), sorted by count. */
function apiRequests(m0: Sample[], m1: Sample[], exclude: (verb: string, resource: string) => boolean): Array<[string, number]> {
  const d = deltaBy(m0, m1, 'etaops_controller_api_requests_total', ['verb', 'resource']);
  return [...d].filter(([k]) => !exclude(...(k.split(' ') as [string, string]))).sort((a, b) => b[1] - a[1]);
}

interface BurstResult {
  runs: number;
  models: number;
  applySeconds: number;
  allModelVersionsSeconds: number;
  allValidatedSeconds: number;
  idleSeconds: number;
  perRunToModelVersionSeconds: { p50: number; p99: number; max: number };
  failedRuns: number;
  invalidVersions: number;
  firstFailures: string[];
  versionPhases: Record<string, number>;
  duplicateVersionNumbers: number;
  apiRequestsPerRun: number;
  apiRequestsByVerbResource: Record<string, number>;
  apiErrors: Record<string, number>;
  reconciles: Record<string, ReconcileStats>;
  controllerIdleRssMiB: number;
  controllerPeakRssMiB: number;
}

/** Applies n TrainingRuns at once and follows them to validated ModelVersions. */
async function burst(env: Env, ns: string, n: number, signal: AbortSignal): Promise<{ result: BurstResult; proc: ControllerProc; watched: Watched }> {
  for (let i = 0; i < n; i++) writeModelDir(path.join(env.modelsDir, ns, runName(i)));
  const w = await watchRuns(env, ns, signal);
  const proc = await launchController(env, ns);
  const idle = proc.memory();
  const m0 = await proc.metrics();
  const t0 = Date.now();
  let peak = idle.hwmMiB;
  const sampler = setInterval(() => {
    try {
      peak = Math.max(peak, proc.memory().hwmMiB);
    } catch { /* exited: the last reading stands */ }
  }, 1000);
  try {
    await pool(Array.from({ length: n }, (_, i) => i), CONCURRENCY, async (i) => {
      const run: TrainingRun = {
        apiVersion: 'etaops.io/v1alpha1', kind: 'TrainingRun', metadata: { name: runName(i) },
        spec: { model: modelOf(i), dataset: { uri: 'file:///bench/data.csv' }, backoffLimit: 0 },
      };
      await env.c.create(TRAININGRUNS, ns, run);
      w.created.set(runName(i), Date.now());
    });
    const applied = Date.now();
    log(`${n} TrainingRuns applied in ${secs(applied - t0)} s`);
    await until(`${n} ModelVersions`, () => w.mvAt.size + w.failedRuns.size >= n);
    const allMv = Date.now();
    log(`every run has its ModelVersion after ${secs(allMv - t0)} s (${w.failedRuns.size} runs failed)`);
    await until(`${w.mvAt.size} ModelVersions validated`, () => w.validAt.size + w.invalid.size >= w.mvAt.size);
    const allValid = Date.now();
    log(`every ModelVersion validated after ${secs(allValid - t0)} s (${w.invalid.size} invalid)`);
    const quiet = await settle(proc);
    const m1 = await proc.metrics();
    peak = Math.max(peak, proc.memory().hwmMiB);
    const perRun = [...w.mvAt].map(([run, t]) => (t - (w.created.get(run) ?? t0)) / 1000);
    const phases: Record<string, number> = {};
    const seenVersions = new Map<string, number>();
    for (const mv of w.versions.list(ns)) {
      const p = mv.status?.phase ?? '(none)';
      phases[p] = (phases[p] ?? 0) + 1;
      const k = `${mv.spec.model}@${mv.spec.version}`;
      seenVersions.set(k, (seenVersions.get(k) ?? 0) + 1);
    }
    const requests = apiRequests(m0, m1, (verb, resource) => verb === 'WATCH' || resource === 'leases');
    const errors = deltaBy(m0, m1, 'etaops_controller_api_requests_total', ['verb', 'resource', 'code'], { code: (c) => !/^2/.test(c) });
    const result: BurstResult = {
      runs: n,
      models: MODELS,
      applySeconds: secs(applied - t0),
      allModelVersionsSeconds: secs(allMv - t0),
      allValidatedSeconds: secs(allValid - t0),
      idleSeconds: secs(quiet - t0),
      perRunToModelVersionSeconds: { p50: percentile(perRun, 0.5), p99: percentile(perRun, 0.99), max: Math.max(...perRun) },
      failedRuns: w.failedRuns.size,
      invalidVersions: w.invalid.size,
      firstFailures: [...w.failedRuns.values(), ...w.invalid.values()].slice(0, 3),
      versionPhases: phases,
      duplicateVersionNumbers: [...seenVersions.values()].filter((c) => c > 1).reduce((a, c) => a + c - 1, 0),
      apiRequestsPerRun: Math.round((100 * requests.reduce((a, [, c]) => a + c, 0)) / n) / 100,
      apiRequestsByVerbResource: Object.fromEntries(requests),
      apiErrors: Object.fromEntries(errors),
      reconciles: reconcileStats(m0, m1),
      controllerIdleRssMiB: Math.round(idle.rssMiB),
      controllerPeakRssMiB: Math.round(peak),
    };
    return { result, proc, watched: w };
  } finally {
    clearInterval(sampler);
  }
}

// ----------------------------------------------------------------------------- 3. at rest

interface RestResult {
  objects: Record<string, number>;
  windowSeconds: number;
  reconcilesPerMinute: number;
  reconcilesByKind: Record<string, number>;
  apiRequestsPerMinute: Record<string, number>;
  rssMiB: { start: number; end: number; slopeMiBPerMin: number };
  heapUsedMiB: { start: number; end: number; slopeMiBPerMin: number };
  fillSeconds: number;
}

async function atRest(env: Env, objects: number, signal: AbortSignal): Promise<{ rest: RestResult; fill: BurstResult }> {
  const ns = await newNamespace(env, 'rest');
  const runs = Math.max(1, Math.round(objects / 2));
  const t0 = Date.now();
  const { result: fill, proc, watched } = await burst(env, ns, runs, signal);
  const counts = async () => {
    // limit=1 lists report how many items remain: a count without fetching them all.
    const count = async (r: typeof GVRS.jobs) => {
      const l = await env.c.list(r, ns, { limit: 1 }) as { items: unknown[]; metadata: { remainingItemCount?: number } };
      return l.items.length + (l.metadata.remainingItemCount ?? 0);
    };
    return { TrainingRun: watched.runs.list(ns).length, ModelVersion: watched.versions.list(ns).length, Job: await count(GVRS.jobs), Pod: await count(GVRS.pods) };
  };
  log(`at rest: ${runs} runs + their ModelVersions; quiet window of ${REST_WINDOW_S} s`);
  const m0 = await proc.metrics();
  const w0 = Date.now();
  const rss: Array<[number, number]> = [];
  const heap: Array<[number, number]> = [];
  const heapOf = (m: Sample[]) => sum(m, 'etaops_controller_nodejs_heap_size_used_bytes') / 2 ** 20;
  heap.push([0, heapOf(m0)]);
  while (Date.now() - w0 < REST_WINDOW_S * 1000) {
    await sleep(5000);
    const minutes = (Date.now() - w0) / 60_000;
    rss.push([minutes, proc.memory().rssMiB]);
    if (rss.length % 2 === 0) heap.push([minutes, heapOf(await proc.metrics())]);
  }
  const m1 = await proc.metrics();
  const minutes = (Date.now() - w0) / 60_000;
  heap.push([minutes, heapOf(m1)]);
  const reconciles = deltaBy(m0, m1, 'etaops_controller_reconcile_total', ['kind']);
  const perMin = (x: number) => Math.round((100 * x) / minutes) / 100;
  const round1 = (x: number) => Math.round(10 * x) / 10;
  const rest: RestResult = {
    objects: await counts(),
    windowSeconds: secs(Date.now() - w0),
    reconcilesPerMinute: perMin([...reconciles.values()].reduce((a, b) => a + b, 0)),
    reconcilesByKind: Object.fromEntries([...reconciles].map(([k, v]) => [k, perMin(v)])),
    apiRequestsPerMinute: Object.fromEntries(apiRequests(m0, m1, () => false).map(([k, v]) => [k, perMin(v)])),
    rssMiB: { start: round1(rss[0]?.[1] ?? NaN), end: round1(rss.at(-1)?.[1] ?? NaN), slopeMiBPerMin: Math.round(100 * slope(rss)) / 100 },
    heapUsedMiB: { start: round1(heap[0][1]), end: round1(heap.at(-1)![1]), slopeMiBPerMin: Math.round(100 * slope(heap)) / 100 },
    fillSeconds: secs(w0 - t0),
  };
  await proc.stop();
  return { rest, fill };
}

// ----------------------------------------------------------------------------- report

function table(rows: Array<[string, string]>): string {
  const w = Math.max(...rows.map((r) => r[0].length));
  return rows.map(([k, v]) => `  ${k.padEnd(w)}  ${v}`).join('\n');
}

function report(bare: BareResult | undefined, b: BurstResult, rest?: { rest: RestResult; fill: BurstResult }): string {
  const ratio = (x: number) => (bare ? ` (${(x / bare.allCompleteSeconds).toFixed(2)}× bare Jobs)` : '');
  const rec = Object.entries(b.reconciles).map(([k, s]) => [`reconciles ${k}`, `${s.total} (${Object.entries(s.byResult).map(([r, n]) => `${r} ${n}`).join(', ')}); mean ${s.meanMs.toFixed(1)} ms, p50 ≤${s.p50Ms} ms, p99 ≤${s.p99Ms} ms`] as [string, string]);
  const rows: Array<[string, string]> = [
    ['runs / models / workers', `${b.runs} / ${b.models} / ${WORKERS}`],
    ...(bare ? [['bare Jobs: all Complete', `${bare.allCompleteSeconds} s (created in ${bare.applySeconds} s${bare.failed ? `, ${bare.failed} failed` : ''})`] as [string, string]] : []),
    ['etaops: runs applied', `${b.applySeconds} s`],
    ['etaops: all ModelVersions', `${b.allModelVersionsSeconds} s${ratio(b.allModelVersionsSeconds)}`],
    ['etaops: all validated', `${b.allValidatedSeconds} s${ratio(b.allValidatedSeconds)}`],
    ['etaops: controller idle', `${b.idleSeconds} s`],
    ['per run → ModelVersion', `p50 ${b.perRunToModelVersionSeconds.p50.toFixed(1)} s, p99 ${b.perRunToModelVersionSeconds.p99.toFixed(1)} s, max ${b.perRunToModelVersionSeconds.max.toFixed(1)} s`],
    ['failed runs / invalid versions', `${b.failedRuns} / ${b.invalidVersions}${b.firstFailures.length ? ` (${b.firstFailures.join(' | ').slice(0, 200)})` : ''}`],
    ['ModelVersion phases', Object.entries(b.versionPhases).map(([p, n]) => `${p} ${n}`).join(', ')],
    ['duplicate version numbers', String(b.duplicateVersionNumbers)],
    ['API requests per run', `${b.apiRequestsPerRun} (no watches, no Lease renewals)`],
    ['  by verb resource', Object.entries(b.apiRequestsByVerbResource).map(([k, n]) => `${k} ${n}`).join(', ')],
    ['  non-2xx', Object.entries(b.apiErrors).map(([k, n]) => `${k} ${n}`).join(', ') || 'none'],
    ...rec,
    ['controller RSS idle → peak', `${b.controllerIdleRssMiB} → ${b.controllerPeakRssMiB} MiB`],
  ];
  let out = `etaops operator bench\n${table(rows)}\n`;
  if (rest) {
    const r = rest.rest;
    out += `\nat rest (${Object.entries(r.objects).map(([k, n]) => `${n} ${k}`).join(', ')}; filled in ${r.fillSeconds} s, peak RSS ${rest.fill.controllerPeakRssMiB} MiB)\n${table([
      ['quiet window', `${r.windowSeconds} s`],
      ['reconciles per minute', `${r.reconcilesPerMinute}${Object.keys(r.reconcilesByKind).length ? ` (${Object.entries(r.reconcilesByKind).map(([k, n]) => `${k} ${n}`).join(', ')})` : ''}`],
      ['API requests per minute', Object.entries(r.apiRequestsPerMinute).map(([k, n]) => `${k} ${n}`).join(', ') || 'none'],
      ['RSS', `${r.rssMiB.start} → ${r.rssMiB.end} MiB, slope ${r.rssMiB.slopeMiBPerMin} MiB/min`],
      ['heap used', `${r.heapUsedMiB.start} → ${r.heapUsedMiB.end} MiB, slope ${r.heapUsedMiB.slopeMiBPerMin} MiB/min`],
    ])}\n`;
  }
  return out;
}

// ----------------------------------------------------------------------------- main

async function teardown(env: Env): Promise<void> {
  for (const p of env.controllers) await p.stop().catch(() => {});
  // kwok keeps running until the namespaces are gone: it is the "kubelet" that removes their pods.
  await Promise.all(env.namespaces.map((ns) => env.c.delete(GVRS.namespaces, undefined, ns).catch((e: Error) => log(`delete ${ns}: ${e.message}`))));
  const end = Date.now() + 15 * 60_000;
  for (const ns of env.namespaces) {
    while (Date.now() < end && (await env.c.getOrUndefined(GVRS.namespaces, undefined, ns).catch(() => ({})))) await sleep(2000);
  }
  const left = [];
  for (const ns of env.namespaces) if (await env.c.getOrUndefined(GVRS.namespaces, undefined, ns).catch(() => undefined)) left.push(ns);
  if (left.length) log(`namespaces still terminating after 15 min: ${left.join(', ')}`);
  await env.node.stop();
  rmSync(env.modelsDir, { recursive: true, force: true });
  env.c.close();
}

async function main(): Promise<void> {
  const kubeconfig = process.env.ETAOPS_TEST_KUBECONFIG ?? process.env.KUBECONFIG;
  if (!kubeconfig) throw new Error('no cluster: eval "$(hack/cluster.sh env)" first (needs ETAOPS_TEST_KUBECONFIG)');
  const kwokBin = path.join(CACHE, 'bin', 'kwok');
  if (!existsSync(kwokBin)) throw new Error(`${kwokBin} is missing: hack/build-binaries.sh kwok`);
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: make build`);
  const id = randomBytes(3).toString('hex');
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const work = path.join(RESULTS, `operator-${stamp}`);
  mkdirSync(work, { recursive: true });
  const modelsDir = mkdtempSync(path.join(tmpdir(), 'etaops-opbench-'));
  const c = new KubeClient(loadKubeConfigFile(kubeconfig));
  await installCRDs(c);
  const onnxSha = createHash('sha256').update(ONNX).digest('hex');
  const node = await startBenchNode(c, {
    id, kwokBin, kubeconfig, workDir: work, log,
    hackStages: path.join(ROOT, 'hack', 'kwok', 'stages.yaml'),
    result: { artifactRoot: `file://${modelsDir}`, sha256: onnxSha, metrics: { mae: 610.5, rmse: 845.2 } },
  });
  const env: Env = { c, kubeconfig, id, work, modelsDir, onnxSha, node, namespaces: [], controllers: [] };
  const abort = new AbortController();
  let tornDown: Promise<void> | undefined;
  const cleanup = () => (tornDown ??= (abort.abort(), teardown(env)));
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      log(`${sig}: cleaning up (namespaces, node, kwok)`);
      void cleanup().finally(() => process.exit(130));
    });
  }
  try {
    log(`node ${node.name} Ready (own kwok); work dir ${work}`);
    let bare: BareResult | undefined;
    if (!flags['skip-bare']) {
      log(`bare: ${RUNS} Jobs`);
      bare = await bareJobs(env, RUNS);
      log(`bare: all Complete after ${bare.allCompleteSeconds} s`);
    }
    log(`etaops: ${RUNS} TrainingRuns over ${MODELS} models`);
    const ns = await newNamespace(env, 'burst');
    const { result, proc } = await burst(env, ns, RUNS, abort.signal);
    await proc.stop();
    let rest: { rest: RestResult; fill: BurstResult } | undefined;
    if (REST_OBJECTS > 0) rest = await atRest(env, REST_OBJECTS, abort.signal);
    const text = report(bare, result, rest);
    process.stdout.write(text);
    const file = path.join(RESULTS, `operator-${stamp}.json`);
    writeFileSync(file, `${JSON.stringify({ date: new Date().toISOString(), flags: { runs: RUNS, models: MODELS, concurrency: CONCURRENCY, workers: WORKERS, restObjects: REST_OBJECTS, restWindowSeconds: REST_WINDOW_S }, bare, etaops: result, rest }, null, 2)}\n`);
    log(`results: ${file}`);
  } finally {
    log('teardown: deleting namespaces (kwok removes their pods), then the node');
    await cleanup();
    log('teardown done');
  }
}

main().catch((e: Error) => {
  log(`failed: ${e.stack ?? e.message}`);
  process.exitCode = 1;
});
