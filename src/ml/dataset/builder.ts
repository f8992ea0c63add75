/**
 * Turns records (field byte offsets from the CSV splitter or the Postgres source) into the
 * columnar Dataset, validating every field by the rules in report.ts as it goes. Storage is
 * growable typed arrays; a category value is a dictionary code, a string is made only for a
 * value seen for the first time.
 */
import { DataError } from './errors.js';
import { ByteDictionary, normalizeIdText } from './dictionary.js';
import { parseNumberBytes, parseTimestampBytes } from './parse.js';
import { DefectTally, type DefectReport } from './report.js';
import type { RecordSink } from './csv.js';
import {
  CATEGORY_COLUMNS, COLUMN_NAMES, CREATED_AT_COLUMN, NUMERIC_COLUMNS, TARGET_COLUMN, columnSpec,
  type CategoryColumn, type Dataset, type NumericColumn,
} from './schema.js';

export interface ValidationOptions {
  /** Longest believable delivery in seconds (default 6 h); longer ones lose their target. */
  maxDurationSeconds?: number;
  /** Must the header have actual_delivery_time? (default true; false for prediction input) */
  requireTarget?: boolean;
  /** A row with the wrong number of fields: 'error' rejects the file (default), 'skip' drops and counts it. */
  onMalformedRow?: 'error' | 'skip';
  /** Source lines kept per defect kind in the report (default 20). */
  linesPerKind?: number;
}

const SPACE = 32;
const TAB = 9;
const CREATED_INDEX = NUMERIC_COLUMNS.indexOf(CREATED_AT_COLUMN);
const TARGET_INDEX = NUMERIC_COLUMNS.indexOf(TARGET_COLUMN);

/** Per numeric column facts, in NUMERIC_COLUMNS order, as flat arrays for the row loop. */
const NUMERIC_IS_TIMESTAMP = Uint8Array.from(NUMERIC_COLUMNS, (c) => (columnSpec(c)?.kind === 'timestamp' ? 1 : 0));
const NUMERIC_IS_COUNT = Uint8Array.from(NUMERIC_COLUMNS, (c) => (columnSpec(c)?.kind === 'integer' ? 1 : 0));
const NUMERIC_NON_NEGATIVE = Uint8Array.from(NUMERIC_COLUMNS, (c) => (columnSpec(c)?.nonNegative && columnSpec(c)?.kind !== 'timestamp' ? 1 : 0));
const NUMERIC_NULLABLE = Uint8Array.from(NUMERIC_COLUMNS, (c) => (columnSpec(c)?.nullable ? 1 : 0));
const CATEGORY_NULLABLE = Uint8Array.from(CATEGORY_COLUMNS, (c) => (columnSpec(c)?.nullable ? 1 : 0));
/** Id columns may arrive as "1.0" from pandas; the cuisine label is kept verbatim. */
const CATEGORY_IS_ID = Uint8Array.from(CATEGORY_COLUMNS, (c) => (columnSpec(c)?.unit === 'id' ? 1 : 0));

export class DatasetBuilder implements RecordSink {
  readonly tally: DefectTally;
  private readonly maxDuration: number;
  private readonly requireTarget: boolean;
  private readonly skipMalformed: boolean;
  private fieldCount = -1;
  private header: string[] = [];
  private readonly numericField = new Int32Array(NUMERIC_COLUMNS.length).fill(-1);
  private readonly categoryField = new Int32Array(CATEGORY_COLUMNS.length).fill(-1);
  private readonly dictionaries: ByteDictionary[];
  private numeric: Float64Array[] = [];
  private codes: Int32Array[] = [];
  private lines = new Int32Array(0);
  private rows = 0;
  private capacity = 0;
  private readonly missingCounts = new Float64Array(COLUMN_NAMES.length);
  private readonly numericNameIndex = Int32Array.from(NUMERIC_COLUMNS, (c) => COLUMN_NAMES.indexOf(c));
  private readonly categoryNameIndex = Int32Array.from(CATEGORY_COLUMNS, (c) => COLUMN_NAMES.indexOf(c));
  private lastLine = 0;

