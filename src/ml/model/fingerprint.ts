/**
 * Data fingerprint: sha256 over the validated columns, not over the file bytes.
 *
 * Why columns: the same data arrives as plain CSV, gzip, from S3 or from a Postgres query, with
 * CRLF or LF line ends; lineage should say "same data" for all of them. And a Dataset handed to
 * `trainModel` in memory has no file. Method "sha256-columns-v1": for each numeric column in
 * schema order its Float64 values (little-endian bytes, NaN canonical); then for each category
 * column its distinct values sorted (JSON) and each row's rank in that sorted list as Int32
 * little-endian (-1 = missing), so the dictionary order a reader happened to use does not
 * matter. Row order matters (it is part of the data).
 */
import { createHash } from 'node:crypto';
import { CATEGORY_COLUMNS, NUMERIC_COLUMNS, type Dataset } from '../dataset/schema.js';

const CHUNK_ROWS = 65_536;

export function datasetFingerprint(ds: Dataset): string {
  const hash = createHash('sha256');
  hash.update(`etaops-columns-v1 rows=${ds.rowCount}\n`);
  const scratch = new Float64Array(Math.min(CHUNK_ROWS, Math.max(1, ds.rowCount)));
  const bytes = new Uint8Array(scratch.buffer);
  const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  for (const name of NUMERIC_COLUMNS) {
    hash.update(name);
    const col = ds.numeric[name];
    for (let start = 0; start < ds.rowCount; start += CHUNK_ROWS) {
      const n = Math.min(CHUNK_ROWS, ds.rowCount - start);
      for (let i = 0; i < n; i++) {
        const v = col[start + i];
        scratch[i] = Number.isNaN(v) ? NaN : v; // one NaN bit pattern whatever produced it
      }
      if (!littleEndian) swapBytes(bytes, n);
      hash.update(bytes.subarray(0, n * 8));
    }
  }
  for (const name of CATEGORY_COLUMNS) {
    const { codes, values } = ds.category[name];
    const sorted = [...new Set(values)].sort();
    const rankOf = new Map(sorted.map((v, r) => [v, r]));
    const rank = Int32Array.from(values, (v) => rankOf.get(v) as number);
    hash.update(`${name}${JSON.stringify(sorted)}`);
    const ranks = new Int32Array(Math.min(CHUNK_ROWS, Math.max(1, ds.rowCount)));
    for (let start = 0; start < ds.rowCount; start += CHUNK_ROWS) {
      const n = Math.min(CHUNK_ROWS, ds.rowCount - start);
      for (let i = 0; i < n; i++) {
        const c = codes[start + i];
        ranks[i] = c < 0 ? -1 : rank[c];
      }
      const b = new Uint8Array(ranks.buffer, 0, n * 4);
      if (!littleEndian) for (let i = 0; i < n; i++) b.subarray(i * 4, i * 4 + 4).reverse();
      hash.update(b);
    }
  }
  return hash.digest('hex');
}

function swapBytes(bytes: Uint8Array, count: number): void {
  for (let i = 0; i < count; i++) bytes.subarray(i * 8, i * 8 + 8).reverse();
}
