/** `etaops predict`: batch prediction of a CSV file with a trained model directory. */
import type { Command } from '../command.js';
import { intFlag, parseFlags, required } from '../args.js';

const usage = `Usage: etaops predict --model-dir DIR --input CSV --output CSV [--batch-rows N] [--json]

Writes the input rows to --output with two more columns: predicted_duration_seconds and
prediction_error. A row that cannot be scored (no or unparsable created_at, wrong number of
fields) gets an empty prediction and the reason; the run goes on. The input is streamed in
batches, so files larger than memory work. actual_delivery_time may be absent.

Flags:
  --model-dir DIR   a directory written by 'etaops train'
  --input CSV       path, file://, https:// or s3:// DoorDash CSV (plain or .gz)
  --output CSV      file to write (replaced atomically when done)
  --batch-rows N    rows scored at a time (default 50000)
  --json            print a JSON summary on stdout
`;

const command: Command = {
  name: 'predict',
  summary: 'add predicted delivery seconds to a CSV file',
  usage,
  async run(argv) {
    const { values } = parseFlags('predict', argv, {
      'model-dir': { type: 'string' },
      input: { type: 'string' },
      output: { type: 'string' },
      'batch-rows': { type: 'string' },
      json: { type: 'boolean' },
    });
    const modelDir = required('predict', values, 'model-dir');
    const input = required('predict', values, 'input');
    const output = required('predict', values, 'output');
    const batchRows = intFlag('predict', values, 'batch-rows', 50_000, 1, 10_000_000);
    const { loadPredictorOnThread } = await import('../../ml/model/predictor-thread.js');
    const { predictCsv } = await import('../../ml/model/batch-predict.js');
    const { occurredDefects } = await import('../../ml/dataset/report.js');
    // Scored on a thread of its own while this one reads and parses the next batch, by the tree
    // engine as the server scores (the same numbers); if onnxruntime scores instead, with one
    // thread, so the two threads do not fight over the cores.
    const predictor = await loadPredictorOnThread(modelDir, { threads: 1, treeEngine: true });
    try {
      const s = await predictCsv(predictor, input, output, { batchRows });
      const defects = occurredDefects(s.report).map((d) => `${d.kind}=${d.count}`).join(', ') || 'none';
      process.stderr.write(`scored ${s.scored} of ${s.recordsRead} rows into ${output}; not scored: ${s.notScored}; input defects: ${defects}\n`);
      if (values.json) {
        process.stdout.write(JSON.stringify({ output, recordsRead: s.recordsRead, scored: s.scored, notScored: s.notScored, defects: Object.fromEntries(occurredDefects(s.report).map((d) => [d.kind, d.count])) }, null, 2) + '\n');
      }
      return 0;
    } finally {
      await predictor.close();
    }
  },
};

export default command;