  constructor(
    private readonly source: string,
    options: ValidationOptions = {},
    lineLabel: 'line' | 'row' = 'line',
    /** Rows per batch; onBatch is called each time that many rows are held. 0 = one Dataset. */
    private readonly batchRows = 0,
    private readonly onBatch?: (ds: Dataset) => void,
  ) {
    const max = options.maxDurationSeconds ?? 6 * 3600;
    if (!(max > 0) || !Number.isFinite(max)) throw new RangeError(`maxDurationSeconds must be a positive number of seconds, got ${max}`);
    if (options.onMalformedRow !== undefined && options.onMalformedRow !== 'error' && options.onMalformedRow !== 'skip') {
      throw new RangeError(`onMalformedRow must be 'error' or 'skip', got '${String(options.onMalformedRow)}'`);
    }
    this.maxDuration = max;
    this.requireTarget = options.requireTarget ?? true;
    this.skipMalformed = options.onMalformedRow === 'skip';
    this.tally = new DefectTally(source, lineLabel, max, options.linesPerKind);
    this.dictionaries = CATEGORY_COLUMNS.map((_, i) => new ByteDictionary(CATEGORY_IS_ID[i] ? normalizeIdText : undefined));
    this.allocate(batchRows > 0 ? batchRows : 1024);
  }

  get report(): DefectReport {
    const r = this.tally.report;
    COLUMN_NAMES.forEach((name, i) => { r.missing[name] = this.missingCounts[i]; });
    return r;
  }

  get hasHeader(): boolean {
    return this.fieldCount >= 0;
  }

  get heldRows(): number {
    return this.rows;
  }

  /** Maps header names to columns; rejects a header without the schema's columns. */
  setHeader(names: string[], line = 1): void {
    const where = this.tally.report.lineLabel === 'row' ? 'result columns' : `line ${line} (header)`;
    const seen = new Map<string, number>();
    let duplicate: string | undefined;
    names.forEach((raw, i) => {
      const name = raw.trim();
      if (seen.has(name)) {
        if (duplicate === undefined && COLUMN_NAMES.includes(name)) {
          duplicate = `${this.source}: ${where}: column '${name}' appears twice (fields ${seen.get(name)! + 1} and ${i + 1})`;
        }
        return;
      }
      seen.set(name, i);
    });
    const required = COLUMN_NAMES.filter((c) => c !== TARGET_COLUMN || this.requireTarget);
    const absent = required.filter((c) => !seen.has(c));
    if (absent.length > 0) {
      const looksLikeData = names.length > 1 && names.some((n) => /^\s*-?\d/.test(n));
      const nearMiss = absent.map((c) => names.find((n) => n.trim().toLowerCase() === c.toLowerCase())).filter((n) => n !== undefined);
      const hint = looksLikeData
        ? 'the first line looks like data: the file needs the DoorDash header line'
        : nearMiss.length > 0 ? `column names are case-sensitive: found ${nearMiss.map((n) => `'${n}'`).join(', ')}`
          : `the header must name these columns: ${COLUMN_NAMES.join(',')}`;
      throw new DataError(
        `${this.source}: ${where}: missing column${absent.length > 1 ? 's' : ''} ${absent.map((c) => `'${c}'`).join(', ')}`,
        hint, line, absent[0],
      );
    }
    if (duplicate !== undefined) throw new DataError(duplicate, 'each column may appear once', line);
    NUMERIC_COLUMNS.forEach((c, k) => { this.numericField[k] = seen.get(c) ?? -1; });
    CATEGORY_COLUMNS.forEach((c, k) => { this.categoryField[k] = seen.get(c) ?? -1; });
    const r = this.tally.report;
    r.header = names.map((n) => n.trim());
    r.unknownColumns = r.header.filter((n) => !COLUMN_NAMES.includes(n));
    for (const u of r.unknownColumns) {
      this.tally.add('unknown_column', u, line);
      this.tally.warn(`column '${u}' is not a DoorDash column and is ignored`);
    }
    this.header = r.header;
    this.fieldCount = names.length;
  }

