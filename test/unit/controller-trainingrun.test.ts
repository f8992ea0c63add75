import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import type { ModelVersion, TrainingRun } from '../../src/api/index.js';
import type { ControllerConfig } from '../../src/controller/config.js';
import { buildJob, decideTrainingRun, jobNameFor, parseTrainResult, type TrainingRunObserved } from '../../src/controller/trainingrun.js';

const NOW = '2026-12-03T20:00:00Z';
const SHA = 'ab'.repeat(32);
const cfg: ControllerConfig = { image: 'etaops:test', command: ['etaops'], artifactRoot: 's3://models/etaops', artifactSecret: 's3-creds', jobServiceAccount: 'etaops-job' };

function run(over: Partial<TrainingRun['spec']> = {}, status?: TrainingRun['status']): TrainingRun {
  return {
    apiVersion: 'etaops.io/v1alpha1', kind: 'TrainingRun',
    metadata: { name: 'r1', namespace: 'ns', uid: 'uid-r1-123456', generation: 1 },
    spec: { model: 'eta', dataset: { uri: 's3://data/orders.csv' }, ...over },
    status,
  };
}
function job(conds: Array<{ type: string; reason?: string; message?: string }> = [], extra: Partial<NonNullable<V1Job['status']>> = {}, ownerUid = 'uid-r1-123456'): V1Job {
  return {
    metadata: { name: 'r1-train', namespace: 'ns', ownerReferences: [{ apiVersion: 'etaops.io/v1alpha1', kind: 'TrainingRun', name: 'r1', uid: ownerUid, controller: true }] },
    status: { conditions: conds.map((c) => ({ ...c, status: 'True' })), ...extra },
  } as V1Job;
}
function pod(phase: 'Succeeded' | 'Failed', message?: string): V1Pod {
  return { metadata: { name: 'r1-train-x', labels: { 'job-name': 'r1-train' } }, status: { phase, containerStatuses: [{ name: 'train', ready: false, restartCount: 0, image: '', imageID: '', state: { terminated: { exitCode: phase === 'Succeeded' ? 0 : 1, message } } }] } } as V1Pod;
}
const result = JSON.stringify({ artifact: { uri: 's3://models/etaops/ns/eta/r1-uid-r1-1', sha256: SHA }, metrics: { mae: 612.5, rmse: 900.1 }, dataFingerprint: 'fp1', holdout: { fingerprint: 'h1', rows: 1000 } });
function mv(labelRun = 'r1', sha = SHA): ModelVersion {
  return { apiVersion: 'etaops.io/v1alpha1', kind: 'ModelVersion', metadata: { name: 'r1', namespace: 'ns', labels: { 'etaops.io/training-run': labelRun } }, spec: { model: 'eta', version: 3, artifact: { uri: 's3://x', sha256: sha } } };
}
const obs = (o: Partial<TrainingRunObserved>): TrainingRunObserved => ({ run: run(), pods: [], latestVersion: 0, config: cfg, now: NOW, ...o });

interface Case {
  name: string;
  o: TrainingRunObserved;
  phase: string | undefined;
  reason?: string;
  condStatus?: string;
  actions: string[];
  check?: (d: ReturnType<typeof decideTrainingRun>) => void;
}

