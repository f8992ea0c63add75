/**
 * Every pod the operator creates runs restricted with a read-only root filesystem, and has a
 * writable /tmp: `etaops train`, `etaops drift` and `etaops serve --model-uri` stage files
 * there (without it they fail with EROFS on a real node).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1PodSpec } from '@kubernetes/client-node';
import type { DriftCheck, ModelVersion, TrainingRun } from '../../src/api/index.js';
import type { ControllerConfig } from '../../src/controller/config.js';
import { buildDriftJob } from '../../src/controller/driftcheck.js';
import { buildDeployment } from '../../src/controller/modelversion.js';
import { buildJob } from '../../src/controller/trainingrun.js';

const cfg: ControllerConfig = { image: 'etaops:test', command: ['etaops'], jobServiceAccount: 'etaops-job', artifactRoot: 's3://m' };
const run: TrainingRun = { apiVersion: 'etaops.io/v1alpha1', kind: 'TrainingRun', metadata: { name: 'r1', namespace: 'ns', uid: 'u1' }, spec: { model: 'eta', dataset: { uri: 's3://d/x.csv' } } };
const version: ModelVersion = { apiVersion: 'etaops.io/v1alpha1', kind: 'ModelVersion', metadata: { name: 'eta-v1', namespace: 'ns' }, spec: { model: 'eta', version: 1, artifact: { uri: 's3://m/eta/v1', sha256: 'a'.repeat(64) } } };
const check: DriftCheck = { apiVersion: 'etaops.io/v1alpha1', kind: 'DriftCheck', metadata: { name: 'd1', namespace: 'ns', uid: 'u2' }, spec: { model: 'eta' } };

const pods: Array<[string, V1PodSpec]> = [
  ['training Job', buildJob(run, cfg, 'img:1', 's3://m/').spec!.template.spec!],
  ['predictor Deployment', buildDeployment(version, cfg, 'img:1').spec!.template.spec!],
  ['drift Job', buildDriftJob({ dc: check, jobs: [], pods: [], reference: version, config: cfg, now: '2026-12-03T10:00:00Z' }, 'd1-1', 's3://m/eta/v1', 'img:1').spec!.template.spec!],
];

for (const [what, pod] of pods) {
  test(`${what}: non-root, no escalation, read-only root, writable /tmp from an emptyDir`, () => {
    assert.equal(pod.securityContext?.runAsNonRoot, true);
    assert.equal(pod.securityContext?.seccompProfile?.type, 'RuntimeDefault');
    for (const c of pod.containers) {
      assert.equal(c.securityContext?.readOnlyRootFilesystem, true, c.name);
      assert.equal(c.securityContext?.allowPrivilegeEscalation, false, c.name);
      assert.deepEqual(c.securityContext?.capabilities?.drop, ['ALL'], c.name);
      const tmp = c.volumeMounts?.find((m) => m.mountPath === '/tmp');
      assert.ok(tmp, `${c.name} mounts /tmp`);
      const vol = pod.volumes?.find((v) => v.name === tmp.name);
      assert.ok(vol?.emptyDir, `/tmp of ${c.name} is an emptyDir`);
    }
  });
}
