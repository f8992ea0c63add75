/**
 * The operator's whole loop on the local control plane (hack/cluster.sh) with real work done:
 *
 *   TrainingRun over the real sample in S3 (MinIO) → Job whose pod runs the real `etaops train`
 *   → ModelVersion (validated against the artifact in S3) → auto promotion → the
 *   `<model>-predictor` Deployment whose pods run `etaops serve` and answer POST /predict →
 *   DriftChecks: the training sample itself (no drift) and generated busy-market data (drift)
 *   → a retraining TrainingRun from onDrift, which trains and is judged against the champion.
 *
 * Pods bound to the node `local-runner` are executed by test/e2e/support/pod-runner.ts as local
 * processes; the controller is the real `etaops controller` process, running as its own
 * ServiceAccount with the RBAC of manifests/rbac/ (so a missing permission fails here), its Jobs
 * and predictors placed on local-runner through ETAOPS_JOB_NODE_SELECTOR / ETAOPS_JOB_TOLERATE,
 * S3 credentials given to pods through a Secret (ETAOPS_ARTIFACT_SECRET), never in specs.
 *
 * Needs ETAOPS_TEST_KUBECONFIG (hack/cluster.sh env) and the S3 env (hack/services/s3.sh env).
 * ETAOPS_E2E_VERBOSE=1 streams the controller's, the runner's and the pods' output.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { V1Deployment, V1Job, V1Pod } from '@kubernetes/client-node';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import type { DriftCheck, ModelVersion, TrainingRun } from '../../src/api/index.js';
import { GVRS, type GVR, type KubeClient, type KubeObject } from '../../src/controller/runtime/kube.js';
import { DRIFTCHECKS } from '../../src/controller/driftcheck.js';
import { MODELVERSIONS, TRAININGRUNS } from '../../src/controller/trainingrun.js';
import { openArtifactStore, type ArtifactStore } from '../../src/storage/index.js';
import { EXAMPLE_ORDER } from '../../src/server/order-input.js';
import { Registry } from '../../src/registry/index.js';
import { installCRDs, KUBECONFIG, testClient, uniqueNamespace, waitFor } from '../integration/controller-helpers.js';
import { PodRunner, LOCAL_RUNNER_NODE } from './support/pod-runner.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const cli = path.join(root, 'dist/src/cli/main.js');
const sample = path.join(root, '../shared/data/doordash_sample.csv');
const S3_ENDPOINT = process.env.ETAOPS_TEST_S3_ENDPOINT;
const BUCKET = process.env.ETAOPS_TEST_S3_BUCKET;
const SKIP = !KUBECONFIG
  ? 'ETAOPS_TEST_KUBECONFIG is unset: run through `make e2e` or with `eval "$(hack/cluster.sh env)"`'
  : !S3_ENDPOINT || !BUCKET || !process.env.AWS_ACCESS_KEY_ID
    ? 'the S3 env (ETAOPS_TEST_S3_ENDPOINT, ETAOPS_TEST_S3_BUCKET, AWS_*) is unset: eval "$(hack/services/s3.sh env)"'
    : !existsSync(sample) ? `the real sample is missing at ${sample}` : false;
const VERBOSE = process.env.ETAOPS_E2E_VERBOSE === '1';
const PG_URL = process.env.ETAOPS_TEST_PG_URL;
const NO_PG = PG_URL ? false : 'ETAOPS_TEST_PG_URL is unset (eval "$(hack/services/postgres.sh env)"): predictors log nothing to check';
const SA = { group: '', version: 'v1', plural: 'serviceaccounts' } satisfies GVR;
const RBAC = (plural: string): GVR => ({ group: 'rbac.authorization.k8s.io', version: 'v1', plural });
const KIND_GVR: Record<string, GVR> = { ServiceAccount: SA, ClusterRole: RBAC('clusterroles'), ClusterRoleBinding: RBAC('clusterrolebindings'), Role: RBAC('roles'), RoleBinding: RBAC('rolebindings') };

type TR = TrainingRun & KubeObject;
type MV = ModelVersion & KubeObject;
type DC = DriftCheck & KubeObject;
/**
 * The first `n` orders of a DoorDash CSV as /predict bodies (empty cells left out, no delivery
 * time). Rows with the data set's negative counts or prices are skipped: the server rightly
 * refuses them with a 400, and one bad order fails a whole batch.
 */
