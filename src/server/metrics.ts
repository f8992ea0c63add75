/**
 * The prediction server's Prometheus metrics, on a registry of its own (so tests and embedded
 * mode can run several servers in one process).
 *
 * Per-request work stays O(1): labelled children are resolved once and cached by a string key,
 * so a request costs a Map lookup plus a bucket scan, not prom-client's label hashing.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Request latency buckets, from 0.5 ms (the server's p50 is well under a millisecond). */
export const LATENCY_BUCKETS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
/** Predicted delivery times: 10 minutes to 3 hours. */
export const PREDICTION_BUCKETS = [600, 900, 1200, 1500, 1800, 2100, 2400, 2700, 3000, 3300, 3600, 4200, 4800, 6000, 7200, 10_800];

export interface LogStatsSource {
  stats(): { written: number; dropped: number; pending: number };
}

export interface LiveAccuracySource {
  /** Current MAE / RMSE in seconds, or null before any feedback arrived. */
  current(): { mae: number; rmse: number; count: number } | null;
}

interface ModelIdentity {
  name: string;
  version: string;
  sha256: string;
}

export class ServerMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'route' | 'method' | 'status'>;
  private readonly duration: Histogram<'route' | 'method' | 'status'>;
  private readonly predictions: Histogram;
  private readonly missing: Counter<'field'>;
  private readonly unknown: Counter;
  private readonly modelInfo: Gauge<'model' | 'version' | 'sha256'>;
  private readonly rowsScored: Counter;
  private readonly modelRuns: Histogram;
  private readonly children = new Map<string, { count: Counter.Internal; latency: Histogram.Internal<'route' | 'method' | 'status'> }>();
  private readonly offThread: Counter;
  private logSource: LogStatsSource | undefined;
  private accuracySource: LiveAccuracySource | undefined;
  private batchWorkersReady: (() => number) | undefined;

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
    this.requests = new Counter({ name: 'etaops_http_requests_total', help: 'HTTP requests by route, method and status', labelNames: ['route', 'method', 'status'], registers });
    this.duration = new Histogram({ name: 'etaops_http_request_duration_seconds', help: 'HTTP request latency', labelNames: ['route', 'method', 'status'], buckets: LATENCY_BUCKETS, registers });
    this.predictions = new Histogram({ name: 'etaops_prediction_seconds', help: 'Predicted delivery durations (seconds)', buckets: PREDICTION_BUCKETS, registers });
    this.missing = new Counter({ name: 'etaops_input_missing_fields_total', help: 'Scored rows that left a nullable field empty, by field', labelNames: ['field'], registers });
    this.unknown = new Counter({ name: 'etaops_input_unknown_fields_total', help: 'Unknown fields seen in request bodies (ignored)', registers });
    this.modelInfo = new Gauge({ name: 'etaops_model_info', help: 'The model being served (value 1)', labelNames: ['model', 'version', 'sha256'], registers });
    this.rowsScored = new Counter({ name: 'etaops_rows_scored_total', help: 'Orders scored by the model', registers });
    this.modelRuns = new Histogram({ name: 'etaops_model_batch_rows', help: 'Rows per model run (micro-batching merges concurrent requests)', buckets: [1, 2, 4, 8, 16, 64, 256, 1024, 4096, 16_384], registers });
    this.offThread = new Counter({ name: 'etaops_batch_worker_requests_total', help: 'POST /predict and inference requests answered by a batch worker thread (bodies of 32 KiB and more)', registers });
    const ready = () => this.batchWorkersReady?.() ?? 0;
    new Gauge({
      name: 'etaops_batch_workers_ready', help: 'Batch worker threads ready to take a large request', registers,
      collect() { this.set(ready()); },
    });
    this.registerLiveAccuracy(registers);
    this.registerPredictionLog(registers);
  }

  private registerLiveAccuracy(registers: Registry[]): void {
    // An arrow captures the server's `this`: prom-client calls collect() bound to the metric.
    const accuracy = () => this.accuracySource?.current();
    new Gauge({
      name: 'etaops_live_mae_seconds', help: 'Mean absolute error of predictions that got feedback, over the live window', registers,
      collect() { const a = accuracy(); if (a) this.set(a.mae); },
    });
    new Gauge({
      name: 'etaops_live_rmse_seconds', help: 'Root mean squared error of predictions that got feedback, over the live window', registers,
      collect() { const a = accuracy(); if (a) this.set(a.rmse); },
    });
    new Gauge({
      name: 'etaops_live_feedback_count', help: 'Feedback rows in the live accuracy window', registers,
      collect() { this.set(accuracy()?.count ?? 0); },
    });
  }

  private registerPredictionLog(registers: Registry[]): void {
    const logStats = () => this.logSource?.stats();
    let written = 0;
    let dropped = 0;
    new Counter({
      name: 'etaops_prediction_log_written_total', help: 'Prediction log rows written to the database', registers,
      collect() {
        const s = logStats();
        if (s && s.written > written) { this.inc(s.written - written); written = s.written; }
      },
    });
    new Counter({
      name: 'etaops_prediction_log_dropped_total', help: 'Prediction log rows dropped (database down or queue full); predictions were still answered', registers,
      collect() {
        const s = logStats();
        if (s && s.dropped > dropped) { this.inc(s.dropped - dropped); dropped = s.dropped; }
      },
    });
    new Gauge({
      name: 'etaops_prediction_log_pending', help: 'Prediction log rows queued, not yet written', registers,
      collect() { this.set(logStats()?.pending ?? 0); },
    });
  }

  setLogSource(source: LogStatsSource | undefined): void {
    this.logSource = source;
  }

  setBatchWorkerSource(ready: () => number): void {
    this.batchWorkersReady = ready;
  }

  countOffThread(): void {
    this.offThread.inc();
  }

  setAccuracySource(source: LiveAccuracySource | undefined): void {
    this.accuracySource = source;
  }

  observeRequest(route: string, method: string, status: number, seconds: number): void {
    const key = `${route}\u0000${method}\u0000${status}`;
    let child = this.children.get(key);
    if (!child) {
      const labels = { route, method, status: String(status) };
      child = { count: this.requests.labels(labels), latency: this.duration.labels(labels) };
      this.children.set(key, child);
    }
    child.count.inc();
    child.latency.observe(seconds);
  }

  observePredictions(values: Float64Array, from = 0, to = values.length): void {
    for (let i = from; i < to; i++) this.predictions.observe(values[i]);
    this.rowsScored.inc(to - from);
  }

  observeModelRun(rows: number): void {
    this.modelRuns.observe(rows);
  }

  countMissing(missing: Map<string, number>): void {
    for (const [field, n] of missing) this.missing.inc({ field }, n);
  }

  countUnknown(n: number): void {
    if (n > 0) this.unknown.inc(n);
  }

  setModel(model: ModelIdentity): void {
    this.modelInfo.reset();
    this.modelInfo.set({ model: model.name, version: model.version, sha256: model.sha256 }, 1);
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
