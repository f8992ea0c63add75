/**
 * Embedded mode (`etaops up`, what `make demo` runs): the whole lifecycle on one machine with
 * no cluster and no services. Everything lives under one folder (default .etaops):
 *
 *   registry/     the model registry (PGlite: Postgres in-process, same SQL and migrations)
 *   artifacts/    model directories (file:// artifact store, sha256-verified)
 *   reports/      drift reports (HTML + JSON)
 *
 * Steps: data (generate, or --data) → train → register → promote to Production → serve the
 * Production version → drift check of shifted data against the training profile → summary.
 * A second run finds the Production model and skips training (unless --fresh, which wipes
 * the folder first).
 */
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Dataset } from '../ml/dataset/schema.js';
import { generateDataset } from '../ml/generate/index.js';
import { loadPredictor, trainModel, type ModelMeta } from '../ml/model/index.js';
import { putModelDir } from '../storage/index.js';
import { Registry, type ModelVersion } from '../registry/index.js';
import { driftColumnsOf, parseTrainingProfile, runDriftCheck, writeDriftReport, type DriftResult } from '../drift/index.js';
import { registerDriftMetrics } from '../drift/metrics.js';
import { openServeTarget } from '../server/run.js';
import { productionVersion } from '../server/model-source.js';
import { startServer, type RunningServer } from '../server/server.js';
import type { ServiceOptions } from '../server/service.js';
import { EXAMPLE_ORDER } from '../server/order-input.js';

export const EMBEDDED_MODEL = 'delivery-eta';

export interface UpOptions {
  /** The working folder (default .etaops). */
  dir: string;
  /** Training data URI; generated when absent. */
  data?: string;
  /** Rows to generate (default 20,000). */
  rows: number;
  host: string;
  port: number;
  fresh: boolean;
  service?: Partial<ServiceOptions>;
  /** Progress lines (default stderr). */
  log?: (line: string) => void;
}

export interface UpResult {
  server: RunningServer;
  model: ModelVersion;
  /** Trained in this run (false: reused from an earlier run). */
  trained: boolean;
  meta: ModelMeta;
  drift: { result: DriftResult; html: string; json: string } | undefined;
  setupSeconds: number;
  /** Stops the server gracefully and closes the registry. */
  stop(): Promise<void>;
}

interface Layout {
  root: string;
  registry: string;
  artifacts: string;
  data: string;
  reports: string;
}

function layoutOf(dir: string): Layout {
  const root = path.resolve(dir);
  return {
    root,
    registry: path.join(root, 'registry'),
    artifacts: path.join(root, 'artifacts'),
    data: path.join(root, 'data'),
    reports: path.join(root, 'reports'),
  };
}

/** The generator's drift scenario for the demo's check: one market runs short of dashers. */
export const DEMO_DRIFT_SCENARIO = 'busy-market';

/** Orders from the data generator (calibrated on the real sample); `shift` names a drift scenario. */
function generate(rows: number, seed: number, shift?: string): Dataset {
  return generateDataset({ rows, seed, shift });
}

function metricLine(meta: ModelMeta): string {
  const m = meta.metrics.overall as unknown as Record<string, number>;
  const f = (v: number | undefined) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(0) : '?');
  return `holdout RMSE ${f(m.rmse)} s, MAE ${f(m.mae)} s over ${meta.split.holdoutRows} orders; trained on ${meta.split.trainRows} rows (${meta.bestIteration} trees)`;
}

/** Flat numeric metrics for the registry row. */
function registryMetrics(meta: ModelMeta): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(meta.metrics.overall as unknown as Record<string, unknown>)) if (typeof v === 'number' && Number.isFinite(v)) out[k] = v;
  return out;
}

