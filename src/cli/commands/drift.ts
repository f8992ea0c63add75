/** `etaops drift`: compare a current window with a reference, print the verdict, write reports. */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from '../command.js';
import { intFlag, parseFlags } from '../args.js';
import { UsageError, UserError } from '../errors.js';
import { withModelDirLocal, withOutputDir } from '../artifact-dirs.js';
import { writeResultFile } from '../result-file.js';
import type { ColumnOverride, ColumnSource, DriftResult, StatTestName, TrainingProfile } from '../../drift/index.js';

const usage = `Usage: etaops drift (--reference URI | --profile FILE | --model-dir DIR)
                    (--current URI | --from-log WINDOW --model NAME)
                    [--report DIR] [--json] [--fail-on-drift] [--rule etaops|evidently]
                    [--test COLUMN=TEST[:THRESHOLD]]... [--drift-share X] [--save-profile FILE]

Decides, column by column, whether the current data has moved away from the reference, and
whether the whole data set has drifted (share of drifted columns >= --drift-share, 0.5).
Columns: the 13 model inputs, plus 'prediction' and 'target' (delivery seconds) when both
sides have them.

Reference (one of):
  --reference URI     a DoorDash CSV (path, file://, https://, s3://)
  --profile FILE      a saved training profile (JSON), or a model.json holding one
  --model-dir DIR     a directory written by 'etaops train': its training profile; the model
                      also scores --current so predictions are compared too
Current (one of):
  --current URI       a DoorDash CSV
  --from-log WINDOW   predictions logged by the server in the last WINDOW (90s, 30m, 6h, 7d)
                      for --model NAME, read from --registry-url URL, --registry-dir DIR or
                      $ETAOPS_DATABASE_URL (at most --limit rows, default 100000)
Output:
  --json              print {dataset_drift, drift_share, columns: {name: {test, score,
                      threshold, drifted}}, report} as JSON (default: a table); with
                      --model-dir and delivery times in --current, also accuracy
                      {count, mae, rmse, bias} (the report has it by market)
  --report DIR        write DIR/drift-report.json (schema in README) and DIR/drift-report.html
                      (DIR may be s3://bucket/prefix; --model-dir too)
  --fail-on-drift     exit with code 3 when dataset drift is found (default: 0 either way)
  --save-profile FILE write the reference's training profile to FILE (reuse it with --profile)
Tests:
  --rule R            etaops (default; fixes Evidently's misfires, see README) or evidently
  --test C=T[:X]      force test T (ks, chisquare, z, wasserstein, jensenshannon, psi) and
                      optionally threshold X for column C; repeatable
  --drift-share X     dataset drift threshold in (0, 1] (default 0.5)

Environment: ETAOPS_RESULT_FILE (a file to write the compact JSON summary to; the operator's
Jobs read it back), AWS_* / ETAOPS_S3_ENDPOINT for s3://.

Exit codes: 0 checked (no drift, or drift without --fail-on-drift); 3 drift found with
--fail-on-drift; 2 usage error; 1 the check could not be made (unreadable input, ...).
`;

export const DRIFT_EXIT_CODE = 3;

const WINDOW = /^(\d+(?:\.\d+)?)(s|m|h|d)?$/;
const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

export function parseWindow(text: string): number {
  const m = WINDOW.exec(text.trim());
  const seconds = m ? Number(m[1]) * UNIT_SECONDS[m[2] ?? 's'] : Number.NaN;
  if (!(seconds > 0)) throw new UsageError(`etaops drift: --from-log must be a time window like 90s, 30m, 6h or 7d, got '${text}'`);
  return seconds;
}

