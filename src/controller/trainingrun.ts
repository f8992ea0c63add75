/**
 * TrainingRun reconciler: TrainingRun → batch/v1 Job `<run>-train` → ModelVersion `<run>`.
 *
 * How the result comes back (and survives controller restarts): the trainer writes its JSON
 * result (artifact URI, sha256, metrics, fingerprints) to $ETAOPS_RESULT_FILE, which the Job
 * sets to /dev/termination-log; the kubelet copies it into the Pod's status
 * (containerStatuses[].state.terminated.message, ≤4 KiB). The controller reads it from the API,
 * so nothing lives in controller memory: after a restart the next pass reads the same Pod.
 * terminationMessagePolicy FallbackToLogsOnError puts the last log lines there when the trainer
 * fails without writing a result: that is the failure message in the run's condition.
 * The Job (and its pods) is kept ttlSecondsAfterFinished; a controller down for longer than
 * that loses the outcome and marks the run Failed/JobLost (retry by re-creating the run).
 *
 * Names are deterministic so a restart never duplicates: Job `<run>-train`, ModelVersion
 * `<run>` (creation is idempotent through AlreadyExists). The ModelVersion has NO
 * ownerReference to the run: deleting an old run must not garbage-collect the model in
 * Production; it carries the run in a label and in spec.lineage instead.
 */
import { createHash } from 'node:crypto';
import type { V1Job, V1Pod, V1EnvVar } from '@kubernetes/client-node';
import { API_VERSION, type ModelVersion, type TrainingRun, type TrainingRunStatus } from '../api/index.js';
import { isoNow, jsonEqual, setCondition, truncate } from './conditions.js';
import type { ControllerConfig } from './config.js';
import type { Reconciler, ReconcileResult } from './runtime/controller.js';
import type { Informer } from './runtime/informer.js';
import type { RegistryLink } from './registry-sync.js';
import { GVRS, isAlreadyExists, splitKey, type GVR, type KubeClient, type KubeObject } from './runtime/kube.js';
import { restrictedContainerFields, restrictedPodFields } from './pod-security.js';
import { crashPoint } from './runtime/crash-points.js';

export const TRAININGRUNS: GVR = { group: 'etaops.io', version: 'v1alpha1', plural: 'trainingruns' };
export const MODELVERSIONS: GVR = { group: 'etaops.io', version: 'v1alpha1', plural: 'modelversions' };

export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const LABEL_RUN = 'etaops.io/training-run';
export const LABEL_MODEL = 'etaops.io/model';
export const RESULT_FILE = '/dev/termination-log';

/** Job name for a run: `<run>-train`, shortened with a hash when the run name is long (Job names feed 63-char labels). */
export function jobNameFor(run: string): string {
  if (run.length <= 57) return `${run}-train`;
  const h = createHash('sha256').update(run).digest('hex').slice(0, 8);
  return `${run.slice(0, 46).replace(/-+$/, '')}-${h}-train`;
}

/** What `etaops train --json` reports (fields read leniently). */
export interface TrainResult {
  artifactUri: string;
  sha256: string;
  metrics: Record<string, number>;
  dataFingerprint?: string;
  holdout?: { fingerprint?: string; rows?: number };
}