async function trainAndPromote(layout: Layout, registry: Registry, opts: UpOptions, log: (line: string) => void): Promise<{ version: ModelVersion; meta: ModelMeta }> {
  let dataset: Dataset | undefined;
  let dataUri = opts.data;
  if (!dataUri) {
    log(`generating ${opts.rows} orders`);
    dataset = generate(opts.rows, 1);
  }
  const modelDir = await mkdtemp(path.join(layout.root, 'train-'));
  try {
    const result = await trainModel({
      ...(dataset ? { dataset } : { dataUri }),
      modelDir,
      modelName: EMBEDDED_MODEL,
      log: (line) => log(`train: ${line}`),
    });
    const meta = result.meta;
    const key = `${EMBEDDED_MODEL}/${meta.createdAt.replace(/[:.]/g, '-')}-${meta.onnx.sha256.slice(0, 12)}`;
    const artifactUri = pathToFileURL(path.join(layout.artifacts, key)).href;
    const manifest = await putModelDir(artifactUri, modelDir);
    const registered = await registry.registerVersion({
      model: EMBEDDED_MODEL,
      artifactUri,
      sha256: manifest.sha256,
      metrics: registryMetrics(meta),
      params: meta.params as unknown as Record<string, unknown>,
      lineage: { datasetFingerprint: meta.data.fingerprint, source: dataUri ?? `generated:${opts.rows}` },
      who: 'etaops up',
    });
    const promoted = await registry.transitionStage(EMBEDDED_MODEL, registered.version, 'Production', { who: 'etaops up', why: 'embedded mode promotes its first model' });
    dataUri ??= 'generated';
    log(`registered ${EMBEDDED_MODEL} version ${promoted.version} and promoted it to Production`);
    return { version: promoted, meta };
  } finally {
    await rm(modelDir, { recursive: true, force: true });
  }
}

async function readMeta(version: ModelVersion): Promise<ModelMeta> {
  const dir = new URL(version.artifactUri.endsWith('/') ? version.artifactUri : `${version.artifactUri}/`);
  return JSON.parse(await readFile(new URL('model.json', dir), 'utf8')) as ModelMeta;
}

/**
 * Drift of freshly generated, shifted orders (one market short of dashers: what a change in
 * the world looks like) against the Production model's training profile.
 */
async function driftCheck(layout: Layout, version: ModelVersion, meta: ModelMeta, opts: UpOptions, registry: Registry): Promise<{ result: DriftResult; html: string; json: string }> {
  if (!meta.training_profile) throw new Error(`model ${EMBEDDED_MODEL} v${version.version} has no training profile in model.json`);
  const profile = parseTrainingProfile(meta.training_profile);
  const current = generate(Math.max(2000, Math.floor(opts.rows / 4)), 2, DEMO_DRIFT_SCENARIO);
  const modelDir = new URL(version.artifactUri.endsWith('/') ? version.artifactUri : `${version.artifactUri}/`);
  const predictor = await loadPredictor(decodeURIComponent(modelDir.pathname));
  let predictions: Float64Array;
  try {
    predictions = await predictor.predict(current);
  } finally {
    await predictor.close();
  }
  const result = runDriftCheck({ profile }, driftColumnsOf(current, { predictions }), { model: EMBEDDED_MODEL });
  const outDir = path.join(layout.reports, `drift-${result.generated_at.replace(/[:.]/g, '-')}`);
  await mkdir(outDir, { recursive: true });
  const files = await writeDriftReport(result, outDir);
  await registry.recordDriftResult({
    model: EMBEDDED_MODEL, checkName: 'etaops-up', datasetDrift: result.dataset_drift, driftShare: result.drift_share,
    summary: { columns: Object.keys(result.columns).length, drifted: Object.entries(result.columns).filter(([, c]) => c.drifted).map(([name]) => name) },
    reportUri: pathToFileURL(files.html).href,
  });
  return { result, ...files };
}

