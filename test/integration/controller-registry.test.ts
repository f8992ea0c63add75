/**
 * The operator with the model registry (src/registry, embedded PGlite here) against a real
 * kube-apiserver: a finished TrainingRun's ModelVersion takes the registry's version number
 * (which knows versions registered outside the cluster), and its promotion is recorded in the
 * registry's stage history by the controller.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import type { ModelVersion, TrainingRun } from '../../src/api/index.js';
import type { ControllerConfig } from '../../src/controller/config.js';
import { linkRegistry } from '../../src/controller/registry-sync.js';
import { GVRS, resourcePath, type KubeClient, type KubeObject } from '../../src/controller/runtime/kube.js';
import type { Manager } from '../../src/controller/runtime/manager.js';
import { buildOperator } from '../../src/controller/setup.js';
import { MODELVERSIONS, TRAININGRUNS } from '../../src/controller/trainingrun.js';
import { Registry } from '../../src/registry/index.js';
import { deleteNamespace, ensureNamespace, installCRDs, SKIP, testClient, tinyOnnx, uniqueNamespace, waitFor } from './controller-helpers.js';

const NS = uniqueNamespace('etaops-reg-test');
const config: ControllerConfig = { image: 'etaops:test', command: ['etaops'], artifactRoot: 'file:///tmp', jobServiceAccount: 'etaops-job', jobNodeSelector: { 'etaops.io/test-hold': 'true' } };

describe('operator + model registry on a real API server', { skip: SKIP }, () => {
  let c: KubeClient;
  let mgr: Manager;
  let reg: Registry;
  let dir: string;
  before(async () => {
    c = testClient();
    await installCRDs(c);
    await ensureNamespace(c, NS);
    dir = mkdtempSync(join(tmpdir(), 'etaops-reg-'));
    reg = await Registry.open('memory://');
    mgr = buildOperator({ client: testClient(), config, namespace: NS, workers: 2, registry: linkRegistry(reg) });
    await mgr.start();
  });
  after(async () => {
    await mgr?.stop();
    await reg?.close();
    await deleteNamespace(c, NS);
    c.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('version numbers come from the registry; the promotion is in its stage history', async () => {
    // A version registered outside the cluster (e.g. `etaops train` on a laptop) takes number 1.
    await reg.registerVersion({ model: 'eta', artifactUri: 'file:///elsewhere', sha256: 'e'.repeat(64), who: 'laptop' });
    const d = join(dir, 'm');
    mkdirSync(d);
    const onnx = tinyOnnx(3);
    writeFileSync(join(d, 'model.onnx'), onnx);
    writeFileSync(join(d, 'model.json'), JSON.stringify({ featureSpec: { names: ['a', 'b', 'c'] }, onnx: { inputName: 'features' } }));
    const sha = createHash('sha256').update(onnx).digest('hex');
    await c.create(TRAININGRUNS, NS, { apiVersion: 'etaops.io/v1alpha1', kind: 'TrainingRun', metadata: { name: 'reg-run' }, spec: { model: 'eta', dataset: { uri: 's3://d/x.csv' }, backoffLimit: 0 } });
    const pod = await waitFor('the training pod', async () => (await c.list<V1Pod & KubeObject>(GVRS.pods, NS, { labelSelector: 'batch.kubernetes.io/job-name=reg-run-train' })).items[0]);
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const result = { artifact: { uri: `file://${d}`, sha256: sha }, metrics: { mae: 610 }, dataFingerprint: 'fp' };
    await c.mergePatch(GVRS.pods, NS, pod.metadata.name!, { status: { phase: 'Succeeded', containerStatuses: [{ name: 'train', image: 'etaops:test', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed', message: JSON.stringify(result), startedAt: now, finishedAt: now } } }] } }, 'status');
    await waitFor('run Succeeded', async () => ((await c.get<TrainingRun & KubeObject>(TRAININGRUNS, NS, 'reg-run')).status?.phase === 'Succeeded' ? true : undefined));
    const mv = await c.get<ModelVersion & KubeObject>(MODELVERSIONS, NS, 'reg-run');
    assert.equal(mv.spec.version, 2, 'the registry numbered it after the laptop version');
    const inReg = await reg.getVersion('eta', 2);
    assert.equal(inReg.sha256, sha);
    assert.equal(inReg.lineage.trainingRun, `${NS}/reg-run`);
    // First version in the cluster: auto-promoted and rolled out. The operator's pods carry the
    // test-hold selector (so kwok cannot complete the training pod before the test reports its
    // result); the test schedules the predictor pods onto kwok's node itself, and kwok makes it Ready.
    const bindHeldPredictorPods = async () => {
      const held = (await c.list<V1Pod & KubeObject>(GVRS.pods, NS)).items.filter((p) => p.metadata.name!.startsWith('eta-predictor-') && !p.spec?.nodeName);
      for (const p of held) {
        await c.request('POST', resourcePath(GVRS.pods, NS, p.metadata.name!, 'binding'), {
          body: { apiVersion: 'v1', kind: 'Binding', metadata: { name: p.metadata.name }, target: { apiVersion: 'v1', kind: 'Node', name: 'fake-node' } },
        });
      }
    };
    await waitFor('Serving', async () => {
      await bindHeldPredictorPods();
      return (await c.get<ModelVersion & KubeObject>(MODELVERSIONS, NS, 'reg-run')).status?.phase === 'Serving' ? true : undefined;
    }, 120_000);
    assert.equal((await reg.getProduction('eta'))?.version, 2);
    const hist = await reg.stageHistory('eta', 2);
    assert.deepEqual(hist.map((h) => [h.toStage, h.who]), [['Candidate', 'etaops-controller'], ['Production', 'etaops-controller']]);
    assert.match(hist[1].why, /Promoted/);
  });
});