export function parseTrainResult(text: string | undefined): TrainResult | { error: string } {
  if (!text || !text.trim()) return { error: 'the trainer left no result in its termination message' };
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return { error: `the termination message is not the JSON result: ${truncate(text.trim(), 500)}` };
  }
  // Either a compact {artifact: {uri, sha256}, metrics, dataFingerprint, holdout} or the
  // `etaops train --json` summary {modelDir, onnxSha256, metrics: {overall}, data, split}.
  const art = (j.artifact ?? {}) as Record<string, unknown>;
  const uri = (art.uri ?? j.artifactUri ?? j.modelDir ?? j.uri) as unknown;
  const sha = (art.sha256 ?? j.sha256 ?? j.onnxSha256) as unknown;
  const m = (j.metrics ?? {}) as Record<string, unknown>;
  const metricsIn = (m.overall && typeof m.overall === 'object' ? m.overall : m) as Record<string, unknown>;
  const metrics: Record<string, number> = {};
  for (const [k, v] of Object.entries(metricsIn)) if (typeof v === 'number' && Number.isFinite(v)) metrics[k] = v;
  if (typeof uri !== 'string' || !/^(s3|file):\/\/./.test(uri)) return { error: 'the result has no artifact URI (artifact.uri)' };
  if (typeof sha !== 'string' || !/^[a-f0-9]{64}$/.test(sha)) return { error: 'the result has no valid sha256 (artifact.sha256)' };
  const data = (j.data ?? {}) as Record<string, unknown>;
  const fp = (j.dataFingerprint ?? data.fingerprint) as unknown;
  let ho = (j.holdout ?? undefined) as { fingerprint?: unknown; rows?: unknown } | undefined;
  const sp = j.split as { method?: unknown; holdoutFraction?: unknown; holdoutRows?: unknown; holdoutFrom?: unknown; holdoutTo?: unknown } | undefined;
  if (!ho && sp && typeof fp === 'string') {
    // Same data, same split rule, same rows held out → same holdout.
    const key = [fp, sp.method, sp.holdoutFraction, sp.holdoutFrom, sp.holdoutTo, sp.holdoutRows].join('|');
    ho = { fingerprint: createHash('sha256').update(key).digest('hex').slice(0, 32), rows: sp.holdoutRows };
  }
  return {
    artifactUri: uri,
    sha256: sha,
    metrics,
    dataFingerprint: typeof fp === 'string' ? fp : undefined,
    holdout: ho ? { fingerprint: typeof ho.fingerprint === 'string' ? ho.fingerprint : undefined, rows: typeof ho.rows === 'number' ? ho.rows : undefined } : undefined,
  };
}

// ----------------------------------------------------------------------------- decide

export interface TrainingRunObserved {
  run: TrainingRun;
  job?: V1Job;
  /** Pods of the Job. */
  pods: V1Pod[];
  /** The ModelVersion named after the run, if it exists. */
  modelVersion?: ModelVersion;
  /** Highest spec.version among the model's ModelVersions in the namespace (0 = none). */
  latestVersion: number;
  config: ControllerConfig;
  now: string;
}

export type TrainingRunAction =
  | { type: 'createJob'; job: V1Job }
  | { type: 'createModelVersion'; modelVersion: ModelVersion };

export interface Decision<A, S> {
  actions: A[];
  status: S;
  /** Check again after this long (nothing to wait for = undefined: events drive us). */
  requeueAfterMs?: number;
}

const COND = 'Succeeded';

function ownerRef(run: TrainingRun) {
  return { apiVersion: API_VERSION, kind: 'TrainingRun', name: run.metadata.name!, uid: run.metadata.uid!, controller: true, blockOwnerDeletion: true };
}

export function modelDirFor(run: TrainingRun, root: string): string {
  const uid = (run.metadata.uid ?? 'nouid').slice(0, 8);
  return `${root.replace(/\/+$/, '')}/${run.metadata.namespace}/${run.spec.model}/${run.metadata.name}-${uid}`;
}

function secretEnv(secret: string, keys: Array<[string, boolean]>): V1EnvVar[] {
  return keys.map(([key, optional]) => ({ name: key, valueFrom: { secretKeyRef: { name: secret, key, optional } } }));
}

/** The Job for a run (pure). */
export function buildJob(run: TrainingRun, cfg: ControllerConfig, image: string, artifactRoot: string): V1Job {
  const spec = run.spec;
  const name = jobNameFor(run.metadata.name!);
  const labels = { [LABEL_MANAGED_BY]: 'etaops', [LABEL_RUN]: run.metadata.name!, [LABEL_MODEL]: spec.model };
  // The flags of `etaops train` (src/cli/commands/train.ts); the loss is one of its params.
  const split = spec.split ?? {};
  const trainer = spec.trainer ?? {};
  const args = ['train', '--model-dir', modelDirFor(run, artifactRoot), '--json', '--quiet',
    '--name', spec.model, '--split', split.strategy ?? 'time', '--holdout', String(split.holdoutFraction ?? 0.2),
    '--params', JSON.stringify({ ...(trainer.params ?? {}), loss: trainer.loss ?? 'l2' })];
  if (spec.dataset.uri) args.push('--data', spec.dataset.uri);
  else args.push('--query', spec.dataset.query!); // the URL comes from the secretRef as DATABASE_URL
  const env: V1EnvVar[] = [
    { name: 'ETAOPS_RESULT_FILE', value: RESULT_FILE },
    { name: 'ETAOPS_MODEL', value: spec.model },
    { name: 'ETAOPS_TRAINING_RUN', value: `${run.metadata.namespace}/${run.metadata.name}` },
  ];
  const s3Secret = spec.artifacts?.secretRef?.name ?? cfg.artifactSecret;
  if (s3Secret) env.push(...secretEnv(s3Secret, [['AWS_ACCESS_KEY_ID', false], ['AWS_SECRET_ACCESS_KEY', false], ['AWS_ENDPOINT_URL', true], ['AWS_REGION', true]]));
  if (spec.dataset.secretRef) env.push(...secretEnv(spec.dataset.secretRef.name, [['DATABASE_URL', false]]));
  const res = spec.resources;
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: run.metadata.namespace, labels, ownerReferences: [ownerRef(run)] },
    spec: {
      backoffLimit: spec.backoffLimit ?? 1,
      activeDeadlineSeconds: spec.activeDeadlineSeconds ?? 3600,
      ttlSecondsAfterFinished: spec.ttlSecondsAfterFinished ?? 86400,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'Never',
          serviceAccountName: cfg.jobServiceAccount,
          automountServiceAccountToken: false,
          nodeSelector: cfg.jobNodeSelector,
          tolerations: cfg.jobTolerate?.map((key) => ({ key, operator: 'Exists' })),
          ...restrictedPodFields(),
          containers: [{
            name: 'train',
            image,
            command: cfg.command,
            args,
            env,
            resources: res ? { requests: res.requests, limits: res.limits } : undefined,
            terminationMessagePath: RESULT_FILE,
            terminationMessagePolicy: 'FallbackToLogsOnError',
            ...restrictedContainerFields(),
          }],
        },
      },
    },
  };
}

