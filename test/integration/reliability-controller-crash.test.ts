/**
 * The controller killed at every step of the TrainingRun → ModelVersion → promotion flow.
 *
 * The real `etaops controller` process runs with ETAOPS_CRASH_AT=* (src/controller/runtime/
 * crash-points.ts): it SIGKILLs itself right after its first write to the API server or the
 * registry, before the write that would report it. The test restarts it, again and again, so
 * that every process makes exactly one write and dies; the flow must still reach its end with
 * nothing duplicated:
 *
 *   run-1 (auto) → Job → ModelVersion v1 → validated → first version promoted → predictor
 *   Deployment + Service → Serving;   run-2 (manual) → v2 → a person sets spec.stage
 *   Production → the Deployment rolls to v2 → v1 Archived;
 *   and meanwhile DriftCheck drift-1 (run once) → drift Job → drifted result in status →
 *   one retraining TrainingRun from its template → Job → its ModelVersion, validated, Candidate.
 *
 * Everything is real except the kubelet: Job and predictor pods land on a node of the test's
 * own kwok (test/support/kwok-node.ts), which completes Job pods with the result a trainer
 * writes, pointing at real model directories the test wrote (or, for the drift Job, the
 * result `etaops drift --json` writes). With ETAOPS_TEST_PG_URL the
 * controller also numbers versions and records stage changes in a real Postgres registry.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import type { V1Deployment } from '@kubernetes/client-node';
import pg from 'pg';
import type { DriftCheck, ModelVersion, TrainingRun } from '../../src/api/index.js';
import { getCondition } from '../../src/controller/conditions.js';
import { DRIFTCHECKS } from '../../src/controller/driftcheck.js';
import { ANNOTATION_VERSION } from '../../src/controller/modelversion.js';
import { CRASH_POINTS } from '../../src/controller/runtime/crash-points.js';
import { GVRS, type KubeClient, type KubeObject } from '../../src/controller/runtime/kube.js';
import { MODELVERSIONS, TRAININGRUNS } from '../../src/controller/trainingrun.js';
import { Registry } from '../../src/registry/index.js';
import { startBenchNode, type BenchNode } from '../support/kwok-node.js';
import { deleteNamespace, ensureNamespace, installCRDs, KUBECONFIG, SKIP, testClient, tinyOnnx, uniqueNamespace } from './controller-helpers.js';

const ROOT = path.resolve(fileURLToPath(new URL('../../../', import.meta.url)));
const CLI = path.join(ROOT, 'dist/src/cli/main.js');
const CACHE = process.env.ETAOPS_CACHE ?? path.join(homedir(), '.cache', 'etaops');
const KWOK = path.join(CACHE, 'bin', 'kwok');
const PG_URL = process.env.ETAOPS_TEST_PG_URL;
const MODEL = 'eta';
const MAX_RESTARTS = 80;
/** A controller process alive this long without a write (a crash) while the flow is not done is stuck. */
const STUCK_MS = 60_000;

type MV = ModelVersion & KubeObject;
type Run = TrainingRun & KubeObject;
type DC = DriftCheck & KubeObject;

const DRIFT_CHECK = 'drift-1';
const DRIFTED = { datasetDrift: true, driftShare: 0.6, columns: [{ name: 'subtotal', test: 'ks', score: 0.001, drifted: true }, { name: 'market_id', test: 'chi2', score: 0.3, drifted: false }] };