export function parseTestFlags(specs: string[]): Record<string, ColumnOverride> {
  const out: Record<string, ColumnOverride> = {};
  const tests = ['ks', 'chisquare', 'z', 'wasserstein', 'jensenshannon', 'psi'];
  for (const spec of specs) {
    const m = /^([^=]+)=([a-z]+)(?::(.+))?$/.exec(spec);
    if (!m || !tests.includes(m[2])) {
      throw new UsageError(`etaops drift: --test wants COLUMN=TEST[:THRESHOLD] with TEST one of ${tests.join(', ')}, got '${spec}'`);
    }
    const o: ColumnOverride = { test: m[2] as StatTestName };
    if (m[3] !== undefined) {
      const t = Number(m[3]);
      if (!(Number.isFinite(t) && t >= 0)) throw new UsageError(`etaops drift: --test ${spec}: threshold must be a number >= 0`);
      o.threshold = t;
    }
    out[m[1]] = o;
  }
  return out;
}

async function readProfileFile(file: string): Promise<TrainingProfile> {
  const { parseTrainingProfile, ProfileError } = await import('../../drift/profile.js');
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new UserError(`etaops drift: cannot read profile ${file}: ${(err as Error).message}`);
  }
  const obj = raw as Record<string, unknown> | null;
  const candidate = obj && typeof obj === 'object' && 'training_profile' in obj ? obj.training_profile : raw;
  if (candidate === null || candidate === undefined) {
    throw new UserError(`etaops drift: ${file} has no training profile`, 'train the model with drift support, or pass --reference URI');
  }
  try {
    return parseTrainingProfile(candidate);
  } catch (err) {
    if (err instanceof ProfileError) throw new UserError(`etaops drift: ${file}: ${err.message}`);
    throw err;
  }
}

async function readCsv(uri: string, what: string): Promise<import('../../ml/dataset/schema.js').Dataset> {
  const { readDataset } = await import('../../ml/dataset/read.js');
  const { dataset, report } = await readDataset(uri);
  const dropped = report.recordsRead - report.rowsKept;
  // Rows kept with defects (impossible values) still count: their other columns are real data.
  if (dropped > 0) process.stderr.write(`etaops drift: ${what}: ${dropped} of ${report.recordsRead} records left out (no usable created_at, or malformed)\n`);
  return dataset;
}

/** Logged predictions → columns (model inputs + prediction); rows whose features no longer parse are skipped and counted. */
async function fromLog(values: Record<string, unknown>, windowSeconds: number, limit: number): Promise<{ source: ColumnSource; model: string }> {
  const model = values.model as string | undefined;
  if (!model) throw new UsageError('etaops drift: --from-log needs --model NAME');
  const url = (values['registry-dir'] as string | undefined) ?? (values['registry-url'] as string | undefined) ?? process.env.ETAOPS_DATABASE_URL;
  if (!url) throw new UsageError('etaops drift: --from-log needs --registry-url URL, --registry-dir DIR or $ETAOPS_DATABASE_URL');
  const { openDatabase, Registry } = await import('../../registry/index.js');
  const { parseOrders, rowsToDataset } = await import('../../server/order-input.js');
  const { driftColumnsOf } = await import('../../drift/columns.js');
  const { redactUrl } = await import('../../ml/dataset/errors.js');
  // A database that is down or goes away mid-read is an operational failure to report, not a
  // bug: say which database (never its password) and exit 1 so a scheduled check can retry.
  const unreachable = (err: unknown) => new UserError(
    `etaops drift: cannot read the prediction log from ${redactUrl(url)}: ${(err as Error)?.message ?? String(err)}`,
    'check that the registry database is up and reachable; nothing was changed, run the check again',
  );
  let db;
  try {
    db = await openDatabase(values['registry-dir'] ? path.resolve(url) : url);
  } catch (err) {
    if (err instanceof Error && err.name === 'DatabaseUrlError') throw err;
    throw unreachable(err);
  }
  try {
    let logged;
    try {
      logged = await new Registry(db).recentPredictions(model, { windowSeconds, limit });
    } catch (err) {
      if (err instanceof Error && /Registry|Invalid|Unknown/.test(err.name)) throw err;
      throw unreachable(err);
    }
    if (logged.length === 0) throw new UserError(`etaops drift: no predictions logged for model '${model}' in the last ${windowSeconds} s`);
    const rows = [];
    const predictions: number[] = [];
    let bad = 0;
    for (const p of logged) {
      try {
        rows.push(parseOrders(p.features, { maxBatchRows: 1 }).rows[0]);
        predictions.push(p.prediction);
      } catch {
        bad++;
      }
    }
    if (bad > 0) process.stderr.write(`etaops drift: ${bad} logged rows with unreadable features skipped\n`);
    const ds = rowsToDataset(rows);
    return { source: driftColumnsOf(ds, { predictions: Float64Array.from(predictions), includeTarget: false }), model };
  } finally {
    await db.close().catch(() => undefined);
  }
}

