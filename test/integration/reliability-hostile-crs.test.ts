/**
 * Custom resources with hostile values, against the real kube-apiserver and the operator.
 *
 * - Values that would reach object names, label values or SQL identifiers (spec.model, object
 *   names) are refused at apply time with a message naming the field: SQL and label injection,
 *   unicode look-alikes, control characters, names too long for a label value, huge strings.
 * - Free-text values the schema allows (a dataset URI full of quotes, SQL, shell syntax and
 *   unicode) travel untouched: one argv element of the trainer (no shell anywhere), verbatim in
 *   the ModelVersion's lineage and in the registry, whose tables are still all there after.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import type { ModelVersion, TrainingRun } from '../../src/api/index.js';
import type { ControllerConfig } from '../../src/controller/config.js';
import { linkRegistry } from '../../src/controller/registry-sync.js';
import { GVRS, KubeError, type GVR, type KubeClient, type KubeObject } from '../../src/controller/runtime/kube.js';
import type { Manager } from '../../src/controller/runtime/manager.js';
import { buildOperator } from '../../src/controller/setup.js';
import { MODELVERSIONS, TRAININGRUNS } from '../../src/controller/trainingrun.js';
import { DRIFTCHECKS } from '../../src/controller/driftcheck.js';
import { Registry } from '../../src/registry/index.js';
import { deleteNamespace, ensureNamespace, getOrUndefined, installCRDs, SKIP, testClient, uniqueNamespace, waitFor } from './controller-helpers.js';

const NS = uniqueNamespace('etaops-hostile');
const SHA = 'ab'.repeat(32);
const config: ControllerConfig = { image: 'etaops:test', command: ['etaops'], artifactRoot: 'file:///tmp/etaops', jobServiceAccount: 'etaops-job', jobNodeSelector: { 'etaops.io/test-hold': 'true' } };

const tr = (name: string, spec: Record<string, unknown> = {}) => ({ apiVersion: 'etaops.io/v1alpha1', kind: 'TrainingRun', metadata: { name }, spec: { model: 'eta', dataset: { uri: 's3://data/orders.csv' }, backoffLimit: 0, promotion: { policy: 'manual' }, ...spec } });
const dc = (name: string, spec: Record<string, unknown> = {}) => ({ apiVersion: 'etaops.io/v1alpha1', kind: 'DriftCheck', metadata: { name }, spec: { model: 'eta', ...spec } });
const mv = (name: string, spec: Record<string, unknown> = {}) => ({ apiVersion: 'etaops.io/v1alpha1', kind: 'ModelVersion', metadata: { name }, spec: { model: 'eta', version: 1, artifact: { uri: 's3://m/1', sha256: SHA }, ...spec } });

/** A dataset URI that is valid for the schema and hostile for everything downstream. */
const HOSTILE_URI = `s3://bucket/o'; DROP TABLE model_versions; --/"$(rm -rf /)" \`id\` ; | && données 🚚 \\ %00 \${HOME}.csv`;

