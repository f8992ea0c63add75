/**
 * State metrics of the etaops objects, computed from the informer caches at scrape time (like
 * kube-state-metrics): what the model-health dashboard and the training / drift alerts read.
 *
 *   etaops_modelversion_info{namespace,model,version,stage}              1 per ModelVersion
 *   etaops_modelversion_holdout_metric{namespace,model,version,metric}   spec.metrics (mae, rmse, ...)
 *   etaops_trainingruns{namespace,model,phase}                           TrainingRuns by phase
 *   etaops_trainingrun_last_failed{namespace,model}                      1 if the model's latest finished run failed
 *   etaops_driftcheck_last_run_timestamp_seconds{namespace,check,model}  last run (or creation) of a scheduled check
 *   etaops_driftcheck_last_run_failed{namespace,check,model}             1 if that check's last run failed
 *
 * Why from the caches and not counters bumped in the reconcilers: the values survive a controller
 * restart or a leader change (every replica's cache holds the same objects), deleted objects
 * lose their series at the next scrape, and a run that fails between two scrapes is not missed
 * (an `increase()` over a counter series that first appears at 1 reads as 0).
 */
import { Gauge, type Registry } from 'prom-client';
import type { DriftCheck, ModelVersion, TrainingRun } from '../api/index.js';
import type { KubeObject } from './runtime/kube.js';

/** What the metrics read: the lists of the shared informers. */
export interface ObjectSources {
  runs: { list(): Array<TrainingRun & KubeObject> };
  versions: { list(): Array<ModelVersion & KubeObject> };
  checks: { list(): Array<DriftCheck & KubeObject> };
}

const seconds = (iso: string | undefined): number | undefined => {
  const t = iso ? Date.parse(iso) : NaN;
  return Number.isFinite(t) ? t / 1000 : undefined;
};

export function registerObjectMetrics(registry: Registry, src: ObjectSources): void {
  const registers = [registry];
  new Gauge({
    name: 'etaops_modelversion_info', help: 'One series per ModelVersion (value 1); stage is status.stage (Candidate until the controller decides).',
    labelNames: ['namespace', 'model', 'version', 'stage'], registers,
    collect() {
      this.reset();
      for (const v of src.versions.list()) {
        this.set({ namespace: v.metadata.namespace ?? '', model: v.spec.model, version: String(v.spec.version), stage: v.status?.stage ?? 'Candidate' }, 1);
      }
    },
  });
  new Gauge({
    name: 'etaops_modelversion_holdout_metric', help: 'Holdout metrics of each ModelVersion (spec.metrics: mae and rmse in seconds, ...).',
    labelNames: ['namespace', 'model', 'version', 'metric'], registers,
    collect() {
      this.reset();
      for (const v of src.versions.list()) {
        for (const [metric, value] of Object.entries(v.spec.metrics ?? {})) {
          if (Number.isFinite(value)) this.set({ namespace: v.metadata.namespace ?? '', model: v.spec.model, version: String(v.spec.version), metric }, value);
        }
      }
    },
  });
  registerTrainingRunMetrics(registers, src);
  registerDriftCheckMetrics(registers, src);
}

function registerTrainingRunMetrics(registers: Registry[], src: ObjectSources): void {
  new Gauge({
    name: 'etaops_trainingruns', help: 'TrainingRuns by model and phase (Pending, Running, Succeeded, Failed).',
    labelNames: ['namespace', 'model', 'phase'], registers,
    collect() {
      this.reset();
      const counts = new Map<string, { labels: { namespace: string; model: string; phase: string }; n: number }>();
      for (const r of src.runs.list()) {
        const labels = { namespace: r.metadata.namespace ?? '', model: r.spec.model, phase: r.status?.phase ?? 'Pending' };
        const key = `${labels.namespace}\u0000${labels.model}\u0000${labels.phase}`;
        const entry = counts.get(key) ?? { labels, n: 0 };
        entry.n++;
        counts.set(key, entry);
      }
      for (const { labels, n } of counts.values()) this.set(labels, n);
    },
  });
  new Gauge({
    name: 'etaops_trainingrun_last_failed', help: "1 if the model's most recently finished TrainingRun failed, 0 if it succeeded (no series before a run finished).",
    labelNames: ['namespace', 'model'], registers,
    collect() {
      this.reset();
      const latest = new Map<string, { namespace: string; model: string; at: number; failed: boolean }>();
      for (const r of src.runs.list()) {
        const phase = r.status?.phase;
        const at = seconds(r.status?.completionTime);
        if ((phase !== 'Succeeded' && phase !== 'Failed') || at === undefined) continue;
        const namespace = r.metadata.namespace ?? '';
        const key = `${namespace}\u0000${r.spec.model}`;
        const prev = latest.get(key);
        if (!prev || at >= prev.at) latest.set(key, { namespace, model: r.spec.model, at, failed: phase === 'Failed' });
      }
      for (const l of latest.values()) this.set({ namespace: l.namespace, model: l.model }, l.failed ? 1 : 0);
    },
  });
}

function registerDriftCheckMetrics(registers: Registry[], src: ObjectSources): void {
  // Run-once and suspended checks are not expected to run again, so they are left out: a
  // staleness alert on them would fire forever.
  const scheduled = () => src.checks.list().filter((c) => c.spec.schedule && !c.spec.suspend && !c.metadata.deletionTimestamp);
  const labelsOf = (c: DriftCheck & KubeObject) => ({ namespace: c.metadata.namespace ?? '', check: c.metadata.name ?? '', model: c.spec.model });
  new Gauge({
    name: 'etaops_driftcheck_last_run_timestamp_seconds', help: 'Unix time of the last run of a scheduled, unsuspended DriftCheck (its creation time before the first run).',
    labelNames: ['namespace', 'check', 'model'], registers,
    collect() {
      this.reset();
      for (const c of scheduled()) {
        const at = seconds(c.status?.lastRunTime) ?? seconds(c.metadata.creationTimestamp);
        if (at !== undefined) this.set(labelsOf(c), at);
      }
    },
  });
  new Gauge({
    name: 'etaops_driftcheck_last_run_failed', help: 'For scheduled, unsuspended DriftChecks: 1 if the last run failed (Job failed or result unreadable), else 0.',
    labelNames: ['namespace', 'check', 'model'], registers,
    collect() {
      this.reset();
      for (const c of scheduled()) this.set(labelsOf(c), c.status?.phase === 'Failed' ? 1 : 0);
    },
  });
}
