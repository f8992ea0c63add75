/**
 * A real model for the server tests: trained once per test process by the ML pipeline on the
 * first rows of the real DoorDash sample (small and few trees, so it takes a second or two).
 * Absent sample → undefined, and the tests skip with a message.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { trainModel } from '../../src/ml/model/index.js';

/** ../shared/data/doordash_sample.csv from the repository root (tests run from dist/test/...). */
export const SAMPLE_CSV = path.resolve(fileURLToPath(new URL('../../../', import.meta.url)), '..', 'shared', 'data', 'doordash_sample.csv');
export const SAMPLE_MISSING = `the DoorDash sample is absent (${SAMPLE_CSV}); server tests with a real model skip`;

let trained: Promise<string> | undefined;

/** Model directory of a small model trained on the sample's first `rows` rows. */
export function trainedModelDir(rows = 3000, modelName = 'delivery-eta'): Promise<string> | undefined {
  if (!existsSync(SAMPLE_CSV)) return undefined;
  trained ??= (async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'etaops-server-test-'));
    const lines = readFileSync(SAMPLE_CSV, 'utf8').split('\n');
    const csv = path.join(dir, 'train.csv');
    await writeFile(csv, lines.slice(0, rows + 1).join('\n') + '\n');
    const modelDir = path.join(dir, 'model');
    await trainModel({ dataUri: csv, modelDir, modelName, params: { numTrees: 30, earlyStoppingRounds: 10 } });
    return modelDir;
  })();
  return trained;
}

export interface SampleRow {
  /** The CSV line as in the file. */
  line: string;
  /** The same row as an order body (header names → text cells, empty cells and the target left out). */
  order: Record<string, string>;
}

/** The sample's header line and its first `count` rows. */
export function sampleRows(count: number): { header: string; rows: SampleRow[] } {
  const lines = readFileSync(SAMPLE_CSV, 'utf8').split('\n');
  const names = lines[0].split(',');
  const rows: SampleRow[] = [];
  for (let i = 1; i < lines.length && rows.length < count; i++) {
    if (lines[i] === '') continue;
    const cells = lines[i].split(',');
    const order: Record<string, string> = {};
    names.forEach((h, j) => { if (cells[j] !== '' && h !== 'actual_delivery_time') order[h] = cells[j]; });
    rows.push({ line: lines[i], order });
  }
  return { header: lines[0], rows };
}