describe('hostile values in custom resources', { skip: SKIP, timeout: 180_000 }, () => {
  let c: KubeClient;
  let mgr: Manager | undefined;
  let reg: Registry;

  before(async () => {
    c = testClient();
    await installCRDs(c);
    await ensureNamespace(c, NS);
    reg = await Registry.open('memory://');
    mgr = buildOperator({ client: testClient(), config, namespace: NS, workers: 2, registry: linkRegistry(reg), artifactChecker: async () => ({ ok: true }) });
    await mgr.start();
  });
  after(async () => {
    await mgr?.stop();
    await reg?.close();
    await deleteNamespace(c, NS);
    c.close();
  });

  const refused: Array<[string, GVR, unknown, RegExp]> = [
    ['SQL injection in spec.model', TRAININGRUNS, tr('sql-model', { model: "eta'; DROP TABLE models; --" }), /spec.model: .*model must be a lowercase DNS label/],
    ['label injection in spec.model', TRAININGRUNS, tr('label-model', { model: 'eta,app=evil' }), /model must be a lowercase DNS label/],
    ['unicode look-alike in spec.model', DRIFTCHECKS, dc('unicode-model', { model: 'еta' }), /model must be a lowercase DNS label/], // Cyrillic е
    ['a newline in spec.model', MODELVERSIONS, mv('newline-model', { model: 'eta\nx' }), /model must be a lowercase DNS label/],
    ['a 10 kB spec.model', TRAININGRUNS, tr('long-model', { model: 'a'.repeat(10_000) }), /spec.model: Too long: may not be (longer|more) than 40/],
    ['a TrainingRun name too long for a label value', TRAININGRUNS, tr('r'.repeat(64)), /metadata.name must be at most 63 characters: it becomes a label value on the TrainingRun's Jobs and pods/],
    ['a DriftCheck name too long for a label value', DRIFTCHECKS, dc('d'.repeat(200)), /metadata.name must be at most 63 characters/],
    ['an object name with SQL in it', TRAININGRUNS, tr("x'; drop table models;--"), /metadata.name: Invalid value/],
    ['a 1 MB dataset URI', TRAININGRUNS, tr('huge-uri', { dataset: { uri: `s3://b/${'k'.repeat(1_000_000)}` } }), /spec.dataset.uri: Too long/],
    ['a 1 MB dataset query', TRAININGRUNS, tr('huge-query', { dataset: { query: `SELECT ${'1,'.repeat(500_000)}1`, secretRef: { name: 'pg' } } }), /spec.dataset.query: Too long/],
    ['a sha256 with SQL in it', MODELVERSIONS, mv('sql-sha', { artifact: { uri: 's3://m/1', sha256: "'; DROP TABLE model_versions; --" } }), /artifact.sha256 must be 64 lowercase hex characters/],
  ];

  for (const [name, gvr, obj, message] of refused) {
    test(`refuses ${name}, naming the field`, async () => {
      await assert.rejects(c.create(gvr, NS, obj), (e: unknown) => {
        assert.ok(e instanceof KubeError, String(e));
        assert.equal(e.code, 422, e.message.slice(0, 500));
        assert.match(e.message, message);
        return true;
      });
    });
  }

  test('a body over the API server\'s limit is refused whole (413), nothing stored', async () => {
    const body = tr('too-big', { trainer: { params: { learningRate: 0.1 } }, image: 'x'.repeat(4 * 1024 * 1024) });
    await assert.rejects(c.create(TRAININGRUNS, NS, body), (e: unknown) => e instanceof KubeError && (e.code === 413 || e.code === 422));
    assert.equal(await getOrUndefined(c, TRAININGRUNS, NS, 'too-big'), undefined);
  });

  test('a dataset URI full of quotes, SQL, shell syntax and unicode travels verbatim: one argv element, lineage, registry', async () => {
    await c.create(TRAININGRUNS, NS, tr('hostile-uri', { dataset: { uri: HOSTILE_URI } }));
    const job = await waitFor('the Job', () => getOrUndefined<V1Job & KubeObject>(c, GVRS.jobs, NS, 'hostile-uri-train'));
    const container = job.spec!.template.spec!.containers[0];
    assert.deepEqual(container.command, ['etaops'], 'no shell: the trainer is the command');
    const args = container.args!;
    assert.equal(args[args.indexOf('--data') + 1], HOSTILE_URI, 'the URI is one argument, unchanged');
    assert.ok(!args.some((a) => a !== HOSTILE_URI && a.includes('DROP TABLE')), 'never split or joined with other arguments');

    // Play the kubelet: the trainer finished with a result.
    const pod = await waitFor('the pod', async () => (await c.list<V1Pod & KubeObject>(GVRS.pods, NS, { labelSelector: 'batch.kubernetes.io/job-name=hostile-uri-train' })).items[0]);
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const result = { artifact: { uri: 'file:///tmp/etaops/eta/hostile', sha256: SHA }, metrics: { mae: 600 }, dataFingerprint: "fp'; DROP TABLE models; --" };
    await c.mergePatch(GVRS.pods, NS, pod.metadata.name!, { status: { phase: 'Succeeded', containerStatuses: [{ name: 'train', image: 'etaops:test', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed', message: JSON.stringify(result), startedAt: now, finishedAt: now } } }] } }, 'status');
    await waitFor('run Succeeded', async () => ((await c.get<TrainingRun & KubeObject>(TRAININGRUNS, NS, 'hostile-uri')).status?.phase === 'Succeeded' ? true : undefined));

    const version = await c.get<ModelVersion & KubeObject>(MODELVERSIONS, NS, 'hostile-uri');
    assert.equal(version.spec.lineage?.datasetUri, HOSTILE_URI);
    assert.equal(version.spec.lineage?.datasetFingerprint, result.dataFingerprint);
    const registered = await reg.getVersion('eta', version.spec.version);
    assert.equal(registered.lineage.datasetFingerprint, result.dataFingerprint, 'stored as data, not run as SQL');
    // Every table is still there and answers.
    assert.equal((await reg.listVersions('eta')).length, 1);
    assert.ok((await reg.stageHistory('eta')).length >= 1);
  });
});