/** Writes the report files into `dir` (a path, file:// or s3://) and returns their locations. */
async function writeReport(result: DriftResult, dir: string): Promise<{ json: string; html: string }> {
  const { writeDriftReport } = await import('../../drift/index.js');
  const { result: local, uriOf } = await withOutputDir(dir, (d) => writeDriftReport(result, d));
  return { json: uriOf(path.basename(local.json)), html: uriOf(path.basename(local.html)) };
}

function table(r: DriftResult): string {
  const names = Object.keys(r.columns);
  const w = Math.max(6, ...names.map((n) => n.length));
  const lines = [
    `${r.dataset_drift ? 'DATASET DRIFT' : 'no dataset drift'}: ${r.number_of_drifted_columns} of ${r.number_of_columns} columns drifted (share ${r.drift_share.toFixed(3)}, threshold ${r.drift_share_threshold})`,
    '',
    `${'column'.padEnd(w)}  ${'test'.padEnd(13)}  ${'score'.padStart(10)}  ${'threshold'.padStart(9)}  drifted`,
  ];
  for (const n of names) {
    const c = r.columns[n];
    const s = c.score === null ? '-' : Math.abs(c.score) < 1e-4 && c.score !== 0 ? c.score.toExponential(2) : c.score.toFixed(4);
    lines.push(`${n.padEnd(w)}  ${c.test.padEnd(13)}  ${s.padStart(10)}  ${String(c.threshold).padStart(9)}  ${c.drifted ? 'yes' : 'no'}${c.note ? `  (${c.note})` : ''}`);
  }
  for (const [n, why] of Object.entries(r.skipped_columns)) lines.push(`${n.padEnd(w)}  skipped: ${why}`);
  const a = r.accuracy?.overall;
  if (a && a.count > 0) lines.push('', `accuracy on ${a.count} orders: MAE ${a.mae?.toFixed(1)} s, RMSE ${a.rmse?.toFixed(1)} s, bias ${a.bias?.toFixed(1)} s`);
  return lines.join('\n');
}

