/**
 * The dashboards and alert rules against a real Prometheus (Debian's package) scraping a real
 * `etaops serve` and, with the local cluster, a real `etaops controller` process:
 * - a model trained by `etaops train` on `etaops gen-data` data is served; bounded traffic
 *   (predictions, bad requests, feedback with actual delivery times) gives every serving series;
 * - the controller reconciles a TrainingRun (the test plays the kubelet: the Job pod terminates
 *   with the trainer's result), the ModelVersion it registers, a run-once DriftCheck (the pod's
 *   result is real `etaops drift --json` output on drifted generated data), a scheduled one, and
 *   a TrainingRun that fails;
 * - Prometheus scrapes both every second, with the labels the chart's PodMonitor/ServiceMonitor
 *   give (namespace, model, pod; honor_labels so the controller's per-object labels stay);
 * - every panel query of dashboards/*.json, with the variables set to this namespace and model,
 *   must return at least one series with a finite value (so no panel is empty), every metric
 *   they name must have been scraped, and each variable query must list our namespace/model;
 * - the alert rules as the chart renders them pass `promtool check rules`, load into Prometheus,
 *   evaluate with health "ok", and the drift and training-failure alerts fire on this data.
 * Skips with a message without prometheus/promtool (serving and controller parts) or without
 * the cluster (controller part and the model-health dashboard).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { parse, stringify } from 'yaml';
import type { DriftCheck, ModelVersion, TrainingRun } from '../../src/api/index.js';
import { DRIFTCHECKS } from '../../src/controller/driftcheck.js';
import { GVRS, type KubeClient, type KubeObject } from '../../src/controller/runtime/kube.js';
import { MODELVERSIONS, TRAININGRUNS } from '../../src/controller/trainingrun.js';
import { ALERT_RULES_FILE, CHART_VALUES_FILE, loadDashboards, panelsOf, type Dashboard } from '../unit/dashboard-files.js';
import { deleteNamespace, ensureNamespace, installCRDs, KUBECONFIG, SKIP as CLUSTER_SKIP, testClient, uniqueNamespace, waitFor } from './controller-helpers.js';
import {
  instantQuery, labelValues, loadedRules, metricNames, PROMETHEUS_SKIP, promtoolCheckRules, startPrometheus, type RunningPrometheus,
} from './prometheus.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const MODEL = 'delivery-eta';
const NS = uniqueNamespace('etaops-obs');
/** Where the chart's controller would run: its ServiceMonitor's namespace label. */
const CONTROLLER_NS = 'etaops-system';
/** Grafana's $__rate_interval stand-in: wide enough to hold the whole traffic burst. */
const RATE_INTERVAL = '2m';
const WITH_CLUSTER = PROMETHEUS_SKIP === false && CLUSTER_SKIP === false;

// ----------------------------------------------------------------------------- processes

