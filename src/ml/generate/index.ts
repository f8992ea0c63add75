/**
 * The data generator's API: CSV chunks (streamed, bounded memory), a file writer (gzip for .gz)
 * and an in-memory Dataset. The Dataset is made by formatting CSV and reading it back through the
 * dataset reader, so generated data passes the same validation (one source of truth: its
 * impossible rows are handled exactly as in a real file).
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { DatasetBuilder } from '../dataset/builder.js';
import { CsvSplitter } from '../dataset/csv.js';
import { civilFromDays } from '../dataset/parse.js';
import type { DefectReport } from '../dataset/report.js';
import { COLUMN_NAMES, type Dataset } from '../dataset/schema.js';
import { DEFAULT_DAYS, DEFAULT_START, MARKETS, PROTOCOLS } from './calibration.js';
import { allocateColumns, OrderGenerator, type OrderColumns } from './model.js';
import { scenarioParams } from './scenarios.js';

export { SCENARIOS, SCENARIO_NAMES, scenarioParams, baselineParams, type Scenario, type GeneratorParams } from './scenarios.js';
export { OrderGenerator } from './model.js';
export { Prng, AliasTable } from './prng.js';

export interface GenerateOptions {
  rows: number;
  seed?: number;
  /** A drift scenario name (see SCENARIOS); default none. */
  shift?: string;
  /** First day of the order window, YYYY-MM-DD (UTC); default 2015-01-21 like the sample. */
  start?: string;
  /** Days in the window; default 29 like the sample. */
  days?: number;
}

const CHUNK_ROWS = 8192;
const MAX_ROWS = 2_000_000_000;

