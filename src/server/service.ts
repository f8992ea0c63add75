/**
 * The prediction service: the model being served, scoring, payload logging, feedback and
 * metrics, independent of HTTP routing (app.ts maps routes onto it).
 *
 * The request path never awaits the database: predictions go to the PredictionLogWriter's
 * in-memory queue (`enqueue` never blocks) and the writer batches them to Postgres; when the
 * database is down the writer drops and counts, and predictions carry on.
 */
import { availableParallelism } from 'node:os';
import { EXAMPLE_ORDER, parseOrders, type OrderLimits, type OrderRow, type ParsedOrders } from './order-input.js';
import { ServingModel, type LoadedModel, type ModelIdentity } from './serving-model.js';
import type { BatchKind, BatchOutcome } from './batch-pool.js';
import { rowId, type RowIds } from './predict-answer.js';
import { ServerMetrics } from './metrics.js';
import { LiveAccuracyWindow, RecentPredictions } from './live-accuracy.js';
import { DEFAULT_RATE_LIMIT, RateLimiter, type RateLimitOptions } from './rate-limit.js';

/** What the service needs of the registry's PredictionLogWriter. */
export interface PredictionLogSink {
  enqueue(entry: { requestId: string; model: string; version: number; ts?: Date; features?: unknown; featuresJson?: string; prediction: number }): void;
  stats(): { written: number; dropped: number; pending: number };
  flush(): Promise<unknown>;
  close(): Promise<unknown>;
}

/** What the service needs of the registry to store ground truth. */
export interface FeedbackStore {
  recordFeedback(input: { requestId: string; actualSeconds: number; ts?: Date }): Promise<unknown>;
}

export interface ServiceOptions {
  bodyLimitBytes: number;
  maxBatchRows: number;
  rateLimit: RateLimitOptions;
  /** Seconds of feedback the live MAE/RMSE cover. */
  liveWindowSeconds: number;
  predictionLog?: PredictionLogSink;
  feedbackStore?: FeedbackStore;
  /** When set, /admin/* needs `Authorization: Bearer <token>`; otherwise only loopback clients. */
  adminToken?: string;
  metrics?: ServerMetrics;
  /** Worker threads that answer large /predict and infer bodies off the event loop (batch-pool.ts); 0 = none. Default: defaultBatchWorkers(). */
  batchWorkers?: number;
  /** Operational log lines (batch workers that cannot start); default none. */
  log?: (line: string) => void;
}

/**
 * One batch worker per core, at most four. One per core rather than one fewer: the event loop
 * only moves bytes for the requests they take (bench-serve, two cores, 1,000-order requests: two
 * workers 1.4-1.7x none; one worker 1.1-1.2x). At most four: each holds its own model and heap,
 * and a container's CPU limit is not what availableParallelism() sees.
 */
export function defaultBatchWorkers(): number {
  return Math.min(4, availableParallelism());
}

export const DEFAULT_SERVICE_OPTIONS: ServiceOptions = {
  bodyLimitBytes: 1024 * 1024,
  maxBatchRows: 10_000,
  rateLimit: DEFAULT_RATE_LIMIT,
  liveWindowSeconds: 3600,
};

export interface Scored {
  identity: ModelIdentity;
  predictions: Float64Array;
}

/** What the prediction log stores of each row: the raw order, or its JSON text already serialised (by a batch worker). */
export type LoggedFeatures = { raw: readonly unknown[] } | { json: readonly string[] };

export class NotReadyError extends Error {
  constructor() {
    super('no model is loaded yet; retry when /v2/health/ready answers 200');
    this.name = 'NotReadyError';
  }
}

export class PredictionService {
  readonly options: ServiceOptions;
  readonly metrics: ServerMetrics;
  readonly limiter: RateLimiter;
  readonly recent = new RecentPredictions();
  readonly accuracy: LiveAccuracyWindow;
  readonly orderLimits: OrderLimits;
  private model: ServingModel | undefined;
  private swapping: Promise<unknown> = Promise.resolve();
  /** Called by POST /admin/reload; the server lifecycle installs it. */
  reloadHandler: (() => Promise<ModelIdentity>) | undefined;
  draining = false;

  constructor(options: Partial<ServiceOptions> = {}) {
    this.options = { ...DEFAULT_SERVICE_OPTIONS, ...options };
    this.metrics = this.options.metrics ?? new ServerMetrics();
    this.limiter = new RateLimiter(this.options.rateLimit);
    this.accuracy = new LiveAccuracyWindow(this.options.liveWindowSeconds);
    this.orderLimits = { maxBatchRows: this.options.maxBatchRows };
    this.metrics.setLogSource(this.options.predictionLog);
    this.metrics.setAccuracySource(this.accuracy);
    this.metrics.setBatchWorkerSource(() => this.model?.batchWorkersReady ?? 0);
  }

