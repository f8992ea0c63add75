/**
 * Batch prediction of a CSV file (`etaops predict`): every input record is written back with two
 * more columns, `predicted_duration_seconds` and `prediction_error`.
 *
 * Memory stays bounded: records stream through the dataset reader's builder in batches of
 * `batchRows`; one batch is scored while the next is read, and each is written in input order.
 *
 * A row that cannot be scored never stops the run: it gets an empty prediction and the reason.
 * Those are rows the reader drops (no or unparsable created_at: no time features; a wrong
 * number of fields). Rows with other defects (text in a numeric field, a negative count) are
 * scored with that field missing, like the server does, and counted in the defect report.
 */
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { once } from 'node:events';
import { DatasetBuilder } from '../dataset/builder.js';
import { CsvSplitter, type RecordSink } from '../dataset/csv.js';
import { parseTimestampBytes } from '../dataset/parse.js';
import type { DefectReport } from '../dataset/report.js';
import type { Dataset } from '../dataset/schema.js';
import { describeSource, openByteSource } from '../dataset/source.js';
import type { Predictor } from './predictor.js';

export const PREDICTION_COLUMN = 'predicted_duration_seconds';
export const PREDICTION_ERROR_COLUMN = 'prediction_error';

export interface BatchPredictOptions {
  /** Rows scored per batch (default 50,000). */
  batchRows?: number;
}

export interface BatchPredictSummary {
  recordsRead: number;
  scored: number;
  notScored: number;
  report: DefectReport;
}

const QUOTE = 34;
const decoder = new TextDecoder('utf-8');

interface PendingRecord {
  line: number;
  text: string;
  /** Why the reader will drop it; null when it is kept (and so scored). */
  dropReason: string | null;
}

/** Passes records to the dataset builder and keeps each record's text for the output. */
class EchoSink implements RecordSink {
  header: string | null = null;
  pending: PendingRecord[] = [];
  private fieldCount = -1;
  private createdField = -1;

  constructor(private readonly builder: DatasetBuilder) {}

  record(buf: Uint8Array, starts: Int32Array, ends: Int32Array, count: number, line: number): void {
    const text = recordText(buf, starts, ends, count);
    if (this.header === null) {
      this.builder.record(buf, starts, ends, count, line); // validates the header (throws if unusable)
      this.header = text;
      this.fieldCount = count;
      this.createdField = this.builder.report.header.indexOf('created_at');
      return;
    }
    const dropReason = this.dropReason(buf, starts, ends, count);
    this.pending.push({ line, text, dropReason });
    this.builder.record(buf, starts, ends, count, line);
  }

  private dropReason(buf: Uint8Array, starts: Int32Array, ends: Int32Array, count: number): string | null {
    if (count !== this.fieldCount) return `expected ${this.fieldCount} fields as in the header but found ${count}`;
    const s = starts[this.createdField];
    const e = ends[this.createdField];
    const raw = decoder.decode(buf.subarray(s, e)).trim();
    if (raw === '') return 'created_at is empty: the local hour and weekday cannot be computed';
    if (Number.isNaN(parseTimestampBytes(buf, s, e))) return `created_at '${raw.slice(0, 40)}' is not a 'YYYY-MM-DD HH:MM:SS' UTC time`;
    return null;
  }
}