const command: Command = {
  name: 'drift',
  summary: 'check current data (or logged predictions) for drift against a reference',
  usage,
  async run(argv) {
    const { values } = parseFlags('drift', argv, {
      reference: { type: 'string' },
      profile: { type: 'string' },
      'model-dir': { type: 'string' },
      current: { type: 'string' },
      'from-log': { type: 'string' },
      model: { type: 'string' },
      'registry-url': { type: 'string' },
      'registry-dir': { type: 'string' },
      limit: { type: 'string' },
      report: { type: 'string' },
      json: { type: 'boolean' },
      'fail-on-drift': { type: 'boolean' },
      rule: { type: 'string' },
      test: { type: 'string', multiple: true },
      'drift-share': { type: 'string' },
      'save-profile': { type: 'string' },
    });
    const refFlags = ['reference', 'profile', 'model-dir'].filter((f) => values[f as keyof typeof values] !== undefined);
    if (refFlags.length !== 1) throw new UsageError('etaops drift: give exactly one of --reference, --profile, --model-dir', "see 'etaops drift --help'");
    const curFlags = ['current', 'from-log'].filter((f) => values[f as keyof typeof values] !== undefined);
    if (curFlags.length !== 1) throw new UsageError('etaops drift: give exactly one of --current, --from-log', "see 'etaops drift --help'");
    const rule = values.rule ?? 'etaops';
    if (rule !== 'etaops' && rule !== 'evidently') throw new UsageError(`etaops drift: --rule must be etaops or evidently, got '${rule}'`);
    let driftShare: number | undefined;
    if (values['drift-share'] !== undefined) {
      driftShare = Number(values['drift-share']);
      if (!(driftShare > 0 && driftShare <= 1)) throw new UsageError(`etaops drift: --drift-share must be in (0, 1], got '${values['drift-share']}'`);
    }
    const overrides = parseTestFlags(values.test ?? []);
    const windowSeconds = values['from-log'] !== undefined ? parseWindow(values['from-log']) : 0;
    const limit = intFlag('drift', values, 'limit', 100_000, 1, 10_000_000);

    // The reference model directory may be an s3:// or file:// URI: check against a local copy.
    const check = async (modelDir: string | undefined): Promise<number> => {
      const drift = await import('../../drift/index.js');
      // Reference.
      let profile: TrainingProfile | undefined;
      let referenceData: ColumnSource | undefined;
      if (values.reference) referenceData = drift.driftColumnsOf(await readCsv(values.reference, 'reference'));
      else profile = await readProfileFile(values.profile ?? path.join(modelDir as string, 'model.json'));
      if (values['save-profile']) {
        const p = profile ?? drift.profileFromColumns(referenceData as ColumnSource);
        await writeFile(values['save-profile'], JSON.stringify(p) + '\n', 'utf8');
      }
      // Current.
      let current: ColumnSource;
      let model = values.model ?? null;
      let accuracy: import('../../drift/accuracy.js').AccuracyReport | undefined;
      if (values.current) {
        const ds = await readCsv(values.current, 'current');
        let predictions: Float64Array | undefined;
        if (modelDir && profile && profile.columns.prediction) {
          const { loadPredictor } = await import('../../ml/model/predictor.js');
          const predictor = await loadPredictor(modelDir);
          try {
            predictions = await predictor.predict(ds);
            model = model ?? predictor.meta.modelName;
          } finally {
            await predictor.close();
          }
        }
        current = drift.driftColumnsOf(ds, { predictions });
        if (predictions) {
          const { accuracyReport } = await import('../../drift/accuracy.js');
          const { targetSeconds } = await import('../../ml/dataset/schema.js');
          const market = ds.category.market_id;
          accuracy = accuracyReport({ predictions, actuals: targetSeconds(ds), market: { codes: market.codes, labels: market.values } });
          if (accuracy.overall.count === 0) accuracy = undefined;
        }
      } else {
        const logged = await fromLog(values, windowSeconds, limit);
        current = logged.source;
        model = logged.model;
      }
      // An empty window is a broken feed, not "every column drifted".
      if (current.rowCount === 0) throw new UserError('etaops drift: the current window has no rows', 'check the --current file or the --from-log window');
      if (referenceData && referenceData.rowCount === 0) throw new UserError('etaops drift: the reference has no rows');
      let result: DriftResult;
      try {
        result = drift.runDriftCheck(profile ? { profile } : { data: referenceData as ColumnSource }, current, {
          rule,
          overrides,
          driftShare,
          model: model ?? undefined,
          accuracy,
        });
      } catch (err) {
        if (err instanceof drift.DriftOptionError) throw new UsageError(`etaops drift: ${err.message}`);
        throw err;
      }
      const report = values.report ? await writeReport(result, values.report) : null;
      const acc = result.accuracy ? { accuracy: result.accuracy.overall } : {};
      // For the operator (see result-file.ts): the summary the DriftCheck's status shows.
      await writeResultFile({ ...drift.driftSummary(result), report });
      if (values.json) {
        process.stdout.write(JSON.stringify({ ...drift.driftSummary(result), ...acc, report }, null, 2) + '\n');
      } else {
        process.stdout.write(table(result) + '\n');
        if (report) process.stdout.write(`\nreport: ${report.html}\n        ${report.json}\n`);
      }
      return result.dataset_drift && values['fail-on-drift'] ? DRIFT_EXIT_CODE : 0;
    };
    return values['model-dir'] ? withModelDirLocal(values['model-dir'], check) : check(undefined);
  },
};

export default command;
