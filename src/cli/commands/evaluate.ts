/** `etaops evaluate`: a model directory's metrics on a labelled data set. */
import type { Command } from '../command.js';
import { parseFlags, required } from '../args.js';
import { UserError } from '../errors.js';

const usage = `Usage: etaops evaluate --model-dir DIR --data URI [--json]

Scores every row of --data that has a usable delivery time (rows with missing or defective
inputs included) and prints RMSE, MAE, R², MAPE, p50/p90 absolute error and the share of
deliveries more than 5 / 10 minutes later than predicted, overall and by market.

Flags:
  --model-dir DIR   a directory written by 'etaops train'
  --data URI        path, file://, https:// or s3:// DoorDash CSV with actual_delivery_time
  --json            print the metrics as JSON on stdout
`;

const command: Command = {
  name: 'evaluate',
  summary: 'score a model directory on labelled data (overall and by market)',
  usage,
  async run(argv) {
    const { values } = parseFlags('evaluate', argv, {
      'model-dir': { type: 'string' },
      data: { type: 'string' },
      json: { type: 'boolean' },
    });
    const modelDir = required('evaluate', values, 'model-dir');
    const data = required('evaluate', values, 'data');
    const { evaluateModel, formatMetricsTable } = await import('../../ml/model/evaluate.js');
    const result = await evaluateModel(modelDir, data);
    if (result.metrics.overall.count === 0) {
      throw new UserError(`etaops evaluate: ${data} has no row with a usable delivery time (${result.rowsRead} rows read)`, 'evaluation needs actual_delivery_time after created_at');
    }
    if (values.json) process.stdout.write(JSON.stringify({ modelDir, data, rowsRead: result.rowsRead, ...result.metrics }, null, 2) + '\n');
    else process.stdout.write(formatMetricsTable(result.metrics) + '\n');
    return 0;
  },
};

export default command;
