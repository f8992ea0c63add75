/**
 * Model registry on Postgres: models, versions (artifact URI + sha256, metrics, params, lineage,
 * stage), stage history, the prediction log, ground-truth feedback and drift results.
 *
 * One SQL dialect and one set of migrations for two drivers: `pg` against a real server
 * (`postgres://...`) and PGlite for embedded mode (`pglite:///abs/dir` or `memory://`).
 */
export type { Database, Queryable, QueryResult, OpenDatabaseOptions } from './database.js';
export { openDatabase } from './database.js';
export { migrate, MIGRATIONS } from './migrations/index.js';
export type { Migration, MigrateResult } from './migrations/index.js';
export { Registry } from './registry.js';
export { PredictionLogWriter } from './prediction-log.js';
export type { PredictionLogWriterOptions, PredictionLogStats } from './prediction-log.js';
export {
  RegistryError, UnknownModelError, UnknownVersionError, InvalidStageTransitionError, InvalidRegistryInputError,
  DatabaseUrlError,
} from './errors.js';

export type Stage = 'Candidate' | 'Production' | 'Archived';
export const STAGES: readonly Stage[] = ['Candidate', 'Production', 'Archived'];

/** Where a version came from. Extra keys are kept as given. */
export interface Lineage {
  trainingRun?: string;
  datasetFingerprint?: string;
  image?: string;
  [key: string]: unknown;
}

export interface NewModelVersion {
  model: string;
  /** Directory URI holding model.onnx + model.json (see src/storage). */
  artifactUri: string;
  /** sha256 of model.onnx, 64 lowercase hex characters. */
  sha256: string;
  metrics?: Record<string, number>;
  params?: Record<string, unknown>;
  featureSpecVersion?: string;
  lineage?: Lineage;
  /** Who registered it (recorded as the first stage transition). */
  who?: string;
}

export interface ModelVersion {
  model: string;
  /** 1, 2, 3 ... per model, assigned atomically at registration. */
  version: number;
  artifactUri: string;
  sha256: string;
  metrics: Record<string, number>;
  params: Record<string, unknown>;
  featureSpecVersion: string | null;
  lineage: Lineage;
  stage: Stage;
  createdAt: Date;
}

export interface StageTransition {
  model: string;
  version: number;
  /** null for the registration itself. */
  fromStage: Stage | null;
  toStage: Stage;
  who: string;
  why: string;
  at: Date;
}

export interface TransitionOptions {
  who: string;
  why: string;
}

/** One scored row as the prediction server logs it. */
export interface PredictionLogEntry {
  /** Unique per scored row (for a batch request, e.g. `${requestId}:${index}`). */
  requestId: string;
  model: string;
  version: number;
  /** Defaults to the time of enqueue. */
  ts?: Date;
  /** The raw order fields as received (JSON-serialisable). */
  features?: unknown;
  /** The same already serialised as JSON text (a batch worker does it off the event loop); wins over `features`. */
  featuresJson?: string;
  prediction: number;
}

export interface LoggedPrediction {
  requestId: string;
  model: string;
  version: number;
  ts: Date;
  features: unknown;
  prediction: number;
}

export interface FeedbackInput {
  requestId: string;
  /** Observed delivery duration in seconds. */
  actualSeconds: number;
  ts?: Date;
}

export interface LiveAccuracy {
  model: string;
  windowSeconds: number;
  /** Predictions in the window that have feedback. */
  count: number;
  /** null when count is 0. */
  mae: number | null;
  rmse: number | null;
  /** mean(prediction - actual): positive = predicting too late. */
  bias: number | null;
}

export interface DriftResultInput {
  model: string;
  checkName: string;
  ts?: Date;
  datasetDrift: boolean;
  driftShare: number;
  summary: unknown;
  reportUri?: string;
}

export interface DriftResult extends Required<Omit<DriftResultInput, 'reportUri'>> {
  id: number;
  reportUri: string | null;
}