function ordersFromCsv(file: string, n: number): Array<Record<string, string | number>> {
  const [header, ...lines] = readFileSync(file, 'utf8').trimEnd().split('\n');
  const names = header.split(',');
  const text = new Set(['created_at', 'store_primary_category']);
  const orders: Array<Record<string, string | number>> = [];
  for (const line of lines) {
    const order: Record<string, string | number> = {};
    line.split(',').forEach((v, i) => {
      if (v !== '' && names[i] !== 'actual_delivery_time') order[names[i]] = text.has(names[i]) ? v : Number(v);
    });
    if (Object.values(order).some((v) => typeof v === 'number' && v < 0)) continue;
    orders.push(order);
    if (orders.length === n) break;
  }
  return orders;
}

/** A password only the prediction-log Secret holds. */
const PG_PASSWORD = `e2e-pg-${randomBytes(9).toString('hex')}`;
function withPassword(url: string, password: string): string {
  const u = new URL(url);
  u.password = password;
  return u.toString();
}
/** The controller's ServiceAccount token (a secret too). */
let controllerToken = '';

const cond = (o: { status?: { conditions?: Array<{ type: string; status: string; reason: string; message: string }> } } | undefined, type: string) => o?.status?.conditions?.find((c) => c.type === type);

/** Recent output of the controller and the runner, shown when a wait times out. */
const recent: string[] = [];
/** Everything the controller and the pods printed: searched for secret values at the end. */
const allOutput: string[] = [];
function note(line: string): void {
  recent.push(line);
  if (recent.length > 200) recent.shift();
  if (VERBOSE) process.stderr.write(`${line}\n`);
}

async function waitUntil<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 120_000): Promise<T> {
  try {
    return await waitFor(what, fn, timeoutMs);
  } catch (e) {
    throw new Error(`${(e as Error).message}\n--- last output of the controller and the pod runner:\n${recent.slice(-60).join('\n')}`, { cause: e });
  }
}

