/**
 * The DriftCheck reconciler against a real kube-apiserver + controller-manager: a run-once check
 * starts a drift Job; the test plays the kubelet (pods held unscheduled by a nodeSelector) and
 * reports a drifted result; the check records it, exports the scores and creates exactly one
 * retraining TrainingRun from its template.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import type { DriftCheck, TrainingRun } from '../../src/api/index.js';
import type { ControllerConfig } from '../../src/controller/config.js';
import { DRIFTCHECKS } from '../../src/controller/driftcheck.js';
import { GVRS, type KubeClient, type KubeObject } from '../../src/controller/runtime/kube.js';
import type { Manager } from '../../src/controller/runtime/manager.js';
import { buildOperator } from '../../src/controller/setup.js';
import { TRAININGRUNS } from '../../src/controller/trainingrun.js';
import { deleteNamespace, ensureNamespace, installCRDs, SKIP, testClient, uniqueNamespace, waitFor } from './controller-helpers.js';

const NS = uniqueNamespace('etaops-dc-test');
const config: ControllerConfig = { image: 'etaops:test', command: ['etaops'], artifactRoot: 's3://models/etaops', jobServiceAccount: 'etaops-job', jobNodeSelector: { 'etaops.io/test-hold': 'true' } };
type DC = DriftCheck & KubeObject;

describe('DriftCheck reconciler on a real API server', { skip: SKIP }, () => {
  let c: KubeClient;
  let mgr: Manager;
  before(async () => {
    c = testClient();
    await installCRDs(c);
    await ensureNamespace(c, NS);
    mgr = buildOperator({ client: testClient(), config, namespace: NS, workers: 2, artifactChecker: async () => ({ ok: true }) });
    await mgr.start();
  });
  after(async () => {
    await mgr.stop();
    await deleteNamespace(c, NS);
    c.close();
  });

  test('run-once check: Job → drifted result in status and metrics → one retraining TrainingRun', async () => {
    await c.create(DRIFTCHECKS, NS, {
      apiVersion: 'etaops.io/v1alpha1', kind: 'DriftCheck', metadata: { name: 'once' },
      spec: { model: 'eta', reference: { uri: 's3://models/etaops/eta/v1' }, current: { uri: 's3://data/shifted.csv' }, onDrift: { template: { model: 'eta', dataset: { uri: 's3://data/fresh.csv' } }, cooldown: '1h' } },
    });
    const started = await waitFor('an active drift Job', async () => (await c.get<DC>(DRIFTCHECKS, NS, 'once')).status?.activeJob);
    const job = await c.get<V1Job & KubeObject>(GVRS.jobs, NS, started);
    assert.equal(job.metadata.ownerReferences?.[0].kind, 'DriftCheck');
    const args = job.spec!.template.spec!.containers[0].args!;
    assert.deepEqual(args.slice(0, 3), ['drift', '--model-dir', 's3://models/etaops/eta/v1']);
    assert.ok(args.includes('s3://data/shifted.csv'));
    const pod = await waitFor('the drift pod', async () => (await c.list<V1Pod & KubeObject>(GVRS.pods, NS, { labelSelector: `batch.kubernetes.io/job-name=${started}` })).items[0]);
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const result = { datasetDrift: true, driftShare: 0.6, columns: [{ name: 'subtotal', test: 'ks', score: 0.001, drifted: true }, { name: 'market_id', test: 'chi2', score: 0.3, drifted: false }], reportUri: 's3://models/etaops/r.html' };
    await c.mergePatch(GVRS.pods, NS, pod.metadata.name!, { status: { phase: 'Succeeded', containerStatuses: [{ name: 'drift', image: 'etaops:test', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed', message: JSON.stringify(result), startedAt: now, finishedAt: now } } }] } }, 'status');
    const dc = await waitFor('the result in status', async () => {
      const d = await c.get<DC>(DRIFTCHECKS, NS, 'once');
      return d.status?.lastResult ? d : undefined;
    });
    assert.equal(dc.status?.phase, 'Succeeded');
    assert.equal(dc.status?.lastResult?.datasetDrift, true);
    assert.equal(dc.status?.lastResult?.numberOfDriftedColumns, 1);
    assert.equal(dc.status?.conditions?.find((x) => x.type === 'Drift')?.status, 'True');
    const runName = dc.status?.lastRetrainRun;
    assert.ok(runName, 'a retraining run is recorded');
    const run = await c.get<TrainingRun & KubeObject>(TRAININGRUNS, NS, runName);
    assert.equal(run.spec.dataset.uri, 's3://data/fresh.csv');
    assert.equal(run.metadata.labels?.['etaops.io/drift-check'], 'once');
    const metrics = await mgr.metrics.registry.metrics();
    assert.match(metrics, /etaops_driftcheck_share\{namespace="[^"]+",check="once",model="eta"\} 0.6/);
    assert.match(metrics, /etaops_driftcheck_column_score\{[^}]*column="subtotal"[^}]*\} 0.001/);
    // Run-once: nothing else happens afterwards.
    await new Promise((r) => setTimeout(r, 2000));
    const runs = await c.list<TrainingRun & KubeObject>(TRAININGRUNS, NS, { labelSelector: 'etaops.io/drift-check=once' });
    assert.equal(runs.items.length, 1);
    const jobs = await c.list<KubeObject>(GVRS.jobs, NS, { labelSelector: 'etaops.io/drift-check=once' });
    assert.equal(jobs.items.length, 1);
  });
});