function jobCondition(job: V1Job, type: string) {
  return job.status?.conditions?.find((c) => c.type === type && c.status === 'True');
}

/** Termination message of the newest terminated container among the pods with the given phase. */
function terminationMessage(pods: V1Pod[], phase: 'Succeeded' | 'Failed'): string | undefined {
  const done = pods.filter((p) => p.status?.phase === phase);
  done.sort((a, b) => String(b.metadata?.creationTimestamp ?? '').localeCompare(String(a.metadata?.creationTimestamp ?? '')));
  for (const p of done) {
    const t = p.status?.containerStatuses?.find((c) => c.name === 'train')?.state?.terminated ?? p.status?.containerStatuses?.[0]?.state?.terminated;
    if (t?.message) return t.message;
  }
  return undefined;
}

/** Pure: given what was observed, the actions to take and the status to report. */
export function decideTrainingRun(o: TrainingRunObserved): Decision<TrainingRunAction, TrainingRunStatus> {
  const { run, job, config, now } = o;
  const gen = run.metadata.generation;
  const prev = run.status ?? {};
  const status: TrainingRunStatus = { ...prev, observedGeneration: gen };
  const cond = (s: 'True' | 'False' | 'Unknown', reason: string, message: string) => {
    status.conditions = setCondition(status.conditions, { type: COND, status: s, reason, message }, gen, now);
  };
  const fail = (reason: string, message: string): Decision<TrainingRunAction, TrainingRunStatus> => {
    status.phase = 'Failed';
    status.completionTime ??= now;
    status.message = truncate(message, 2000);
    cond('False', reason, message);
    return { actions: [], status };
  };

  // Being deleted: the Job goes with it (owner reference); nothing to do.
  if (run.metadata.deletionTimestamp) return { actions: [], status: prev };
  // Finished runs are records: never re-run, never re-register.
  if (prev.phase === 'Succeeded' || prev.phase === 'Failed') return { actions: [], status };

  const image = run.spec.image ?? config.image;
  const root = run.spec.artifacts?.root ?? config.artifactRoot;
  if (!image) {
    status.phase = 'Pending';
    cond('False', 'NoImage', 'no trainer image: set spec.image or the controller\'s ETAOPS_IMAGE');
    return { actions: [], status };
  }
  if (!root) {
    status.phase = 'Pending';
    cond('False', 'NoArtifactRoot', 'no artifact location: set spec.artifacts.root or the controller\'s ETAOPS_ARTIFACT_ROOT');
    return { actions: [], status };
  }

  const jobName = jobNameFor(run.metadata.name!);
  if (!job) {
    // Seen running before and now gone: the outcome is lost. (Merely Pending with a jobName may be
    // our cache lagging behind our own create: creating again is harmless, AlreadyExists.)
    if (prev.jobName && prev.phase === 'Running') {
      return fail('JobLost', `Job ${prev.jobName} disappeared before its outcome was read (deleted, or removed by ttlSecondsAfterFinished while the controller was down); create a new TrainingRun to retry`);
    }
    status.phase = 'Pending';
    status.jobName = jobName;
    cond('Unknown', 'JobCreated', `created Job ${jobName}`);
    return { actions: [{ type: 'createJob', job: buildJob(run, config, image, root) }], status };
  }
  const owner = job.metadata?.ownerReferences?.find((r) => r.controller);
  if (!owner || owner.uid !== run.metadata.uid) {
    return fail('JobNameTaken', `Job ${jobName} exists but is not owned by this TrainingRun; delete it or rename the run`);
  }
  status.jobName = jobName;
  if (job.status?.startTime) status.startTime ??= String(job.status.startTime instanceof Date ? isoNow(job.status.startTime) : job.status.startTime);

  const failed = jobCondition(job, 'Failed');
  if (failed) {
    const logTail = terminationMessage(o.pods, 'Failed');
    const reason = failed.reason === 'DeadlineExceeded' ? 'DeadlineExceeded' : failed.reason === 'BackoffLimitExceeded' ? 'BackoffLimitExceeded' : 'JobFailed';
    const why = reason === 'DeadlineExceeded'
      ? `training ran longer than activeDeadlineSeconds=${run.spec.activeDeadlineSeconds ?? 3600}`
      : `the training Job failed${failed.message ? `: ${failed.message}` : ''}`;
    return fail(reason, logTail ? `${why}; last output:\n${truncate(logTail, 1500)}` : why);
  }

  const complete = jobCondition(job, 'Complete');
  if (!complete) {
    const active = (job.status?.active ?? 0) > 0 || (job.status?.ready ?? 0) > 0;
    status.phase = active || job.status?.startTime ? 'Running' : 'Pending';
    cond('Unknown', active ? 'JobRunning' : 'JobPending', active ? `Job ${jobName} is training` : `Job ${jobName} is waiting for its pod`);
    return { actions: [], status };
  }

  // Complete: read the result from the pod's termination message.
  const parsed = parseTrainResult(terminationMessage(o.pods, 'Succeeded'));
  if ('error' in parsed) {
    if (o.pods.length === 0) return fail('ResultMissing', `Job ${jobName} completed but its pods are gone, so its result (termination message) is lost; create a new TrainingRun`);
    return fail('ResultInvalid', parsed.error);
  }
  status.metrics = parsed.metrics;
  status.artifact = { uri: parsed.artifactUri, sha256: parsed.sha256 };
  if (parsed.dataFingerprint) status.dataFingerprint = parsed.dataFingerprint;
  status.modelVersion = run.metadata.name;
  status.completionTime ??= job.status?.completionTime ? String(job.status.completionTime instanceof Date ? isoNow(job.status.completionTime) : job.status.completionTime) : now;

  const mv = o.modelVersion;
  if (mv) {
    if (mv.metadata.labels?.[LABEL_RUN] !== run.metadata.name || mv.spec.artifact.sha256 !== parsed.sha256) {
      return fail('ModelVersionNameTaken', `ModelVersion ${mv.metadata.name} exists but was not produced by this run`);
    }
    status.phase = 'Succeeded';
    status.message = `registered ModelVersion ${mv.metadata.name} (version ${mv.spec.version})`;
    cond('True', 'ModelRegistered', status.message);
    return { actions: [], status };
  }
  const version = o.latestVersion + 1;
  const modelVersion: ModelVersion = {
    apiVersion: API_VERSION,
    kind: 'ModelVersion',
    metadata: {
      name: run.metadata.name,
      namespace: run.metadata.namespace,
      labels: { [LABEL_MANAGED_BY]: 'etaops', [LABEL_RUN]: run.metadata.name!, [LABEL_MODEL]: run.spec.model },
    },
    spec: {
      model: run.spec.model,
      version,
      artifact: { uri: parsed.artifactUri, sha256: parsed.sha256 },
      metrics: parsed.metrics,
      holdout: parsed.holdout,
      lineage: { trainingRun: run.metadata.name, datasetUri: run.spec.dataset.uri, datasetFingerprint: parsed.dataFingerprint, image },
      stage: 'Candidate',
      promotion: run.spec.promotion,
      artifactSecretRef: run.spec.artifacts?.secretRef,
    },
  };
  status.phase = 'Succeeded';
  status.message = `registered ModelVersion ${run.metadata.name} (version ${version})`;
  cond('True', 'ModelRegistered', status.message);
  return { actions: [{ type: 'createModelVersion', modelVersion }], status };
}

