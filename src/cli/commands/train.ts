/** `etaops train`: a thin shell over trainModel (src/ml/model/train.ts). */
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import type { Command } from '../command.js';
import { parseFlags, required } from '../args.js';
import { UsageError, UserError } from '../errors.js';
import { withOutputDir } from '../artifact-dirs.js';
import { writeResultFile } from '../result-file.js';

const usage = `Usage: etaops train --data URI --model-dir DIR [flags]
       etaops train --query SQL --model-dir DIR [flags]

Trains the delivery-time model and writes DIR/model.onnx and DIR/model.json (feature spec,
params, holdout metrics by market, data fingerprint, row counts and defects, training profile).

Flags:
  --data URI          training data: a path, file://, https:// or s3:// DoorDash CSV (plain or .gz)
  --query SQL         or a Postgres SELECT returning the DoorDash columns by name; the connection
                      URL comes from $ETAOPS_DATA_PG_URL or $DATABASE_URL (a TrainingRun's
                      dataset.secretRef), never from a flag
  --model-dir DIR     where to write the model: a path, file:// or s3://bucket/prefix
  --params JSON       GBDT parameter overrides, e.g. '{"numTrees":300,"learningRate":0.1}'
  --config FILE       the same overrides from a JSON or YAML file: either the parameters
                      themselves or {params: {...}, holdoutFraction, split, modelName}
  --name NAME         model name recorded in model.json (default delivery-eta)
  --holdout F         share of the latest rows held out for evaluation (default 0.2)
  --split time|random how the holdout is chosen (default time: the latest rows)
  --json              print a JSON summary on stdout (progress stays on stderr)
  --quiet             no progress on stderr

Parameters (defaults chosen by time-ordered cross-validation on DoorDash data):
  numTrees learningRate maxLeaves maxDepth minDataInLeaf minSumHessianInLeaf lambdaL2
  minGainToSplit maxBins rowSubsample colSubsample loss (l2|l1|huber|quantile) huberDelta
  quantileAlpha earlyStoppingRounds seed numThreads

Environment: ETAOPS_RESULT_FILE (a file to write the compact JSON result to: artifact, sha256,
holdout metrics; the operator's Jobs read it back), AWS_* / ETAOPS_S3_ENDPOINT for s3://.
`;

interface TrainConfig {
  params?: Record<string, unknown>;
  holdoutFraction?: number;
  split?: 'time' | 'random';
  modelName?: string;
}

const CONFIG_KEYS = ['params', 'holdoutFraction', 'split', 'modelName'];