  record(buf: Uint8Array, starts: Int32Array, ends: Int32Array, count: number, line: number): void {
    if (this.fieldCount < 0) {
      const dec = new TextDecoder('utf-8');
      const names: string[] = [];
      for (let i = 0; i < count; i++) names.push(dec.decode(buf.subarray(starts[i], ends[i])));
      this.setHeader(names, line);
      return;
    }
    this.lastLine = line;
    const report = this.tally.report;
    report.recordsRead++;
    if (count !== this.fieldCount) {
      this.wrongFieldCount(count, line);
      return;
    }
    // created_at first: a row without it is dropped before anything is stored.
    const cf = this.numericField[CREATED_INDEX];
    if (isBlank(buf, starts[cf], ends[cf])) {
      this.missingCounts[this.numericNameIndex[CREATED_INDEX]]++;
      this.tally.add('missing_created_at', CREATED_AT_COLUMN, line);
      report.rowsDropped++;
      return;
    }
    const createdAt = parseTimestampBytes(buf, starts[cf], ends[cf]);
    if (Number.isNaN(createdAt)) {
      this.tally.add('unparsable_timestamp', CREATED_AT_COLUMN, line);
      report.rowsDropped++;
      return;
    }
    if (this.rows === this.capacity) this.grow();
    const r = this.rows;
    this.numeric[CREATED_INDEX][r] = createdAt;
    for (let k = 0; k < NUMERIC_COLUMNS.length; k++) {
      if (k === CREATED_INDEX) continue;
      this.numeric[k][r] = this.numericValue(k, buf, starts, ends, line);
    }
    this.checkDuration(r, line);
    for (let k = 0; k < CATEGORY_COLUMNS.length; k++) this.codes[k][r] = this.categoryCode(k, buf, starts, ends, line);
    this.lines[r] = line;
    this.rows++;
    report.rowsKept++;
    if (this.batchRows > 0 && this.rows >= this.batchRows) this.onBatch?.(this.take());
  }

  private wrongFieldCount(count: number, line: number): void {
    const L = this.tally.report.lineLabel;
    const where = count < this.fieldCount
      ? `the row ends after field ${count} ('${this.header[count - 1]}'), field ${count + 1} ('${this.header[count]}') is absent`
      : `field ${this.fieldCount + 1} is beyond the header's last column ('${this.header[this.fieldCount - 1]}')`;
    if (this.skipMalformed) {
      this.tally.add('wrong_field_count', undefined, line);
      this.tally.report.rowsDropped++;
      return;
    }
    throw new DataError(
      `${this.source}: ${L} ${line}: expected ${this.fieldCount} fields as in the header, found ${count}: ${where}`,
      count < this.fieldCount ? 'a short last row means the file was cut off (truncated download or copy)' : 'an unquoted comma inside a value, or a corrupt line',
      line, count < this.fieldCount ? this.header[count] : undefined,
    );
  }

  private numericValue(k: number, buf: Uint8Array, starts: Int32Array, ends: Int32Array, line: number): number {
    const f = this.numericField[k];
    const column = NUMERIC_COLUMNS[k];
    if (f < 0) return NaN; // absent optional column (the target in prediction input)
    const s = starts[f];
    const e = ends[f];
    if (isBlank(buf, s, e)) {
      this.missingCounts[this.numericNameIndex[k]]++;
      if (k === TARGET_INDEX) this.tally.add('missing_target', column, line);
      else if (!NUMERIC_NULLABLE[k]) this.tally.add('missing_required_value', column, line);
      return NaN;
    }
    if (NUMERIC_IS_TIMESTAMP[k]) {
      const t = parseTimestampBytes(buf, s, e);
      if (Number.isNaN(t)) this.tally.add('unparsable_timestamp', column, line);
      return t;
    }
    const v = parseNumberBytes(buf, s, e);
    if (Number.isNaN(v) || (NUMERIC_IS_COUNT[k] && !Number.isInteger(v))) {
      this.tally.add('unparsable_number', column, line);
      return NaN;
    }
    if (v < 0 && NUMERIC_NON_NEGATIVE[k]) {
      this.tally.add('negative_value', column, line);
      return NaN;
    }
    return v;
  }

