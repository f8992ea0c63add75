/**
 * DriftCheck reconciler: on its cron schedule (UTC; absent = once) a Job `<check>-<minutes>`
 * runs `etaops drift ... --json` against the reference profile (default: the Production
 * ModelVersion's model directory, whose model.json holds the training profile) and the current
 * data (a dataset URI, or the last window of logged predictions). The result comes back as the
 * pod's termination message (same contract as training), its summary goes to status and to
 * Prometheus gauges; on drift, `onDrift.template` becomes a TrainingRun `<check>-retrain-<minutes>`,
 * at most once per cooldown.
 *
 * Schedule semantics follow CronJob: only the most recent missed time runs; with
 * startingDeadlineSeconds, a time missed by more than that is skipped (MissedSchedule); one Job
 * at a time (a run due while one is active waits for it). Names derive from the scheduled
 * time, so a controller restart never starts a time twice.
 */
import type { V1EnvVar, V1Job, V1Pod } from '@kubernetes/client-node';
import { Cron } from 'croner';
import { API_VERSION, type DriftCheck, type DriftCheckStatus, type ModelVersion, type TrainingRun } from '../api/index.js';
import { isoNow, jsonEqual, setCondition, truncate } from './conditions.js';
import type { ControllerConfig } from './config.js';
import type { Reconciler, ReconcileResult } from './runtime/controller.js';
import type { Informer } from './runtime/informer.js';
import { GVRS, isAlreadyExists, splitKey, type GVR, type KubeClient, type KubeObject } from './runtime/kube.js';
import type { ControllerMetrics } from './runtime/metrics.js';
import { LABEL_MANAGED_BY, LABEL_MODEL, RESULT_FILE, TRAININGRUNS, type Decision } from './trainingrun.js';
import { restrictedContainerFields, restrictedPodFields } from './pod-security.js';
import { crashPoint } from './runtime/crash-points.js';

export const DRIFTCHECKS: GVR = { group: 'etaops.io', version: 'v1alpha1', plural: 'driftchecks' };
export const LABEL_CHECK = 'etaops.io/drift-check';
const MAX_REQUEUE_MS = 3_600_000;

export type DriftResult = NonNullable<DriftCheckStatus['lastResult']>;

export function parseDriftResult(text: string | undefined): DriftResult | { error: string } {
  if (!text?.trim()) return { error: 'the drift Job left no result in its termination message' };
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return { error: `the termination message is not the JSON result: ${truncate(text.trim(), 500)}` };
  }
  // `etaops drift --json`: {dataset_drift, drift_share, columns: {NAME: {test, score, threshold,
  // drifted}}, report: {json, html}}; camelCase with a column array is accepted too.
  if (j.dataset_drift !== undefined && j.datasetDrift === undefined) j.datasetDrift = j.dataset_drift;
  if (j.drift_share !== undefined && j.driftShare === undefined) j.driftShare = j.drift_share;
  const rep = j.report as { html?: unknown; json?: unknown } | null | undefined;
  if (j.reportUri === undefined && rep && typeof rep === 'object') j.reportUri = rep.html ?? rep.json;
  const cols: Array<Record<string, unknown>> = Array.isArray(j.columns)
    ? (j.columns as Array<Record<string, unknown>>)
    : j.columns && typeof j.columns === 'object'
      ? Object.entries(j.columns as Record<string, Record<string, unknown>>).map(([name, c]) => ({ name, ...c }) as Record<string, unknown>)
      : [];
  const columns = cols.slice(0, 200).map((c) => ({
    name: String(c.name ?? c.column ?? '?'), test: String(c.test ?? c.stattest ?? '?'), score: typeof c.score === 'number' ? c.score : 0,
    threshold: typeof c.threshold === 'number' ? c.threshold : undefined, drifted: Boolean(c.drifted ?? c.driftDetected),
  }));
  const drifted = columns.filter((c) => c.drifted).length;
  if (typeof j.datasetDrift !== 'boolean') return { error: 'the result has no datasetDrift field' };
  return {
    datasetDrift: j.datasetDrift,
    driftShare: typeof j.driftShare === 'number' ? j.driftShare : columns.length ? drifted / columns.length : 0,
    numberOfColumns: typeof j.numberOfColumns === 'number' ? j.numberOfColumns : columns.length,
    numberOfDriftedColumns: typeof j.numberOfDriftedColumns === 'number' ? j.numberOfDriftedColumns : drifted,
    reportUri: typeof j.reportUri === 'string' ? j.reportUri : undefined,
    referenceVersion: typeof j.referenceVersion === 'string' ? j.referenceVersion : undefined,
    columns,
  };
}