export async function up(opts: UpOptions): Promise<UpResult> {
  const started = performance.now();
  const log = opts.log ?? ((line: string) => process.stderr.write(`etaops up: ${line}\n`));
  const layout = layoutOf(opts.dir);
  if (opts.fresh) {
    log(`--fresh: removing ${layout.root}`);
    await rm(layout.root, { recursive: true, force: true });
  }
  await mkdir(layout.root, { recursive: true });
  await mkdir(layout.artifacts, { recursive: true });
  const registry = await Registry.open(layout.registry);
  try {
    let version = await productionVersion(registry, EMBEDDED_MODEL);
    let meta: ModelMeta;
    const trained = version === undefined;
    if (version) {
      log(`reusing ${EMBEDDED_MODEL} version ${version.version} (Production) from ${layout.root}; --fresh retrains`);
      meta = await readMeta(version);
    } else {
      ({ version, meta } = await trainAndPromote(layout, registry, opts, log));
    }
    let drift: UpResult['drift'];
    try {
      drift = await driftCheck(layout, version, meta, opts, registry);
    } catch (err) {
      log(`drift check skipped: ${(err as Error).message}`);
    }
    const target = await openServeTarget({ model: `${EMBEDDED_MODEL}@production`, registry });
    const server = await startServer({
      ...opts.service, ...target.serviceParts, source: target.source, host: opts.host, port: opts.port, pollIntervalMs: 10_000,
      log: (line) => log(line.replace(/^etaops serve: /, '')),
    });
    if (drift) registerDriftMetrics(server.service.metrics.registry).recordDriftResult(EMBEDDED_MODEL, drift.result);
    let stopped: Promise<void> | undefined;
    return {
      server, model: version, trained, meta, drift,
      setupSeconds: (performance.now() - started) / 1000,
      stop() {
        stopped ??= (async () => {
          await server.close();
          await target.close();
          await registry.close();
        })();
        return stopped;
      },
    };
  } catch (err) {
    await registry.close().catch(() => undefined);
    throw err;
  }
}

/** A ready-to-paste curl for one real order (single quotes: safe in POSIX shells). */
export function curlFor(url: string): string {
  return `curl -s -X POST ${url}/predict -H 'Content-Type: application/json' -d '${JSON.stringify(EXAMPLE_ORDER)}'`;
}

export function summaryLines(r: UpResult): string[] {
  const url = r.server.url;
  const driftedNames = r.drift ? Object.entries(r.drift.result.columns).filter(([, c]) => c.drifted).map(([name]) => name) : [];
  const drifted = driftedNames.length;
  const columns = r.drift ? Object.keys(r.drift.result.columns).length : 0;
  // Which columns moved, and why the data set as a whole is (not) called drifted.
  const which = drifted === 0 ? '' : ` (${driftedNames.slice(0, 4).join(', ')}${drifted > 4 ? ', ...' : ''})`;
  const share = r.drift ? `${Math.round(100 * r.drift.result.drift_share_threshold)}%` : '';
  const verdict = r.drift?.result.dataset_drift ? `at or above the ${share} share that makes a data set drifted` : `below the ${share} share that makes a data set drifted`;
  return [
    '',
    `etaops is up (set-up took ${r.setupSeconds.toFixed(1)} s${r.trained ? '' : ', model reused'})`,
    `  model    ${EMBEDDED_MODEL} version ${r.model.version} (Production): ${metricLine(r.meta)}`,
    `  serving  ${url}   (Open Inference Protocol: ${url}/v2/models/${EMBEDDED_MODEL}, metrics: ${url}/metrics)`,
    `  try      ${curlFor(url)}`,
    r.drift
      ? `  drift    ${r.drift.result.dataset_drift ? 'DRIFT' : 'no dataset drift'} in generated '${DEMO_DRIFT_SCENARIO}' data: ${drifted} of ${columns} columns drifted${which}, ${verdict}; report ${r.drift.html}`
      : '  drift    (no report: see the log above)',
    '',
    'Ctrl-C stops the server.',
  ];
}