describe('operator loop on the local cluster (pods run as local processes)', { skip: SKIP, timeout: 720_000 }, () => {
  let c: KubeClient;
  let ns = '';
  let work = '';
  let prefix = '';
  let store: ArtifactStore;
  let runner: PodRunner;
  let controller: ChildProcess | undefined;
  let controllerExit: Promise<number | null> = Promise.resolve(null);
  let metricsUrl = '';
  /** Unique per run: predictions are logged by model name in a database other tests share. */
  let MODEL = '';
  let shiftedCsv = '';
  const clusterScoped: Array<[GVR, string]> = [];
  const dataUri = (name: string) => `s3://${BUCKET}/${prefix}/data/${name}`;

  before(async () => {
    c = testClient();
    ns = uniqueNamespace('e2e-loop');
    MODEL = `eta-${ns.split('-').pop()}`;
    prefix = `e2e/${ns}`;
    work = await mkdtemp(path.join(tmpdir(), 'etaops-e2e-'));
    await installCRDs(c);
    await c.create(GVRS.namespaces, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    await applyRbac();

    // Data in S3: the real sample, and generated orders with the busy-market shift.
    store = openArtifactStore(`s3://${BUCKET}/${prefix}`, { endpoint: S3_ENDPOINT });
    await store.put('data/doordash_sample.csv', createReadStream(sample));
    shiftedCsv = path.join(work, 'busy-market.csv');
    const gen = spawnSync(process.execPath, [cli, 'gen-data', '--rows', '5000', '--seed', '7', '--shift', 'busy-market', '--out', shiftedCsv], { encoding: 'utf8' });
    assert.equal(gen.status, 0, gen.stderr);
    await store.put('data/busy-market.csv', createReadStream(shiftedCsv));

    // Pods get S3 access only through this Secret (keys as the TrainingRun CRD documents).
    await c.create(GVRS.secrets, ns, {
      apiVersion: 'v1', kind: 'Secret', metadata: { name: 'etaops-s3' }, type: 'Opaque',
      stringData: { AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL: S3_ENDPOINT, AWS_REGION: process.env.AWS_REGION ?? 'us-east-1' },
    });
    // The prediction log: predictors write to it, log-window DriftChecks read it.
    // The test server trusts loopback, so the password is ignored; it is there to be looked for.
    if (PG_URL) await c.create(GVRS.secrets, ns, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'etaops-postgres' }, type: 'Opaque', stringData: { DATABASE_URL: withPassword(PG_URL, PG_PASSWORD) } });

    runner = new PodRunner({ client: c, namespace: ns, commands: { etaops: [process.execPath, cli] }, log: note, containerLogs: VERBOSE, onOutput: (_pod, text) => allOutput.push(text) });
    await runner.start();
    await waitUntil('node local-runner Ready without not-ready taints', async () => {
      const node = await c.get<{ spec?: { taints?: Array<{ key: string }> }; status?: { conditions?: Array<{ type: string; status: string }> } }>({ group: '', version: 'v1', plural: 'nodes' }, undefined, LOCAL_RUNNER_NODE);
      const ready = node.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True');
      const tainted = node.spec?.taints?.some((t) => t.key.startsWith('node.kubernetes.io/'));
      return ready && !tainted ? true : undefined;
    }, 90_000);
    await startController();
  });

  after(async () => {
    if (controller && controller.exitCode === null) {
      controller.kill('SIGTERM');
      const killer = setTimeout(() => controller?.kill('SIGKILL'), 20_000);
      await controllerExit;
      clearTimeout(killer);
    }
    if (c && ns) {
      await c.delete(GVRS.namespaces, undefined, ns).catch(() => {});
      // The runner confirms pod deletions (as a kubelet does): keep it until the pods are gone.
      await waitFor('pods of the namespace gone', async () => ((await c.list(GVRS.pods, ns)).items.length === 0 ? true : undefined), 60_000).catch((e: unknown) => note(`cleanup: ${(e as Error).message}`));
      for (const [gvr, name] of clusterScoped) await c.delete(gvr, undefined, name).catch(() => {});
    }
    if (runner) {
      await runner.stop();
      // Nothing the runner started outlives it.
      const alive = runner.startedPids.filter((pid) => {
        try {
          process.kill(pid, 0);
          return true;
        } catch {
          return false;
        }
      });
      assert.deepEqual(alive, [], 'processes left behind by the pod runner');
    }
    if (store) for (const o of await store.list().catch(() => [])) await store.delete(o.key).catch(() => {});
    if (work) await rm(work, { recursive: true, force: true });
    c?.close();
  });

  /** manifests/rbac/*.yaml into this run's namespace; cluster-wide objects get a per-run name. */
  async function applyRbac(): Promise<void> {
    for (const file of ['controller.yaml', 'job.yaml']) {
      for (const doc of parseAllDocuments(readFileSync(path.join(root, 'manifests/rbac', file), 'utf8'))) {
        const o = doc.toJS() as KubeObject & { roleRef?: { kind: string; name: string }; subjects?: Array<{ namespace?: string }> };
        if (!o?.kind) continue;
        const clusterWide = o.kind.startsWith('Cluster');
        if (clusterWide) o.metadata.name = `${o.metadata.name}-${ns}`;
        else o.metadata.namespace = ns;
        if (o.roleRef?.kind === 'ClusterRole') o.roleRef.name = `${o.roleRef.name}-${ns}`;
        for (const s of o.subjects ?? []) s.namespace = ns;
        await c.create(KIND_GVR[o.kind], clusterWide ? undefined : ns, o);
        if (clusterWide) clusterScoped.push([KIND_GVR[o.kind], o.metadata.name!]);
      }
    }
  }

  /** A kubeconfig with a token of the etaops-controller ServiceAccount (not admin). */
  async function controllerKubeconfig(): Promise<string> {
    const tr = await c.request<{ status: { token: string } }>('POST', `/api/v1/namespaces/${ns}/serviceaccounts/etaops-controller/token`, {
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } },
    });
    controllerToken = tr.status.token;
    const admin = parseYaml(readFileSync(KUBECONFIG!, 'utf8')) as { clusters: Array<{ cluster: Record<string, string> }> };
    const cluster = admin.clusters[0].cluster;
    const file = path.join(work, 'controller.kubeconfig');
    await writeFile(file, JSON.stringify({
      apiVersion: 'v1', kind: 'Config', 'current-context': 'e2e',
      clusters: [{ name: 'e2e', cluster: { server: cluster.server, 'certificate-authority-data': cluster['certificate-authority-data'] } }],
      users: [{ name: 'controller', user: { token: tr.status.token } }],
      contexts: [{ name: 'e2e', context: { cluster: 'e2e', user: 'controller', namespace: ns } }],
    }), { mode: 0o600 });
    return file;
  }

  async function startController(): Promise<void> {
    const env = {
      PATH: process.env.PATH,
      ETAOPS_IMAGE: 'etaops:e2e-local',
      ETAOPS_ARTIFACT_ROOT: `s3://${BUCKET}/${prefix}/models`,
      ETAOPS_ARTIFACT_SECRET: 'etaops-s3',
      ETAOPS_JOB_NODE_SELECTOR: 'etaops.io/local-runner=true',
      ETAOPS_JOB_TOLERATE: 'etaops.io/local-runner',
      ...(PG_URL ? { ETAOPS_PREDICTION_LOG_SECRET: 'etaops-postgres' } : {}),
      // The controller's own S3 access, to validate artifacts.
      ETAOPS_S3_ENDPOINT: S3_ENDPOINT, AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY, AWS_REGION: process.env.AWS_REGION ?? 'us-east-1',
    };
    const args = [cli, 'controller', '--kubeconfig', await controllerKubeconfig(), '--namespace', ns, '--lease-namespace', ns, '--port', '0', '--workers', '2'];
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    controller = child;
    controllerExit = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    let out = '';
    const onData = (d: Buffer) => {
      out += d.toString();
      allOutput.push(d.toString());
      for (const line of d.toString().trimEnd().split('\n')) note(`controller| ${line}`);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    metricsUrl = await waitUntil('the controller to start', async () => {
      if (child.exitCode !== null) throw new Error(`controller exited ${child.exitCode}: ${out}`);
      return /health and metrics on (http:\/\/\S+)/.exec(out)?.[1];
    }, 60_000);
  }

  async function predict<T = { prediction: number; model_version: string }>(url: string, body: unknown = EXAMPLE_ORDER): Promise<T> {
    const r = await fetch(`${url}/predict`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    assert.equal(r.status, 200, await r.clone().text());
    return (await r.json()) as T;
  }

  /** URLs of the Ready predictor pods, through the runner's port map. */
  async function predictorUrls(): Promise<Array<{ pod: V1Pod & KubeObject; url: string }>> {
    const pods = (await c.list<V1Pod & KubeObject>(GVRS.pods, ns, { labelSelector: 'app.kubernetes.io/component=predictor' })).items
      .filter((p) => !p.metadata.deletionTimestamp && p.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True'));
    return pods.map((pod) => ({ pod, url: runner.urlOf(pod, 9696) ?? assert.fail(`the runner does not run ${pod.metadata.name}`) }));
  }

  const trainingRun = (name: string): TR => ({
    apiVersion: 'etaops.io/v1alpha1', kind: 'TrainingRun', metadata: { name },
    spec: { model: MODEL, dataset: { uri: dataUri('doordash_sample.csv') }, promotion: { policy: 'auto', metric: 'mae', minImprovement: 0.01 } },
  } as TR);

  test('a TrainingRun trains for real in its Job and registers a ModelVersion', async () => {
    await c.create(TRAININGRUNS, ns, trainingRun('eta-initial'));
    const run = await waitUntil('TrainingRun eta-initial to finish', async () => {
      const r = await c.get<TR>(TRAININGRUNS, ns, 'eta-initial');
      return r.status?.phase === 'Succeeded' || r.status?.phase === 'Failed' ? r : undefined;
    });
    assert.equal(run.status?.phase, 'Succeeded', JSON.stringify(run.status));
    // The trainer's own numbers on the held-out latest 20%: seconds, in the range a real model gets.
    const mae = run.status!.metrics!.mae;
    assert.ok(mae > 300 && mae < 1500, `holdout MAE ${mae} s`);
    assert.ok(run.status!.metrics!.rmse >= mae);
    assert.match(run.status!.artifact!.uri, new RegExp(`^s3://${BUCKET}/${prefix}/models/${ns}/${MODEL}/eta-initial-`));
    // The artifact is in S3 and its sha256 is the one reported.
    const artifact = openArtifactStore(run.status!.artifact!.uri, { endpoint: S3_ENDPOINT });
    await artifact.get('model.onnx', { expectedSha256: run.status!.artifact!.sha256 });
    // The Job's pod ran on local-runner and ended with the result as its termination message.
    const pods = await c.list<V1Pod & KubeObject>(GVRS.pods, ns, { labelSelector: `batch.kubernetes.io/job-name=${run.status!.jobName}` });
    const done = pods.items.find((p) => p.status?.phase === 'Succeeded');
    assert.ok(done, `a Succeeded pod among ${pods.items.map((p) => p.status?.phase).join(',')}`);
    assert.equal(done.spec?.nodeName, LOCAL_RUNNER_NODE);
    const terminated = done.status!.containerStatuses![0].state!.terminated!;
    assert.equal(terminated.exitCode, 0);
    assert.equal(JSON.parse(terminated.message!).onnxSha256, run.status!.artifact!.sha256);
    // Credentials reach pods only by reference.
    const job = await c.get<V1Job & KubeObject>(GVRS.jobs, ns, run.status!.jobName!);
    assert.ok(!JSON.stringify(job.spec).includes(process.env.AWS_SECRET_ACCESS_KEY!), 'no secret value in the Job spec');
    const mv = await c.get<MV>(MODELVERSIONS, ns, 'eta-initial');
    assert.equal(mv.spec.version, 1);
    assert.equal(mv.spec.artifact.sha256, run.status!.artifact!.sha256);
  });

  test('the first version is auto-promoted and its predictor pods answer /predict', async () => {
    const mv = await waitUntil('eta-initial to serve', async () => {
      const m = await c.get<MV>(MODELVERSIONS, ns, 'eta-initial');
      return m.status?.stage === 'Production' && m.status.phase === 'Serving' ? m : undefined;
    });
    assert.equal(cond(mv, 'Validated')?.status, 'True');
    assert.equal(mv.spec.stage, 'Production');
    assert.equal(mv.status?.history?.at(-1)?.reason, 'Promoted');
    const d = await c.get<V1Deployment & KubeObject>(GVRS.deployments, ns, `${MODEL}-predictor`);
    const replicas = d.spec!.replicas!;
    assert.equal(d.status?.availableReplicas, replicas);
    const pods = await predictorUrls();
    assert.equal(pods.length, replicas);
    for (const { pod, url } of pods) {
      assert.equal(pod.spec?.nodeName, LOCAL_RUNNER_NODE);
      const answer = await predict(url);
      // A delivery takes minutes, not seconds or days: 10 min to 2 h for the example order.
      assert.ok(answer.prediction > 600 && answer.prediction < 7200, `prediction ${answer.prediction} s`);
      assert.match(String(answer.model_version), /.+/);
    }
  });

  test('busy-market traffic sent to the predictors is logged, and a DriftCheck over the log finds drift', { skip: NO_PG }, async () => {
    const orders = ordersFromCsv(shiftedCsv, 2000);
    const pods = await predictorUrls();
    let answered = 0;
    for (let i = 0; i < orders.length; i += 250) {
      const { url } = pods[(i / 250) % pods.length];
      const out = await predict<Array<{ prediction: number }>>(url, orders.slice(i, i + 250));
      assert.ok(out.every((o) => o.prediction > 0 && o.prediction < 36_000), 'plausible delivery seconds');
      answered += out.length;
    }
    assert.equal(answered, orders.length);
    // The log is written in the background: wait until all of it is in the database.
    const registry = await Registry.open(PG_URL!);
    try {
      await waitUntil('the predictions in the prediction log', async () => ((await registry.recentPredictions(MODEL, { windowSeconds: 900, limit: 10_000 })).length >= orders.length ? true : undefined), 60_000);
    } finally {
      await registry.close();
    }
    await c.create(DRIFTCHECKS, ns, {
      apiVersion: 'etaops.io/v1alpha1', kind: 'DriftCheck', metadata: { name: 'eta-drift-traffic' },
      spec: { model: MODEL, current: { window: '15m', secretRef: { name: 'etaops-postgres' } }, driftShare: 0.4 },
    });
    const dc = await waitUntil('DriftCheck eta-drift-traffic to report', async () => {
      const d = await c.get<DC>(DRIFTCHECKS, ns, 'eta-drift-traffic');
      return d.status?.phase === 'Succeeded' || d.status?.phase === 'Failed' ? d : undefined;
    });
    assert.equal(dc.status?.phase, 'Succeeded', JSON.stringify(dc.status?.conditions));
    const r = dc.status!.lastResult!;
    assert.equal(r.datasetDrift, true, JSON.stringify(r));
    assert.ok(r.columns?.some((col) => col.name === 'total_outstanding_orders' && col.drifted), JSON.stringify(r.columns));
    assert.equal(cond(dc, 'Drift')?.status, 'True');
  });

  test('DriftChecks: the training sample shows no drift, busy-market traffic does and triggers a retraining run', async () => {
    const onDrift = { cooldown: '1h', template: trainingRun('unused').spec };
    const check = (name: string, current: string): DC => ({
      apiVersion: 'etaops.io/v1alpha1', kind: 'DriftCheck', metadata: { name },
      // 0.4: busy-market moves about 7 of 15 columns; unshifted generated data moves about 4.
      spec: { model: MODEL, current: { uri: dataUri(current) }, driftShare: 0.4, onDrift },
    } as DC);
    await c.create(DRIFTCHECKS, ns, check('eta-drift-control', 'doordash_sample.csv'));
    await c.create(DRIFTCHECKS, ns, check('eta-drift-shifted', 'busy-market.csv'));
    const finished = async (name: string) => waitUntil(`DriftCheck ${name} to report`, async () => {
      const d = await c.get<DC>(DRIFTCHECKS, ns, name);
      return d.status?.phase === 'Succeeded' || d.status?.phase === 'Failed' ? d : undefined;
    });
    const control = await finished('eta-drift-control');
    const shifted = await finished('eta-drift-shifted');
    assert.equal(control.status?.phase, 'Succeeded', JSON.stringify(control.status?.conditions));
    assert.equal(shifted.status?.phase, 'Succeeded', JSON.stringify(shifted.status?.conditions));

    assert.equal(control.status?.lastResult?.datasetDrift, false);
    assert.equal(cond(control, 'Drift')?.status, 'False');
    assert.equal(control.status?.lastRetrainRun, undefined);

    const r = shifted.status!.lastResult!;
    assert.equal(r.datasetDrift, true, JSON.stringify(r));
    assert.ok(r.driftShare >= 0.4 && r.numberOfDriftedColumns > 0);
    assert.ok(r.driftShare > control.status!.lastResult!.driftShare);
    // busy-market: more orders in flight per dasher.
    assert.ok(r.columns?.some((col) => col.name === 'total_outstanding_orders' && col.drifted), JSON.stringify(r.columns));
    assert.equal(cond(shifted, 'Drift')?.status, 'True');
    // The HTML report was written to S3 where the status says.
    assert.match(r.reportUri ?? '', /^s3:\/\/.+\/drift-report\.html$/);
    assert.ok(await openArtifactStore(`s3://${BUCKET}`, { endpoint: S3_ENDPOINT }).exists(r.reportUri!));
    // The scores are exported as metrics too.
    const metrics = await (await fetch(`${metricsUrl}/metrics`)).text();
    assert.match(metrics, new RegExp(`etaops_driftcheck_detected\\{[^}]*check="eta-drift-shifted"[^}]*\\} 1`));

    assert.equal(cond(shifted, 'Retraining')?.status, 'True');
    const retrain = await c.get<TR>(TRAININGRUNS, ns, shifted.status!.lastRetrainRun!);
    assert.equal(retrain.metadata.labels?.['etaops.io/drift-check'], 'eta-drift-shifted');
    assert.equal(retrain.spec.dataset.uri, dataUri('doordash_sample.csv'));
  });

  test('the retraining run trains, registers version 2 and is judged against the champion', async () => {
    const name = (await c.get<DC>(DRIFTCHECKS, ns, 'eta-drift-shifted')).status!.lastRetrainRun!;
    const run = await waitUntil(`retraining run ${name} to finish`, async () => {
      const r = await c.get<TR>(TRAININGRUNS, ns, name);
      return r.status?.phase === 'Succeeded' || r.status?.phase === 'Failed' ? r : undefined;
    });
    assert.equal(run.status?.phase, 'Succeeded', JSON.stringify(run.status));
    const mv = await waitUntil(`ModelVersion ${name} to get a promotion verdict`, async () => {
      const m = await c.get<MV>(MODELVERSIONS, ns, name);
      const p = cond(m, 'Promoted');
      return p && p.reason !== 'Promoting' && p.reason !== 'RollingOut' && p.reason !== 'Waiting' ? m : undefined;
    });
    assert.equal(mv.spec.version, 2);
    assert.equal(cond(mv, 'Validated')?.status, 'True');
    const champion = await c.get<MV>(MODELVERSIONS, ns, 'eta-initial');
    const [mine, theirs] = [mv.spec.metrics!.mae, champion.spec.metrics!.mae];
    // The same data and split: promoted only if at least 1% better, else the champion stays.
    if (mine <= theirs * 0.99) {
      assert.equal(mv.status?.stage, 'Production');
      assert.equal(cond(mv, 'Promoted')?.reason, 'Serving');
    } else {
      assert.equal(cond(mv, 'Promoted')?.reason, 'NotBetter', JSON.stringify(mv.status?.conditions));
      assert.equal(champion.status?.stage, 'Production');
      assert.equal(mv.status?.stage, 'Candidate');
    }
  });

  test('a TrainingRun over a missing object fails with the trainer\'s own words in its condition', async () => {
    const run = trainingRun('eta-missing-data');
    run.spec.dataset = { uri: dataUri('no-such-file.csv') };
    run.spec.backoffLimit = 0;
    await c.create(TRAININGRUNS, ns, run);
    const done = await waitUntil('TrainingRun eta-missing-data to finish', async () => {
      const r = await c.get<TR>(TRAININGRUNS, ns, 'eta-missing-data');
      return r.status?.phase === 'Succeeded' || r.status?.phase === 'Failed' ? r : undefined;
    });
    assert.equal(done.status?.phase, 'Failed');
    const why = cond(done, 'Succeeded');
    assert.equal(why?.status, 'False');
    assert.match(why?.reason ?? '', /^(BackoffLimitExceeded|JobFailed)$/);
    // The pod's log tail (FallbackToLogsOnError) names the object that could not be read.
    assert.match(why?.message ?? '', /no-such-file\.csv/, why?.message);
    assert.equal(await c.getOrUndefined(MODELVERSIONS, ns, 'eta-missing-data'), undefined);
  });
  test('a training pod killed mid-run (SIGKILL): the Job starts another pod and the run succeeds with one ModelVersion', async () => {
    const run = trainingRun('eta-pod-killed');
    run.spec.backoffLimit = 2;
    run.spec.promotion = { policy: 'manual' };
    await c.create(TRAININGRUNS, ns, run);
    const jobName = (await waitUntil('the run\'s Job', async () => (await c.get<TR>(TRAININGRUNS, ns, 'eta-pod-killed')).status?.jobName)) as string;
    const victim = await waitUntil('the trainer process of the first pod', async () => {
      const pods = (await c.list<V1Pod & KubeObject>(GVRS.pods, ns, { labelSelector: `batch.kubernetes.io/job-name=${jobName}` })).items;
      const pod = pods.find((p) => p.status?.phase === 'Running');
      const pid = pod && runner.pidOf(pod);
      return pod && pid ? { pod, pid } : undefined;
    });
    process.kill(victim.pid, 'SIGKILL');
    const done = await waitUntil('TrainingRun eta-pod-killed to finish', async () => {
      const r = await c.get<TR>(TRAININGRUNS, ns, 'eta-pod-killed');
      return r.status?.phase === 'Succeeded' || r.status?.phase === 'Failed' ? r : undefined;
    });
    assert.equal(done.status?.phase, 'Succeeded', JSON.stringify(done.status));
    const killed = await c.get<V1Pod & KubeObject>(GVRS.pods, ns, victim.pod.metadata.name!);
    assert.equal(killed.status?.phase, 'Failed');
    assert.equal(killed.status?.containerStatuses?.[0].state?.terminated?.exitCode, 137, 'the pod died of the SIGKILL');
    const job = await c.get<V1Job & KubeObject>(GVRS.jobs, ns, jobName);
    assert.equal(job.status?.failed, 1);
    assert.equal(job.status?.succeeded, 1);
    assert.equal((await c.list(MODELVERSIONS, ns, { labelSelector: 'etaops.io/training-run=eta-pod-killed' })).items.length, 1, 'one ModelVersion');
  });

  test('RBAC: the controller called only what manifests/rbac grants, and every granted verb was called', async (t) => {
    // Granted (resource, verb) pairs of the ClusterRole and the leader-election Role.
    const granted = new Set<string>();
    for (const doc of parseAllDocuments(readFileSync(path.join(root, 'manifests/rbac/controller.yaml'), 'utf8'))) {
      const o = doc.toJS() as { kind?: string; rules?: Array<{ resources: string[]; verbs: string[] }> };
      if (o?.kind !== 'ClusterRole' && o?.kind !== 'Role') continue;
      for (const r of o.rules ?? []) for (const res of r.resources) for (const v of r.verbs) granted.add(`${res} ${v}`);
    }
    // Made: the controller's own count of its API requests, by verb as RBAC names them.
    const RBAC_VERB: Record<string, string> = { GET: 'get', LIST: 'list', WATCH: 'watch', POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' };
    const text = await (await fetch(`${metricsUrl}/metrics`)).text();
    const made = new Set<string>();
    const denied: string[] = [];
    for (const m of text.matchAll(/^etaops_controller_api_requests_total\{verb="(\w+)",resource="([^"]+)",code="(\d+)"\} (\d+)/gm)) {
      if (Number(m[4]) === 0) continue;
      if (m[3] === '403') denied.push(`${m[1]} ${m[2]}`);
      made.add(`${m[2]} ${RBAC_VERB[m[1]] ?? m[1]}`);
    }
    t.diagnostic(`controller API calls (resource verb): ${[...made].sort().join(', ')}`);
    assert.deepEqual(denied, [], 'requests the API server refused for lack of permission');
    assert.deepEqual([...made].filter((x) => !granted.has(x)).sort(), [], 'calls the Role does not grant');
    // Granted but reached only on paths this run does not take; each says which.
    const notReachedHere = new Map([
      ['modelversions get', 'a ModelVersion create that meets AlreadyExists (a restart between create and status) reads it back'],
    ]);
    const promotedLater = (await c.list<MV>(MODELVERSIONS, ns)).items.some((m) => m.spec.version > 1 && (m.status?.history ?? []).some((h) => h.stage === 'Production'));
    if (!promotedLater) notReachedHere.set('deployments update', 'the Deployment is rolled (PUT) when a later version is promoted; this run\'s retraining was not better than the champion');
    const unused = [...granted].filter((g) => !made.has(g) && !notReachedHere.has(g)).sort();
    assert.deepEqual(unused, [], `granted but never called (least privilege: drop them); calls made: ${[...made].sort().join(', ')}`);
  });

  test('no secret value in any object, log line or metric', async () => {
    const secrets = new Map<string, string>([
      ['the S3 secret key', process.env.AWS_SECRET_ACCESS_KEY!],
      ['the controller\'s ServiceAccount token', controllerToken],
      ...(PG_URL ? [['the Postgres password', PG_PASSWORD] as [string, string]] : []),
    ]);
    const places: Array<[string, string]> = [];
    const resources: Array<[string, GVR]> = [
      ['TrainingRuns', TRAININGRUNS], ['ModelVersions', MODELVERSIONS], ['DriftChecks', DRIFTCHECKS], ['Jobs', GVRS.jobs], ['Pods', GVRS.pods],
      ['Deployments', GVRS.deployments], ['Services', GVRS.services], ['Events', GVRS.events],
      ['ReplicaSets', { group: 'apps', version: 'v1', plural: 'replicasets' }], ['ConfigMaps', { group: '', version: 'v1', plural: 'configmaps' }],
    ];
    for (const [what, gvr] of resources) places.push([`${what} (spec and status)`, JSON.stringify((await c.list(gvr, ns)).items)]);
    places.push(['the controller\'s and the pods\' output', allOutput.join('')]);
    places.push(['the controller\'s /metrics', await (await fetch(`${metricsUrl}/metrics`)).text()]);
    for (const { url } of await predictorUrls()) places.push([`${url}/metrics`, await (await fetch(`${url}/metrics`)).text()]);
    assert.ok(allOutput.join('').length > 10_000, 'the output was collected');
    for (const [name, value] of secrets) {
      assert.ok(value.length >= 8, `${name} is known to the test`);
      for (const [where, text] of places) assert.ok(!text.includes(value), `${name} appears in ${where}`);
    }
  });
});
