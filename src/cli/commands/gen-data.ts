/** `etaops gen-data`: writes a generated DoorDash-schema data set (CSV, gzip for .gz). */
import { intFlag, parseFlags, required } from '../args.js';
import type { Command } from '../command.js';
import { UsageError, UserError } from '../errors.js';
import { SCENARIOS, SCENARIO_NAMES } from '../../ml/generate/scenarios.js';
import { DEFAULT_DAYS, DEFAULT_START } from '../../ml/generate/calibration.js';

const scenarioHelp = SCENARIOS.map((s) => `  ${s.name.padEnd(16)} ${s.description}`).join('\n');

const usage = `Usage: etaops gen-data --rows N --out FILE [--seed S] [--shift SCENARIO] [--start DATE] [--days D]

Writes N orders with the exact DoorDash header, calibrated against the real sample: column
marginals, missing-value rates, market / cuisine / protocol mix, the hour-of-day pattern (UTC;
markets in US/Pacific), dasher counts that follow hour and market, and a delivery duration that
depends on the other columns with heavy-tailed noise, plus the sample's defects at its rates.
The same seed gives the same file. Streamed: memory stays small for any N. A name ending in .gz
is gzip-compressed.

Flags:
  --rows <n>           number of orders (required)
  --out <file>         output path (required); '-' writes to standard output (plain CSV)
  --seed <s>           random seed (default 1)
  --shift <scenario>   a drift scenario (default: none)
  --start <date>       first day of the order window, YYYY-MM-DD UTC (default ${DEFAULT_START})
  --days <d>           days in the window (default ${DEFAULT_DAYS})

Drift scenarios:
${scenarioHelp}
`;

const command: Command = {
  name: 'gen-data',
  summary: 'generate a calibrated DoorDash-like data set (CSV, optional drift scenario)',
  usage,
  async run(argv) {
    const { values } = parseFlags('gen-data', argv, {
      rows: { type: 'string' },
      out: { type: 'string' },
      seed: { type: 'string' },
      shift: { type: 'string' },
      start: { type: 'string' },
      days: { type: 'string' },
    });
    required('gen-data', values, 'rows');
    const out = required('gen-data', values, 'out');
    const rows = intFlag('gen-data', values, 'rows', 0, 0, 2_000_000_000);
    const seed = intFlag('gen-data', values, 'seed', 1, -Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
    const days = intFlag('gen-data', values, 'days', DEFAULT_DAYS, 1, 3660);
    const shift = values.shift;
    if (shift !== undefined && shift !== 'none' && !SCENARIO_NAMES.includes(shift)) {
      throw new UsageError(`etaops gen-data: unknown --shift '${shift}'`, `choose one of: ${SCENARIO_NAMES.join(', ')}`);
    }
    const start = values.start ?? DEFAULT_START;
    const { generateCsvChunks, writeGeneratedCsv } = await import('../../ml/generate/index.js');
    const options = { rows, seed, shift, start, days };
    try {
      if (out === '-') {
        for (const chunk of generateCsvChunks(options)) {
          if (!process.stdout.write(Buffer.from(chunk))) await new Promise((r) => process.stdout.once('drain', r));
        }
        return 0;
      }
      const t0 = performance.now();
      const { bytes } = await writeGeneratedCsv(out, options);
      const seconds = (performance.now() - t0) / 1000;
      process.stderr.write(`wrote ${rows} rows (${(bytes / 1e6).toFixed(1)} MB of CSV) to ${out} in ${seconds.toFixed(1)} s\n`);
      return 0;
    } catch (err) {
      if (err instanceof RangeError) throw new UsageError(`etaops gen-data: ${err.message}`);
      const e = err as NodeJS.ErrnoException;
      if (e.code && e.path) throw new UserError(`etaops gen-data: cannot write ${e.path}: ${e.code}`);
      throw err;
    }
  },
};

export default command;
