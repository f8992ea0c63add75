/** `etaops validate`: reads a data set and prints its defect report (table or JSON). */
import { parseFlags } from '../args.js';
import type { Command } from '../command.js';
import { UsageError } from '../errors.js';
import { DEFECT_KINDS, DEFECT_RULES } from '../../ml/dataset/report.js';
import type { DefectReport } from '../../ml/dataset/report.js';

const rules = DEFECT_KINDS.map((k) => `  ${k.padEnd(22)} ${DEFECT_RULES[k].rule}\n  ${''.padEnd(22)} -> ${DEFECT_RULES[k].action}`).join('\n');

const usage = `Usage: etaops validate --data URI [flags]
       etaops validate --query SQL [flags]      (connection from $ETAOPS_DATA_PG_URL)

Reads a DoorDash-schema data set and prints what validation found: defects counted by kind
with the first source lines of each, the rule applied, and missing values per column.
A file that cannot be read as the schema (wrong header, a row with the wrong number of
fields, a truncated file) is an error naming the line and column (exit 1).

Sources: a path, file://, https://, s3://bucket/key (endpoint: $ETAOPS_S3_ENDPOINT), gzip by
.gz suffix or content; or a Postgres query whose columns are named like the CSV header.

Flags:
  --data <uri>                the data set
  --query <sql>               a SELECT instead of --data; the connection URL comes from
                              $ETAOPS_DATA_PG_URL (kept out of flags so it is not in 'ps')
  --json                      print the report as JSON
  --max-duration <seconds>    longest believable delivery (default 21600 = 6 h)
  --skip-malformed            drop and count rows with the wrong field count instead of failing
  --no-target                 the data has no actual_delivery_time column (prediction input)

Defect kinds and rules:
${rules}
`;

function positiveNumber(flag: string, v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!/^\d+(\.\d+)?$/.test(v) || !(n > 0)) throw new UsageError(`etaops validate: --${flag} must be a positive number of seconds, got '${v}'`);
  return n;
}

const command: Command = {
  name: 'validate',
  summary: 'check a data set and print its defect report',
  usage,
  async run(argv) {
    const { values } = parseFlags('validate', argv, {
      data: { type: 'string' },
      query: { type: 'string' },
      json: { type: 'boolean' },
      'max-duration': { type: 'string' },
      'skip-malformed': { type: 'boolean' },
      'no-target': { type: 'boolean' },
    });
    if ((values.data === undefined) === (values.query === undefined)) {
      throw new UsageError('etaops validate: give exactly one of --data URI or --query SQL', "see 'etaops validate --help'");
    }
    const options = {
      maxDurationSeconds: positiveNumber('max-duration', values['max-duration'], 6 * 3600),
      onMalformedRow: values['skip-malformed'] ? 'skip' as const : 'error' as const,
      requireTarget: !values['no-target'],
    };
    let report: DefectReport;
    if (values.query !== undefined) {
      const url = process.env.ETAOPS_DATA_PG_URL;
      if (!url) throw new UsageError('etaops validate: --query needs the Postgres URL in $ETAOPS_DATA_PG_URL');
      const { readDatasetFromQuery } = await import('../../ml/dataset/query.js');
      report = (await readDatasetFromQuery(url, values.query, options)).report;
    } else {
      // Only the report is needed: stream in batches so a 10M-row file needs little memory.
      const { readDatasetBatches } = await import('../../ml/dataset/read.js');
      const batches = readDatasetBatches(values.data!, { ...options, batchRows: 100_000 });
      for await (const batch of batches) void batch;
      report = batches.report;
    }
    if (values.json) {
      process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    } else {
      const { formatReport } = await import('../../ml/dataset/report.js');
      process.stdout.write(formatReport(report) + '\n');
    }
    return 0;
  },
};

export default command;
