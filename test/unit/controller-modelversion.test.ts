import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Deployment } from '@kubernetes/client-node';
import type { ModelVersion } from '../../src/api/index.js';
import type { ControllerConfig } from '../../src/controller/config.js';
import { batchWorkerArgs, buildDeployment, decideModelVersion, rolloutTarget, type ModelVersionObserved } from '../../src/controller/modelversion.js';

const NOW = '2026-12-03T20:00:00Z';
const cfg: ControllerConfig = { image: 'etaops:test', command: ['etaops'], jobServiceAccount: 'etaops-job', artifactSecret: 's3' };
const validated = [{ type: 'Validated', status: 'True' as const, reason: 'ArtifactVerified', message: 'ok', lastTransitionTime: NOW }];

function mv(name: string, version: number, o: { stage?: ModelVersion['spec']['stage']; served?: boolean; mae?: number; holdout?: string; policy?: 'auto' | 'manual'; valid?: boolean; status?: ModelVersion['status'] } = {}): ModelVersion {
  return {
    apiVersion: 'etaops.io/v1alpha1', kind: 'ModelVersion',
    metadata: { name, namespace: 'ns', generation: 1 },
    spec: {
      model: 'eta', version, artifact: { uri: `s3://m/eta/${name}`, sha256: 'a'.repeat(64) },
      metrics: o.mae === undefined ? undefined : { mae: o.mae }, holdout: o.holdout ? { fingerprint: o.holdout } : undefined,
      stage: o.stage ?? 'Candidate', promotion: { policy: o.policy ?? 'auto', metric: 'mae', minImprovement: 0.02 }, serving: { replicas: 2 },
    },
    status: o.status ?? (o.valid === false ? undefined : { conditions: validated, stage: o.served ? 'Production' : 'Candidate' }),
  };
}
function dep(version: string, ready: boolean, replicas = 2): V1Deployment {
  return {
    metadata: { name: 'eta-predictor', generation: 3 },
    spec: { replicas, selector: {}, template: { metadata: { annotations: { 'etaops.io/model-version': version } }, spec: { containers: [{ name: 'predictor', image: 'etaops:test' }] } } },
    status: ready ? { observedGeneration: 3, replicas, updatedReplicas: replicas, availableReplicas: replicas } : { observedGeneration: 3, replicas: replicas + 1, updatedReplicas: 1, availableReplicas: replicas },
  };
}
const obs = (o: Partial<ModelVersionObserved> & { mv: ModelVersion }): ModelVersionObserved => ({ siblings: [], config: cfg, now: NOW, service: {}, ...o });
const champ = mv('v1', 1, { stage: 'Production', served: true, mae: 600, holdout: 'h' });

interface Case { name: string; o: ModelVersionObserved; actions: string[]; phase?: string; reason?: string; stage?: string; check?: (d: ReturnType<typeof decideModelVersion>) => void }
const promoted = (d: ReturnType<typeof decideModelVersion>) => d.status.conditions?.find((c) => c.type === 'Promoted');

