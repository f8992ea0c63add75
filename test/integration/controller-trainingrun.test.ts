/**
 * The TrainingRun reconciler against a real kube-apiserver + kube-controller-manager (Job and
 * garbage-collection controllers). Job pods are kept unscheduled (a nodeSelector no node has)
 * and the test plays the kubelet: it writes the pod's terminal status and termination message,
 * exactly what a real kubelet reports; the real Job controller then completes or fails the Job.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import type { ModelVersion, TrainingRun } from '../../src/api/index.js';
import type { ControllerConfig } from '../../src/controller/config.js';
import { GVRS, type KubeClient, type KubeList, type KubeObject } from '../../src/controller/runtime/kube.js';
import type { Manager } from '../../src/controller/runtime/manager.js';
import { buildOperator } from '../../src/controller/setup.js';
import { MODELVERSIONS, TRAININGRUNS, TrainingRunReconciler } from '../../src/controller/trainingrun.js';
import type { Informer } from '../../src/controller/runtime/informer.js';
import { isConflict } from '../../src/controller/runtime/kube.js';
import { deleteNamespace, ensureNamespace, uniqueNamespace, getOrUndefined, installCRDs, SKIP, testClient, waitFor } from './controller-helpers.js';

const NS = uniqueNamespace('etaops-tr-test');
const SHA = 'c0'.repeat(32);
const config: ControllerConfig = {
  image: 'etaops:test', command: ['etaops'], artifactRoot: 's3://models/etaops', artifactSecret: 's3-creds',
  jobServiceAccount: 'etaops-job', jobNodeSelector: { 'etaops.io/test-hold': 'true' },
};
type Run = TrainingRun & KubeObject;
type MV = ModelVersion & KubeObject;

function run(name: string, spec: Partial<TrainingRun['spec']> = {}) {
  return { apiVersion: 'etaops.io/v1alpha1', kind: 'TrainingRun', metadata: { name }, spec: { model: 'eta', dataset: { uri: 's3://data/orders.csv' }, ...spec } };
}

describe('TrainingRun reconciler on a real API server', { skip: SKIP }, () => {
  let c: KubeClient;
  let mgr: Manager | undefined;
  const start = async () => {
    mgr = buildOperator({ client: testClient(), config, namespace: NS, workers: 2, artifactChecker: async () => ({ ok: true }), log: (m) => process.env.ETAOPS_DEBUG && process.stderr.write(`${m}\n`) });
    await mgr.start();
  };
  before(async () => {
    c = testClient();
    await installCRDs(c);
    await ensureNamespace(c, NS);
    await start();
  });
  after(async () => {
    await mgr?.stop();
    await deleteNamespace(c, NS);
    c.close();
  });

  const getRun = (name: string) => c.get<Run>(TRAININGRUNS, NS, name);
  const podOf = (job: string) => waitFor(`a pod of Job ${job}`, async () => {
    const pods = await c.list<V1Pod & KubeObject>(GVRS.pods, NS, { labelSelector: `batch.kubernetes.io/job-name=${job}` });
    return pods.items.find((p) => !p.status?.phase || p.status.phase === 'Pending');
  });
  /** Acts as the kubelet: the container ran and terminated with this exit code and message. */
  const finishPod = async (pod: V1Pod & KubeObject, exitCode: number, message: string) => {
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    await c.mergePatch(GVRS.pods, NS, pod.metadata.name!, {
      status: {
        phase: exitCode === 0 ? 'Succeeded' : 'Failed',
        containerStatuses: [{ name: 'train', image: 'etaops:test', imageID: '', ready: false, restartCount: 0, started: false,
          state: { terminated: { exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', message, startedAt: now, finishedAt: now } } }],
      },
    }, 'status');
  };
  const waitPhase = (name: string, phase: string, timeoutMs = 60_000) =>
    waitFor(`TrainingRun ${name} ${phase}`, async () => {
      const r = await getRun(name);
      return r.status?.phase === phase ? r : undefined;
    }, timeoutMs);
  const result = (n: number) => JSON.stringify({ artifact: { uri: `s3://models/etaops/${NS}/eta/run-${n}`, sha256: SHA }, metrics: { mae: 600 + n, rmse: 900 }, dataFingerprint: `fp-${n}`, holdout: { fingerprint: 'h1', rows: 4000 } });

  test('happy path: Job with owner reference → pod result → ModelVersion, status Succeeded', async () => {
    await c.create(TRAININGRUNS, NS, run('happy', { backoffLimit: 0, promotion: { policy: 'manual' }, resources: { limits: { cpu: '1', memory: '512Mi' } } }));
    const job = await waitFor('Job happy-train', () => getOrUndefined<V1Job & KubeObject>(c, GVRS.jobs, NS, 'happy-train'));
    const r0 = await getRun('happy');
    assert.deepEqual(job.metadata.ownerReferences?.map((o) => [o.kind, o.name, o.uid, o.controller]), [['TrainingRun', 'happy', r0.metadata.uid, true]]);
    const ctr = job.spec!.template.spec!.containers[0];
    assert.equal(ctr.image, 'etaops:test');
    assert.equal(job.spec!.template.spec!.serviceAccountName, 'etaops-job');
    assert.deepEqual(ctr.resources?.limits, { cpu: '1', memory: '512Mi' });
    assert.ok(ctr.env!.some((e) => e.name === 'AWS_ACCESS_KEY_ID' && e.valueFrom?.secretKeyRef?.name === 's3-creds'));
    await finishPod(await podOf('happy-train'), 0, result(1));
    const done = await waitPhase('happy', 'Succeeded');
    assert.equal(done.status?.modelVersion, 'happy');
    assert.equal(done.status?.metrics?.mae, 601);
    assert.equal(done.status?.conditions?.find((x) => x.type === 'Succeeded')?.reason, 'ModelRegistered');
    const mv = await c.get<MV>(MODELVERSIONS, NS, 'happy');
    assert.equal(mv.spec.artifact.sha256, SHA);
    assert.equal(mv.spec.version, 1);
    assert.equal(mv.spec.stage, 'Candidate', 'manual policy: registered, not promoted');
    assert.equal(mv.spec.promotion?.policy, 'manual');
    assert.equal(mv.spec.lineage?.trainingRun, 'happy');
    assert.equal(mv.spec.lineage?.datasetFingerprint, 'fp-1');
  });

  test('failure path: the Job fails → Failed with the reason and the last output lines', async () => {
    await c.create(TRAININGRUNS, NS, run('broken', { backoffLimit: 0 }));
    await waitFor('Job broken-train', () => getOrUndefined(c, GVRS.jobs, NS, 'broken-train'));
    await finishPod(await podOf('broken-train'), 1, 'reading s3://data/orders.csv\nError: column created_at is missing');
    const r = await waitPhase('broken', 'Failed');
    const cond = r.status?.conditions?.find((x) => x.type === 'Succeeded');
    assert.equal(cond?.status, 'False');
    assert.equal(cond?.reason, 'BackoffLimitExceeded');
    assert.match(cond!.message, /column created_at is missing/);
    assert.equal(await getOrUndefined(c, MODELVERSIONS, NS, 'broken'), undefined, 'no ModelVersion for a failed run');
  });

  test('failure path: a result that is not JSON → Failed/ResultInvalid', async () => {
    await c.create(TRAININGRUNS, NS, run('garbled', { backoffLimit: 0 }));
    await waitFor('Job garbled-train', () => getOrUndefined(c, GVRS.jobs, NS, 'garbled-train'));
    await finishPod(await podOf('garbled-train'), 0, 'trained fine, but printed prose');
    const r = await waitPhase('garbled', 'Failed');
    assert.equal(r.status?.conditions?.find((x) => x.type === 'Succeeded')?.reason, 'ResultInvalid');
  });

  test('deadline exceeded → Failed/DeadlineExceeded', async () => {
    await c.create(TRAININGRUNS, NS, run('slow', { activeDeadlineSeconds: 30 }));
    const r = await waitPhase('slow', 'Failed', 120_000);
    assert.equal(r.status?.conditions?.find((x) => x.type === 'Succeeded')?.reason, 'DeadlineExceeded');
    assert.match(r.status!.message!, /activeDeadlineSeconds=30/);
  });

  test('controller restart mid-run and a lost status write: no duplicate Job or ModelVersion, converges', async () => {
    await c.create(TRAININGRUNS, NS, run('restart', { backoffLimit: 0 }));
    await waitFor('Job restart-train', () => getOrUndefined(c, GVRS.jobs, NS, 'restart-train'));
    await mgr!.stop(); // "kill" the controller while the Job runs
    await finishPod(await podOf('restart-train'), 0, result(2));
    await start(); // a fresh process: empty caches, relist
    const done = await waitPhase('restart', 'Succeeded');
    const jobs = await c.list<KubeObject>(GVRS.jobs, NS, { labelSelector: 'etaops.io/training-run=restart' });
    assert.equal(jobs.items.length, 1, 'one Job');
    // Simulate a crash between creating the ModelVersion and writing the run's status.
    await c.replaceStatus(TRAININGRUNS, NS, 'restart', { ...done, status: { phase: 'Running', jobName: 'restart-train' } });
    await mgr!.stop();
    await start();
    const again = await waitPhase('restart', 'Succeeded');
    assert.equal(again.status?.modelVersion, 'restart');
    const mvs = await c.list<MV>(MODELVERSIONS, NS, { labelSelector: 'etaops.io/training-run=restart' });
    assert.equal(mvs.items.length, 1, 'one ModelVersion');
  });

  test('run deleted mid-reconcile: its Job is garbage-collected, nothing is recreated', async () => {
    await c.create(TRAININGRUNS, NS, run('gone'));
    await waitFor('Job gone-train', () => getOrUndefined(c, GVRS.jobs, NS, 'gone-train'));
    await c.delete(TRAININGRUNS, NS, 'gone');
    await waitFor('Job gone-train deleted by GC', async () => ((await getOrUndefined(c, GVRS.jobs, NS, 'gone-train')) ? undefined : true));
    const mvs: KubeList<MV> = await c.list<MV>(MODELVERSIONS, NS, { labelSelector: 'etaops.io/training-run=gone' });
    assert.equal(mvs.items.length, 0);
  });

  test('ModelVersions get increasing version numbers per model', async () => {
    await c.create(TRAININGRUNS, NS, run('second', { backoffLimit: 0 }));
    await waitFor('Job second-train', () => getOrUndefined(c, GVRS.jobs, NS, 'second-train'));
    await finishPod(await podOf('second-train'), 0, result(3));
    await waitPhase('second', 'Succeeded');
    const all = await c.list<MV>(MODELVERSIONS, NS);
    const versions = all.items.map((m) => m.spec.version).sort();
    assert.equal(new Set(versions).size, versions.length, `distinct versions ${versions}`);
    assert.equal((await c.get<MV>(MODELVERSIONS, NS, 'second')).spec.version, Math.max(...versions));
  });

  test('conflict on update: a pass acting on a stale object is refused (409), creates nothing twice', async () => {
    const stale = await c.create<Run>(TRAININGRUNS, NS, run('stale', { backoffLimit: 0, promotion: { policy: 'manual' } }));
    // The running controller moves the object on (status write), so `stale` is now out of date.
    await waitFor('status written', async () => ((await getRun('stale')).status?.jobName ? true : undefined));
    const empty = { getByKey: () => undefined, get: () => undefined, list: () => [] };
    const staleRuns = { ...empty, getByKey: () => stale } as unknown as Informer<Run>;
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a stub cache that knows nothing
    const none = empty as unknown as Informer<any>;
    const r = new TrainingRunReconciler(testClient(), staleRuns, none, none, none, config);
    await assert.rejects(r.reconcile(`${NS}/stale`), (e: unknown) => isConflict(e));
    const jobs = await c.list<KubeObject>(GVRS.jobs, NS, { labelSelector: 'etaops.io/training-run=stale' });
    assert.equal(jobs.items.length, 1, 'the second create met AlreadyExists, no duplicate');
    assert.equal((await getRun('stale')).status?.jobName, 'stale-train', 'the newer status was not overwritten');
  });

  test('/metrics reports reconciles, queue depth and API requests', async () => {
    const text = await mgr!.metrics.registry.metrics();
    assert.match(text, /etaops_controller_reconcile_total\{kind="TrainingRun",result="success"\} [1-9]/);
    assert.match(text, /etaops_controller_api_requests_total\{verb="POST",resource="jobs",code="201"\} [1-9]/);
    assert.match(text, /etaops_controller_reconcile_duration_seconds_count\{kind="TrainingRun"\} [1-9]/);
  });
});
