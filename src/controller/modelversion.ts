/**
 * ModelVersion reconciler: validate the artifact → promote by policy → roll the
 * `<model>-predictor` Deployment + Service → archive the replaced version → history in status.
 *
 * - Validation (once; the artifact is immutable): the model directory's model.onnx exists,
 *   hashes to spec.artifact.sha256, and its input takes as many features as model.json's
 *   feature spec names; read through src/storage with the controller's own S3 credentials.
 *   An invalid version is never served.
 * - spec.stage is the wish, status.stage the fact. Promotion = spec.stage: Production, written
 *   by a person (manual policy, or a rollback to an older version) or by the controller itself
 *   when policy is auto and the version beats the champion (status.stage Production) on the
 *   same holdout by minImprovement (lower metric is better). Auto evaluation happens once per
 *   version, so a later rollback never makes old candidates jump in.
 * - Rollout target of a model = the valid version with spec.stage Production that is not yet
 *   serving (newest version first), else the one serving. Only the target's pass touches the
 *   Deployment: template annotated with the version; RollingUpdate maxUnavailable 0, readiness
 *   probe on the server's /v2/health/ready, so old pods serve until new ones are ready.
 * - Only when the Deployment reports every replica updated and available does the target
 *   become status.stage Production, and the replaced version(s) get spec.stage Archived.
 * - The Deployment has no ownerReference: it outlives any single version. No finalizers:
 *   nothing outside the cluster is created by this reconciler.
 */
import type { V1Deployment, V1EnvVar, V1Service } from '@kubernetes/client-node';
import { type ModelVersion, type ModelVersionStatus, type Stage } from '../api/index.js';
import { getCondition, isoNow, jsonEqual, setCondition } from './conditions.js';
import type { ControllerConfig } from './config.js';
import type { Reconciler, ReconcileResult } from './runtime/controller.js';
import type { Informer } from './runtime/informer.js';
import { GVRS, isAlreadyExists, splitKey, type KubeClient, type KubeObject } from './runtime/kube.js';
import { checkOnnxAgainstSpec } from './onnx-inputs.js';
import type { RegistryLink } from './registry-sync.js';
import { LABEL_MANAGED_BY, LABEL_MODEL, MODELVERSIONS, type Decision } from './trainingrun.js';
import { restrictedContainerFields, restrictedPodFields } from './pod-security.js';
import { crashPoint } from './runtime/crash-points.js';

export const ANNOTATION_VERSION = 'etaops.io/model-version';
export const PREDICTOR_PORT = 9696;
const HISTORY_MAX = 50;

export type Validation = { ok: true } | { ok: false; reason: 'ArtifactMissing' | 'ChecksumMismatch' | 'ArtifactUnreadable' | 'FeatureSpecMismatch'; message: string };

export interface ModelVersionObserved {
  mv: ModelVersion;
  /** Other ModelVersions of the same model in the namespace. */
  siblings: ModelVersion[];
  /** Result of checking the artifact now; undefined when the status already holds one. */
  validation?: Validation;
  deployment?: V1Deployment;
  service?: V1Service;
  config: ControllerConfig;
  now: string;
}

export type ModelVersionAction =
  | { type: 'validate' }
  | { type: 'setStage'; name: string; stage: Stage; reason: string }
  | { type: 'applyDeployment'; deployment: V1Deployment; create: boolean }
  | { type: 'createService'; service: V1Service };

export const predictorName = (model: string) => `${model}-predictor`;

const isValid = (m: ModelVersion) => getCondition(m.status?.conditions, 'Validated')?.status === 'True';
const serving = (m: ModelVersion) => m.status?.stage === 'Production';

/** The version that should be (or stay) behind the model's Deployment, if any. */
export function rolloutTarget(all: ModelVersion[]): ModelVersion | undefined {
  const wanted = all.filter((m) => m.spec.stage === 'Production' && isValid(m) && !m.metadata.deletionTimestamp);
  // Ties broken by name: every pass must name the same target, or two versions take turns
  // rewriting the Deployment forever (seen with duplicate version numbers in the operator bench).
  const fresh = wanted.filter((m) => !serving(m)).sort((a, b) => b.spec.version - a.spec.version || String(a.metadata.name).localeCompare(String(b.metadata.name)));
  return fresh[0] ?? wanted.find(serving);
}