async function loadConfig(values: Record<string, unknown>): Promise<TrainConfig> {
  if (values.params !== undefined && values.config !== undefined) throw new UsageError('etaops train: give --params or --config, not both');
  if (typeof values.params === 'string') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(values.params);
    } catch (err) {
      throw new UsageError(`etaops train: --params is not valid JSON: ${(err as Error).message}`, `example: --params '{"numTrees":300}'`);
    }
    if (!isObject(parsed)) throw new UsageError('etaops train: --params must be a JSON object of parameter names to values');
    return { params: parsed };
  }
  if (typeof values.config === 'string') {
    let text: string;
    try {
      text = await readFile(values.config, 'utf8');
    } catch (err) {
      throw new UserError(`etaops train: cannot read --config ${values.config}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    let parsed: unknown;
    try {
      parsed = parseYaml(text);
    } catch (err) {
      throw new UsageError(`etaops train: --config ${values.config} is not valid JSON or YAML: ${(err as Error).message}`);
    }
    if (!isObject(parsed)) throw new UsageError(`etaops train: --config ${values.config} must hold an object`);
    const isWrapped = Object.keys(parsed).some((k) => CONFIG_KEYS.includes(k));
    if (!isWrapped) return { params: parsed };
    const unknown = Object.keys(parsed).filter((k) => !CONFIG_KEYS.includes(k));
    if (unknown.length > 0) throw new UsageError(`etaops train: --config ${values.config}: unknown key${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (allowed: ${CONFIG_KEYS.join(', ')})`);
    if (parsed.params !== undefined && !isObject(parsed.params)) throw new UsageError(`etaops train: --config ${values.config}: params must be an object`);
    return parsed as TrainConfig;
  }
  return {};
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function fractionFlag(v: unknown): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || !(n > 0 && n < 1)) throw new UsageError(`etaops train: --holdout must be a number between 0 and 1 (exclusive), got '${String(v)}'`);
  return n;
}

const command: Command = {
  name: 'train',
  summary: 'train the delivery-time model into a model directory',
  usage,
  async run(argv) {
    const { values } = parseFlags('train', argv, {
      data: { type: 'string' },
      query: { type: 'string' },
      'model-dir': { type: 'string' },
      params: { type: 'string' },
      config: { type: 'string' },
      name: { type: 'string' },
      holdout: { type: 'string' },
      split: { type: 'string' },
      json: { type: 'boolean' },
      quiet: { type: 'boolean' },
    });
    if ((values.data === undefined) === (values.query === undefined)) {
      throw new UsageError('etaops train: give exactly one of --data URI or --query SQL', "see 'etaops train --help'");
    }
    let dataQuery: { url: string; sql: string } | undefined;
    if (values.query !== undefined) {
      const url = process.env.ETAOPS_DATA_PG_URL || process.env.DATABASE_URL;
      if (!url) throw new UsageError('etaops train: --query needs the Postgres URL in $ETAOPS_DATA_PG_URL or $DATABASE_URL');
      dataQuery = { url, sql: values.query };
    }
    const modelDir = required('train', values, 'model-dir');
    const config = await loadConfig(values);
    const split = values.split ?? config.split;
    if (split !== undefined && split !== 'time' && split !== 'random') throw new UsageError(`etaops train: --split must be 'time' or 'random', got '${String(split)}'`);
    const quiet = values.quiet === true;
    const say = (m: string): void => {
      if (!quiet) process.stderr.write(`${m}\n`);
    };

    const { trainModel } = await import('../../ml/model/train.js');
    const { GBDTParamError, GBDTInputError } = await import('../../ml/gbdt/index.js');
    let lastShown = 0;
    try {
      // An s3:// model directory is written locally first and uploaded once complete.
      const { result } = await withOutputDir(modelDir, (dir) => trainModel({
        dataUri: values.data,
        dataQuery,
        modelDir: dir,
        params: config.params,
        modelName: values.name ?? config.modelName,
        split,
        holdoutFraction: fractionFlag(values.holdout) ?? config.holdoutFraction,
        log: say,
        onProgress: (p) => {
          // At most about one line a second, plus the first tree: enough to see it moves.
          const now = Date.now();
          if (p.tree !== 1 && now - lastShown < 1000) return;
          lastShown = now;
          const valid = p.validLoss === undefined ? '' : `  valid loss ${p.validLoss.toPrecision(6)}`;
          say(`[${p.stage}] tree ${p.tree}  train loss ${p.trainLoss.toPrecision(6)}${valid}`);
        },
      }));
      const m = result.meta;
      const defects = Object.entries(m.data.defects).map(([k, n]) => `${k}=${n}`).join(', ') || 'none';
      say(`data defects: ${defects}`);
      // For the operator (see result-file.ts): what a ModelVersion needs, compact enough for 4 KiB.
      await writeResultFile({ modelDir, onnxSha256: m.onnx.sha256, metrics: { overall: m.metrics.overall }, split: m.split, data: { fingerprint: m.data.fingerprint } });
      if (values.json) {
        process.stdout.write(
          JSON.stringify(
            {
              modelDir,
              modelName: m.modelName,
              bestIteration: m.bestIteration,
              trainingSeconds: m.trainingSeconds,
              metrics: m.metrics,
              split: m.split,
              data: m.data,
              onnxSha256: m.onnx.sha256,
            },
            null,
            2,
          ) + '\n',
        );
      } else {
        const o = m.metrics.overall;
        process.stdout.write(`model written to ${modelDir}: ${m.bestIteration} trees, holdout RMSE ${o.rmse.toFixed(1)} s, MAE ${o.mae.toFixed(1)} s, R² ${o.r2.toFixed(3)}\n`);
      }
      return 0;
    } catch (err) {
      if (err instanceof GBDTParamError) throw new UsageError(`etaops train: ${err.message}`, `see 'etaops train --help' for the parameters`);
      if (err instanceof GBDTInputError) throw new UserError(`etaops train: ${err.message}`);
      throw err;
    }
  },
};

export default command;