/** Scores `inputUri` into the CSV file `outputPath` (written under a temporary name, then renamed). */
export async function predictCsv(predictor: Predictor, inputUri: string, outputPath: string, options: BatchPredictOptions = {}): Promise<BatchPredictSummary> {
  const batchRows = options.batchRows ?? 50_000;
  if (!Number.isInteger(batchRows) || batchRows < 1) throw new RangeError(`batchRows must be a whole number >= 1, got ${batchRows}`);
  const shown = describeSource(inputUri);
  const ready: Dataset[] = [];
  const builder = new DatasetBuilder(shown, { requireTarget: false, onMalformedRow: 'skip' }, 'line', batchRows, (ds) => ready.push(ds));
  const sink = new EchoSink(builder);
  const splitter = new CsvSplitter(sink, shown);
  const tmp = `${outputPath}.tmp-${process.pid}`;
  const out = createWriteStream(tmp);
  const summary = { recordsRead: 0, scored: 0, notScored: 0 };
  let wroteHeader = false;

  // Kept for the next write: an error between waits (disk full) must fail the run, not the process.
  let writeFailed: Error | undefined;
  out.on('error', (err) => { writeFailed ??= err; });
  // Waits for 'drain' or 'error', whichever comes first, and removes the other listener: a
  // leftover 'error' listener per full buffer would pile up over a large file.
  const write = (text: string): Promise<void> | undefined => {
    if (writeFailed) return Promise.reject(writeFailed);
    if (out.write(text)) return undefined;
    return new Promise<void>((resolve, reject) => {
      const onDrain = (): void => { out.off('error', onError); resolve(); };
      const onError = (err: Error): void => { out.off('drain', onDrain); reject(err); };
      out.once('drain', onDrain);
      out.once('error', onError);
    });
  };
  const flush = async (ds: Dataset | null, predicted: Promise<Float64Array>): Promise<void> => {
    if (!wroteHeader && sink.header !== null) {
      await write(`${sink.header},${PREDICTION_COLUMN},${PREDICTION_ERROR_COLUMN}\n`);
      wroteHeader = true;
    }
    const predictions = await predicted;
    // Records up to the batch's last line are complete; at the end (ds null) all are.
    const lastLine = ds === null ? Infinity : ds.rowCount > 0 ? ds.sourceLine[ds.rowCount - 1] : -1;
    let take = 0;
    while (take < sink.pending.length && sink.pending[take].line <= lastLine) take++;
    const lines: string[] = [];
    let r = 0;
    for (const rec of sink.pending.splice(0, take)) {
      summary.recordsRead++;
      if (ds && r < ds.rowCount && ds.sourceLine[r] === rec.line) {
        const p = predictions[r++];
        if (Number.isFinite(p)) {
          lines.push(`${rec.text},${p.toFixed(1)},`);
          summary.scored++;
          continue;
        }
        lines.push(`${rec.text},,model returned no value`);
      } else {
        lines.push(`${rec.text},,${csvField(rec.dropReason ?? 'row dropped by validation')}`);
      }
      summary.notScored++;
    }
    if (lines.length > 0) await write(lines.join('\n') + '\n');
  };

  // A batch is scored while the next one is read and parsed (they overlap when the predictor
  // scores on another thread, as `etaops predict`'s does); writes keep the input's order. At
  // most two batches are in hand, which bounds memory.
  let chain: Promise<void> = Promise.resolve();
  const inHand: Promise<void>[] = [];
  const submit = async (ds: Dataset | null): Promise<void> => {
    const predicted = ds && ds.rowCount > 0 ? predictor.predict(ds) : Promise.resolve(new Float64Array(0));
    // Each is awaited in turn below; a failure before its turn must not count as unhandled.
    predicted.catch(() => undefined);
    chain = chain.then(() => flush(ds, predicted));
    chain.catch(() => undefined);
    inHand.push(chain);
    while (inHand.length > 1) await inHand.shift();
  };

  try {
    for await (const chunk of openByteSource(inputUri)) {
      splitter.push(chunk);
      while (ready.length > 0) await submit(ready.shift() as Dataset);
    }
    splitter.end();
    while (ready.length > 0) await submit(ready.shift() as Dataset);
    await submit(builder.finish());
    await submit(null);
    await chain;
    if (writeFailed) throw writeFailed;
    out.end();
    await once(out, 'finish');
    await rename(tmp, outputPath);
  } catch (err) {
    out.destroy();
    await rm(tmp, { force: true });
    throw err;
  }
  return { ...summary, report: builder.report };
}

/** The record as CSV text: its raw bytes when no field was quoted, else re-quoted fields. */
function recordText(buf: Uint8Array, starts: Int32Array, ends: Int32Array, count: number): string {
  let quoted = false;
  for (let i = 0; i < count; i++) if (starts[i] > 0 && buf[starts[i] - 1] === QUOTE) quoted = true;
  if (!quoted) return decoder.decode(buf.subarray(starts[0], ends[count - 1]));
  const fields: string[] = [];
  for (let i = 0; i < count; i++) fields.push(csvField(decoder.decode(buf.subarray(starts[i], ends[i]))));
  return fields.join(',');
}

function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
