/**
 * The ModelVersion reconciler against a real kube-apiserver + controller-manager + scheduler +
 * kwok (which makes predictor pods Running and Ready on fake-node). Artifacts are real model
 * directories on disk (file://), verified through src/storage.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { V1Deployment } from '@kubernetes/client-node';
import type { ModelVersion } from '../../src/api/index.js';
import type { ControllerConfig } from '../../src/controller/config.js';
import { MODELVERSIONS } from '../../src/controller/trainingrun.js';
import { GVRS, type KubeClient, type KubeObject } from '../../src/controller/runtime/kube.js';
import type { Manager } from '../../src/controller/runtime/manager.js';
import { buildOperator } from '../../src/controller/setup.js';
import { deleteNamespace, ensureNamespace, getOrUndefined, installCRDs, SKIP, testClient, tinyOnnx, uniqueNamespace, waitFor } from './controller-helpers.js';

const NS = uniqueNamespace('etaops-mv-test');
const config: ControllerConfig = { image: 'etaops:test', command: ['etaops'], jobServiceAccount: 'etaops-job' };
type MV = ModelVersion & KubeObject;

describe('ModelVersion reconciler on a real API server', { skip: SKIP }, () => {
  let c: KubeClient;
  let mgr: Manager;
  let dir: string;
  before(async () => {
    c = testClient();
    await installCRDs(c);
    await ensureNamespace(c, NS);
    dir = mkdtempSync(join(tmpdir(), 'etaops-mv-'));
    mgr = buildOperator({ client: testClient(), config, namespace: NS, workers: 2, log: (m) => process.env.ETAOPS_DEBUG && process.stderr.write(`${m}\n`) });
    await mgr.start();
  });
  after(async () => {
    await mgr.stop();
    await deleteNamespace(c, NS);
    c.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A real model directory (ONNX from the project's exporter); its URI and model.onnx's sha256. */
  function artifact(name: string, specFeatures = 4): { uri: string; sha256: string } {
    const d = join(dir, name);
    mkdirSync(d, { recursive: true });
    const bytes = tinyOnnx(4);
    writeFileSync(join(d, 'model.onnx'), bytes);
    writeFileSync(join(d, 'model.json'), JSON.stringify({ featureSpec: { names: Array.from({ length: specFeatures }, (_, i) => `f${i}`) }, onnx: { inputName: 'features', numFeatures: specFeatures } }));
    return { uri: `file://${d}`, sha256: createHash('sha256').update(bytes).digest('hex') };
  }
  const create = (name: string, version: number, mae: number, art = artifact(name), extra: Record<string, unknown> = {}) =>
    c.create<MV>(MODELVERSIONS, NS, { apiVersion: 'etaops.io/v1alpha1', kind: 'ModelVersion', metadata: { name }, spec: { model: 'eta', version, artifact: art, metrics: { mae }, holdout: { fingerprint: 'h1' }, serving: { replicas: 2 }, ...extra } });
  const until = (name: string, what: string, ok: (m: MV) => boolean, timeoutMs = 90_000) =>
    waitFor(`${name}: ${what}`, async () => {
      const m = await c.get<MV>(MODELVERSIONS, NS, name);
      return ok(m) ? m : undefined;
    }, timeoutMs);
  const deployedVersion = async () => (await getOrUndefined<V1Deployment & KubeObject>(c, GVRS.deployments, NS, 'eta-predictor'))?.spec?.template.metadata?.annotations?.['etaops.io/model-version'];

  test('first version: validated, auto-promoted, predictor Deployment + Service rolled out, then Serving', async () => {
    await create('eta-v1', 1, 600);
    const m = await until('eta-v1', 'Serving', (x) => x.status?.phase === 'Serving', 120_000);
    assert.equal(m.spec.stage, 'Production');
    assert.equal(m.status?.stage, 'Production');
    assert.equal(m.status?.conditions?.find((x) => x.type === 'Validated')?.reason, 'ArtifactVerified');
    assert.deepEqual(m.status?.history?.map((h) => [h.stage, h.reason]), [['Production', 'Promoted']]);
    const d = await c.get<V1Deployment & KubeObject>(GVRS.deployments, NS, 'eta-predictor');
    assert.equal(d.spec?.template.metadata?.annotations?.['etaops.io/model-version'], 'eta-v1');
    assert.deepEqual(d.spec?.strategy?.rollingUpdate, { maxUnavailable: 0, maxSurge: 1 });
    assert.ok(await getOrUndefined(c, GVRS.services, NS, 'eta-predictor'), 'Service created');
  });

  test('a better challenger on the same holdout is promoted; the champion is archived only after the rollout', async () => {
    await create('eta-v2', 2, 500);
    const v2 = await until('eta-v2', 'Serving', (x) => x.status?.phase === 'Serving', 120_000);
    assert.equal(await deployedVersion(), 'eta-v2');
    const v1 = await until('eta-v1', 'Archived', (x) => x.status?.stage === 'Archived');
    assert.equal(v1.spec.stage, 'Archived');
    assert.equal(v1.status?.history?.at(-1)?.message, 'replaced by eta-v2');
    const served = Date.parse(v2.status!.history!.at(-1)!.time);
    const archived = Date.parse(v1.status!.history!.at(-1)!.time);
    assert.ok(archived >= served, 'archived no earlier than the new version served');
  });

  test('a challenger that is not better enough stays Candidate and says why', async () => {
    await create('eta-v3', 3, 499);
    const m = await until('eta-v3', 'evaluated', (x) => x.status?.conditions?.some((k) => k.type === 'Promoted') ?? false);
    assert.equal(m.status?.conditions?.find((k) => k.type === 'Promoted')?.reason, 'NotBetter');
    assert.equal(m.spec.stage, 'Candidate');
    assert.equal(await deployedVersion(), 'eta-v2');
  });

  test('a missing artifact, a sha256 mismatch and ONNX inputs that do not fit the feature spec make the version Invalid, never served', async () => {
    await create('eta-v4', 4, 1, { uri: `file://${dir}/nowhere`, sha256: 'a'.repeat(64) });
    const art = artifact('eta-v5');
    await create('eta-v5', 5, 1, { uri: art.uri, sha256: 'b'.repeat(64) });
    await create('eta-v6', 6, 1, artifact('eta-v6', 5));
    const v4 = await until('eta-v4', 'Invalid', (x) => x.status?.phase === 'Invalid');
    const v5 = await until('eta-v5', 'Invalid', (x) => x.status?.phase === 'Invalid');
    const v6 = await until('eta-v6', 'Invalid', (x) => x.status?.phase === 'Invalid');
    assert.equal(v4.status?.conditions?.find((k) => k.type === 'Validated')?.reason, 'ArtifactMissing');
    assert.equal(v5.status?.conditions?.find((k) => k.type === 'Validated')?.reason, 'ChecksumMismatch');
    const bad = v6.status?.conditions?.find((k) => k.type === 'Validated');
    assert.equal(bad?.reason, 'FeatureSpecMismatch');
    assert.match(bad!.message, /takes 4 features but model.json's feature spec has 5/);
    assert.equal(await deployedVersion(), 'eta-v2');
  });

  test('manual rollback: spec.stage Production on the old version rolls back and archives the newer', async () => {
    const v1 = await c.get<MV>(MODELVERSIONS, NS, 'eta-v1');
    await c.mergePatch(MODELVERSIONS, NS, 'eta-v1', { spec: { stage: 'Production' } });
    const back = await until('eta-v1', 'Serving again', (x) => x.status?.phase === 'Serving', 120_000);
    assert.equal(back.status?.history?.at(-1)?.reason, 'RolledBack');
    assert.ok(back.metadata.generation! > v1.metadata.generation!);
    assert.equal(await deployedVersion(), 'eta-v1');
    await until('eta-v2', 'Archived', (x) => x.status?.stage === 'Archived' && x.spec.stage === 'Archived');
  });
});
