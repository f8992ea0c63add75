import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import type { DriftCheck, ModelVersion, TrainingRun } from '../../src/api/index.js';
import type { ControllerConfig } from '../../src/controller/config.js';
import { decideDriftCheck, durationMs, jobNameForTime, parseDriftResult, scheduleTimes, type DriftCheckObserved } from '../../src/controller/driftcheck.js';

const cfg: ControllerConfig = { image: 'etaops:test', command: ['etaops'], jobServiceAccount: 'etaops-job', artifactRoot: 's3://m' };
const CREATED = '2026-12-03T10:00:00Z';
const prod: ModelVersion = { apiVersion: 'etaops.io/v1alpha1', kind: 'ModelVersion', metadata: { name: 'eta-v1', namespace: 'ns' }, spec: { model: 'eta', version: 1, artifact: { uri: 's3://m/eta/v1', sha256: 'a'.repeat(64) } }, status: { stage: 'Production' } };
const template = { model: 'eta', dataset: { uri: 's3://d/new.csv' } };

function dc(spec: Partial<DriftCheck['spec']> = {}, status?: DriftCheck['status']): DriftCheck {
  return { apiVersion: 'etaops.io/v1alpha1', kind: 'DriftCheck', metadata: { name: 'hourly', namespace: 'ns', uid: 'dc-uid', generation: 1, creationTimestamp: CREATED }, spec: { model: 'eta', ...spec }, status };
}
function job(name: string, type?: 'Complete' | 'Failed', reason?: string): V1Job {
  return { metadata: { name, labels: { 'etaops.io/drift-check': 'hourly' } }, status: type ? { conditions: [{ type, status: 'True', reason }] } : {} } as V1Job;
}
function pod(jobName: string, message: string): V1Pod {
  return { metadata: { labels: { 'batch.kubernetes.io/job-name': jobName } }, status: { phase: 'Succeeded', containerStatuses: [{ name: 'drift', image: '', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: 0, message } } }] } } as V1Pod;
}
const drifted = JSON.stringify({ datasetDrift: true, driftShare: 0.6, columns: [{ name: 'subtotal', test: 'ks', score: 0.001, drifted: true }, { name: 'market_id', test: 'chi2', score: 0.4, drifted: false }], reportUri: 's3://m/r.html' });
const calm = JSON.stringify({ datasetDrift: false, driftShare: 0.1, columns: [] });
const obs = (o: Partial<DriftCheckObserved> & { dc: DriftCheck; now: string }): DriftCheckObserved => ({ jobs: [], pods: [], reference: prod, config: cfg, ...o });
const t = (iso: string) => Date.parse(iso);

test('scheduleTimes: latest due time, missed count and next', () => {
  const r = scheduleTimes('0 * * * *', t('2026-12-03T10:00:00Z'), t('2026-12-03T13:30:00Z'));
  assert.equal(new Date(r.due!).toISOString(), '2026-12-03T13:00:00.000Z');
  assert.equal(r.missed, 3);
  assert.equal(new Date(r.next!).toISOString(), '2026-12-03T14:00:00.000Z');
  assert.equal(scheduleTimes('0 * * * *', t('2026-12-03T13:00:00Z'), t('2026-12-03T13:30:00Z')).due, undefined);
});