export function buildDeployment(mv: ModelVersion, cfg: ControllerConfig, image: string): V1Deployment {
  const model = mv.spec.model;
  const name = predictorName(model);
  const selector = { [LABEL_MODEL]: model, 'app.kubernetes.io/component': 'predictor' };
  const labels = { ...selector, [LABEL_MANAGED_BY]: 'etaops', 'app.kubernetes.io/name': 'etaops-predictor' };
  const env: V1EnvVar[] = [{ name: 'ETAOPS_MODEL_VERSION', value: `${mv.spec.model}@${mv.spec.version}` }];
  const secret = mv.spec.artifactSecretRef?.name ?? cfg.artifactSecret;
  if (secret) {
    for (const [key, optional] of [['AWS_ACCESS_KEY_ID', false], ['AWS_SECRET_ACCESS_KEY', false], ['AWS_ENDPOINT_URL', true], ['AWS_REGION', true]] as const) {
      env.push({ name: key, valueFrom: { secretKeyRef: { name: secret, key, optional } } });
    }
  }
  // Without a database the predictor logs nothing, and DriftChecks over current.window find no traffic.
  if (cfg.predictionLogSecret) env.push({ name: 'ETAOPS_DATABASE_URL', valueFrom: { secretKeyRef: { name: cfg.predictionLogSecret, key: 'DATABASE_URL' } } });
  const probe = (path: string) => ({ httpGet: { path, port: PREDICTOR_PORT }, periodSeconds: 5, failureThreshold: 3 });
  const serving = mv.spec.serving ?? {};
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: mv.metadata.namespace, labels, annotations: { [ANNOTATION_VERSION]: mv.metadata.name! } },
    spec: {
      replicas: serving.replicas ?? 2,
      selector: { matchLabels: selector },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      minReadySeconds: 5,
      template: {
        metadata: { labels, annotations: { [ANNOTATION_VERSION]: mv.metadata.name!, 'etaops.io/artifact-sha256': mv.spec.artifact.sha256 } },
        spec: {
          automountServiceAccountToken: false,
          // The same placement as Job pods (ETAOPS_JOB_NODE_SELECTOR / ETAOPS_JOB_TOLERATE):
          // predictors need the same nodes that can reach the artifact store.
          nodeSelector: cfg.jobNodeSelector,
          tolerations: cfg.jobTolerate?.map((key) => ({ key, operator: 'Exists' })),
          ...restrictedPodFields(),
          containers: [{
            name: 'predictor',
            image,
            command: cfg.command,
            args: ['serve', '--model-uri', mv.spec.artifact.uri, '--host', '0.0.0.0', '--port', String(PREDICTOR_PORT), ...batchWorkerArgs(serving.resources?.limits?.cpu)],
            env,
            ports: [{ name: 'http', containerPort: PREDICTOR_PORT }],
            readinessProbe: probe('/v2/health/ready'),
            livenessProbe: { ...probe('/v2/health/live'), initialDelaySeconds: 10 },
            resources: serving.resources ? { requests: serving.resources.requests, limits: serving.resources.limits } : undefined,
            ...restrictedContainerFields(),
          }],
        },
      },
    },
  };
}

/**
 * `--batch-workers` for a predictor with this CPU limit: one per whole core, 1 to 4. The server
 * counts the node's cores, which a container's limit does not change; without a limit (or
 * one written in a form other than 2, 1.5 or 500m) the server's own default stands.
 */
export function batchWorkerArgs(cpuLimit: string | undefined): string[] {
  const m = /^(\d+(?:\.\d+)?)(m?)$/.exec(cpuLimit ?? '');
  if (!m) return [];
  const cores = Number(m[1]) / (m[2] === 'm' ? 1000 : 1);
  return ['--batch-workers', String(Math.min(4, Math.max(1, Math.floor(cores))))];
}