const cases: Case[] = [
  { name: 'not validated yet: asks for validation first', o: obs({ mv: mv('v2', 2, { valid: false }) }), actions: ['validate'] },
  { name: 'artifact missing: Invalid, never promoted', o: obs({ mv: mv('v2', 2, { valid: false, stage: 'Production' }), validation: { ok: false, reason: 'ArtifactMissing', message: 's3://m/eta/v2/model.onnx does not exist' } }), actions: [], phase: 'Invalid', reason: 'InvalidArtifact',
    check: (d) => assert.equal(d.status.conditions!.find((c) => c.type === 'Validated')!.reason, 'ArtifactMissing') },
  { name: 'sha mismatch: Invalid', o: obs({ mv: mv('v2', 2, { valid: false }), validation: { ok: false, reason: 'ChecksumMismatch', message: 'differs' } }), actions: [], phase: 'Invalid',
    check: (d) => assert.equal(d.status.conditions!.find((c) => c.type === 'Validated')!.status, 'False') },
  { name: 'validated now, first version, auto: promotes itself', o: obs({ mv: mv('v1', 1, { valid: false, mae: 700 }), validation: { ok: true } }), actions: ['setStage'], reason: 'Promoting' },
  { name: 'auto: better by more than minImprovement on the same holdout → promote', o: obs({ mv: mv('v2', 2, { mae: 580, holdout: 'h' }), siblings: [champ] }), actions: ['setStage'], reason: 'Promoting' },
  { name: 'auto: better but by less than minImprovement → stays Candidate, says what is needed', o: obs({ mv: mv('v2', 2, { mae: 595, holdout: 'h' }), siblings: [champ] }), actions: [], reason: 'NotBetter', phase: 'Validated',
    check: (d) => assert.match(promoted(d)!.message, /needs ≤ 588/) },
  { name: 'auto: different holdout → not comparable', o: obs({ mv: mv('v2', 2, { mae: 100, holdout: 'other' }), siblings: [champ] }), actions: [], reason: 'DifferentHoldout' },
  { name: 'auto: metric missing → NoMetric', o: obs({ mv: mv('v2', 2, { holdout: 'h' }), siblings: [champ] }), actions: [], reason: 'NoMetric' },
  { name: 'auto: evaluated once; not re-evaluated later', o: obs({ mv: mv('v2', 2, { mae: 100, holdout: 'h', status: { conditions: [...validated, { type: 'Promoted', status: 'False', reason: 'NotBetter', message: 'x', lastTransitionTime: NOW, observedGeneration: 1 }] } }), siblings: [champ] }), actions: [] },
  { name: 'auto: a spec change (new generation) re-evaluates', o: obs({ mv: { ...mv('v2', 2, { mae: 100, holdout: 'h', status: { conditions: [...validated, { type: 'Promoted', status: 'False', reason: 'NotBetter', message: 'x', lastTransitionTime: NOW, observedGeneration: 1 }] } }), metadata: { name: 'v2', namespace: 'ns', generation: 2 } }, siblings: [champ] }), actions: ['setStage'] },
  { name: 'auto: no champion yet but another version is being promoted → waits to be compared with it (no self-promotion)', o: obs({ mv: mv('v3', 3, { mae: 500, holdout: 'h' }), siblings: [mv('v2', 2, { stage: 'Production', mae: 600, holdout: 'h' })] }), actions: [], reason: 'ChampionPending', phase: 'Validated',
    check: (d) => assert.match(promoted(d)!.message, /v2 is being promoted/) },
  { name: 'auto: a promotion in flight beside the serving champion → waits for the newer champion', o: obs({ mv: mv('v3', 3, { mae: 500, holdout: 'h' }), siblings: [champ, mv('v2', 2, { stage: 'Production', mae: 550, holdout: 'h' })] }), actions: [], reason: 'ChampionPending' },
  { name: 'auto: a sibling asking for Production whose validation our cache does not show yet → waits too', o: obs({ mv: mv('v3', 3, { mae: 500, holdout: 'h' }), siblings: [mv('v2', 2, { stage: 'Production', valid: false })] }), actions: [], reason: 'ChampionPending' },
  { name: 'auto: an invalid sibling asking for Production is no champion → first version promotes itself', o: obs({ mv: mv('v3', 3, { mae: 500, holdout: 'h' }), siblings: [mv('v2', 2, { stage: 'Production', status: { conditions: [{ type: 'Validated', status: 'False', reason: 'ArtifactMissing', message: 'gone', lastTransitionTime: NOW }] } })] }), actions: ['setStage'], reason: 'Promoting' },
  { name: 'manual policy: waits for a person', o: obs({ mv: mv('v2', 2, { mae: 1, holdout: 'h', policy: 'manual' }), siblings: [champ] }), actions: [], reason: 'AwaitingManualPromotion' },
  { name: 'spec.stage Production, no Deployment: creates it (and the Service)', o: obs({ mv: mv('v2', 2, { stage: 'Production' }), service: undefined }), actions: ['createService', 'applyDeployment'], phase: 'Promoting', reason: 'RollingOut' },
  { name: 'Deployment serves the old version: rolls it', o: obs({ mv: mv('v2', 2, { stage: 'Production' }), siblings: [champ], deployment: dep('v1', true) }), actions: ['applyDeployment'], reason: 'RollingOut',
    check: (d) => { const a = d.actions[0] as { deployment: V1Deployment; create: boolean }; assert.equal(a.create, false); assert.equal(a.deployment.spec!.template.metadata!.annotations!['etaops.io/model-version'], 'v2'); } },
  { name: 'rollout in progress: old version NOT archived yet', o: obs({ mv: mv('v2', 2, { stage: 'Production' }), siblings: [champ], deployment: dep('v2', false) }), actions: [], phase: 'Promoting', reason: 'RollingOut' },
  { name: 'rolled out: Production, old one archived, history recorded', o: obs({ mv: mv('v2', 2, { stage: 'Production' }), siblings: [champ], deployment: dep('v2', true) }), actions: ['setStage'], phase: 'Serving', reason: 'Serving', stage: 'Production',
    check: (d) => {
      assert.deepEqual(d.actions[0], { type: 'setStage', name: 'v1', stage: 'Archived', reason: 'replaced by v2' });
      assert.deepEqual(d.status.history!.map((h) => [h.stage, h.reason]), [['Production', 'Promoted']]);
    } },
  { name: 'manual rollback to an older version: rolled, then recorded as RolledBack', o: obs({ mv: mv('v1', 1, { stage: 'Production', status: { conditions: validated, stage: 'Archived' } }), siblings: [mv('v2', 2, { stage: 'Production', served: true })], deployment: dep('v1', true) }), actions: ['setStage'], stage: 'Production',
    check: (d) => assert.equal(d.status.history!.at(-1)!.reason, 'RolledBack') },
  { name: 'two versions want Production: the newer request is the target, the other waits', o: obs({ mv: mv('v2', 2, { stage: 'Production' }), siblings: [mv('v3', 3, { stage: 'Production' })] }), actions: [], reason: 'Waiting' },
  { name: 'archived by spec: status follows, history says by whom', o: obs({ mv: mv('v1', 1, { stage: 'Archived', served: true }), siblings: [mv('v2', 2, { stage: 'Production', served: false })] }), actions: [], phase: 'Archived', stage: 'Archived',
    check: (d) => assert.equal(d.status.history!.at(-1)!.message, 'replaced by v2') },
  { name: 'steady state: serving, nothing to do', o: obs({ mv: mv('v1', 1, { stage: 'Production', served: true }), deployment: dep('v1', true) }), actions: [], phase: 'Serving' },
  { name: 'the serving version never archives a pending request (e.g. one our cache shows unvalidated)', o: obs({ mv: mv('v1', 1, { stage: 'Production', served: true }), siblings: [mv('v2', 2, { stage: 'Production', valid: false })], deployment: dep('v1', true) }), actions: [], phase: 'Serving' },
  { name: 'no image: cannot serve, says how to fix', o: obs({ mv: mv('v2', 2, { stage: 'Production' }), config: { ...cfg, image: undefined } }), actions: [], reason: 'NoImage' },
];