/** "30m", "12h", "7d" → ms. */
export function durationMs(s: string | undefined, fallback: number): number {
  const m = /^([1-9][0-9]*)(s|m|h|d)$/.exec(s ?? '');
  if (!m) return fallback;
  return Number(m[1]) * { s: 1e3, m: 6e4, h: 3.6e6, d: 8.64e7 }[m[2] as 's' | 'm' | 'h' | 'd'];
}

/** The latest scheduled time in (after, now], the count of such times (capped), and the next one. */
export function scheduleTimes(schedule: string, afterMs: number, nowMs: number): { due?: number; missed: number; next?: number } {
  const cron = new Cron(schedule, { timezone: 'UTC', paused: true });
  let due: number | undefined;
  let missed = 0;
  let t = cron.nextRun(new Date(afterMs));
  while (t && t.getTime() <= nowMs && missed < 1000) {
    due = t.getTime();
    missed++;
    t = cron.nextRun(t);
  }
  if (missed >= 1000) {
    // Far behind: jump to the latest time directly.
    const prev = cron.previousRuns(1, new Date(nowMs + 1))[0];
    if (prev) due = prev.getTime();
    t = cron.nextRun(new Date(nowMs));
  }
  return { due, missed, next: t?.getTime() };
}

export const jobNameForTime = (check: string, ms: number) => `${check.slice(0, 40).replace(/-+$/, '')}-${Math.floor(ms / 60000)}`;

export interface DriftCheckObserved {
  dc: DriftCheck;
  /** Jobs of this check. */
  jobs: V1Job[];
  pods: V1Pod[];
  /** The model's Production ModelVersion (reference default), or the one spec.reference names. */
  reference?: ModelVersion;
  config: ControllerConfig;
  now: string;
}

export type DriftCheckAction =
  | { type: 'createJob'; job: V1Job }
  | { type: 'createTrainingRun'; run: TrainingRun };

function terminated(pods: V1Pod[], job: string): string | undefined {
  const mine = pods.filter((p) => p.metadata?.labels?.['batch.kubernetes.io/job-name'] === job || p.metadata?.labels?.['job-name'] === job);
  for (const p of mine) {
    const msg = p.status?.containerStatuses?.[0]?.state?.terminated?.message;
    if (msg) return msg;
  }
  return undefined;
}