export function buildService(mv: ModelVersion): V1Service {
  const model = mv.spec.model;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: predictorName(model), namespace: mv.metadata.namespace, labels: { [LABEL_MODEL]: model, [LABEL_MANAGED_BY]: 'etaops' } },
    spec: {
      selector: { [LABEL_MODEL]: model, 'app.kubernetes.io/component': 'predictor' },
      ports: [{ name: 'http', port: 80, targetPort: PREDICTOR_PORT }],
    },
  };
}

/** Every replica runs the given version's template and is available. */
export function rolledOut(d: V1Deployment | undefined, mvName: string): boolean {
  if (!d || d.spec?.template.metadata?.annotations?.[ANNOTATION_VERSION] !== mvName) return false;
  const want = d.spec?.replicas ?? 1;
  const s = d.status ?? {};
  return (s.observedGeneration ?? 0) >= (d.metadata?.generation ?? 1)
    && (s.updatedReplicas ?? 0) >= want && (s.availableReplicas ?? 0) >= want && (s.replicas ?? 0) === (s.updatedReplicas ?? 0);
}

function pushHistory(st: ModelVersionStatus, stage: Stage, reason: string, message: string, now: string): void {
  st.history = [...(st.history ?? []), { stage, time: now, reason, message }].slice(-HISTORY_MAX);
}

