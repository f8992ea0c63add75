/**
 * The model registry API over a `Database` (pg or PGlite, same SQL). Version numbers are
 * assigned atomically per model; stage changes are transactional and recorded with who/why.
 */
import type { Database, Queryable } from './database.js';
import { openDatabase, type OpenDatabaseOptions } from './database.js';
import { migrate } from './migrations/index.js';
import {
  InvalidRegistryInputError, InvalidStageTransitionError, UnknownModelError, UnknownVersionError,
} from './errors.js';
import type {
  DriftResult, DriftResultInput, FeedbackInput, Lineage, LiveAccuracy, LoggedPrediction, ModelVersion,
  NewModelVersion, Stage, StageTransition, TransitionOptions,
} from './index.js';

const MODEL_NAME = /^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$/;
const SHA256 = /^[0-9a-f]{64}$/;
const STAGE_SET = new Set<string>(['Candidate', 'Production', 'Archived']);

/**
 * Allowed moves. Archived -> Production is a rollback; nothing goes back to Candidate, since
 * a Candidate is by definition a version that was never judged.
 */
const ALLOWED: Record<Stage, readonly Stage[]> = {
  Candidate: ['Production', 'Archived'],
  Production: ['Archived'],
  Archived: ['Production'],
};

interface VersionRow {
  model: string;
  version: number;
  artifact_uri: string;
  sha256: string;
  metrics: Record<string, number>;
  params: Record<string, unknown>;
  feature_spec_version: string | null;
  lineage: Lineage;
  stage: Stage;
  created_at: Date;
}

const VERSION_COLUMNS = 'model, version, artifact_uri, sha256, metrics, params, feature_spec_version, lineage, stage, created_at';

function toVersion(r: VersionRow): ModelVersion {
  return {
    model: r.model, version: r.version, artifactUri: r.artifact_uri, sha256: r.sha256,
    metrics: r.metrics, params: r.params, featureSpecVersion: r.feature_spec_version,
    lineage: r.lineage, stage: r.stage, createdAt: new Date(r.created_at),
  };
}

function checkModelName(model: string): void {
  if (typeof model !== 'string' || !MODEL_NAME.test(model)) {
    throw new InvalidRegistryInputError('model name', `'${String(model)}' must be 1-63 lowercase letters, digits, '-' or '.', starting and ending with a letter or digit`);
  }
}

function checkVersion(version: number): void {
  if (!Number.isInteger(version) || version < 1) throw new InvalidRegistryInputError('version', `'${String(version)}' must be a whole number >= 1`);
}

function checkWindow(seconds: number): void {
  if (!Number.isFinite(seconds) || seconds <= 0) throw new InvalidRegistryInputError('window', `${String(seconds)} must be a positive number of seconds`);
}