// ----------------------------------------------------------------------------- act

export class TrainingRunReconciler implements Reconciler {
  readonly kind = 'TrainingRun';
  constructor(
    private readonly client: KubeClient,
    private readonly runs: Informer<TrainingRun & KubeObject>,
    private readonly jobs: Informer<V1Job & KubeObject>,
    private readonly pods: Informer<V1Pod & KubeObject>,
    private readonly versions: Informer<ModelVersion & KubeObject>,
    private readonly config: ControllerConfig,
    private readonly log: (m: string) => void = () => {},
    private readonly registry?: RegistryLink,
  ) {}

  /**
   * Highest version number this process handed out per namespace/model. The cache lags behind
   * our own creates, so with several workers two runs of one model finishing together got the
   * same number (seen in the operator bench); a number is taken here before the create's await.
   */
  private readonly numbered = new Map<string, number>();

  async reconcile(key: string): Promise<ReconcileResult | void> {
    const run = this.runs.getByKey(key);
    if (!run) return; // deleted: owner references clean up the Job
    const { namespace } = splitKey(key);
    const jobName = jobNameFor(run.metadata.name!);
    const job = this.jobs.get(namespace, jobName);
    const pods = this.pods.list(namespace).filter((p) => p.metadata?.labels?.['job-name'] === jobName || p.metadata?.labels?.['batch.kubernetes.io/job-name'] === jobName);
    let mv = this.versions.get(namespace, run.metadata.name!);
    const modelKey = `${namespace}/${run.spec.model}`;
    let latestVersion = Math.max(this.numbered.get(modelKey) ?? 0, ...this.versions.list(namespace).filter((v) => v.spec.model === run.spec.model).map((v) => v.spec.version));
    let d = decideTrainingRun({ run, job, pods, modelVersion: mv, latestVersion, config: this.config, now: isoNow() });
    const reg = d.actions.find((a) => a.type === 'createModelVersion');
    if (reg && this.registry) {
      // The registry numbers versions atomically and returns the same number for the same run.
      const s = reg.modelVersion.spec;
      const n = await this.registry.register({
        model: s.model, artifactUri: s.artifact.uri, sha256: s.artifact.sha256, metrics: s.metrics,
        trainingRun: key, datasetFingerprint: s.lineage?.datasetFingerprint, image: s.lineage?.image,
      });
      latestVersion = n - 1;
      crashPoint('TrainingRun/registryRegister');
      d = decideTrainingRun({ run, job, pods, modelVersion: mv, latestVersion, config: this.config, now: isoNow() });
    }
    const numbering = d.actions.find((a) => a.type === 'createModelVersion');
    if (numbering) this.numbered.set(modelKey, Math.max(this.numbered.get(modelKey) ?? 0, numbering.modelVersion.spec.version));
    for (const a of d.actions) {
      if (a.type === 'createJob') {
        try {
          await this.client.create(GVRS.jobs, namespace, a.job);
          this.log(`TrainingRun ${key}: created Job ${a.job.metadata!.name}`);
          crashPoint('TrainingRun/createJob');
        } catch (e) {
          if (!isAlreadyExists(e)) throw e;
          // Our cache was behind; the next event brings the Job in.
        }
      } else {
        try {
          mv = await this.client.create<ModelVersion & KubeObject>(MODELVERSIONS, namespace, a.modelVersion);
          this.log(`TrainingRun ${key}: created ModelVersion ${a.modelVersion.metadata.name} v${a.modelVersion.spec.version}`);
          crashPoint('TrainingRun/createModelVersion');
        } catch (e) {
          if (!isAlreadyExists(e)) throw e;
          // Created by an earlier pass (e.g. before a restart): decide again with it.
          mv = await this.client.get<ModelVersion & KubeObject>(MODELVERSIONS, namespace, a.modelVersion.metadata.name!);
          const again = decideTrainingRun({ run, job, pods, modelVersion: mv, latestVersion, config: this.config, now: isoNow() });
          d.status = again.status;
        }
      }
    }
    if (!jsonEqual(d.status, run.status ?? {})) {
      // PUT with the observed resourceVersion: a concurrent change means a 409 and a retry.
      await this.client.replaceStatus(TRAININGRUNS, namespace, run.metadata.name!, { ...run, status: d.status });
      crashPoint('TrainingRun/status');
    }
    return d.requeueAfterMs !== undefined ? { requeueAfterMs: d.requeueAfterMs } : undefined;
  }
}