/** Pure: the actions and status for one ModelVersion. */
export function decideModelVersion(o: ModelVersionObserved): Decision<ModelVersionAction, ModelVersionStatus> {
  const { mv, now } = o;
  const gen = mv.metadata.generation;
  const status: ModelVersionStatus = { ...(mv.status ?? {}), observedGeneration: gen };
  const cond = (type: string, s: 'True' | 'False' | 'Unknown', reason: string, message: string) => {
    status.conditions = setCondition(status.conditions, { type, status: s, reason, message }, gen, now);
  };
  const actions: ModelVersionAction[] = [];
  if (mv.metadata.deletionTimestamp) return { actions, status: mv.status ?? {} };
  status.stage ??= 'Candidate';

  // 1. Validation, once.
  const validated = getCondition(status.conditions, 'Validated');
  if (!validated) {
    if (!o.validation) return { actions: [{ type: 'validate' }], status };
    if (o.validation.ok) cond('Validated', 'True', 'ArtifactVerified', `model.onnx at ${mv.spec.artifact.uri} exists and matches sha256 ${mv.spec.artifact.sha256.slice(0, 12)}…`);
    else cond('Validated', 'False', o.validation.reason, o.validation.message);
  }
  if (getCondition(status.conditions, 'Validated')?.status !== 'True') {
    status.phase = 'Invalid';
    if (mv.spec.stage === 'Production') cond('Promoted', 'False', 'InvalidArtifact', 'cannot serve this version: its artifact failed validation');
    return { actions, status };
  }
  const self: ModelVersion = { ...mv, status };
  const all = [self, ...o.siblings];
  const champion = o.siblings.find(serving);

  // 2. Spec says Archived: record it (the Deployment is left to whichever version replaces us).
  if (mv.spec.stage === 'Archived') {
    if (status.stage !== 'Archived') {
      const by = rolloutTarget(all);
      pushHistory(status, 'Archived', by ? 'Replaced' : 'Archived', by ? `replaced by ${by.metadata.name}` : 'archived by spec.stage', now);
      status.stage = 'Archived';
    }
    status.phase = 'Archived';
    cond('Promoted', 'False', 'Archived', 'this version is archived');
    return { actions, status };
  }

  // 3. Candidate: auto policy decides once against the champion on the same holdout.
  if (mv.spec.stage !== 'Production') {
    status.phase = 'Validated';
    const promo = mv.spec.promotion ?? {};
    if ((promo.policy ?? 'auto') === 'manual') {
      cond('Promoted', 'False', 'AwaitingManualPromotion', 'policy is manual: set spec.stage to Production to serve this version');
      return { actions, status };
    }
    const prior = getCondition(status.conditions, 'Promoted');
    // Decided already for this generation (editing spec.promotion asks again).
    if (prior && ['NotBetter', 'DifferentHoldout', 'NoMetric'].includes(prior.reason) && prior.observedGeneration === gen) return { actions, status };
    // A sibling already on its way to Production is the champion to beat: compare with it once
    // it serves. Without this, a burst of candidates validated before the first rollout ends
    // all promote themselves as "first version" (seen in the operator bench).
    // Not yet validated counts (our cache may show its spec.stage before its status): only a
    // version known to be invalid never becomes champion.
    const inFlight = o.siblings.find((m) => m.spec.stage === 'Production' && !serving(m) && !m.metadata.deletionTimestamp && getCondition(m.status?.conditions, 'Validated')?.status !== 'False');
    if (inFlight) {
      cond('Promoted', 'Unknown', 'ChampionPending', `auto policy: ${inFlight.metadata.name} is being promoted; this version is compared with it once it serves`);
      return { actions, status };
    }
    const metric = promo.metric ?? 'mae';
    const minImp = promo.minImprovement ?? 0.01;
    if (!champion) {
      actions.push({ type: 'setStage', name: mv.metadata.name!, stage: 'Production', reason: 'first version of the model' });
      cond('Promoted', 'Unknown', 'Promoting', 'auto policy: no version is in Production yet; promoting this one');
      return { actions, status };
    }
    const mine = mv.spec.metrics?.[metric];
    const theirs = champion.spec.metrics?.[metric];
    if (mine === undefined || theirs === undefined) {
      cond('Promoted', 'False', 'NoMetric', `cannot compare: ${metric} is missing on ${mine === undefined ? 'this version' : champion.metadata.name}`);
      return { actions, status };
    }
    const hMine = mv.spec.holdout?.fingerprint;
    const hTheirs = champion.spec.holdout?.fingerprint;
    if (hMine && hTheirs && hMine !== hTheirs) {
      cond('Promoted', 'False', 'DifferentHoldout', `not comparable with ${champion.metadata.name}: different holdout sets (${hMine} vs ${hTheirs}); promote by hand if intended`);
      return { actions, status };
    }
    const needed = theirs * (1 - minImp);
    if (mine <= needed) {
      actions.push({ type: 'setStage', name: mv.metadata.name!, stage: 'Production', reason: `${metric} ${mine} beats ${theirs}` });
      cond('Promoted', 'Unknown', 'Promoting', `auto policy: ${metric} ${fmt(mine)} beats champion ${champion.metadata.name} (${fmt(theirs)}) by at least ${minImp * 100}%`);
    } else {
      cond('Promoted', 'False', 'NotBetter', `auto policy: ${metric} ${fmt(mine)} does not beat champion ${champion.metadata.name} (${fmt(theirs)}) by ${minImp * 100}%: needs ≤ ${fmt(needed)}`);
    }
    return { actions, status };
  }

  // 4. spec.stage Production: roll the Deployment if we are the target.
  const target = rolloutTarget(all);
  if (!target || target.metadata.name !== mv.metadata.name) {
    status.phase = serving(self) ? 'Serving' : 'Promoting';
    cond('Promoted', 'Unknown', 'Waiting', `waiting for the rollout of ${target?.metadata.name ?? 'another version'} to finish`);
    return { actions, status };
  }
  const image = mv.spec.serving?.image ?? o.config.image;
  if (!image) {
    status.phase = 'Promoting';
    cond('Promoted', 'False', 'NoImage', "no predictor image: set spec.serving.image or the controller's ETAOPS_IMAGE");
    return { actions, status };
  }
  if (!o.service) actions.push({ type: 'createService', service: buildService(mv) });
  const desired = buildDeployment(mv, o.config, image);
  const d = o.deployment;
  const current = d?.spec?.template.metadata?.annotations?.[ANNOTATION_VERSION];
  if (!d || current !== mv.metadata.name || d.spec?.replicas !== desired.spec!.replicas || d.spec?.template.spec?.containers[0]?.image !== image) {
    actions.push({ type: 'applyDeployment', deployment: desired, create: !d });
    status.phase = 'Promoting';
    cond('Promoted', 'Unknown', 'RollingOut', `rolling ${predictorName(mv.spec.model)} to ${mv.metadata.name}${current && current !== mv.metadata.name ? ` (from ${current})` : ''}`);
    return { actions, status };
  }
  if (!rolledOut(d, mv.metadata.name!)) {
    status.phase = 'Promoting';
    const s = d.status ?? {};
    cond('Promoted', 'Unknown', 'RollingOut', `waiting for ${predictorName(mv.spec.model)}: ${s.updatedReplicas ?? 0} updated, ${s.availableReplicas ?? 0} available of ${d.spec?.replicas ?? 1}`);
    return { actions, status };
  }
  // Rolled out: we serve; whoever served before is archived now (not earlier).
  if (status.stage !== 'Production') {
    const older = champion && champion.spec.version > mv.spec.version;
    pushHistory(status, 'Production', older ? 'RolledBack' : 'Promoted', champion ? `replaced ${champion.metadata.name}` : 'first version served', now);
    status.stage = 'Production';
  }
  // Archive only what was serving. A version that merely asks for Production (perhaps not
  // validated yet in our cache) is a pending request: it becomes the next rollout target.
  for (const other of o.siblings) {
    if (serving(other) && other.spec.stage !== 'Archived') actions.push({ type: 'setStage', name: other.metadata.name!, stage: 'Archived', reason: `replaced by ${mv.metadata.name}` });
  }
  status.phase = 'Serving';
  status.deployment = predictorName(mv.spec.model);
  cond('Promoted', 'True', 'Serving', `${predictorName(mv.spec.model)} serves this version on every replica`);
  return { actions, status };
}

