/**
 * One timed drift check in its own process (so its peak RSS is its own):
 *   node check-child.js raw     REFERENCE.csv CURRENT.csv
 *   node check-child.js profile PROFILE.json  CURRENT.csv
 * Loading the CSVs is not timed (Evidently's side does not time pandas' read_csv either); the
 * check is: summarising both windows (or reading the profile), every column test, the result.
 * Prints one JSON line.
 */
import { readFile } from 'node:fs/promises';
import { runDriftCheck } from '../../../src/drift/check.js';
import { driftColumnsOf } from '../../../src/drift/columns.js';
import { parseTrainingProfile } from '../../../src/drift/profile.js';
import { readDataset } from '../../../src/ml/dataset/read.js';

async function main(): Promise<void> {
  const [mode, refPath, curPath] = process.argv.slice(2);
  if ((mode !== 'raw' && mode !== 'profile') || !refPath || !curPath) throw new Error('usage: check-child.js raw|profile REFERENCE CURRENT.csv');
  const current = driftColumnsOf((await readDataset(curPath)).dataset, { includeTarget: false });
  const rssBeforeReference = process.memoryUsage().rss;
  let seconds: number;
  let result;
  if (mode === 'raw') {
    const reference = driftColumnsOf((await readDataset(refPath)).dataset, { includeTarget: false });
    const t0 = performance.now();
    result = runDriftCheck({ data: reference }, current);
    seconds = (performance.now() - t0) / 1000;
  } else {
    const t0 = performance.now();
    const profile = parseTrainingProfile(JSON.parse(await readFile(refPath, 'utf8')));
    result = runDriftCheck({ profile }, current);
    seconds = (performance.now() - t0) / 1000;
  }
  const maxRssMiB = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(
    JSON.stringify({
      mode,
      seconds,
      maxRssMiB,
      rssBeforeReferenceMiB: rssBeforeReference / 2 ** 20,
      columns: result.number_of_columns,
      referenceRows: result.reference.rows,
      currentRows: result.current.rows,
      drifted: Object.keys(result.columns).filter((c) => result.columns[c].drifted),
    }) + '\n',
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