const cases: Array<{ name: string; o: DriftCheckObserved; actions: string[]; phase?: string; cond?: [string, string]; check?: (d: ReturnType<typeof decideDriftCheck>) => void }> = [
  { name: 'no schedule: runs once at once', o: obs({ dc: dc(), now: '2026-12-03T10:00:05Z' }), actions: ['createJob'], phase: 'Running',
    check: (d) => {
      const j = (d.actions[0] as { job: V1Job }).job;
      assert.equal(j.metadata!.name, jobNameForTime('hourly', t(CREATED)));
      const args = j.spec!.template.spec!.containers[0].args!;
      assert.equal(args[args.indexOf('--model-dir') + 1], 's3://m/eta/v1', 'reference = Production version');
      assert.equal(args[args.indexOf('--from-log') + 1], '24h');
      assert.equal(j.metadata!.ownerReferences![0].kind, 'DriftCheck');
    } },
  { name: 'no schedule, already ran: nothing more', o: obs({ dc: dc({}, { lastScheduleTime: CREATED, phase: 'Succeeded' }), now: '2026-12-03T12:00:00Z' }), actions: [] },
  { name: 'cron: not due yet → requeue at the next time', o: obs({ dc: dc({ schedule: '0 * * * *' }), now: '2026-12-03T10:30:00Z' }), actions: [],
    check: (d) => { assert.equal(d.requeueAfterMs, 30 * 60_000); assert.equal(d.status.nextScheduleTime, '2026-12-03T11:00:00Z'); } },
  { name: 'cron: due → Job named after the scheduled minute', o: obs({ dc: dc({ schedule: '0 * * * *' }), now: '2026-12-03T11:00:20Z' }), actions: ['createJob'],
    check: (d) => { assert.equal(d.status.lastScheduleTime, '2026-12-03T11:00:00Z'); assert.equal(d.status.activeJob, jobNameForTime('hourly', t('2026-12-03T11:00:00Z'))); } },
  { name: 'cron: controller was down 3 h → only the latest time runs, missed ones reported', o: obs({ dc: dc({ schedule: '0 * * * *' }), now: '2026-12-03T13:10:00Z' }), actions: ['createJob'], cond: ['Scheduled', 'MissedSchedules'] },
  { name: 'startingDeadlineSeconds exceeded → skipped, not run late', o: obs({ dc: dc({ schedule: '0 * * * *', startingDeadlineSeconds: 300 }), now: '2026-12-03T13:10:00Z' }), actions: [], cond: ['Scheduled', 'MissedSchedule'],
    check: (d) => assert.equal(d.status.lastScheduleTime, '2026-12-03T13:00:00Z') },
  { name: 'within startingDeadlineSeconds → runs', o: obs({ dc: dc({ schedule: '0 * * * *', startingDeadlineSeconds: 900 }), now: '2026-12-03T13:10:00Z' }), actions: ['createJob'] },
  { name: 'restart after creating the Job but before the status write: no second Job', o: obs({ dc: dc({ schedule: '0 * * * *' }), jobs: [job(jobNameForTime('hourly', t('2026-12-03T11:00:00Z')))], now: '2026-12-03T11:00:30Z' }), actions: [] },
  { name: 'suspended: nothing runs', o: obs({ dc: dc({ schedule: '* * * * *', suspend: true }), now: '2026-12-03T11:00:30Z' }), actions: [], phase: 'Suspended' },
  { name: 'no Production version and no reference.uri: waits with a reason', o: obs({ dc: dc(), reference: undefined, now: '2026-12-03T10:00:05Z' }), actions: [], cond: ['Ready', 'NoReference'] },
  { name: 'active Job still running: waits', o: obs({ dc: dc({}, { activeJob: 'j1', lastScheduleTime: CREATED }), jobs: [job('j1')], now: '2026-12-03T10:01:00Z' }), actions: [], phase: 'Running' },
  { name: 'finished without drift: result in status, no retraining', o: obs({ dc: dc({ onDrift: { template } }, { activeJob: 'j1', lastScheduleTime: CREATED }), jobs: [job('j1', 'Complete')], pods: [pod('j1', calm)], now: '2026-12-03T10:05:00Z' }), actions: [], phase: 'Succeeded', cond: ['Drift', 'NoDrift'] },
  { name: 'drift found: result + TrainingRun from the template', o: obs({ dc: dc({ onDrift: { template, cooldown: '6h' } }, { activeJob: 'hourly-29421720', lastScheduleTime: CREATED }), jobs: [job('hourly-29421720', 'Complete')], pods: [pod('hourly-29421720', drifted)], now: '2026-12-03T10:05:00Z' }), actions: ['createTrainingRun'], phase: 'Succeeded', cond: ['Retraining', 'TrainingRunCreated'],
    check: (d) => {
      const run = (d.actions[0] as { run: TrainingRun }).run;
      assert.equal(run.metadata.name, 'hourly-retrain-29421720');
      assert.deepEqual(run.spec, template);
      assert.equal(d.status.lastResult!.numberOfDriftedColumns, 1);
      assert.equal(d.status.lastRetrainRun, 'hourly-retrain-29421720');
    } },
  { name: 'drift again within the cooldown: no second TrainingRun', o: obs({ dc: dc({ onDrift: { template, cooldown: '6h' } }, { activeJob: 'j2', lastScheduleTime: CREATED, lastRetrainTime: '2026-12-03T09:00:00Z', lastRetrainRun: 'hourly-retrain-1' }), jobs: [job('j2', 'Complete')], pods: [pod('j2', drifted)], now: '2026-12-03T10:05:00Z' }), actions: [], cond: ['Retraining', 'Cooldown'] },
  { name: 'drift after the cooldown: retrains again', o: obs({ dc: dc({ onDrift: { template, cooldown: '6h' } }, { activeJob: 'j2', lastScheduleTime: CREATED, lastRetrainTime: '2026-12-03T03:00:00Z' }), jobs: [job('j2', 'Complete')], pods: [pod('j2', drifted)], now: '2026-12-03T10:05:00Z' }), actions: ['createTrainingRun'] },
  { name: 'drift Job failed: reason in status', o: obs({ dc: dc({}, { activeJob: 'j1', lastScheduleTime: CREATED }), jobs: [job('j1', 'Failed', 'DeadlineExceeded')], now: '2026-12-03T10:05:00Z' }), actions: [], phase: 'Failed', cond: ['Ready', 'DeadlineExceeded'] },
];

for (const c of cases) {
  test(`decideDriftCheck: ${c.name}`, () => {
    const d = decideDriftCheck(c.o);
    assert.deepEqual(d.actions.map((a) => a.type), c.actions);
    if (c.phase) assert.equal(d.status.phase, c.phase);
    if (c.cond) assert.equal(d.status.conditions?.find((x) => x.type === c.cond![0])?.reason, c.cond[1]);
    c.check?.(d);
  });
}

test('parseDriftResult reads the `etaops drift --json` short form', () => {
  const r = parseDriftResult(JSON.stringify({ dataset_drift: true, drift_share: 0.5, columns: { subtotal: { test: 'ks', score: 0.01, threshold: 0.05, drifted: true }, market_id: { test: 'chisquare', score: null, threshold: 0.05, drifted: false } }, report: { json: 's3://r/drift-report.json', html: 's3://r/drift-report.html' } }));
  assert.ok(!('error' in r));
  assert.equal(r.datasetDrift, true);
  assert.equal(r.numberOfColumns, 2);
  assert.equal(r.numberOfDriftedColumns, 1);
  assert.equal(r.reportUri, 's3://r/drift-report.html');
  assert.deepEqual(r.columns![0], { name: 'subtotal', test: 'ks', score: 0.01, threshold: 0.05, drifted: true });
});

test('parseDriftResult and durationMs', () => {
  assert.equal((parseDriftResult(drifted) as { driftShare: number }).driftShare, 0.6);
  assert.match((parseDriftResult('{}') as { error: string }).error, /datasetDrift/);
  assert.match((parseDriftResult('oops') as { error: string }).error, /not the JSON result/);
  assert.equal(durationMs('6h', 0), 21_600_000);
  assert.equal(durationMs('bad', 7), 7);
});