function fmt(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(3);
}

// ----------------------------------------------------------------------------- act

export type ArtifactChecker = (mv: ModelVersion) => Promise<Validation>;

/** Checks model.onnx through src/storage (loaded lazily: the S3 SDK is heavy). */
export const storageChecker: ArtifactChecker = async (mv) => {
  const storage = await import('../storage/index.js').catch(() => undefined);
  const open = await import('../storage/open.js').catch(() => undefined);
  if (!storage || !open) return { ok: false, reason: 'ArtifactUnreadable', message: 'artifact storage module unavailable' };
  const uri = `${mv.spec.artifact.uri.replace(/\/+$/, '')}/model.onnx`;
  try {
    const store = open.openArtifactStore(mv.spec.artifact.uri);
    const onnx = await store.get(uri, { expectedSha256: mv.spec.artifact.sha256 });
    const metaUri = `${mv.spec.artifact.uri.replace(/\/+$/, '')}/model.json`;
    let meta: unknown;
    try {
      meta = JSON.parse((await store.get(metaUri)).toString('utf8'));
    } catch (e) {
      if (e instanceof storage.ArtifactNotFoundError) return { ok: false, reason: 'ArtifactMissing', message: `${metaUri} does not exist` };
      if (e instanceof SyntaxError) return { ok: false, reason: 'FeatureSpecMismatch', message: `${metaUri} is not JSON` };
      throw e;
    }
    const why = checkOnnxAgainstSpec(onnx, meta);
    if (why) return { ok: false, reason: 'FeatureSpecMismatch', message: why };
    return { ok: true };
  } catch (e) {
    if (e instanceof storage.ArtifactNotFoundError) return { ok: false, reason: 'ArtifactMissing', message: `${uri} does not exist` };
    if (e instanceof storage.ChecksumMismatchError) return { ok: false, reason: 'ChecksumMismatch', message: `${uri} does not match sha256 ${mv.spec.artifact.sha256}: ${(e as Error).message}` };
    throw e; // transient (network, credentials): retried with backoff
  }
};

export class ModelVersionReconciler implements Reconciler {
  readonly kind = 'ModelVersion';
  constructor(
    private readonly client: KubeClient,
    private readonly versions: Informer<ModelVersion & KubeObject>,
    private readonly deployments: Informer<V1Deployment & KubeObject>,
    private readonly services: Informer<V1Service & KubeObject>,
    private readonly config: ControllerConfig,
    private readonly check: ArtifactChecker = storageChecker,
    private readonly log: (m: string) => void = () => {},
    private readonly registry?: RegistryLink,
  ) {}

  /**
   * spec.stage values this process wrote that the cache may not show yet (namespace/name →
   * stage). Workers decide concurrently from the cache: without this, two candidates validated
   * at the same moment both see no promotion in flight and both promote themselves.
   */
  private readonly stageWrites = new Map<string, Stage>();

