/** The object state metrics (src/controller/object-metrics.ts) from informer-like lists. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import type { DriftCheck, ModelVersion, TrainingRun } from '../../src/api/index.js';
import { registerObjectMetrics, type ObjectSources } from '../../src/controller/object-metrics.js';
import type { KubeObject } from '../../src/controller/runtime/kube.js';

type Run = TrainingRun & KubeObject;
type Version = ModelVersion & KubeObject;
type Check = DriftCheck & KubeObject;

function run(name: string, model: string, phase: string | undefined, completionTime?: string): Run {
  return { apiVersion: 'etaops.io/v1alpha1', kind: 'TrainingRun', metadata: { name, namespace: 'ns1' }, spec: { model, dataset: { uri: 's3://d/x.csv' } }, status: phase ? { phase, completionTime } : undefined } as unknown as Run;
}

function version(model: string, n: number, metrics: Record<string, number> | undefined, stage?: string): Version {
  return { apiVersion: 'etaops.io/v1alpha1', kind: 'ModelVersion', metadata: { name: `${model}-v${n}`, namespace: 'ns1' }, spec: { model, version: n, artifact: { uri: 's3://m/x', sha256: 'a'.repeat(64) }, metrics }, status: stage ? { stage } : undefined } as unknown as Version;
}

function check(name: string, spec: Record<string, unknown>, status?: Record<string, unknown>, created = '2026-01-01T00:00:00Z'): Check {
  return { apiVersion: 'etaops.io/v1alpha1', kind: 'DriftCheck', metadata: { name, namespace: 'ns1', creationTimestamp: created }, spec: { model: 'eta', ...spec }, status } as unknown as Check;
}

function setup(lists: { runs?: Run[]; versions?: Version[]; checks?: Check[] }): { registry: Registry; lists: Required<typeof lists> } {
  const all = { runs: lists.runs ?? [], versions: lists.versions ?? [], checks: lists.checks ?? [] };
  const src: ObjectSources = { runs: { list: () => all.runs }, versions: { list: () => all.versions }, checks: { list: () => all.checks } };
  const registry = new Registry();
  registerObjectMetrics(registry, src);
  return { registry, lists: all };
}

test('ModelVersions: one info series with status.stage, holdout metrics by version and metric name', async () => {
  const { registry } = setup({ versions: [version('eta', 1, { mae: 610.5, rmse: 900 }, 'Production'), version('eta', 2, { mae: 590 }), version('other', 1, undefined)] });
  const text = await registry.metrics();
  assert.match(text, /etaops_modelversion_info\{namespace="ns1",model="eta",version="1",stage="Production"\} 1/);
  assert.match(text, /etaops_modelversion_info\{namespace="ns1",model="eta",version="2",stage="Candidate"\} 1/);
  assert.match(text, /etaops_modelversion_holdout_metric\{namespace="ns1",model="eta",version="1",metric="mae"\} 610.5/);
  assert.match(text, /etaops_modelversion_holdout_metric\{namespace="ns1",model="eta",version="1",metric="rmse"\} 900/);
  assert.match(text, /etaops_modelversion_holdout_metric\{namespace="ns1",model="eta",version="2",metric="mae"\} 590/);
  assert.doesNotMatch(text, /holdout_metric\{[^}]*model="other"/, 'a version without metrics has no holdout series');
});

test('TrainingRuns: counts by phase (no status = Pending); last_failed follows the latest completion', async () => {
  const { registry, lists } = setup({
    runs: [
      run('a', 'eta', 'Failed', '2026-01-01T10:00:00Z'),
      run('b', 'eta', 'Succeeded', '2026-01-01T09:00:00Z'),
      run('c', 'eta', 'Running'),
      run('d', 'eta', undefined),
      run('e', 'other', 'Succeeded', '2026-01-01T08:00:00Z'),
    ],
  });
  let text = await registry.metrics();
  assert.match(text, /etaops_trainingruns\{namespace="ns1",model="eta",phase="Failed"\} 1/);
  assert.match(text, /etaops_trainingruns\{namespace="ns1",model="eta",phase="Succeeded"\} 1/);
  assert.match(text, /etaops_trainingruns\{namespace="ns1",model="eta",phase="Running"\} 1/);
  assert.match(text, /etaops_trainingruns\{namespace="ns1",model="eta",phase="Pending"\} 1/);
  assert.match(text, /etaops_trainingrun_last_failed\{namespace="ns1",model="eta"\} 1/);
  assert.match(text, /etaops_trainingrun_last_failed\{namespace="ns1",model="other"\} 0/);
  // A later success clears the failure; deleting runs removes their series at the next scrape.
  lists.runs.push(run('f', 'eta', 'Succeeded', '2026-01-01T11:00:00Z'));
  lists.runs.splice(lists.runs.findIndex((r) => r.spec.model === 'other'), 1);
  text = await registry.metrics();
  assert.match(text, /etaops_trainingrun_last_failed\{namespace="ns1",model="eta"\} 0/);
  assert.match(text, /etaops_trainingruns\{namespace="ns1",model="eta",phase="Succeeded"\} 2/);
  assert.doesNotMatch(text, /model="other"/);
});

test('DriftChecks: last run time (creation before the first run) and last-run-failed, scheduled and unsuspended only', async () => {
  const { registry } = setup({
    checks: [
      check('hourly', { schedule: '0 * * * *' }, { phase: 'Succeeded', lastRunTime: '2026-01-02T03:00:00Z' }),
      check('new', { schedule: '0 * * * *' }, undefined, '2026-01-03T00:00:00Z'),
      check('broken', { schedule: '0 * * * *' }, { phase: 'Failed', lastRunTime: '2026-01-02T04:00:00Z' }),
      check('paused', { schedule: '0 * * * *', suspend: true }, { phase: 'Suspended', lastRunTime: '2026-01-01T00:00:00Z' }),
      check('once', {}, { phase: 'Succeeded', lastRunTime: '2026-01-01T00:00:00Z' }),
    ],
  });
  const text = await registry.metrics();
  const at = (iso: string) => String(Date.parse(iso) / 1000);
  assert.match(text, new RegExp(`etaops_driftcheck_last_run_timestamp_seconds\\{namespace="ns1",check="hourly",model="eta"\\} ${at('2026-01-02T03:00:00Z')}`));
  assert.match(text, new RegExp(`etaops_driftcheck_last_run_timestamp_seconds\\{namespace="ns1",check="new",model="eta"\\} ${at('2026-01-03T00:00:00Z')}`));
  assert.match(text, /etaops_driftcheck_last_run_failed\{namespace="ns1",check="broken",model="eta"\} 1/);
  assert.match(text, /etaops_driftcheck_last_run_failed\{namespace="ns1",check="hourly",model="eta"\} 0/);
  assert.doesNotMatch(text, /check="paused"/, 'a suspended check is not expected to run');
  assert.doesNotMatch(text, /check="once"/, 'a run-once check is not expected to run again');
});