const FEATURES = ['a', 'b', 'c'];
const ONNX = tinyOnnx(FEATURES.length);
const SHA = createHash('sha256').update(ONNX).digest('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface ControllerRun {
  child: ChildProcess;
  log: { text: string };
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

describe('controller killed after every write of the training, promotion and drift-retraining flow', { skip: SKIP || (existsSync(KWOK) ? false : `${KWOK} is not built (hack/build-binaries.sh kwok)`), timeout: 600_000 }, () => {
  const ns = uniqueNamespace('etaops-crash');
  const id = randomBytes(3).toString('hex');
  let c: KubeClient;
  let node: BenchNode | undefined;
  let work: string;
  let dbName: string | undefined;
  let dbUrl: string | undefined;
  const running: ControllerRun[] = [];

  before(async () => {
    c = testClient();
    await installCRDs(c);
    await ensureNamespace(c, ns);
    work = mkdtempSync(path.join(tmpdir(), 'etaops-crash-'));
    const models = modelsRoot();
    for (const run of ['run-1', 'run-2']) writeModelDir(run);
    node = await startBenchNode(c, {
      id: `crash-${id}`, kwokBin: KWOK, kubeconfig: KUBECONFIG!, hackStages: path.join(ROOT, 'hack/kwok/stages.yaml'),
      result: { artifactRoot: `file://${models}`, sha256: SHA, metrics: { mae: 600, rmse: 900 }, driftResult: DRIFTED }, workDir: work, log: (m) => process.stderr.write(`# ${m}\n`),
    });
    if (PG_URL) {
      dbName = `etaops_crash_${id}`;
      const admin = new pg.Client({ connectionString: PG_URL });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${dbName}`);
      await admin.end();
      const u = new URL(PG_URL);
      u.pathname = `/${dbName}`;
      dbUrl = u.toString();
    }
  });

  after(async () => {
    for (const r of running) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
    await node?.stop();
    await deleteNamespace(c, ns);
    c.close();
    if (dbName) {
      const admin = new pg.Client({ connectionString: PG_URL });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
      await admin.end();
    }
    rmSync(work, { recursive: true, force: true });
  });

  const modelsRoot = () => path.join(work, 'models');
  /** A real model directory where kwok's result for `run` points (see test/support/kwok-node.ts). */
  function writeModelDir(run: string): void {
    const dir = path.join(modelsRoot(), ns, run);
    if (existsSync(path.join(dir, 'model.json'))) return;
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'model.onnx'), ONNX);
    writeFileSync(path.join(dir, 'model.json'), JSON.stringify({ featureSpec: { names: FEATURES }, onnx: { inputName: 'features' } }));
  }

  function startController(crash: boolean, spare: Iterable<string> = []): ControllerRun {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ETAOPS_IMAGE: 'etaops:test',
      ETAOPS_ARTIFACT_ROOT: 'file:///nonexistent/etaops', // the Job's flag; kwok reports the real directories
      ETAOPS_JOB_NODE_SELECTOR: Object.entries(node!.nodeSelector).map(([k, v]) => `${k}=${v}`).join(','),
      ETAOPS_JOB_TOLERATE: node!.tolerate,
    };
    delete env.ETAOPS_CRASH_AT;
    delete env.ETAOPS_DATABASE_URL;
    delete env.ETAOPS_CRASH_SPARE;
    if (crash) {
      env.ETAOPS_CRASH_AT = '*';
      env.ETAOPS_CRASH_SPARE = [...spare].join(',');
    }
    if (dbUrl) env.ETAOPS_DATABASE_URL = dbUrl;
    // The same identity every time, like a restarted container: it renews its own Lease at once.
    const child = spawn(process.execPath, [CLI, 'controller', '--kubeconfig', KUBECONFIG!, '--namespace', ns, '--lease-namespace', ns, '--identity', 'crash-test', '--port', '0'], { stdio: ['ignore', 'ignore', 'pipe'], env });
    const log = { text: '' };
    child.stderr!.on('data', (d: Buffer) => { log.text += d.toString(); });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
    const r = { child, log, exited };
    running.push(r);
    return r;
  }

  const get = async <T>(gvr: Parameters<KubeClient['get']>[0], name: string): Promise<T | undefined> => c.get<T>(gvr, ns, name).catch(() => undefined);
  const trainingRun = (name: string, policy: 'auto' | 'manual') => ({
    apiVersion: 'etaops.io/v1alpha1', kind: 'TrainingRun', metadata: { name },
    spec: { model: MODEL, dataset: { uri: 's3://data/orders.csv' }, backoffLimit: 0, promotion: { policy } },
  });

  const driftCheck = {
    apiVersion: 'etaops.io/v1alpha1', kind: 'DriftCheck', metadata: { name: DRIFT_CHECK },
    spec: {
      model: MODEL, reference: { uri: 's3://models/etaops/eta/v1' }, current: { uri: 's3://data/shifted.csv' },
      onDrift: { template: { model: MODEL, dataset: { uri: 's3://data/fresh.csv' }, backoffLimit: 0, promotion: { policy: 'manual' } }, cooldown: '1h' },
    },
  };
  /**
   * The retraining run's model directory, written before its Job can finish: the run is named
   * after the drift Job (src/controller/driftcheck.ts), which exists well before its pod completes.
   */
  async function prepareRetraining(): Promise<void> {
    const jobs = (await c.list<KubeObject>(GVRS.jobs, ns, { labelSelector: `etaops.io/drift-check=${DRIFT_CHECK}` })).items;
    for (const j of jobs) writeModelDir(`${DRIFT_CHECK}-retrain-${j.metadata.name!.split('-').pop()}`);
  }

  /** What a user does along the way: a second run once v1 serves, then promote v2 by hand. */
  let promotedByHand = false;
  async function drive(): Promise<void> {
    // The check starts once the promotions are done, so that no other reconciler's write can
    // take the process down in the middle of its own (each of its crash points is then reached).
    if (await promotionsDone() && !(await get<DC>(DRIFTCHECKS, DRIFT_CHECK))) await c.create(DRIFTCHECKS, ns, driftCheck);
    await prepareRetraining();
    const v1 = await get<MV>(MODELVERSIONS, 'run-1');
    if (v1?.status?.stage === 'Production' && !(await get<Run>(TRAININGRUNS, 'run-2'))) await c.create(TRAININGRUNS, ns, trainingRun('run-2', 'manual'));
    const v2 = await get<MV>(MODELVERSIONS, 'run-2');
    if (!promotedByHand && v2 && getCondition(v2.status?.conditions, 'Validated')?.status === 'True' && v2.spec.stage === 'Candidate') {
      await c.mergePatch(MODELVERSIONS, ns, 'run-2', { spec: { stage: 'Production' } });
      promotedByHand = true;
    }
  }

  async function promotionsDone(): Promise<boolean> {
    const [r1, r2, v1, v2, dep] = await Promise.all([
      get<Run>(TRAININGRUNS, 'run-1'), get<Run>(TRAININGRUNS, 'run-2'), get<MV>(MODELVERSIONS, 'run-1'), get<MV>(MODELVERSIONS, 'run-2'),
      get<V1Deployment & KubeObject>(GVRS.deployments, `${MODEL}-predictor`),
    ]);
    return r1?.status?.phase === 'Succeeded' && r2?.status?.phase === 'Succeeded'
      && v2?.status?.phase === 'Serving' && v2.status.stage === 'Production'
      && v1?.spec.stage === 'Archived' && v1.status?.stage === 'Archived'
      && dep?.spec?.template?.metadata?.annotations?.[ANNOTATION_VERSION] === 'run-2';
  }

  async function converged(): Promise<boolean> {
    const dc = await get<DC>(DRIFTCHECKS, DRIFT_CHECK);
    const retrain = dc?.status?.lastRetrainRun;
    if (!retrain || dc.status?.phase !== 'Succeeded' || dc.status.lastResult?.datasetDrift !== true) return false;
    const [r3, v3] = await Promise.all([get<Run>(TRAININGRUNS, retrain), get<MV>(MODELVERSIONS, retrain)]);
    return r3?.status?.phase === 'Succeeded' && getCondition(v3?.status?.conditions, 'Validated')?.status === 'True' && v3?.status?.stage === 'Candidate'
      && await promotionsDone();
  }

  test('restarted after each single write, it converges with one Job and one ModelVersion per run, one promotion each, one drift Job and one retraining run', async () => {
    await c.create(TRAININGRUNS, ns, trainingRun('run-1', 'auto'));
    const hits: string[] = [];
    // A point cut twice in a row is a write every pass repeats until the next one lands (the
    // registry registration before the ModelVersion create): spared from then on, or no process
    // would get past it.
    const spare = new Set<string>();
    for (;;) {
      assert.ok(hits.length < MAX_RESTARTS, `no convergence after ${hits.length} crashes: ${hits.join(', ')}`);
      const proc = startController(true, spare);
      let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
      void proc.exited.then((e) => { exit = e; });
      let quietSince: number | undefined;
      const startedAt = Date.now();
      // Until this process crashes, or the flow is complete and it stays alive (nothing left to write).
      while (!exit) {
        // Alive, no write left to make, and not converged: the flow is stuck (say so now, not at the suite's timeout).
        assert.ok(quietSince !== undefined || Date.now() - startedAt < STUCK_MS, `stuck after ${hits.length} crashes (${hits.join(', ')}): the controller made no write for ${STUCK_MS / 1000} s and the flow has not converged:\n${proc.log.text.slice(-3000)}`);
        await drive().catch(() => {});
        if (await converged().catch(() => false)) quietSince ??= Date.now();
        else quietSince = undefined;
        if (quietSince !== undefined && Date.now() - quietSince > 4000) break;
        await sleep(250);
      }
      if (!exit) {
        proc.child.kill('SIGTERM');
        const e = await proc.exited;
        assert.equal(e.code, 0, proc.log.text);
        break;
      }
      const point = /crash point (\S+): killing/.exec(proc.log.text)?.[1];
      assert.ok(exit.signal === 'SIGKILL' && point, `the controller exited without a crash point (${JSON.stringify(exit)}):\n${proc.log.text.slice(-3000)}`);
      if (hits.at(-1) === point) spare.add(point);
      hits.push(point);
    }
    process.stderr.write(`# converged after ${hits.length} crashes: ${hits.join(' → ')}${spare.size ? ` (spared after two cuts in a row: ${[...spare].join(', ')})` : ''}\n`);

    // Every step of the flow was cut at least once.
    const flowPoints = CRASH_POINTS.filter((p) => dbUrl || !/registry/.test(p));
    for (const p of flowPoints) assert.ok(hits.includes(p), `crash point ${p} was never reached (hits: ${hits.join(', ')})`);

    // Nothing duplicated.
    const dc = (await get<DC>(DRIFTCHECKS, DRIFT_CHECK))!;
    const retrain = dc.status!.lastRetrainRun!;
    assert.equal((await c.list(GVRS.jobs, ns, { labelSelector: `etaops.io/drift-check=${DRIFT_CHECK}` })).items.length, 1, 'one drift Job');
    const runs = (await c.list<Run>(TRAININGRUNS, ns)).items;
    assert.deepEqual(runs.map((r) => r.metadata.name).sort(), ['run-1', 'run-2', retrain].sort(), 'one retraining TrainingRun');
    assert.equal(runs.find((r) => r.metadata.name === retrain)?.metadata.labels?.['etaops.io/drift-check'], DRIFT_CHECK);
    assert.equal(dc.status?.lastResult?.numberOfDriftedColumns, 1);
    for (const run of ['run-1', 'run-2', retrain]) {
      assert.equal((await c.list(GVRS.jobs, ns, { labelSelector: `etaops.io/training-run=${run}` })).items.length, 1, `one Job for ${run}`);
    }
    const mvs = (await c.list<MV>(MODELVERSIONS, ns)).items;
    assert.deepEqual(mvs.map((m) => m.metadata.name).sort(), ['run-1', 'run-2', retrain].sort(), 'one ModelVersion per run');
    const v1 = mvs.find((m) => m.metadata.name === 'run-1')!;
    const v2 = mvs.find((m) => m.metadata.name === 'run-2')!;
    const v3 = mvs.find((m) => m.metadata.name === retrain)!;
    assert.ok(v2.spec.version > v1.spec.version, `versions ${v1.spec.version} < ${v2.spec.version}`);
    const served = (m: MV) => (m.status?.history ?? []).filter((h) => h.stage === 'Production');
    assert.equal(served(v1).length, 1, `v1 promoted once: ${JSON.stringify(v1.status?.history)}`);
    assert.equal(served(v2).length, 1, `v2 promoted once: ${JSON.stringify(v2.status?.history)}`);
    assert.equal(served(v3).length, 0, `the retrained version waits for a person: ${JSON.stringify(v3.status?.history)}`);
    assert.equal((await c.list(GVRS.deployments, ns)).items.length, 1, 'one predictor Deployment');
    assert.equal((await c.list(GVRS.services, ns)).items.length, 1, 'one predictor Service');

    if (dbUrl) {
      const reg = await Registry.open(dbUrl);
      try {
        const versions = await reg.listVersions(MODEL);
        assert.deepEqual(versions.map((v) => v.version).sort(), [v1.spec.version, v2.spec.version, v3.spec.version].sort(), 'the registry holds each version once, with the cluster\'s numbers');
        assert.equal((await reg.getProduction(MODEL))?.version, v2.spec.version);
        const toProduction = (await reg.stageHistory(MODEL)).filter((h) => h.toStage === 'Production');
        assert.deepEqual(toProduction.map((h) => h.version), [v1.spec.version, v2.spec.version], 'one Production transition per version');
      } finally {
        await reg.close();
      }
    }
  });
});