for (const c of cases) {
  test(`decideModelVersion: ${c.name}`, () => {
    const d = decideModelVersion(c.o);
    assert.deepEqual(d.actions.map((a) => a.type), c.actions);
    if (c.phase) assert.equal(d.status.phase, c.phase);
    if (c.reason) assert.equal(promoted(d)?.reason, c.reason);
    if (c.stage) assert.equal(d.status.stage, c.stage);
    c.check?.(d);
  });
}

test('decideModelVersion: steady state is a fixed point (status unchanged, no actions)', () => {
  const o = obs({ mv: mv('v2', 2, { stage: 'Production' }), siblings: [mv('v1', 1, { stage: 'Archived', status: { conditions: validated, stage: 'Archived' } })], deployment: dep('v2', true) });
  const d1 = decideModelVersion(o);
  const d2 = decideModelVersion({ ...o, mv: { ...o.mv, status: d1.status } });
  assert.deepEqual(d2.actions, []);
  assert.deepEqual(d2.status, d1.status);
});

test('rolloutTarget names the same target whatever the order, even for equal version numbers', () => {
  const a = mv('run-a', 4, { stage: 'Production' });
  const b = mv('run-b', 4, { stage: 'Production' });
  assert.equal(rolloutTarget([a, b, champ])?.metadata.name, 'run-a');
  assert.equal(rolloutTarget([b, champ, a])?.metadata.name, 'run-a');
});