function validate(o: GenerateOptions): Required<Omit<GenerateOptions, 'shift'>> & { shift?: string } {
  if (!Number.isInteger(o.rows) || o.rows < 0 || o.rows > MAX_ROWS) throw new RangeError(`rows must be a whole number from 0 to ${MAX_ROWS}, got ${o.rows}`);
  const seed = o.seed ?? 1;
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a whole number, got ${seed}`);
  scenarioParams(o.shift); // throws on an unknown name before any work
  return { rows: o.rows, seed, shift: o.shift, start: o.start ?? DEFAULT_START, days: o.days ?? DEFAULT_DAYS };
}

/** Formats generated columns as CSV bytes (no strings per value). */
class CsvFormatter {
  private buf = new Uint8Array(CHUNK_ROWS * 160);
  private pos = 0;
  private readonly dayText = new Map<number, Uint8Array>();
  private readonly civil = new Int32Array(3);
  private readonly markets = MARKETS.map((m) => new TextEncoder().encode(m));
  private readonly protocols = PROTOCOLS.map((m) => new TextEncoder().encode(m));
  private readonly categories: Uint8Array[];

  constructor(categoryNames: string[]) {
    this.categories = categoryNames.map((c) => new TextEncoder().encode(c));
  }

  format(c: OrderColumns, n: number): Uint8Array {
    this.pos = 0;
    for (let i = 0; i < n; i++) {
      if (this.buf.length - this.pos < 1024) this.grow();
      this.label(this.markets, c.market[i]); this.comma();
      this.timestamp(c.createdAt[i]); this.comma();
      this.timestamp(c.deliveredAt[i]); this.comma();
      this.int(c.store[i] + 1); this.comma();
      this.label(this.categories, c.category[i]); this.comma();
      this.label(this.protocols, c.protocol[i]); this.comma();
      this.int(c.totalItems[i]); this.comma();
      this.int(c.subtotal[i]); this.comma();
      this.int(c.distinctItems[i]); this.comma();
      this.int(c.minPrice[i]); this.comma();
      this.int(c.maxPrice[i]); this.comma();
      this.int(c.onshift[i]); this.comma();
      this.int(c.busy[i]); this.comma();
      this.int(c.outstanding[i]); this.comma();
      this.int(c.placeDuration[i]); this.comma();
      this.int(c.driveDuration[i]);
      this.buf[this.pos++] = 10;
    }
    return this.buf.subarray(0, this.pos);
  }

  private grow(): void {
    const b = new Uint8Array(this.buf.length * 2);
    b.set(this.buf.subarray(0, this.pos));
    this.buf = b;
  }

  private comma(): void {
    this.buf[this.pos++] = 44;
  }

  private label(values: Uint8Array[], code: number): void {
    if (code < 0) return;
    const v = values[code];
    this.buf.set(v, this.pos);
    this.pos += v.length;
  }

  /** A whole number (NaN = empty). */
  private int(v: number): void {
    if (Number.isNaN(v)) return;
    const buf = this.buf;
    if (v < 0) { buf[this.pos++] = 45; v = -v; }
    if (v < 10) { buf[this.pos++] = 48 + v; return; }
    let digits = 1;
    for (let t = v; t >= 10; t = Math.floor(t / 10)) digits++;
    let p = this.pos + digits;
    this.pos = p;
    while (v >= 10) { const q = Math.floor(v / 10); buf[--p] = 48 + (v - q * 10); v = q; }
    buf[p - 1] = 48 + v;
  }

  private two(v: number): void {
    this.buf[this.pos++] = 48 + Math.floor(v / 10);
    this.buf[this.pos++] = 48 + (v % 10);
  }

  /** "YYYY-MM-DD HH:MM:SS" UTC (NaN = empty). */
  private timestamp(t: number): void {
    if (Number.isNaN(t)) return;
    const day = Math.floor(t / 86400);
    let text = this.dayText.get(day);
    if (!text) {
      civilFromDays(day, this.civil);
      text = new TextEncoder().encode(`${String(this.civil[0]).padStart(4, '0')}-${String(this.civil[1]).padStart(2, '0')}-${String(this.civil[2]).padStart(2, '0')} `);
      if (this.dayText.size > 10_000) this.dayText.clear();
      this.dayText.set(day, text);
    }
    this.buf.set(text, this.pos);
    this.pos += text.length;
    const s = t - day * 86400;
    this.two(Math.floor(s / 3600)); this.buf[this.pos++] = 58;
    this.two(Math.floor((s % 3600) / 60)); this.buf[this.pos++] = 58;
    this.two(s % 60);
  }
}

/**
 * The CSV text of a generated data set as byte chunks: the header, then blocks of rows. Each
 * chunk's buffer is reused by the next: consume (write or copy) it before asking for the next.
 */
export function* generateCsvChunks(options: GenerateOptions): Generator<Uint8Array> {
  const o = validate(options);
  const gen = new OrderGenerator(o.seed, scenarioParams(o.shift), o.start, o.days);
  const fmt = new CsvFormatter(gen.categoryNames);
  const cols = allocateColumns(CHUNK_ROWS);
  yield new TextEncoder().encode(COLUMN_NAMES.join(',') + '\n');
  for (let done = 0; done < o.rows; done += CHUNK_ROWS) {
    const n = Math.min(CHUNK_ROWS, o.rows - done);
    gen.fill(cols, n);
    yield fmt.format(cols, n);
  }
}

async function write(stream: Writable, chunk: Uint8Array): Promise<void> {
  // The chunk buffer is reused by the generator: hand the stream a copy it may keep.
  if (!stream.write(Buffer.from(chunk))) await once(stream, 'drain');
}

/** Writes a generated data set to a file (gzip when the name ends in .gz). */
export async function writeGeneratedCsv(out: string, options: GenerateOptions): Promise<{ rows: number; bytes: number }> {
  const chunks = generateCsvChunks(options); // validates before the file is created
  const first = chunks.next();
  const file = createWriteStream(out);
  const gzip = /\.gz$/i.test(out) ? createGzip({ level: 6 }) : undefined;
  const sink: Writable = gzip ?? file;
  if (gzip) gzip.pipe(file);
  const failed = new Promise<never>((_, reject) => {
    file.once('error', reject);
    gzip?.once('error', reject);
  });
  let bytes = 0;
  const run = async () => {
    for (let r = first; !r.done; r = chunks.next()) {
      bytes += r.value.length;
      await write(sink, r.value);
    }
    sink.end();
    await once(file, 'close');
  };
  await Promise.race([run(), failed]);
  return { rows: options.rows, bytes };
}

export interface GeneratedDataset {
  dataset: Dataset;
  report: DefectReport;
}

/** A generated data set in memory, validated by the dataset reader like a file would be. */
export function generateDatasetWithReport(options: GenerateOptions): GeneratedDataset {
  const source = `generated(rows=${options.rows}, seed=${options.seed ?? 1}${options.shift ? `, shift=${options.shift}` : ''})`;
  const builder = new DatasetBuilder(source);
  const splitter = new CsvSplitter(builder, source);
  for (const chunk of generateCsvChunks(options)) splitter.push(chunk);
  splitter.end();
  return { dataset: builder.finish(), report: builder.report };
}

/** A generated Dataset in memory (e.g. for tests and the demo). */
export function generateDataset(options: GenerateOptions): Dataset {
  return generateDatasetWithReport(options).dataset;
}