const finished = (j: V1Job) => j.status?.conditions?.find((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');

export function buildDriftJob(o: DriftCheckObserved, name: string, referenceUri: string, image: string): V1Job {
  const { dc, config } = o;
  const labels = { [LABEL_MANAGED_BY]: 'etaops', [LABEL_CHECK]: dc.metadata.name!, [LABEL_MODEL]: dc.spec.model };
  // The flags of `etaops drift` (src/cli/commands/drift.ts): the reference is a model directory
  // (its model.json holds the training profile).
  const args = ['drift', '--model-dir', referenceUri, '--json'];
  const cur = dc.spec.current ?? {};
  if (cur.uri) args.push('--current', cur.uri);
  else args.push('--from-log', cur.window ?? '24h', '--model', dc.spec.model);
  args.push('--drift-share', String(dc.spec.driftShare ?? 0.5));
  const root = dc.spec.artifacts?.root ?? config.artifactRoot;
  if (root) args.push('--report', `${root.replace(/\/+$/, '')}/${dc.metadata.namespace}/${dc.spec.model}/drift/${name}`);
  const env: V1EnvVar[] = [{ name: 'ETAOPS_RESULT_FILE', value: RESULT_FILE }];
  const s3 = dc.spec.artifacts?.secretRef?.name ?? config.artifactSecret;
  if (s3) for (const [key, optional] of [['AWS_ACCESS_KEY_ID', false], ['AWS_SECRET_ACCESS_KEY', false], ['AWS_ENDPOINT_URL', true], ['AWS_REGION', true]] as const) env.push({ name: key, valueFrom: { secretKeyRef: { name: s3, key, optional } } });
  if (cur.secretRef) env.push({ name: 'ETAOPS_DATABASE_URL', valueFrom: { secretKeyRef: { name: cur.secretRef.name, key: 'DATABASE_URL' } } });
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: dc.metadata.namespace, labels, ownerReferences: [{ apiVersion: API_VERSION, kind: 'DriftCheck', name: dc.metadata.name!, uid: dc.metadata.uid!, controller: true, blockOwnerDeletion: true }] },
    spec: {
      backoffLimit: 1,
      activeDeadlineSeconds: dc.spec.activeDeadlineSeconds ?? 1800,
      ttlSecondsAfterFinished: 86400,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'Never',
          serviceAccountName: config.jobServiceAccount,
          automountServiceAccountToken: false,
          nodeSelector: config.jobNodeSelector,
          tolerations: config.jobTolerate?.map((key) => ({ key, operator: 'Exists' })),
          ...restrictedPodFields(),
          containers: [{ name: 'drift', image, command: config.command, args, env, terminationMessagePath: RESULT_FILE, terminationMessagePolicy: 'FallbackToLogsOnError', ...restrictedContainerFields() }],
        },
      },
    },
  };
}

