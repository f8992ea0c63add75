/**
 * The CRDs against a real kube-apiserver: they install, apply defaults, and reject bad specs
 * with the schema's or the CEL rule's message (the text a person sees from kubectl).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { KubeError, type GVR, type KubeClient, type KubeObject } from '../../src/controller/runtime/kube.js';
import { deleteNamespace, ensureNamespace, uniqueNamespace, installCRDs, SKIP, testClient } from './controller-helpers.js';

const NS = uniqueNamespace('etaops-crd-test');
const TR: GVR = { group: 'etaops.io', version: 'v1alpha1', plural: 'trainingruns' };
const MV: GVR = { group: 'etaops.io', version: 'v1alpha1', plural: 'modelversions' };
const DC: GVR = { group: 'etaops.io', version: 'v1alpha1', plural: 'driftchecks' };
const SHA = 'a'.repeat(64);

const tr = (name: string, spec: Record<string, unknown>) => ({ apiVersion: 'etaops.io/v1alpha1', kind: 'TrainingRun', metadata: { name }, spec: { model: 'eta', dataset: { uri: 's3://data/orders.csv' }, ...spec } });
const mv = (name: string, spec: Record<string, unknown>) => ({ apiVersion: 'etaops.io/v1alpha1', kind: 'ModelVersion', metadata: { name }, spec: { model: 'eta', version: 1, artifact: { uri: 's3://models/eta/1', sha256: SHA }, ...spec } });
const dc = (name: string, spec: Record<string, unknown>) => ({ apiVersion: 'etaops.io/v1alpha1', kind: 'DriftCheck', metadata: { name }, spec: { model: 'eta', ...spec } });

describe('CRDs on a real API server', { skip: SKIP }, () => {
  let c: KubeClient;
  before(async () => {
    c = testClient();
    await installCRDs(c);
    await ensureNamespace(c, NS);
  });
  after(async () => {
    await deleteNamespace(c, NS);
    c.close();
  });

  test('a minimal TrainingRun is accepted and defaulted', async () => {
    const o = await c.create<KubeObject & { spec: Record<string, Record<string, unknown>> }>(TR, NS, tr('ok-run', {}));
    assert.equal(o.spec.promotion.policy, 'auto');
    assert.equal(o.spec.promotion.metric, 'mae');
    assert.equal(o.spec.promotion.minImprovement, 0.01);
    assert.equal(o.spec.split.strategy, 'time');
    assert.equal(o.spec.trainer.loss, 'l2');
    assert.equal(o.spec.backoffLimit, 1);
    const m = await c.create<KubeObject & { spec: Record<string, unknown> }>(MV, NS, mv('ok-mv', {}));
    assert.equal(m.spec.stage, 'Candidate');
    const d = await c.create<KubeObject & { spec: Record<string, Record<string, unknown>> }>(DC, NS, dc('ok-dc', { schedule: '*/15 * * * *', onDrift: { template: { model: 'eta', dataset: { uri: 's3://d/x.csv' } } } }));
    assert.equal(d.spec.current.window, '24h');
    assert.equal((d.spec.onDrift as Record<string, unknown>).cooldown, '24h');
  });

  const rejected: Array<[string, GVR, unknown, RegExp]> = [
    ['dataset with both uri and query', TR, tr('bad1', { dataset: { uri: 's3://a/b', query: 'select 1', secretRef: { name: 'pg' } } }), /dataset needs exactly one of uri .* or query/],
    ['dataset with neither uri nor query', TR, tr('bad2', { dataset: {} }), /dataset needs exactly one of uri/],
    ['query without secretRef', TR, tr('bad3', { dataset: { query: 'select * from orders' } }), /dataset.query needs secretRef/],
    ['uri with an unsupported scheme', TR, tr('bad4', { dataset: { uri: 'ftp://host/orders.csv' } }), /dataset.uri must start with s3:\/\/, file:\/\/ or https:\/\//],
    ['minImprovement above 1', TR, tr('bad5', { promotion: { minImprovement: 1.5 } }), /minImprovement is a relative improvement and must be between 0 and 1/],
    ['model not a DNS label', TR, tr('bad6', { model: 'Delivery_ETA' }), /model must be a lowercase DNS label/],
    ['unknown promotion policy', TR, tr('bad7', { promotion: { policy: 'sometimes' } }), /Unsupported value: "sometimes": supported values: "auto", "manual"/],
    ['backoffLimit out of bounds', TR, tr('bad8', { backoffLimit: 50 }), /backoffLimit: Invalid value: 50: spec.backoffLimit in body should be less than or equal to 10/],
    ['resources that are not quantities', TR, tr('bad9', { resources: { limits: { cpu: 'lots' } } }), /must be a Kubernetes quantity such as 500m/],
    ['learningRate of 0', TR, tr('bad10', { trainer: { params: { learningRate: 0 } } }), /learningRate must be greater than 0 and at most 1/],
    ['missing dataset', TR, { apiVersion: 'etaops.io/v1alpha1', kind: 'TrainingRun', metadata: { name: 'bad11' }, spec: { model: 'eta' } }, /spec.dataset: Required value/],
    ['unknown stage', MV, mv('bad12', { stage: 'Staging' }), /Unsupported value: "Staging": supported values: "Candidate", "Production", "Archived"/],
    ['sha256 that is not hex', MV, mv('bad13', { artifact: { uri: 's3://m/1', sha256: 'xyz' } }), /artifact.sha256 must be 64 lowercase hex characters/],
    ['artifact uri over https', MV, mv('bad14', { artifact: { uri: 'https://m/1', sha256: SHA } }), /must be an s3:\/\/bucket\/prefix or file:\/\/\/absolute\/path URI/],
    ['version 0', MV, mv('bad15', { version: 0 }), /should be greater than or equal to 1/],
    ['schedule that is not cron', DC, dc('bad16', { schedule: 'every hour' }), /schedule must be a 5-field cron expression/],
    ['onDrift template for another model', DC, dc('bad17', { onDrift: { template: { model: 'other', dataset: { uri: 's3://d/x' } } } }), /onDrift.template.model must equal spec.model/],
    ['driftShare above 1', DC, dc('bad18', { driftShare: 2 }), /driftShare must be between 0 and 1/],
    ['cooldown not a duration', DC, dc('bad19', { onDrift: { template: { model: 'eta', dataset: { uri: 's3://d/x' } }, cooldown: 'a day' } }), /onDrift.cooldown must be a duration like 30m, 12h or 7d/],
  ];

  for (const [name, gvr, obj, message] of rejected) {
    test(`rejects ${name}`, async () => {
      await assert.rejects(c.create(gvr, NS, obj), (e: unknown) => {
        assert.ok(e instanceof KubeError, String(e));
        assert.equal(e.code, 422, e.message);
        assert.match(e.message, message);
        return true;
      });
    });
  }

  test('immutable fields cannot change (spec.model, spec.dataset, spec.artifact, spec.version)', async () => {
    const run = await c.create<KubeObject & { spec: Record<string, unknown> }>(TR, NS, tr('immut-run', {}));
    await assert.rejects(c.replace(TR, NS, 'immut-run', { ...run, spec: { ...run.spec, model: 'other' } }), /spec.model is immutable: create a new object instead/);
    await assert.rejects(c.replace(TR, NS, 'immut-run', { ...run, spec: { ...run.spec, dataset: { uri: 's3://other/x.csv' } } }), /spec.dataset is immutable/);
    const m = await c.create<KubeObject & { spec: Record<string, unknown> }>(MV, NS, mv('immut-mv', {}));
    await assert.rejects(c.replace(MV, NS, 'immut-mv', { ...m, spec: { ...m.spec, artifact: { uri: 's3://models/eta/2', sha256: SHA } } }), /spec.artifact is immutable/);
    await assert.rejects(c.replace(MV, NS, 'immut-mv', { ...m, spec: { ...m.spec, version: 2 } }), /spec.version is immutable/);
    // …while the stage is meant to change.
    const promoted = await c.replace<KubeObject & { spec: Record<string, unknown> }>(MV, NS, 'immut-mv', { ...m, spec: { ...m.spec, stage: 'Production' } });
    assert.equal(promoted.spec.stage, 'Production');
  });

  test('status is a subresource: a spec update cannot write status', async () => {
    const run = await c.create<KubeObject>(TR, NS, tr('status-run', {}));
    const upd = await c.replace<KubeObject & { status?: unknown }>(TR, NS, 'status-run', { ...run, status: { phase: 'Succeeded' } });
    assert.equal(upd.status, undefined);
    const st = await c.replaceStatus<KubeObject & { status?: { phase?: string } }>(TR, NS, 'status-run', { ...upd, status: { phase: 'Running' } });
    assert.equal(st.status?.phase, 'Running');
  });
});