  get ready(): boolean {
    return this.model !== undefined && !this.draining;
  }

  get identity(): ModelIdentity | undefined {
    return this.model?.identity;
  }

  /**
   * Warms `loaded` with one prediction, then makes it the served model; the previous model
   * finishes its in-flight requests and closes. Swaps are serialised.
   */
  installModel(loaded: LoadedModel): Promise<ModelIdentity> {
    const run = this.swapping.then(async () => {
      const next = new ServingModel(loaded, {
        onRun: (rows) => this.metrics.observeModelRun(rows),
        batchWorkers: this.options.batchWorkers ?? defaultBatchWorkers(),
        limits: this.orderLimits,
        log: this.options.log,
      });
      try {
        await next.warm(parseOrders(EXAMPLE_ORDER).rows);
      } catch (err) {
        await next.retire();
        throw err;
      }
      const previous = this.model;
      this.model = next;
      this.metrics.setModel(next.identity);
      if (previous) void previous.retire();
      return next.identity;
    });
    this.swapping = run.catch(() => undefined);
    return run;
  }

  /** Validates a /predict body (throws OrderValidationError) and counts input-quality metrics. */
  parse(body: unknown): ParsedOrders {
    const parsed = parseOrders(body, this.orderLimits);
    this.metrics.countUnknown(parsed.unknownFields.length);
    if (parsed.missingFields.size > 0) this.metrics.countMissing(parsed.missingFields);
    return parsed;
  }

  /**
   * Answers a large /predict or infer body on a batch worker, counting metrics and recording the
   * rows as parse + score + record would; undefined when no worker is ready (the caller does
   * those on the event loop). A failed outcome (bad JSON, invalid orders) is the caller's to answer.
   */
  predictOffThread(kind: BatchKind, bytes: Uint8Array, requestId: string): Promise<BatchOutcome> | undefined {
    const model = this.model;
    const pending = model?.submitBatch(kind, bytes, requestId, this.options.predictionLog !== undefined);
    if (!model || !pending) return undefined;
    return pending.then((outcome) => {
      this.metrics.countOffThread();
      if (!outcome.ok) return outcome;
      this.metrics.countUnknown(outcome.unknownFields.length);
      if (outcome.missingFields.length > 0) this.metrics.countMissing(new Map(outcome.missingFields));
      this.metrics.observePredictions(outcome.predictions);
      const scored = { identity: model.identity, predictions: outcome.predictions };
      this.record(outcome.ids, outcome.createdAt, { json: outcome.featuresJson ?? [] }, scored);
      return outcome;
    });
  }

  async score(rows: OrderRow[]): Promise<Scored> {
    const model = this.model;
    if (!model) throw new NotReadyError();
    const predictions = await model.predictRows(rows);
    this.metrics.observePredictions(predictions);
    return { identity: model.identity, predictions };
  }

  /**
   * Remembers and logs scored rows; never waits on the database. A batch is remembered as one
   * entry, plus one per row that brought its own id.
   */
  record(ids: RowIds, createdAt: Float64Array, features: LoggedFeatures, scored: Scored): void {
    const { identity, predictions } = scored;
    const now = Date.now();
    if (ids.batchId !== undefined) {
      // A copy: `predictions` may be a view into a merged micro-batch's output.
      this.recent.rememberBatch(ids.batchId, { predictions: Float64Array.from(predictions), createdAt, model: identity.name, version: identity.version, at: now });
    }
    for (let i = 0; i < ids.own.length; i++) {
      const own = ids.own[i];
      if (own !== undefined) {
        this.recent.remember(own, { prediction: predictions[i], model: identity.name, version: identity.version, at: now, createdAt: createdAt[i] });
      }
    }
    const log = this.options.predictionLog;
    if (!log) return;
    const ts = new Date(now);
    const version = identity.registryVersion ?? 0;
    for (let i = 0; i < predictions.length; i++) {
      try {
        const entry = { requestId: rowId(ids, i), model: identity.name, version, ts, prediction: predictions[i] };
        log.enqueue('json' in features ? { ...entry, featuresJson: features.json[i] } : { ...entry, features: features.raw[i] });
      } catch {
        // A closed or broken writer counts its own drops; scoring must not fail over logging.
      }
    }
  }

  async shutdown(): Promise<void> {
    this.draining = true;
    const log = this.options.predictionLog;
    if (log) await log.close().catch(() => undefined);
    const model = this.model;
    if (model) await model.retire();
  }
}