/** Pure: actions and status for one DriftCheck. */
export function decideDriftCheck(o: DriftCheckObserved): Decision<DriftCheckAction, DriftCheckStatus> {
  const { dc, now } = o;
  const nowMs = Date.parse(now);
  const gen = dc.metadata.generation;
  const status: DriftCheckStatus = { ...(dc.status ?? {}), observedGeneration: gen };
  const cond = (type: string, s: 'True' | 'False' | 'Unknown', reason: string, message: string) => {
    status.conditions = setCondition(status.conditions, { type, status: s, reason, message }, gen, now);
  };
  const actions: DriftCheckAction[] = [];
  if (dc.metadata.deletionTimestamp) return { actions, status: dc.status ?? {} };

  // 1. An active Job: wait for it, then record its result.
  if (status.activeJob) {
    const job = o.jobs.find((j) => j.metadata?.name === status.activeJob);
    const end = job && finished(job);
    if (job && !end) {
      status.phase = 'Running';
      cond('Ready', 'Unknown', 'Running', `drift Job ${status.activeJob} is running`);
      return { actions, status };
    }
    const jobName = status.activeJob;
    status.activeJob = undefined;
    status.lastRunTime = now;
    if (!job) {
      status.phase = 'Failed';
      cond('Ready', 'False', 'JobLost', `drift Job ${jobName} disappeared before its result was read`);
    } else if (end!.type === 'Failed') {
      status.phase = 'Failed';
      const tail = terminated(o.pods, jobName);
      cond('Ready', 'False', end!.reason === 'DeadlineExceeded' ? 'DeadlineExceeded' : 'JobFailed', `drift Job ${jobName} failed${end!.message ? `: ${end!.message}` : ''}${tail ? `; last output:\n${truncate(tail, 1500)}` : ''}`);
    } else {
      const r = parseDriftResult(terminated(o.pods, jobName));
      if ('error' in r) {
        status.phase = 'Failed';
        cond('Ready', 'False', 'ResultInvalid', r.error);
      } else {
        status.phase = 'Succeeded';
        status.lastResult = r;
        cond('Ready', 'True', 'Checked', `${r.numberOfDriftedColumns} of ${r.numberOfColumns} columns drifted (share ${r.driftShare.toFixed(2)})`);
        cond('Drift', r.datasetDrift ? 'True' : 'False', r.datasetDrift ? 'DatasetDrift' : 'NoDrift', r.datasetDrift ? `dataset drift: share ${r.driftShare.toFixed(2)} ≥ ${dc.spec.driftShare ?? 0.5}` : 'no dataset drift');
        if (r.datasetDrift && dc.spec.onDrift) {
          const cooldown = durationMs(dc.spec.onDrift.cooldown, 86_400_000);
          const last = status.lastRetrainTime ? Date.parse(status.lastRetrainTime) : undefined;
          if (last === undefined || nowMs - last >= cooldown) {
            const runName = `${dc.metadata.name!.slice(0, 40).replace(/-+$/, '')}-retrain-${jobName.split('-').pop()}`;
            actions.push({
              type: 'createTrainingRun',
              run: {
                apiVersion: API_VERSION, kind: 'TrainingRun',
                metadata: { name: runName, namespace: dc.metadata.namespace, labels: { [LABEL_MANAGED_BY]: 'etaops', [LABEL_CHECK]: dc.metadata.name!, [LABEL_MODEL]: dc.spec.model } },
                spec: dc.spec.onDrift.template as TrainingRun['spec'],
              },
            });
            status.lastRetrainTime = now;
            status.lastRetrainRun = runName;
            cond('Retraining', 'True', 'TrainingRunCreated', `drift found: created TrainingRun ${runName}`);
          } else {
            cond('Retraining', 'False', 'Cooldown', `drift found, but the last retraining (${status.lastRetrainRun}) was less than ${dc.spec.onDrift.cooldown ?? '24h'} ago`);
          }
        }
      }
    }
  }

  if (dc.spec.suspend) {
    status.phase = 'Suspended';
    cond('Scheduled', 'False', 'Suspended', 'spec.suspend is true');
    return { actions, status };
  }

  // 2. What is due?
  const created = Date.parse(dc.metadata.creationTimestamp ?? now);
  const lastMs = status.lastScheduleTime ? Date.parse(status.lastScheduleTime) : undefined;
  let due: number | undefined;
  let next: number | undefined;
  if (!dc.spec.schedule) {
    due = lastMs === undefined ? created : undefined;
  } else {
    let t;
    try {
      t = scheduleTimes(dc.spec.schedule, lastMs ?? created, nowMs);
    } catch (e) {
      cond('Scheduled', 'False', 'InvalidSchedule', `cannot parse schedule '${dc.spec.schedule}': ${(e as Error).message}`);
      return { actions, status };
    }
    due = t.due;
    next = t.next;
    status.nextScheduleTime = next ? isoNow(new Date(next)) : undefined;
    if (due !== undefined && t.missed > 1) cond('Scheduled', 'True', 'MissedSchedules', `${t.missed - 1} earlier scheduled times were missed; running only the latest`);
  }
  const requeue = next !== undefined ? Math.min(MAX_REQUEUE_MS, Math.max(1000, next - nowMs)) : undefined;
  if (due === undefined) {
    status.phase ??= 'Scheduled';
    return { actions, status, requeueAfterMs: requeue };
  }
  const deadline = dc.spec.startingDeadlineSeconds;
  if (deadline !== undefined && nowMs - due > deadline * 1000) {
    status.lastScheduleTime = isoNow(new Date(due));
    cond('Scheduled', 'False', 'MissedSchedule', `the run due at ${isoNow(new Date(due))} was missed by more than startingDeadlineSeconds=${deadline}; skipped`);
    return { actions, status, requeueAfterMs: requeue };
  }
  if (status.activeJob) return { actions, status, requeueAfterMs: 5000 };

  // 3. Start it.
  const referenceUri = dc.spec.reference?.uri ?? o.reference?.spec.artifact.uri;
  if (!referenceUri) {
    status.phase = 'Scheduled';
    cond('Ready', 'False', 'NoReference', `no reference profile: model ${dc.spec.model} has no Production ModelVersion${dc.spec.reference?.modelVersion ? ` (or ModelVersion ${dc.spec.reference.modelVersion} is missing)` : ''}; set spec.reference.uri`);
    return { actions, status, requeueAfterMs: 30_000 };
  }
  const image = dc.spec.image ?? o.config.image;
  if (!image) {
    cond('Ready', 'False', 'NoImage', "no image: set spec.image or the controller's ETAOPS_IMAGE");
    return { actions, status };
  }
  const name = jobNameForTime(dc.metadata.name!, due);
  if (!o.jobs.some((j) => j.metadata?.name === name)) actions.push({ type: 'createJob', job: buildDriftJob(o, name, referenceUri, image) });
  status.activeJob = name;
  status.lastScheduleTime = isoNow(new Date(due));
  status.phase = 'Running';
  cond('Ready', 'Unknown', 'Running', `started drift Job ${name}`);
  return { actions, status, requeueAfterMs: requeue };
}