  /** An impossible duration loses its target (the row stays for prediction and drift). */
  private checkDuration(r: number, line: number): void {
    const target = this.numeric[TARGET_INDEX];
    const t = target[r];
    const report = this.tally.report;
    if (Number.isNaN(t)) {
      report.rowsWithoutTarget++;
      return;
    }
    const d = t - this.numeric[CREATED_INDEX][r];
    if (d <= 0 || d > this.maxDuration) {
      this.tally.add(d <= 0 ? 'nonpositive_duration' : 'duration_too_long', TARGET_COLUMN, line);
      target[r] = NaN;
      report.rowsWithoutTarget++;
      return;
    }
    report.rowsForTraining++;
  }

  private categoryCode(k: number, buf: Uint8Array, starts: Int32Array, ends: Int32Array, line: number): number {
    const f = this.categoryField[k];
    let s = starts[f];
    let e = ends[f];
    while (s < e && (buf[s] === SPACE || buf[s] === TAB)) s++;
    while (e > s && (buf[e - 1] === SPACE || buf[e - 1] === TAB)) e--;
    if (s === e) {
      this.missingCounts[this.categoryNameIndex[k]]++;
      if (!CATEGORY_NULLABLE[k]) this.tally.add('missing_required_value', CATEGORY_COLUMNS[k], line);
      return -1;
    }
    return this.dictionaries[k].intern(buf, s, e);
  }

  /** Ends the input: a file with no header line at all is an error. */
  finish(): Dataset {
    if (this.fieldCount < 0) {
      throw new DataError(`${this.source}: the source is empty: no header line`, `the first line must be the header: ${COLUMN_NAMES.join(',')}`, 1);
    }
    return this.take();
  }

  /** Line of the last record seen (for messages about where a stream broke off). */
  get lastRecordLine(): number {
    return this.lastLine;
  }

  /** Hands over the rows held so far as a Dataset and starts afresh (dictionaries persist). */
  take(): Dataset {
    const n = this.rows;
    const trim = <T extends Float64Array | Int32Array>(a: T): T => (n === a.length ? a : (a.slice(0, n) as T));
    const numeric = {} as Record<NumericColumn, Float64Array>;
    NUMERIC_COLUMNS.forEach((c, k) => { numeric[c] = trim(this.numeric[k]); });
    const category = {} as Record<CategoryColumn, { codes: Int32Array; values: string[] }>;
    CATEGORY_COLUMNS.forEach((c, k) => { category[c] = { codes: trim(this.codes[k]), values: this.dictionaries[k].values.slice() }; });
    const ds: Dataset = { rowCount: n, numeric, category, sourceLine: trim(this.lines) };
    this.allocate(this.batchRows > 0 ? this.batchRows : 1024);
    return ds;
  }

  private allocate(capacity: number): void {
    this.numeric = NUMERIC_COLUMNS.map(() => new Float64Array(capacity));
    this.codes = CATEGORY_COLUMNS.map(() => new Int32Array(capacity));
    this.lines = new Int32Array(capacity);
    this.rows = 0;
    this.capacity = capacity;
  }

  private grow(): void {
    const capacity = this.capacity * 2;
    this.numeric = this.numeric.map((a) => { const b = new Float64Array(capacity); b.set(a); return b; });
    this.codes = this.codes.map((a) => { const b = new Int32Array(capacity); b.set(a); return b; });
    const lines = new Int32Array(capacity);
    lines.set(this.lines);
    this.lines = lines;
    this.capacity = capacity;
  }
}

function isBlank(buf: Uint8Array, s: number, e: number): boolean {
  for (let i = s; i < e; i++) if (buf[i] !== SPACE && buf[i] !== TAB) return false;
  return true;
}