const cases: Case[] = [
  { name: 'new run: creates the Job', o: obs({}), phase: 'Pending', reason: 'JobCreated', condStatus: 'Unknown', actions: ['createJob'],
    check: (d) => assert.equal(d.status.jobName, 'r1-train') },
  { name: 'no image anywhere: waits with a reason, creates nothing', o: obs({ config: { ...cfg, image: undefined } }), phase: 'Pending', reason: 'NoImage', condStatus: 'False', actions: [] },
  { name: 'spec.image overrides a missing controller image', o: obs({ run: run({ image: 'mine:1' }), config: { ...cfg, image: undefined } }), phase: 'Pending', reason: 'JobCreated', actions: ['createJob'],
    check: (d) => assert.equal((d.actions[0] as { job: V1Job }).job.spec!.template.spec!.containers[0].image, 'mine:1') },
  { name: 'no artifact root: waits with a reason', o: obs({ config: { ...cfg, artifactRoot: undefined } }), phase: 'Pending', reason: 'NoArtifactRoot', actions: [] },
  { name: 'Job created, pod not started', o: obs({ job: job() }), phase: 'Pending', reason: 'JobPending', actions: [] },
  { name: 'Job running', o: obs({ job: job([], { active: 1, startTime: '2026-12-03T19:59:00Z' as unknown as Date }) }), phase: 'Running', reason: 'JobRunning', actions: [],
    check: (d) => assert.equal(d.status.startTime, '2026-12-03T19:59:00Z') },
  { name: 'Job complete with result: registers ModelVersion <run> with the next version', o: obs({ job: job([{ type: 'Complete' }]), pods: [pod('Succeeded', result)], latestVersion: 4 }), phase: 'Succeeded', reason: 'ModelRegistered', condStatus: 'True', actions: ['createModelVersion'],
    check: (d) => {
      const m = (d.actions[0] as { modelVersion: ModelVersion }).modelVersion;
      assert.equal(m.metadata.name, 'r1');
      assert.equal(m.spec.version, 5);
      assert.equal(m.spec.artifact.sha256, SHA);
      assert.equal(m.spec.metrics!.mae, 612.5);
      assert.equal(m.spec.lineage!.trainingRun, 'r1');
      assert.equal(m.spec.lineage!.datasetFingerprint, 'fp1');
      assert.equal(m.spec.stage, 'Candidate');
      assert.equal(m.metadata.ownerReferences, undefined, 'no owner reference: deleting a run must not GC a served model');
      assert.equal(d.status.modelVersion, 'r1');
      assert.equal(d.status.metrics!.rmse, 900.1);
    } },
  { name: 'ModelVersion already created (restart after create): no duplicate', o: obs({ job: job([{ type: 'Complete' }]), pods: [pod('Succeeded', result)], modelVersion: mv() }), phase: 'Succeeded', reason: 'ModelRegistered', actions: [] },
  { name: 'a ModelVersion of the same name from elsewhere: fails clearly', o: obs({ job: job([{ type: 'Complete' }]), pods: [pod('Succeeded', result)], modelVersion: mv('other-run') }), phase: 'Failed', reason: 'ModelVersionNameTaken', actions: [] },
  { name: 'Job complete but no termination message', o: obs({ job: job([{ type: 'Complete' }]), pods: [pod('Succeeded')] }), phase: 'Failed', reason: 'ResultInvalid', condStatus: 'False', actions: [] },
  { name: 'Job complete, pods gone: result lost', o: obs({ job: job([{ type: 'Complete' }]), pods: [] }), phase: 'Failed', reason: 'ResultMissing', actions: [] },
  { name: 'Job failed after retries: reason + last log lines', o: obs({ job: job([{ type: 'Failed', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' }]), pods: [pod('Failed', 'loading data\nError: column created_at missing')] }), phase: 'Failed', reason: 'BackoffLimitExceeded', condStatus: 'False', actions: [],
    check: (d) => assert.match(d.status.conditions![0].message, /column created_at missing/) },
  { name: 'Job deadline exceeded', o: obs({ run: run({ activeDeadlineSeconds: 60 }), job: job([{ type: 'Failed', reason: 'DeadlineExceeded' }]) }), phase: 'Failed', reason: 'DeadlineExceeded', actions: [],
    check: (d) => assert.match(d.status.message!, /activeDeadlineSeconds=60/) },
  { name: 'Job vanished after it was created: JobLost, never re-run', o: obs({ run: run({}, { phase: 'Running', jobName: 'r1-train' }) }), phase: 'Failed', reason: 'JobLost', actions: [] },
  { name: 'a Job of that name owned by something else', o: obs({ job: job([], {}, 'someone-else') }), phase: 'Failed', reason: 'JobNameTaken', actions: [] },
  { name: 'finished runs are records: nothing happens again', o: obs({ run: run({}, { phase: 'Succeeded', modelVersion: 'r1' }), job: undefined }), phase: 'Succeeded', actions: [] },
  { name: 'failed runs stay failed', o: obs({ run: run({}, { phase: 'Failed' }), job: job([{ type: 'Complete' }]), pods: [pod('Succeeded', result)] }), phase: 'Failed', actions: [] },
];

for (const c of cases) {
  test(`decideTrainingRun: ${c.name}`, () => {
    const d = decideTrainingRun(c.o);
    assert.deepEqual(d.actions.map((a) => a.type), c.actions);
    assert.equal(d.status.phase, c.phase);
    if (c.reason) assert.equal(d.status.conditions?.find((x) => x.type === 'Succeeded')?.reason, c.reason);
    if (c.condStatus) assert.equal(d.status.conditions?.find((x) => x.type === 'Succeeded')?.status, c.condStatus);
    if (d.status.conditions) for (const x of d.status.conditions) assert.ok(x.message.length > 0, 'conditions say why');
    c.check?.(d);
  });
}

test('decideTrainingRun is idempotent: deciding on its own output changes nothing', () => {
  for (const c of cases) {
    const d1 = decideTrainingRun(c.o);
    const again = decideTrainingRun({ ...c.o, run: { ...c.o.run, status: d1.status } });
    if (d1.status.phase === 'Succeeded' || d1.status.phase === 'Failed') assert.deepEqual(again.actions, [], c.name);
    assert.deepEqual(again.status.conditions, d1.status.conditions, c.name);
  }
});

test('buildJob: owner reference, limits, secrets by reference, termination-message result, dedicated ServiceAccount', () => {
  const r = run({ backoffLimit: 2, activeDeadlineSeconds: 600, ttlSecondsAfterFinished: 120, resources: { limits: { cpu: '2', memory: '1Gi' } }, artifacts: { secretRef: { name: 'minio' } }, trainer: { params: { numTrees: 50 } } });
  const j = buildJob(r, cfg, 'img:1', 's3://models/etaops/');
  assert.equal(j.metadata!.name, 'r1-train');
  assert.deepEqual(j.metadata!.ownerReferences![0], { apiVersion: 'etaops.io/v1alpha1', kind: 'TrainingRun', name: 'r1', uid: 'uid-r1-123456', controller: true, blockOwnerDeletion: true });
  assert.equal(j.spec!.backoffLimit, 2);
  assert.equal(j.spec!.activeDeadlineSeconds, 600);
  assert.equal(j.spec!.ttlSecondsAfterFinished, 120);
  const pod = j.spec!.template.spec!;
  assert.equal(pod.serviceAccountName, 'etaops-job');
  assert.equal(pod.restartPolicy, 'Never');
  const c = pod.containers[0];
  assert.deepEqual(c.resources, { requests: undefined, limits: { cpu: '2', memory: '1Gi' } });
  assert.equal(c.terminationMessagePolicy, 'FallbackToLogsOnError');
  assert.deepEqual(c.command, ['etaops']);
  assert.deepEqual(c.args!.slice(0, 4), ['train', '--model-dir', 's3://models/etaops/ns/eta/r1-uid-r1-1', '--json']);
  assert.equal(c.args![c.args!.indexOf('--data') + 1], 's3://data/orders.csv');
  assert.equal(c.args![c.args!.indexOf('--params') + 1], '{"numTrees":50,"loss":"l2"}');
  assert.equal(c.args![c.args!.indexOf('--name') + 1], 'eta');
  const env = Object.fromEntries(c.env!.map((e) => [e.name, e]));
  assert.equal(env.ETAOPS_RESULT_FILE.value, '/dev/termination-log');
  assert.deepEqual(env.AWS_SECRET_ACCESS_KEY.valueFrom, { secretKeyRef: { name: 'minio', key: 'AWS_SECRET_ACCESS_KEY', optional: false } });
  assert.ok(!JSON.stringify(j).includes('password'), 'no secret values in the Job');
  const q = buildJob(run({ dataset: { query: 'select * from orders', secretRef: { name: 'pg' } } }), cfg, 'img:1', 's3://m');
  const qenv = q.spec!.template.spec!.containers[0].env!.find((e) => e.name === 'DATABASE_URL')!;
  assert.equal(qenv.valueFrom!.secretKeyRef!.name, 'pg');
});

test('jobNameFor is deterministic and short enough for labels', () => {
  assert.equal(jobNameFor('r1'), 'r1-train');
  const long = 'a'.repeat(120);
  assert.equal(jobNameFor(long), jobNameFor(long));
  assert.ok(jobNameFor(long).length <= 63);
  assert.notEqual(jobNameFor(long), jobNameFor('a'.repeat(119) + 'b'));
});

test('parseTrainResult reads the `etaops train --json` summary', () => {
  const summary = { modelDir: 's3://m/eta/r1', modelName: 'eta', metrics: { overall: { mae: 610.2, rmse: 880.5, r2: 0.3 }, byMarket: { 1: { mae: 1 } } },
    split: { method: 'time', holdoutFraction: 0.2, holdoutRows: 900, holdoutFrom: '2015-02-10T00:00:00Z', holdoutTo: '2015-02-18T00:00:00Z' },
    data: { fingerprint: 'f'.repeat(64), rowsKept: 4500 }, onnxSha256: SHA };
  const r = parseTrainResult(JSON.stringify(summary));
  assert.ok(!('error' in r));
  assert.equal(r.artifactUri, 's3://m/eta/r1');
  assert.equal(r.sha256, SHA);
  assert.deepEqual(r.metrics, { mae: 610.2, rmse: 880.5, r2: 0.3 });
  assert.equal(r.dataFingerprint, 'f'.repeat(64));
  const again = parseTrainResult(JSON.stringify({ ...summary, modelDir: 's3://m/eta/r2' }));
  assert.ok(!('error' in again));
  assert.equal(again.holdout!.fingerprint, r.holdout!.fingerprint, 'same data and split → same holdout');
  const other = parseTrainResult(JSON.stringify({ ...summary, split: { ...summary.split, holdoutFraction: 0.3 } }));
  assert.notEqual((other as typeof r).holdout!.fingerprint, r.holdout!.fingerprint);
});

test('parseTrainResult reads the result and explains bad ones', () => {
  const ok = parseTrainResult(result);
  assert.ok(!('error' in ok));
  assert.equal(ok.artifactUri, 's3://models/etaops/ns/eta/r1-uid-r1-1');
  assert.match((parseTrainResult('Traceback: boom') as { error: string }).error, /not the JSON result: Traceback: boom/);
  assert.match((parseTrainResult('{"artifact":{"uri":"s3://a/b"}}') as { error: string }).error, /sha256/);
  assert.match((parseTrainResult('') as { error: string }).error, /no result/);
});