// ----------------------------------------------------------------------------- act

export class DriftCheckReconciler implements Reconciler {
  readonly kind = 'DriftCheck';
  constructor(
    private readonly client: KubeClient,
    private readonly checks: Informer<DriftCheck & KubeObject>,
    private readonly jobs: Informer<V1Job & KubeObject>,
    private readonly pods: Informer<V1Pod & KubeObject>,
    private readonly versions: Informer<ModelVersion & KubeObject>,
    private readonly config: ControllerConfig,
    private readonly metrics?: ControllerMetrics,
    private readonly log: (m: string) => void = () => {},
  ) {}

  async reconcile(key: string): Promise<ReconcileResult | void> {
    const dc = this.checks.getByKey(key);
    if (!dc) return;
    const { namespace } = splitKey(key);
    const jobs = this.jobs.list(namespace).filter((j) => j.metadata.labels?.[LABEL_CHECK] === dc.metadata.name);
    const pods = this.pods.list(namespace).filter((p) => p.metadata.labels?.[LABEL_CHECK] === dc.metadata.name);
    const refName = dc.spec.reference?.modelVersion;
    const reference = refName
      ? this.versions.get(namespace, refName)
      : this.versions.list(namespace).find((v) => v.spec.model === dc.spec.model && v.status?.stage === 'Production');
    const d = decideDriftCheck({ dc, jobs, pods, reference, config: this.config, now: isoNow() });
    for (const a of d.actions) {
      const [gvr, obj] = a.type === 'createJob' ? [GVRS.jobs, a.job] : [TRAININGRUNS, a.run];
      try {
        await this.client.create(gvr, namespace, obj);
        this.log(`DriftCheck ${key}: created ${a.type === 'createJob' ? 'Job' : 'TrainingRun'} ${obj.metadata!.name}`);
        crashPoint(a.type === 'createJob' ? 'DriftCheck/createJob' : 'DriftCheck/createTrainingRun');
      } catch (e) {
        if (!isAlreadyExists(e)) throw e;
      }
    }
    const r = d.status.lastResult;
    if (r && this.metrics) {
      const labels = { namespace, check: dc.metadata.name!, model: dc.spec.model };
      this.metrics.driftShare.set(labels, r.driftShare);
      this.metrics.driftDetected.set(labels, r.datasetDrift ? 1 : 0);
      for (const c of r.columns ?? []) this.metrics.driftColumnScore.set({ ...labels, column: c.name, test: c.test }, c.score);
    }
    if (!jsonEqual(d.status, dc.status ?? {})) {
      await this.client.replaceStatus(DRIFTCHECKS, namespace, dc.metadata.name!, { ...dc, status: d.status });
      crashPoint('DriftCheck/status');
    }
    return d.requeueAfterMs !== undefined ? { requeueAfterMs: d.requeueAfterMs } : undefined;
  }
}
