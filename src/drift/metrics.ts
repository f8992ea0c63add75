/**
 * Drift and live-accuracy gauges for Prometheus, exported by whichever process owns the check
 * (the prediction server in embedded mode, the controller on Kubernetes):
 *   etaops_drift_column_score{model,column,test}      p-value or distance of the last check
 *   etaops_drift_column_drifted{model,column,test}    1 if that column drifted, else 0
 *   etaops_dataset_drift{model}                       1 if the data set drifted, else 0
 *   etaops_drift_share{model}                         share of drifted columns
 *   etaops_drift_last_check_timestamp_seconds{model}  when the last check ran (unix seconds)
 *   etaops_live_mae_seconds{model}, etaops_live_rmse_seconds{model}
 * A column without a score (no values in a window) has only the drifted series.
 * A column that a later check no longer has (or whose test changed) loses its series, so
 * dashboards never show a stale score as current.
 */
import { Gauge, type Registry } from 'prom-client';

/** What recordDriftResult reads: a DriftResult, or the CLI's JSON summary. */
export interface DriftOutcome {
  dataset_drift: boolean;
  drift_share: number;
  generated_at?: string;
  columns: Record<string, { test: string; score: number | null; drifted: boolean }>;
}

export interface DriftMetrics {
  recordDriftResult(model: string, result: DriftOutcome, at?: Date): void;
  setLiveAccuracy(model: string, accuracy: { mae: number | null; rmse: number | null }): void;
}

function gauge<T extends string>(registry: Registry, name: string, help: string, labelNames: T[]): Gauge<T> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Gauge<T>;
  return new Gauge({ name, help, labelNames, registers: [registry] });
}

export function registerDriftMetrics(registry: Registry): DriftMetrics {
  const score = gauge(registry, 'etaops_drift_column_score', 'Drift score of a column in the last check (p-value for ks/chisquare/z, distance otherwise)', ['model', 'column', 'test']);
  const drifted = gauge(registry, 'etaops_drift_column_drifted', '1 if the column drifted in the last check, else 0', ['model', 'column', 'test']);
  const dataset = gauge(registry, 'etaops_dataset_drift', '1 if the last check found dataset drift, else 0', ['model']);
  const share = gauge(registry, 'etaops_drift_share', 'Share of drifted columns in the last check', ['model']);
  const last = gauge(registry, 'etaops_drift_last_check_timestamp_seconds', 'Unix time of the last drift check', ['model']);
  const mae = gauge(registry, 'etaops_live_mae_seconds', 'Mean absolute error of logged predictions with known delivery times', ['model']);
  const rmse = gauge(registry, 'etaops_live_rmse_seconds', 'Root mean squared error of logged predictions with known delivery times', ['model']);
  const seriesByModel = new Map<string, { column: string; test: string }[]>();

  return {
    recordDriftResult(model, result, at) {
      for (const old of seriesByModel.get(model) ?? []) {
        score.remove({ model, ...old });
        drifted.remove({ model, ...old });
      }
      const series: { column: string; test: string }[] = [];
      for (const [column, c] of Object.entries(result.columns)) {
        const labels = { model, column, test: c.test };
        // No score (a window without values) means no series: absent, not a perfect 0 or 1.
        if (c.score !== null && Number.isFinite(c.score)) score.set(labels, c.score);
        drifted.set(labels, c.drifted ? 1 : 0);
        series.push({ column, test: c.test });
      }
      seriesByModel.set(model, series);
      dataset.set({ model }, result.dataset_drift ? 1 : 0);
      share.set({ model }, result.drift_share);
      const when = at ?? (result.generated_at ? new Date(result.generated_at) : new Date());
      last.set({ model }, when.getTime() / 1000);
    },
    setLiveAccuracy(model, accuracy) {
      if (accuracy.mae === null) mae.remove({ model });
      else mae.set({ model }, accuracy.mae);
      if (accuracy.rmse === null) rmse.remove({ model });
      else rmse.set({ model }, accuracy.rmse);
    },
  };
}