test('rolloutTarget ignores invalid versions', () => {
  assert.equal(rolloutTarget([mv('v9', 9, { stage: 'Production', valid: false }), champ])?.metadata.name, 'v1');
});

test('buildDeployment: zero-downtime rolling update gated on readiness', () => {
  const d = buildDeployment(mv('v2', 2), cfg, 'img:2');
  assert.deepEqual(d.spec!.strategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
  const c = d.spec!.template.spec!.containers[0];
  assert.equal(c.readinessProbe!.httpGet!.path, '/v2/health/ready');
  assert.deepEqual(c.args, ['serve', '--model-uri', 's3://m/eta/v2', '--host', '0.0.0.0', '--port', '9696']);
  assert.equal(d.metadata!.name, 'eta-predictor');
  assert.equal(d.metadata!.ownerReferences, undefined);
});

test('buildDeployment: a predictor CPU limit sets its batch worker threads (one per whole core, 1 to 4)', () => {
  const args = (cpu?: string) => {
    const m = mv('v2', 2);
    const serving = cpu === undefined ? m.spec.serving : { ...m.spec.serving, resources: { limits: { cpu } } };
    return buildDeployment({ ...m, spec: { ...m.spec, serving } }, cfg, 'img:2').spec!.template.spec!.containers[0].args!.slice(7);
  };
  assert.deepEqual(args(), []);
  assert.deepEqual(args('500m'), ['--batch-workers', '1']);
  assert.deepEqual(args('1500m'), ['--batch-workers', '1']);
  assert.deepEqual(args('2'), ['--batch-workers', '2']);
  assert.deepEqual(args('2.5'), ['--batch-workers', '2']);
  assert.deepEqual(args('16'), ['--batch-workers', '4']);
  assert.deepEqual(args('1e3'), [], 'a form the server cannot read as cores leaves its default');
  assert.deepEqual(batchWorkerArgs('3000m'), ['--batch-workers', '3']);
});

test('buildDeployment: predictor pods get the same placement as Job pods', () => {
  const placed = buildDeployment(mv('v2', 2), { ...cfg, jobNodeSelector: { pool: 'ml' }, jobTolerate: ['dedicated'] }, 'img:2').spec!.template.spec!;
  assert.deepEqual(placed.nodeSelector, { pool: 'ml' });
  assert.deepEqual(placed.tolerations, [{ key: 'dedicated', operator: 'Exists' }]);
  const anywhere = buildDeployment(mv('v2', 2), cfg, 'img:2').spec!.template.spec!;
  assert.equal(anywhere.nodeSelector, undefined);
  assert.equal(anywhere.tolerations, undefined);
});

test('buildDeployment: predictors log to the prediction-log database only when one is configured', () => {
  const env = (c: ControllerConfig) => buildDeployment(mv('v2', 2), c, 'img:2').spec!.template.spec!.containers[0].env ?? [];
  const db = env({ ...cfg, predictionLogSecret: 'pg' }).find((e) => e.name === 'ETAOPS_DATABASE_URL');
  assert.deepEqual(db?.valueFrom, { secretKeyRef: { name: 'pg', key: 'DATABASE_URL' } });
  assert.equal(db?.value, undefined, 'by reference, never the value');
  assert.equal(env(cfg).some((e) => e.name === 'ETAOPS_DATABASE_URL'), false);
});