interface Proc {
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

function startProcess(args: string[], env: NodeJS.ProcessEnv = {}): Proc {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    output: () => out,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

async function waitForOutput(p: Proc, pattern: RegExp, timeoutMs = 60_000): Promise<RegExpExecArray> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const m = pattern.exec(p.output());
    if (m) return m;
    if (p.child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no output matching ${pattern} (exit ${p.child.exitCode}):\n${p.output().slice(-3000)}`);
}

function runCli(args: string[]): string {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`etaops ${args.join(' ')} exited ${r.status}:\n${r.stderr}`);
  return r.stdout;
}

/** Runs `fn`; when it throws, the error carries the last lines each process printed. */
async function withOutputOnFailure(procs: () => Array<Proc | undefined>, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    const outputs = procs().filter((p): p is Proc => p !== undefined).map((p) => `--- ${p.child.spawnargs.slice(2, 3).join(' ')} (last 4000 characters) ---\n${p.output().slice(-4000)}`);
    (err as Error).message += `\n${outputs.join('\n')}`;
    throw err;
  }
}

// ----------------------------------------------------------------------------- traffic

interface Order {
  body: Record<string, string>;
  /** "YYYY-MM-DD HH:MM:SS" when the row has one. */
  actual?: string;
}

/** Rows of a generated CSV as order bodies (empty cells left out, as a caller would). */
function ordersFrom(csv: string, count: number): Order[] {
  const lines = readFileSync(csv, 'utf8').split('\n');
  const names = lines[0].split(',');
  const out: Order[] = [];
  for (const line of lines.slice(1)) {
    if (!line || out.length >= count) continue;
    const cells = line.split(',');
    const body: Record<string, string> = {};
    names.forEach((h, j) => { if (cells[j] !== '' && h !== 'actual_delivery_time') body[h] = cells[j]; });
    out.push({ body, actual: cells[names.indexOf('actual_delivery_time')] || undefined });
  }
  return out;
}

async function post(url: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

interface TrafficCounts {
  predicted: number;
  rejected: number;
  feedback: number;
}

/**
 * Bounded traffic in `rounds` rounds a second and a half apart (so rates span several scrapes):
 * predictions 10 at a time, bad bodies, then feedback for every answered order with a delivery time.
 */
async function driveTraffic(url: string, orders: Order[], rounds = 4): Promise<TrafficCounts> {
  const counts: TrafficCounts = { predicted: 0, rejected: 0, feedback: 0 };
  const bad: unknown[] = ['{"market_id": 1,', { market_id: 1 }, { ...orders[0].body, subtotal: -5 }, { ...orders[0].body, created_at: 'yesterday' }, [1, 2, 3]];
  const perRound = Math.ceil(orders.length / rounds);
  for (let r = 0; r < rounds; r++) {
    const slice = orders.slice(r * perRound, (r + 1) * perRound);
    const answered: Array<{ id: string; actual: string }> = [];
    for (let i = 0; i < slice.length; i += 10) {
      await Promise.all(slice.slice(i, i + 10).map(async (o, j) => {
        const id = `obs-${r}-${i + j}`;
        const res = await post(`${url}/predict`, { ...o.body, request_id: id });
        if (res.status === 200) {
          counts.predicted++;
          if (o.actual) answered.push({ id, actual: o.actual });
        } else {
          counts.rejected++; // generated data carries the real sample's defects at its rates
        }
      }));
    }
    for (const b of bad) {
      const res = await post(`${url}/predict`, b);
      assert.equal(res.status, 400, `a bad body is a 400: ${JSON.stringify(res.json)}`);
      counts.rejected++;
    }
    for (const a of answered) {
      const res = await post(`${url}/feedback`, { request_id: a.id, actual_delivery_time: a.actual });
      if (res.status === 200) counts.feedback++;
    }
    await new Promise((resolve) => setTimeout(resolve, 1500));
  }
  return counts;
}

/**
 * Prometheus applies new targets a few seconds after it starts, and rate() counts no increase
 * before a series' first sample. Traffic that ends before the first scrape leaves every
 * histogram_quantile panel NaN (a CI run failed so), so a warm-up prediction must be scraped first.
 */
async function firstScrapeSeesPredictions(prom: string, url: string, orders: Order[]): Promise<void> {
  const warm = await Promise.all(orders.slice(0, 5).map((o, i) => post(`${url}/predict`, { ...o.body, request_id: `obs-warm-${i}` })));
  assert.ok(warm.some((r) => r.status === 200), `a warm-up prediction was answered: ${JSON.stringify(warm.map((r) => r.json))}`);
  await waitFor('the warm-up predictions scraped', async () => {
    const r = await instantQuery(prom, `etaops_prediction_seconds_count{namespace="${NS}"}`);
    return r.length && Number(r[0].value[1]) > 0 ? true : undefined;
  }, 60_000);
}

// ----------------------------------------------------------------------------- the cluster part

/** Plays the kubelet: the pod's container terminated with this exit code and message. */
async function finishPod(c: KubeClient, pod: V1Pod & KubeObject, container: string, exitCode: number, message: string): Promise<void> {
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  await c.mergePatch(GVRS.pods, NS, pod.metadata.name!, {
    status: {
      phase: exitCode === 0 ? 'Succeeded' : 'Failed',
      containerStatuses: [{ name: container, image: 'etaops:test', imageID: '', ready: false, restartCount: 0, started: false,
        state: { terminated: { exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', message, startedAt: now, finishedAt: now } } }],
    },
  }, 'status');
}

const podOfJob = (c: KubeClient, job: string) => waitFor(`a pod of Job ${job}`, async () =>
  (await c.list<V1Pod & KubeObject>(GVRS.pods, NS, { labelSelector: `batch.kubernetes.io/job-name=${job}` })).items.find((p) => !p.status?.phase || p.status.phase === 'Pending'));

async function runTraining(c: KubeClient, name: string, result: { exitCode: number; message: string }): Promise<TrainingRun & KubeObject> {
  await c.create(TRAININGRUNS, NS, { apiVersion: 'etaops.io/v1alpha1', kind: 'TrainingRun', metadata: { name }, spec: { model: MODEL, dataset: { uri: 's3://data/train.csv' }, backoffLimit: 0 } });
  const job = await waitFor(`TrainingRun ${name}'s Job`, async () => (await c.get<TrainingRun & KubeObject>(TRAININGRUNS, NS, name)).status?.jobName);
  await finishPod(c, await podOfJob(c, job), 'train', result.exitCode, result.message);
  const want = result.exitCode === 0 ? 'Succeeded' : 'Failed';
  return waitFor(`TrainingRun ${name} ${want}`, async () => {
    const r = await c.get<TrainingRun & KubeObject>(TRAININGRUNS, NS, name);
    return r.status?.phase === want ? r : undefined;
  }, 90_000);
}

/**
 * Plays the kubelet for the predictor pods, which the Job node selector (ETAOPS_JOB_NODE_SELECTOR,
 * applied to predictors too) keeps off every node: Running and Ready, so the rollout finishes and
 * the ModelVersion becomes Production. Pods that a node took are left to it.
 */
async function predictorsReady(c: KubeClient, version: string): Promise<void> {
  await waitFor(`ModelVersion ${version} in Production`, async () => {
    if ((await c.get<ModelVersion & KubeObject>(MODELVERSIONS, NS, version)).status?.stage === 'Production') return true;
    const pods = await c.list<V1Pod & KubeObject>(GVRS.pods, NS, { labelSelector: 'app.kubernetes.io/component=predictor' });
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    for (const p of pods.items) {
      if (p.spec?.nodeName || p.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True')) continue;
      await c.mergePatch(GVRS.pods, NS, p.metadata.name!, {
        status: {
          phase: 'Running', startTime: now,
          conditions: ['PodScheduled', 'Initialized', 'ContainersReady', 'Ready'].map((type) => ({ type, status: 'True', lastTransitionTime: now })),
          containerStatuses: [{ name: 'predictor', image: 'etaops:test', imageID: '', ready: true, started: true, restartCount: 0, state: { running: { startedAt: now } } }],
        },
      }, 'status');
    }
    return undefined;
  }, 180_000);
}

/** A run-once DriftCheck whose Job reports `driftJson`, and a daily one that has not run yet. */
async function runDriftChecks(c: KubeClient, modelUri: string, currentUri: string, driftJson: string): Promise<void> {
  await c.create(DRIFTCHECKS, NS, { apiVersion: 'etaops.io/v1alpha1', kind: 'DriftCheck', metadata: { name: 'obs-once' }, spec: { model: MODEL, reference: { uri: modelUri }, current: { uri: currentUri } } });
  await c.create(DRIFTCHECKS, NS, { apiVersion: 'etaops.io/v1alpha1', kind: 'DriftCheck', metadata: { name: 'obs-daily' }, spec: { model: MODEL, schedule: '0 3 * * *', reference: { uri: modelUri }, current: { uri: currentUri } } });
  let seen: unknown;
  const job = await waitFor('the drift Job', async () => {
    const dc = await c.get<DriftCheck & KubeObject>(DRIFTCHECKS, NS, 'obs-once');
    seen = dc.status;
    return dc.status?.activeJob;
  }, 120_000).catch((err: Error) => { throw new Error(`${err.message}; DriftCheck obs-once status: ${JSON.stringify(seen)}`); });
  await finishPod(c, await podOfJob(c, job), 'drift', 0, driftJson);
  await waitFor('the drift result in status', async () => (await c.get<DriftCheck & KubeObject>(DRIFTCHECKS, NS, 'obs-once')).status?.lastResult);
}

// ----------------------------------------------------------------------------- rules and queries

/** The alert rules as templates/prometheusrule.yaml renders them with the chart's default values. */
function renderedAlertRules(): string {
  const template = readFileSync(new URL('../../../charts/etaops/templates/prometheusrule.yaml', import.meta.url), 'utf8');
  const values = (parse(readFileSync(CHART_VALUES_FILE, 'utf8')) as { metrics: { prometheusRule: Record<string, unknown> } }).metrics.prometheusRule;
  let text = readFileSync(ALERT_RULES_FILE, 'utf8');
  for (const [, placeholder, key] of template.matchAll(/replace "(__[A-Z0-9_]+__)" \(toString \$r\.([A-Za-z0-9]+)\)/g)) {
    assert.ok(values[key] !== undefined, `values.yaml has metrics.prometheusRule.${key}`);
    text = text.replaceAll(placeholder, String(values[key]));
  }
  const rules = parse(text) as unknown[];
  return stringify({ groups: [{ name: 'etaops', rules }] });
}

/** Grafana's variable interpolation for one chosen value per variable. */
function interpolate(expr: string, vars: Record<string, string>): string {
  return expr.replace(/\$\{(\w+)\}|\$(\w+)/g, (all, a: string | undefined, b: string | undefined) => vars[a ?? b ?? ''] ?? all);
}

/** Metric names an expression reads (ours and the process collector's; label names never look like these). */
function metricsIn(expr: string): string[] {
  const noStrings = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  return [...new Set(noStrings.match(/\b(?:etaops|process|nodejs)_[a-z0-9_]+\b/g) ?? [])];
}

interface PanelProblem {
  panel: string;
  problem: string;
}

async function checkDashboard(prom: string, d: Dashboard, at: number, known: Set<string>): Promise<PanelProblem[]> {
  const vars = { namespace: NS, model: MODEL, __rate_interval: RATE_INTERVAL, __interval: '15s', __range: '1h' };
  const problems: PanelProblem[] = [];
  for (const v of d.templating.list) {
    const m = /^label_values\((.+), (\w+)\)$/.exec(v.definition ?? '');
    if (!m) continue;
    const values = await labelValues(prom, m[2], interpolate(m[1], vars));
    const want = v.name === 'namespace' ? NS : MODEL;
    if (!values.includes(want)) problems.push({ panel: `variable ${v.name}`, problem: `${v.definition} lists [${values.join(', ')}], not ${want}` });
  }
  for (const p of panelsOf(d)) {
    for (const t of p.targets ?? []) {
      const where = `${d.uid} #${p.id} "${p.title}" ${t.refId}`;
      for (const name of metricsIn(t.expr)) {
        const scraped = [name, name.replace(/_(bucket|sum|count)$/, '')].some((n) => known.has(n));
        if (!scraped) problems.push({ panel: where, problem: `metric ${name} was never scraped` });
      }
      const expr = interpolate(t.expr, vars);
      try {
        const result = await instantQuery(prom, expr, at);
        if (result.length === 0) problems.push({ panel: where, problem: `no series: ${expr}` });
        else if (!result.some((s) => Number.isFinite(Number(s.value[1])))) problems.push({ panel: where, problem: `only NaN/Inf values: ${expr}` });
      } catch (e) {
        problems.push({ panel: where, problem: `${(e as Error).message}: ${expr}` });
      }
    }
  }
  return problems;
}

// ----------------------------------------------------------------------------- the test

describe('dashboards and alert rules against a real Prometheus', { skip: PROMETHEUS_SKIP, timeout: 600_000 }, () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'etaops-obs-'));
  let server: Proc | undefined;
  let controller: Proc | undefined;
  let prom: RunningPrometheus | undefined;
  let c: KubeClient | undefined;
  let at = 0;
  let traffic: TrafficCounts;
  let known = new Set<string>();

  // A set-up failure shows what the server and controller printed: their logs say why.
  before(() => withOutputOnFailure(() => [server, controller], async () => {
    const data = path.join(dir, 'train.csv');
    const shifted = path.join(dir, 'current.csv');
    const modelDir = path.join(dir, 'model');
    runCli(['gen-data', '--rows', '3000', '--out', data, '--seed', '7']);
    runCli(['gen-data', '--rows', '1500', '--out', shifted, '--seed', '8', '--shift', 'busy-market']);
    const trained = JSON.parse(runCli(['train', '--data', data, '--model-dir', modelDir, '--name', MODEL, '--params', '{"numTrees":30}', '--json', '--quiet'])) as { metrics: { overall: Record<string, number> } };

    server = startProcess(['serve', '--model-dir', modelDir, '--port', '0', '--rate-limit', '0']);
    const serverUrl = (await waitForOutput(server, /ready on (http:\/\/\S+)/))[1];
    const targets = [`  - job_name: predictors
    honor_labels: true
    static_configs:
      - targets: ['${new URL(serverUrl).host}']
        labels: { namespace: '${NS}', model: '${MODEL}', pod: '${MODEL}-predictor-0' }`];

    if (WITH_CLUSTER) {
      c = testClient();
      await installCRDs(c);
      await ensureNamespace(c, NS);
      controller = startProcess(['controller', '--kubeconfig', KUBECONFIG!, '--namespace', NS, '--lease-namespace', NS, '--port', '0', '--workers', '2'], {
        ETAOPS_IMAGE: 'etaops:test', ETAOPS_ARTIFACT_ROOT: `file://${dir}/artifacts`, ETAOPS_JOB_NODE_SELECTOR: 'etaops.io/test-hold=true', ETAOPS_DATABASE_URL: '',
      });
      const controllerUrl = (await waitForOutput(controller, /health and metrics on (http:\/\/\S+)/))[1];
      targets.push(`  - job_name: controller
    honor_labels: true
    static_configs:
      - targets: ['${new URL(controllerUrl).host}']
        labels: { namespace: '${CONTROLLER_NS}', pod: 'etaops-controller-0' }`);

      // A real training result (model.onnx's sha256, the holdout metrics), then a failed run later.
      const sha256 = createHash('sha256').update(readFileSync(path.join(modelDir, 'model.onnx'))).digest('hex');
      const { mae, rmse } = trained.metrics.overall;
      await runTraining(c, 'obs-good', { exitCode: 0, message: JSON.stringify({ artifact: { uri: `file://${modelDir}`, sha256 }, metrics: { mae, rmse } }) });
      // Real drift output on drifted data; --drift-share 0.3 makes busy-market count as dataset drift.
      const driftJson = runCli(['drift', '--model-dir', modelDir, '--current', shifted, '--json', '--drift-share', '0.3']);
      assert.equal((JSON.parse(driftJson) as { dataset_drift: boolean }).dataset_drift, true, 'the scenario drifts');
      await runDriftChecks(c, `file://${modelDir}`, `file://${shifted}`, driftJson);
      await runTraining(c, 'obs-broken', { exitCode: 1, message: 'Error: s3://data/train.csv: NoSuchKey' });
      // The first version is auto-promoted; its rollout finishes once the predictor pods are Ready.
      await predictorsReady(c, 'obs-good');
    }

    const rulesFile = path.join(dir, 'rules.yaml');
    writeFileSync(rulesFile, renderedAlertRules());
    const configFile = path.join(dir, 'prometheus.yml');
    writeFileSync(configFile, `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files: ['${rulesFile}']\nscrape_configs:\n${targets.join('\n')}\n`);
    prom = await startPrometheus(configFile, dir);

    const orders = ordersFrom(shifted, 400);
    await firstScrapeSeesPredictions(prom.url, serverUrl, orders);
    traffic = await driveTraffic(serverUrl, orders);
    // Evaluate once Prometheus has scraped the end of the traffic (and the controller's state).
    const fed = traffic.feedback;
    await waitFor('the last feedback scraped', async () => {
      const r = await instantQuery(prom!.url, 'sum(etaops_http_requests_total{route="/feedback", status="200"})');
      return r.length && Number(r[0].value[1]) >= fed ? true : undefined;
    }, 30_000);
    if (WITH_CLUSTER) {
      await waitFor('the controller state scraped', async () => ((await instantQuery(prom!.url, 'etaops_trainingrun_last_failed')).length ? true : undefined), 30_000);
    }
    at = Date.now() / 1000;
    known = new Set(await metricNames(prom.url));
  }));

  after(async () => {
    await prom?.stop();
    await server?.stop();
    await controller?.stop();
    if (c) {
      await deleteNamespace(c, NS);
      c.close();
    }
    rmSync(dir, { recursive: true, force: true });
  });

  test('the traffic was real: predictions answered, bad bodies rejected, feedback scored', () => {
    assert.ok(traffic.predicted >= 300, `predicted ${traffic.predicted}`);
    assert.ok(traffic.rejected >= 20, `rejected ${traffic.rejected}`);
    assert.ok(traffic.feedback >= 250, `feedback ${traffic.feedback}`);
  });

  test('promtool check rules accepts the alert rules as the chart renders them', () => {
    const file = path.join(dir, 'rules.yaml');
    const r = promtoolCheckRules(file);
    assert.equal(r.status, 0, r.output);
    const count = (parse(readFileSync(ALERT_RULES_FILE, 'utf8')) as unknown[]).length;
    assert.match(r.output, new RegExp(`SUCCESS: ${count} rules found`));
  });

  test('serving dashboard: every variable lists our namespace and model; every panel query returns a finite series', async () => {
    const serving = loadDashboards().find((d) => d.file === 'serving.json')!.json;
    assert.deepEqual(await checkDashboard(prom!.url, serving, at, known), []);
  });

  test('model-health dashboard: the same, with the controller reconciling real objects', { skip: WITH_CLUSTER ? false : CLUSTER_SKIP }, async () => {
    const health = loadDashboards().find((d) => d.file === 'model-health.json')!.json;
    assert.deepEqual(await checkDashboard(prom!.url, health, at, known), []);
  });

  test('every alert rule evaluates in Prometheus with health ok; every expression queries without error', async () => {
    const rules = await waitFor('every rule evaluated', async () => {
      const all = await loadedRules(prom!.url);
      return all.length > 0 && all.every((r) => !r.lastEvaluation.startsWith('0001')) ? all : undefined;
    }, 30_000);
    const names = (parse(readFileSync(ALERT_RULES_FILE, 'utf8')) as Array<{ alert: string }>).map((r) => r.alert);
    assert.deepEqual(rules.map((r) => r.name).sort(), [...names].sort(), 'Prometheus loaded every rule');
    for (const r of rules) {
      assert.equal(r.health, 'ok', `${r.name}: ${r.lastError ?? ''}`);
      await instantQuery(prom!.url, r.query, at); // throws Prometheus's message on an error
      if (WITH_CLUSTER) {
        for (const name of metricsIn(r.query)) assert.ok([name, name.replace(/_(bucket|sum|count)$/, '')].some((n) => known.has(n)), `${r.name}: metric ${name} was never scraped`);
      }
    }
  });

  test('the drift and training-failure alerts fire on this data; stale, failing-check, 5xx and no-leader alerts stay inactive', { skip: WITH_CLUSTER ? false : CLUSTER_SKIP }, async () => {
    const rules = await waitFor('EtaopsDataDriftDetected and EtaopsTrainingRunFailed firing', async () => {
      const all = await loadedRules(prom!.url);
      const on = all.filter((r) => r.state === 'firing').map((r) => r.name);
      return on.includes('EtaopsDataDriftDetected') && on.includes('EtaopsTrainingRunFailed') ? all : undefined;
    }, 30_000);
    const byName = new Map(rules.map((r) => [r.name, r]));
    const drift = byName.get('EtaopsDataDriftDetected')!.alerts!;
    assert.deepEqual(drift.map((a) => [a.labels.namespace, a.labels.model, a.labels.check]), [[NS, MODEL, 'obs-once']]);
    const training = byName.get('EtaopsTrainingRunFailed')!.alerts!;
    assert.deepEqual(training.map((a) => [a.labels.namespace, a.labels.model]), [[NS, MODEL]]);
    // The daily check was just created and has not failed; no 5xx was answered; a replica leads.
    for (const quiet of ['EtaopsDriftCheckStale', 'EtaopsDriftCheckFailing', 'EtaopsPredictorErrorRate', 'EtaopsControllerNoLeader']) {
      assert.equal(byName.get(quiet)?.state, 'inactive', `${quiet} is ${byName.get(quiet)?.state}`);
    }
    // ...and the series those quiet alerts read do exist, so "inactive" is not "no data".
    assert.equal((await instantQuery(prom!.url, `etaops_driftcheck_last_run_failed{namespace="${NS}", check="obs-daily"}`, at)).length, 1);
    assert.equal((await instantQuery(prom!.url, 'max(etaops_controller_leader)', at))[0]?.value[1], '1');
  });
});