function isPlainObject(v: unknown): boolean {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export class Registry {
  constructor(readonly db: Database) {}

  /** Opens the database at `url` (see openDatabase) and applies pending migrations. */
  static async open(url: string, opts: OpenDatabaseOptions = {}): Promise<Registry> {
    const db = await openDatabase(url, opts);
    try {
      await migrate(db);
    } catch (err) {
      await db.close().catch(() => {});
      throw err;
    }
    return new Registry(db);
  }

  close(): Promise<void> {
    return this.db.close();
  }

  /**
   * Registers a new Candidate version numbered one past the model's latest.
   *
   * Idempotent per training run: when `lineage.trainingRun` is set and that run already
   * registered the same sha256 for this model, the existing version is returned and nothing is
   * written, so a retried Job or a controller replaying a run never makes a duplicate.
   */
  async registerVersion(input: NewModelVersion): Promise<ModelVersion> {
    checkModelName(input.model);
    if (typeof input.artifactUri !== 'string' || input.artifactUri === '') throw new InvalidRegistryInputError('artifactUri', 'must be a non-empty URI');
    if (typeof input.sha256 !== 'string' || !SHA256.test(input.sha256)) throw new InvalidRegistryInputError('sha256', `'${String(input.sha256)}' must be 64 lowercase hex characters`);
    for (const [field, value] of [['metrics', input.metrics], ['params', input.params], ['lineage', input.lineage]] as const) {
      if (value !== undefined && !isPlainObject(value)) throw new InvalidRegistryInputError(field, 'must be a JSON object');
    }
    const run = input.lineage?.trainingRun;
    if (run !== undefined && (typeof run !== 'string' || run === '')) throw new InvalidRegistryInputError('lineage.trainingRun', 'must be a non-empty string');
    return this.db.transaction(async (tx) => {
      // Lock the model row (creating it first if new): registrations of one model queue here,
      // so each gets the next number and the run check below cannot race.
      await tx.query('INSERT INTO models (name, latest_version) VALUES ($1, 0) ON CONFLICT (name) DO NOTHING', [input.model]);
      await tx.query('SELECT name FROM models WHERE name = $1 FOR UPDATE', [input.model]);
      if (run !== undefined) {
        const existing = await tx.query<VersionRow>(
          `SELECT ${VERSION_COLUMNS} FROM model_versions
           WHERE model = $1 AND lineage ? 'trainingRun' AND lineage->>'trainingRun' = $2 ORDER BY version`, [input.model, run]);
        const same = existing.rows.find((r) => r.sha256 === input.sha256);
        if (same) return toVersion(same);
        if (existing.rows.length > 0) {
          throw new InvalidRegistryInputError('lineage.trainingRun', `run '${run}' already registered ${input.model} version ${existing.rows[0].version} with a different sha256`);
        }
      }
      const bumped = await tx.query<{ latest_version: number }>(
        'UPDATE models SET latest_version = latest_version + 1 WHERE name = $1 RETURNING latest_version', [input.model]);
      const version = bumped.rows[0].latest_version;
      const inserted = await tx.query<VersionRow>(
        `INSERT INTO model_versions (model, version, artifact_uri, sha256, metrics, params, feature_spec_version, lineage)
         VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7, $8::jsonb)
         RETURNING ${VERSION_COLUMNS}`,
        [input.model, version, input.artifactUri, input.sha256, JSON.stringify(input.metrics ?? {}),
          JSON.stringify(input.params ?? {}), input.featureSpecVersion ?? null, JSON.stringify(input.lineage ?? {})]);
      await tx.query(
        `INSERT INTO stage_transitions (model, version, from_stage, to_stage, who, why)
         VALUES ($1, $2, NULL, 'Candidate', $3, 'registered')`, [input.model, version, input.who ?? 'etaops']);
      return toVersion(inserted.rows[0]);
    });
  }

  /**
   * Deletes logged predictions and feedback older than `olderThanSeconds` (retention), in
   * chunks so a large backlog never holds one long transaction. Returns the rows removed.
   */
  async pruneLogs(opts: { olderThanSeconds: number; chunk?: number }): Promise<{ predictions: number; feedback: number }> {
    checkWindow(opts.olderThanSeconds);
    const chunk = opts.chunk ?? 10_000;
    if (!Number.isInteger(chunk) || chunk < 1) throw new InvalidRegistryInputError('chunk', `${String(chunk)} must be a whole number >= 1`);
    const removed = { predictions: 0, feedback: 0 };
    for (const [table, key] of [['prediction_log', 'predictions'], ['feedback', 'feedback']] as const) {
      const idColumn = table === 'prediction_log' ? 'id' : 'request_id';
      while (true) {
        const r = await this.db.query(
          `DELETE FROM ${table} WHERE ${idColumn} IN (
             SELECT ${idColumn} FROM ${table} WHERE ts < now() - make_interval(secs => $1::double precision) LIMIT $2)`,
          [opts.olderThanSeconds, chunk]);
        removed[key] += r.rowCount;
        if (r.rowCount < chunk) break;
      }
    }
    return removed;
  }

  /** One version; UnknownModelError / UnknownVersionError when absent. */
  async getVersion(model: string, version: number): Promise<ModelVersion> {
    checkModelName(model);
    checkVersion(version);
    const r = await this.db.query<VersionRow>(`SELECT ${VERSION_COLUMNS} FROM model_versions WHERE model = $1 AND version = $2`, [model, version]);
    if (r.rows.length === 0) {
      await this.requireModel(this.db, model);
      throw new UnknownVersionError(model, version);
    }
    return toVersion(r.rows[0]);
  }

  /** All versions of a model, newest first. UnknownModelError when none was ever registered. */
  async listVersions(model: string): Promise<ModelVersion[]> {
    checkModelName(model);
    const r = await this.db.query<VersionRow>(`SELECT ${VERSION_COLUMNS} FROM model_versions WHERE model = $1 ORDER BY version DESC`, [model]);
    if (r.rows.length === 0) await this.requireModel(this.db, model);
    return r.rows.map(toVersion);
  }

  /** Names of all registered models, sorted. */
  async listModels(): Promise<string[]> {
    const r = await this.db.query<{ name: string }>('SELECT name FROM models ORDER BY name');
    return r.rows.map((row) => row.name);
  }

  /** The Production version, or undefined when the model has none (UnknownModelError if no model). */
  async getProduction(model: string): Promise<ModelVersion | undefined> {
    checkModelName(model);
    const r = await this.db.query<VersionRow>(`SELECT ${VERSION_COLUMNS} FROM model_versions WHERE model = $1 AND stage = 'Production'`, [model]);
    if (r.rows.length === 0) {
      await this.requireModel(this.db, model);
      return undefined;
    }
    return toVersion(r.rows[0]);
  }

  /**
   * Moves a version to `toStage`, recording who and why. Promoting to Production archives the
   * current Production version in the same transaction. Moving to the stage it is already in
   * is a no-op (so reconcilers can call it repeatedly) and records nothing.
   */
  async transitionStage(model: string, version: number, toStage: Stage, opts: TransitionOptions): Promise<ModelVersion> {
    checkModelName(model);
    checkVersion(version);
    if (!STAGE_SET.has(toStage)) throw new InvalidRegistryInputError('stage', `'${String(toStage)}' must be one of Candidate, Production, Archived`);
    if (!opts || typeof opts.who !== 'string' || opts.who === '') throw new InvalidRegistryInputError('who', 'a stage change must say who made it');
    const why = typeof opts.why === 'string' ? opts.why : '';
    return this.db.transaction(async (tx) => {
      // Lock the model row: concurrent promotions of the same model run one after another.
      const m = await tx.query('SELECT name FROM models WHERE name = $1 FOR UPDATE', [model]);
      if (m.rows.length === 0) throw new UnknownModelError(model);
      const cur = await tx.query<VersionRow>(`SELECT ${VERSION_COLUMNS} FROM model_versions WHERE model = $1 AND version = $2`, [model, version]);
      if (cur.rows.length === 0) throw new UnknownVersionError(model, version);
      const from = cur.rows[0].stage;
      if (from === toStage) return toVersion(cur.rows[0]);
      if (!ALLOWED[from].includes(toStage)) {
        throw new InvalidStageTransitionError(model, version, from, toStage, `allowed from ${from}: ${ALLOWED[from].join(', ')}`);
      }
      if (toStage === 'Production') await this.archiveProduction(tx, model, version, opts.who);
      const moved = await tx.query<VersionRow>(
        `UPDATE model_versions SET stage = $3 WHERE model = $1 AND version = $2 RETURNING ${VERSION_COLUMNS}`, [model, version, toStage]);
      await tx.query(
        'INSERT INTO stage_transitions (model, version, from_stage, to_stage, who, why) VALUES ($1, $2, $3, $4, $5, $6)',
        [model, version, from, toStage, opts.who, why]);
      return toVersion(moved.rows[0]);
    });
  }

  /** Every stage change of a model's versions (registration included), oldest first. */
  async stageHistory(model: string, version?: number): Promise<StageTransition[]> {
    checkModelName(model);
    if (version !== undefined) checkVersion(version);
    const r = await this.db.query<{ model: string; version: number; from_stage: Stage | null; to_stage: Stage; who: string; why: string; at: Date }>(
      `SELECT model, version, from_stage, to_stage, who, why, at FROM stage_transitions
       WHERE model = $1 AND ($2::integer IS NULL OR version = $2::integer) ORDER BY id`, [model, version ?? null]);
    if (r.rows.length === 0) await this.requireModel(this.db, model);
    return r.rows.map((t) => ({ model: t.model, version: t.version, fromStage: t.from_stage, toStage: t.to_stage, who: t.who, why: t.why, at: new Date(t.at) }));
  }

  /** Stores (or replaces) the observed delivery time for a logged request. */
  async recordFeedback(input: FeedbackInput): Promise<void> {
    if (typeof input.requestId !== 'string' || input.requestId === '' || input.requestId.length > 200) {
      throw new InvalidRegistryInputError('requestId', 'must be a non-empty string of at most 200 characters');
    }
    if (typeof input.actualSeconds !== 'number' || !Number.isFinite(input.actualSeconds) || input.actualSeconds < 0) {
      throw new InvalidRegistryInputError('actualSeconds', `${String(input.actualSeconds)} must be a finite number >= 0`);
    }
    await this.db.query(
      `INSERT INTO feedback (request_id, actual_seconds, ts) VALUES ($1, $2, COALESCE($3::timestamptz, now()))
       ON CONFLICT (request_id) DO UPDATE SET actual_seconds = EXCLUDED.actual_seconds, ts = EXCLUDED.ts`,
      [input.requestId, input.actualSeconds, input.ts ?? null]);
  }

  /**
   * MAE, RMSE and bias of the model's logged predictions made in the last `windowSeconds`
   * that have feedback. A request id logged twice counts once (its latest prediction).
   */
  async liveAccuracy(model: string, opts: { windowSeconds: number; version?: number }): Promise<LiveAccuracy> {
    checkModelName(model);
    checkWindow(opts.windowSeconds);
    if (opts.version !== undefined) checkVersion(opts.version);
    const r = await this.db.query<{ n: number; mae: number | null; rmse: number | null; bias: number | null }>(
      `WITH latest AS (
         SELECT DISTINCT ON (request_id) request_id, prediction
         FROM prediction_log
         WHERE model = $1 AND ts >= now() - make_interval(secs => $2::double precision)
           AND ($3::integer IS NULL OR version = $3::integer)
         ORDER BY request_id, ts DESC, id DESC)
       SELECT count(*)::integer AS n,
              avg(abs(l.prediction - f.actual_seconds))::double precision AS mae,
              sqrt(avg((l.prediction - f.actual_seconds) ^ 2))::double precision AS rmse,
              avg(l.prediction - f.actual_seconds)::double precision AS bias
       FROM latest l JOIN feedback f USING (request_id)`,
      [model, opts.windowSeconds, opts.version ?? null]);
    const row = r.rows[0];
    return { model, windowSeconds: opts.windowSeconds, count: row.n, mae: row.mae, rmse: row.rmse, bias: row.bias };
  }

  /** Stores one drift check's outcome; returns its id. */
  async recordDriftResult(input: DriftResultInput): Promise<number> {
    checkModelName(input.model);
    if (typeof input.checkName !== 'string' || input.checkName === '') throw new InvalidRegistryInputError('checkName', 'must be a non-empty string');
    if (typeof input.datasetDrift !== 'boolean') throw new InvalidRegistryInputError('datasetDrift', 'must be true or false');
    if (typeof input.driftShare !== 'number' || !(input.driftShare >= 0 && input.driftShare <= 1)) {
      throw new InvalidRegistryInputError('driftShare', `${String(input.driftShare)} must be a number from 0 to 1`);
    }
    const r = await this.db.query<{ id: number }>(
      `INSERT INTO drift_results (model, check_name, ts, dataset_drift, drift_share, summary, report_uri)
       VALUES ($1, $2, COALESCE($3::timestamptz, now()), $4, $5, $6::jsonb, $7) RETURNING id::integer AS id`,
      [input.model, input.checkName, input.ts ?? null, input.datasetDrift, input.driftShare, JSON.stringify(input.summary ?? {}), input.reportUri ?? null]);
    return r.rows[0].id;
  }

  /** Drift results of a model, newest first. */
  async driftResults(model: string, opts: { limit?: number; checkName?: string } = {}): Promise<DriftResult[]> {
    checkModelName(model);
    const limit = opts.limit ?? 100;
    if (!Number.isInteger(limit) || limit < 1) throw new InvalidRegistryInputError('limit', `${String(limit)} must be a whole number >= 1`);
    const r = await this.db.query<{ id: number; model: string; check_name: string; ts: Date; dataset_drift: boolean; drift_share: number; summary: unknown; report_uri: string | null }>(
      `SELECT id::integer AS id, model, check_name, ts, dataset_drift, drift_share, summary, report_uri FROM drift_results
       WHERE model = $1 AND ($2::text IS NULL OR check_name = $2::text) ORDER BY ts DESC, id DESC LIMIT $3`,
      [model, opts.checkName ?? null, limit]);
    return r.rows.map((d) => ({ id: d.id, model: d.model, checkName: d.check_name, ts: new Date(d.ts), datasetDrift: d.dataset_drift, driftShare: d.drift_share, summary: d.summary, reportUri: d.report_uri }));
  }

  /**
   * Logged predictions of a model, newest first: those of the last `windowSeconds` and/or at
   * most `limit` rows (default 10,000). Drift checks read the current window from here.
   */
  async recentPredictions(model: string, opts: { windowSeconds?: number; limit?: number; version?: number } = {}): Promise<LoggedPrediction[]> {
    checkModelName(model);
    if (opts.windowSeconds !== undefined) checkWindow(opts.windowSeconds);
    if (opts.version !== undefined) checkVersion(opts.version);
    const limit = opts.limit ?? 10_000;
    if (!Number.isInteger(limit) || limit < 1) throw new InvalidRegistryInputError('limit', `${String(limit)} must be a whole number >= 1`);
    const r = await this.db.query<{ request_id: string; model: string; version: number; ts: Date; features: unknown; prediction: number }>(
      `SELECT request_id, model, version, ts, features, prediction FROM prediction_log
       WHERE model = $1
         AND ($2::double precision IS NULL OR ts >= now() - make_interval(secs => $2::double precision))
         AND ($3::integer IS NULL OR version = $3::integer)
       ORDER BY ts DESC, id DESC LIMIT $4`,
      [model, opts.windowSeconds ?? null, opts.version ?? null, limit]);
    return r.rows.map((p) => ({ requestId: p.request_id, model: p.model, version: p.version, ts: new Date(p.ts), features: p.features, prediction: p.prediction }));
  }

  private async archiveProduction(tx: Queryable, model: string, promoted: number, who: string): Promise<void> {
    const prev = await tx.query<{ version: number }>(
      `UPDATE model_versions SET stage = 'Archived' WHERE model = $1 AND stage = 'Production' RETURNING version`, [model]);
    for (const p of prev.rows) {
      await tx.query(
        `INSERT INTO stage_transitions (model, version, from_stage, to_stage, who, why) VALUES ($1, $2, 'Production', 'Archived', $3, $4)`,
        [model, p.version, who, `replaced by version ${promoted}`]);
    }
  }

  private async requireModel(q: Queryable, model: string): Promise<void> {
    const r = await q.query('SELECT 1 FROM models WHERE name = $1', [model]);
    if (r.rows.length === 0) throw new UnknownModelError(model);
  }
}