  /** The model's other versions, with our own not-yet-observed spec.stage writes applied. */
  private siblingsOf(namespace: string, mv: ModelVersion & KubeObject): ModelVersion[] {
    return this.versions.list(namespace).filter((m) => m.spec.model === mv.spec.model && m.metadata.name !== mv.metadata.name).map((m) => {
      const k = `${namespace}/${m.metadata.name}`;
      const wrote = this.stageWrites.get(k);
      if (!wrote) return m;
      if (m.spec.stage === wrote) {
        this.stageWrites.delete(k); // the cache caught up
        return m;
      }
      return { ...m, spec: { ...m.spec, stage: wrote } };
    });
  }

  async reconcile(key: string): Promise<ReconcileResult | void> {
    const mv = this.versions.getByKey(key);
    if (!mv) return;
    const { namespace } = splitKey(key);
    const name = predictorName(mv.spec.model);
    // Synchronous from reading the cache to recording our stage writes (no await in between).
    const observe = (validation?: Validation) => decideModelVersion({
      mv, siblings: this.siblingsOf(namespace, mv), validation, deployment: this.deployments.get(namespace, name), service: this.services.get(namespace, name), config: this.config, now: isoNow(),
    });
    let d = observe();
    if (d.actions.some((a) => a.type === 'validate')) d = observe(await this.check(mv));
    for (const a of d.actions) if (a.type === 'setStage') this.stageWrites.set(`${namespace}/${a.name}`, a.stage);
    for (const a of d.actions) {
      if (a.type === 'setStage') {
        try {
          await this.client.mergePatch(MODELVERSIONS, namespace, a.name, { spec: { stage: a.stage } });
        } catch (e) {
          this.stageWrites.delete(`${namespace}/${a.name}`);
          throw e;
        }
        this.log(`ModelVersion ${namespace}/${a.name}: spec.stage → ${a.stage} (${a.reason})`);
        crashPoint('ModelVersion/setStage');
      } else if (a.type === 'createService') {
        await this.client.create(GVRS.services, namespace, a.service).catch((e: unknown) => { if (!isAlreadyExists(e)) throw e; });
        crashPoint('ModelVersion/createService');
      } else if (a.type === 'applyDeployment') {
        const cur = this.deployments.get(namespace, a.deployment.metadata!.name!);
        if (!cur) {
          await this.client.create(GVRS.deployments, namespace, a.deployment).catch((e: unknown) => { if (!isAlreadyExists(e)) throw e; });
        } else {
          // Replace our fields on the observed object (its resourceVersion guards against races).
          await this.client.replace(GVRS.deployments, namespace, a.deployment.metadata!.name!, {
            ...cur,
            metadata: { ...cur.metadata, labels: a.deployment.metadata!.labels, annotations: { ...cur.metadata.annotations, ...a.deployment.metadata!.annotations } },
            spec: { ...cur.spec, replicas: a.deployment.spec!.replicas, strategy: a.deployment.spec!.strategy, minReadySeconds: a.deployment.spec!.minReadySeconds, template: a.deployment.spec!.template },
          });
        }
        this.log(`ModelVersion ${key}: rolling ${a.deployment.metadata!.name}`);
        crashPoint('ModelVersion/applyDeployment');
      }
    }
    // Record a stage change in the registry before the status that reports it (a crash in
    // between repeats the call, which the registry treats as a no-op).
    if (this.registry && d.status.stage && d.status.stage !== (mv.status?.stage ?? 'Candidate')) {
      const h = d.status.history?.at(-1);
      await this.registry.transition(mv.spec.model, mv.spec.version, d.status.stage, `${key}: ${h?.reason ?? d.status.stage}${h?.message ? ` (${h.message})` : ''}`);
      crashPoint('ModelVersion/registryTransition');
    }
    if (!jsonEqual(d.status, mv.status ?? {})) {
      await this.client.replaceStatus(MODELVERSIONS, namespace, mv.metadata.name!, { ...mv, status: d.status });
      crashPoint('ModelVersion/status');
    }
    return d.requeueAfterMs !== undefined ? { requeueAfterMs: d.requeueAfterMs } : undefined;
  }
}
