/**
 * The prediction service: the model being served, scoring, payload logging, feedback and
 * metrics, independent of HTTP routing (app.ts maps routes onto it).
 *
 * The request path never awaits the database: predictions go to the PredictionLogWriter's
 * in-memory queue (`enqueue` never blocks) and the writer batches them to Postgres; when the
 * database is down the writer drops and counts, and predictions carry on.
 */
import { EXAMPLE_ORDER, parseOrders, type OrderLimits, type OrderRow, type ParsedOrders } from './order-input.js';
import { ServingModel, type LoadedModel, type ModelIdentity } from './serving-model.js';
import { ServerMetrics } from './metrics.js';
import { LiveAccuracyWindow, RecentPredictions } from './live-accuracy.js';
import { DEFAULT_RATE_LIMIT, RateLimiter, type RateLimitOptions } from './rate-limit.js';
import { CREATED_AT_COLUMN, NUMERIC_COLUMNS } from '../ml/dataset/schema.js';

/** What the service needs of the registry's PredictionLogWriter. */
export interface PredictionLogSink {
  enqueue(entry: { requestId: string; model: string; version: number; ts?: Date; features: unknown; prediction: number }): void;
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

export class NotReadyError extends Error {
  constructor() {
    super('no model is loaded yet; retry when /v2/health/ready answers 200');
    this.name = 'NotReadyError';
  }
}

const CREATED_AT_INDEX = (NUMERIC_COLUMNS as readonly string[]).indexOf(CREATED_AT_COLUMN);

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
      const next = new ServingModel(loaded, (rows) => this.metrics.observeModelRun(rows));
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

  async score(rows: OrderRow[]): Promise<Scored> {
    const model = this.model;
    if (!model) throw new NotReadyError();
    const predictions = await model.predictRows(rows);
    this.metrics.observePredictions(predictions);
    return { identity: model.identity, predictions };
  }

  /**
   * Remembers and logs scored rows; never waits on the database. Rows of a batch whose id is
   * the generated `${batchId}:${i}` are remembered as one entry.
   */
  record(requestIds: string[], rows: OrderRow[], raw: unknown[], scored: Scored, batchId?: string): void {
    const { identity, predictions } = scored;
    const now = Date.now();
    if (batchId !== undefined) {
      const createdAt = new Float64Array(rows.length);
      for (let i = 0; i < rows.length; i++) createdAt[i] = rows[i].numeric[CREATED_AT_INDEX];
      // A copy: `predictions` may be a view into a merged micro-batch's output.
      this.recent.rememberBatch(batchId, { predictions: Float64Array.from(predictions), createdAt, model: identity.name, version: identity.version, at: now });
    }
    for (let i = 0; i < requestIds.length; i++) {
      if (batchId === undefined || requestIds[i] !== `${batchId}:${i}`) {
        this.recent.remember(requestIds[i], {
          prediction: predictions[i], model: identity.name, version: identity.version, at: now, createdAt: rows[i].numeric[CREATED_AT_INDEX],
        });
      }
    }
    const log = this.options.predictionLog;
    if (!log) return;
    const ts = new Date(now);
    const version = identity.registryVersion ?? 0;
    for (let i = 0; i < requestIds.length; i++) {
      try {
        log.enqueue({ requestId: requestIds[i], model: identity.name, version, ts, features: raw[i], prediction: predictions[i] });
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
