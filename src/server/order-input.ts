/**
 * Validation of raw order JSON as clients send it to the prediction server, into the columnar
 * `Dataset` every model consumes.
 *
 * The contract (the seed's /predict body): one object whose keys are the schema's input columns,
 * or an array of such objects. `created_at` is "YYYY-MM-DD HH:MM:SS" UTC or ISO-8601; numbers are
 * JSON numbers or numeric strings; ids are numbers or strings; nullable columns may be null,
 * empty or absent (they become missing values, exactly as an empty CSV cell would).
 *
 * Every bad field is reported with its path (`[3].subtotal: expected a number >= 0, got "abc"`)
 * so a client fixes all of them in one round trip. Unknown keys are reported back but are not
 * fatal: clients that send extra context keep working.
 *
 * Validation produces plain `OrderRow`s first and the Dataset second, so the micro-batcher can
 * merge rows of concurrent requests into one model run.
 */
import {
  CATEGORY_COLUMNS, CREATED_AT_COLUMN, NUMERIC_COLUMNS, ORDER_INPUT_COLUMNS, TARGET_COLUMN, columnSpec,
  type CategoryColumn, type CategoryData, type ColumnSpec, type Dataset, type NumericColumn,
} from '../ml/dataset/schema.js';
import { parseNumber, parseTimestampUtc } from '../ml/dataset/parse.js';

/** One validated order: numeric columns in NUMERIC_COLUMNS order, categories in CATEGORY_COLUMNS order. */
export interface OrderRow {
  numeric: number[];
  /** Canonical category text, null when missing. */
  category: (string | null)[];
}

export interface FieldError {
  /** `subtotal` for a single order, `[3].subtotal` inside a batch, `` for the body itself. */
  path: string;
  message: string;
}

export interface ParsedOrders {
  rows: OrderRow[];
  /** True when the body was an array: the response is an array too. */
  batch: boolean;
  /** `request_id` given in each order (undefined where absent). */
  requestIds: (string | undefined)[];
  /** Paths of keys that are not order fields (reported, not fatal). */
  unknownFields: string[];
  /** Nullable input columns left empty, with how many rows left each empty. */
  missingFields: Map<string, number>;
}

export class OrderValidationError extends Error {
  constructor(readonly errors: FieldError[]) {
    super(errors.map(formatFieldError).join('; '));
    this.name = 'OrderValidationError';
  }
}

export function formatFieldError(e: FieldError): string {
  return e.path === '' ? e.message : `${e.path}: ${e.message}`;
}

export interface OrderLimits {
  /** Most orders one batch may hold. */
  maxBatchRows: number;
}

export const DEFAULT_ORDER_LIMITS: OrderLimits = { maxBatchRows: 10_000 };

/** Keys that are not order fields but are understood (metadata, or the target a client may echo). */
const META_KEYS = new Set(['request_id', TARGET_COLUMN]);

/**
 * Plausible ranges. Values outside them are not orders this model can score (a typo, a unit
 * mix-up, a clock at epoch 0) and get a 400 rather than a confident nonsense prediction.
 */
const TIMESTAMP_MIN = Date.UTC(2000, 0, 1) / 1000;
const TIMESTAMP_MAX = Date.UTC(2100, 0, 1) / 1000;
const UPPER_BOUND: Record<ColumnSpec['kind'], number> = {
  timestamp: TIMESTAMP_MAX,
  integer: 1_000_000,
  money: 1_000_000_000, // ten million dollars, in cents
  duration: 7 * 86_400,
  category: Number.MAX_SAFE_INTEGER,
};
const MAX_LABEL_LENGTH = 200;

interface InputColumn {
  name: string;
  spec: ColumnSpec;
  /** Index into OrderRow.numeric, or -1. */
  numericIndex: number;
  /** Index into OrderRow.category, or -1. */
  categoryIndex: number;
}

const INPUT_COLUMNS: InputColumn[] = ORDER_INPUT_COLUMNS.map((name) => ({
  name,
  spec: columnSpec(name) as ColumnSpec,
  numericIndex: (NUMERIC_COLUMNS as readonly string[]).indexOf(name),
  categoryIndex: (CATEGORY_COLUMNS as readonly string[]).indexOf(name),
}));
const INPUT_NAMES = new Set(ORDER_INPUT_COLUMNS);

/** Short rendering of a bad value for an error message (never the whole of a huge value). */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') {
    const s = v.length > 40 ? `${v.slice(0, 40)}...` : v;
    return JSON.stringify(s);
  }
  return String(v);
}

/**
 * The value of a numeric column, or NaN when it is not acceptable (the caller words the error:
 * the hot path allocates nothing per field).
 */
function numericValue(spec: ColumnSpec, v: unknown): number {
  if (spec.kind === 'timestamp') {
    // A number here is accepted as epoch seconds: some clients send that.
    const t = typeof v === 'string' ? parseTimestampUtc(v) : typeof v === 'number' ? v : NaN;
    return t >= TIMESTAMP_MIN && t < TIMESTAMP_MAX ? t : NaN;
  }
  const n = typeof v === 'number' ? v : typeof v === 'string' ? parseNumber(v) : NaN;
  // NaN and ±Infinity fail these comparisons too.
  if (!(n >= 0 && n <= UPPER_BOUND[spec.kind])) return NaN;
  if (spec.kind === 'integer' && !Number.isInteger(n)) return NaN;
  return n;
}

function expectation(spec: ColumnSpec): string {
  switch (spec.kind) {
    case 'timestamp': return 'expected a UTC timestamp "YYYY-MM-DD HH:MM:SS" or ISO-8601 between 2000 and 2100';
    case 'integer': return `expected a whole number from 0 to ${UPPER_BOUND.integer}`;
    case 'money': return `expected a number >= 0 (cents) up to ${UPPER_BOUND.money}`;
    case 'duration': return `expected a number of seconds >= 0 up to ${UPPER_BOUND.duration}`;
    default: return 'expected a value';
  }
}

/** Plain decimal ids without leading zeros are already canonical (the common case). */
const CANONICAL_ID = /^(0|[1-9]\d{0,14})$/;

/**
 * Canonical category text: integral numeric ids print as integers so that 1, "1" and "1.0"
 * are the same market (the CSV holds "1"; pandas-written files hold "1.0").
 */
export function canonicalCategory(v: string | number): string | undefined {
  if (typeof v === 'number') return Number.isFinite(v) && Number.isInteger(v) && v >= 0 ? String(v) : undefined;
  if (CANONICAL_ID.test(v)) return v;
  const text = v.trim();
  const n = parseNumber(text);
  if (Number.isFinite(n) && Number.isInteger(n) && n >= 0 && n <= Number.MAX_SAFE_INTEGER) return String(n);
  return text;
}

const NUMERIC_LOOKING = /^\s*[+-]?[\d.]+([eE][+-]?\d+)?\s*$/;

/** Canonical text of a category value, or undefined when it is not acceptable. */
function categoryValue(spec: ColumnSpec, v: unknown): string | undefined {
  if (spec.unit === 'label') return typeof v === 'string' && v.length <= MAX_LABEL_LENGTH ? v.trim() : undefined;
  if (typeof v === 'string') {
    if (v.length > MAX_LABEL_LENGTH) return undefined;
    if (CANONICAL_ID.test(v)) return v;
  } else if (typeof v !== 'number') {
    return undefined;
  }
  const value = canonicalCategory(v);
  // A numeric-looking string that is negative or fractional is a broken id, not a label.
  if (value === undefined || (typeof v === 'string' && NUMERIC_LOOKING.test(v) && !/^\d+$/.test(value))) return undefined;
  return value;
}

function categoryError(spec: ColumnSpec, v: unknown): string {
  return spec.unit === 'label'
    ? `expected a text label of at most ${MAX_LABEL_LENGTH} characters, got ${describeValue(v)}`
    : `expected an id (a whole number >= 0 or a text of at most ${MAX_LABEL_LENGTH} characters), got ${describeValue(v)}`;
}

function isEmpty(v: unknown): boolean {
  return v === undefined || v === null || (typeof v === 'string' && v.trim() === '');
}

interface RowContext {
  prefix: string;
  errors: FieldError[];
  unknownFields: string[];
  missingFields: Map<string, number>;
}

/**
 * Fresh rows are copies of these: copying a small packed array is a memcpy on the JS heap,
 * where a Float64Array of this size would be a separately allocated (and finalised) buffer.
 */
const EMPTY_NUMERIC: number[] = NUMERIC_COLUMNS.map(() => NaN);
const EMPTY_CATEGORY: (string | null)[] = CATEGORY_COLUMNS.map(() => null);

function parseRow(obj: Record<string, unknown>, ctx: RowContext): OrderRow {
  const row: OrderRow = { numeric: EMPTY_NUMERIC.slice(), category: EMPTY_CATEGORY.slice() };
  for (const col of INPUT_COLUMNS) {
    const v = obj[col.name];
    if (isEmpty(v)) {
      if (!col.spec.nullable) {
        const got = v === undefined ? 'it is missing' : `got ${describeValue(v)}`;
        ctx.errors.push({ path: ctx.prefix + col.name, message: `required (${col.spec.description}), ${got}` });
      } else {
        ctx.missingFields.set(col.name, (ctx.missingFields.get(col.name) ?? 0) + 1);
      }
      continue;
    }
    if (col.numericIndex >= 0) {
      const n = numericValue(col.spec, v);
      if (Number.isNaN(n)) ctx.errors.push({ path: ctx.prefix + col.name, message: `${expectation(col.spec)}, got ${describeValue(v)}` });
      else row.numeric[col.numericIndex] = n;
    } else {
      const text = categoryValue(col.spec, v);
      if (text === undefined) ctx.errors.push({ path: ctx.prefix + col.name, message: categoryError(col.spec, v) });
      else row.category[col.categoryIndex] = text;
    }
  }
  for (const key in obj) {
    if (!INPUT_NAMES.has(key) && !META_KEYS.has(key)) ctx.unknownFields.push(ctx.prefix + key);
  }
  return row;
}

function requestIdOf(obj: Record<string, unknown>, ctx: RowContext): string | undefined {
  const v = obj.request_id;
  if (v === undefined || v === null) return undefined;
  if ((typeof v === 'string' && v.length > 0 && v.length <= 200) || (typeof v === 'number' && Number.isFinite(v))) return String(v);
  ctx.errors.push({ path: `${ctx.prefix}request_id`, message: `expected a text of 1 to 200 characters or a number, got ${describeValue(v)}` });
  return undefined;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Validates a parsed JSON body (one order or an array of orders).
 * Throws OrderValidationError listing every bad field.
 */
export function parseOrders(body: unknown, limits: OrderLimits = DEFAULT_ORDER_LIMITS): ParsedOrders {
  const batch = Array.isArray(body);
  const items: unknown[] = batch ? body : [body];
  if (batch && items.length === 0) throw new OrderValidationError([{ path: '', message: 'expected at least one order, got an empty array' }]);
  if (items.length > limits.maxBatchRows) {
    throw new OrderValidationError([{ path: '', message: `a batch may hold at most ${limits.maxBatchRows} orders, got ${items.length}` }]);
  }
  const ctx: RowContext = { prefix: '', errors: [], unknownFields: [], missingFields: new Map() };
  const rows: OrderRow[] = [];
  const requestIds: (string | undefined)[] = [];
  for (let i = 0; i < items.length; i++) {
    ctx.prefix = batch ? `[${i}].` : '';
    const item = items[i];
    if (!isPlainObject(item)) {
      const path = batch ? `[${i}]` : '';
      ctx.errors.push({ path, message: `expected an order object with the fields ${ORDER_INPUT_COLUMNS.join(', ')}, got ${describeValue(item)}` });
      continue;
    }
    requestIds.push(requestIdOf(item, ctx));
    rows.push(parseRow(item, ctx));
  }
  if (ctx.errors.length > 0) throw new OrderValidationError(ctx.errors);
  return { rows, batch, requestIds, unknownFields: ctx.unknownFields, missingFields: ctx.missingFields };
}

/**
 * Builds the columnar Dataset of `rows` (the target column is NaN: it is what we predict).
 * Category dictionaries hold each distinct text once, as the CSV reader's do.
 */
export function rowsToDataset(rows: readonly OrderRow[]): Dataset {
  const n = rows.length;
  const numeric = {} as Record<NumericColumn, Float64Array>;
  for (let c = 0; c < NUMERIC_COLUMNS.length; c++) {
    const col = new Float64Array(n);
    for (let i = 0; i < n; i++) col[i] = rows[i].numeric[c];
    numeric[NUMERIC_COLUMNS[c]] = col;
  }
  const category = {} as Record<CategoryColumn, CategoryData>;
  for (let c = 0; c < CATEGORY_COLUMNS.length; c++) {
    const codes = new Int32Array(n);
    const values: string[] = [];
    const index = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      const text = rows[i].category[c];
      if (text === null) {
        codes[i] = -1;
        continue;
      }
      let code = index.get(text);
      if (code === undefined) {
        code = values.length;
        values.push(text);
        index.set(text, code);
      }
      codes[i] = code;
    }
    category[CATEGORY_COLUMNS[c]] = { codes, values };
  }
  const sourceLine = new Int32Array(n);
  for (let i = 0; i < n; i++) sourceLine[i] = i + 1;
  return { rowCount: n, numeric, category, sourceLine };
}

const CREATED_AT_INDEX = (NUMERIC_COLUMNS as readonly string[]).indexOf(CREATED_AT_COLUMN);

/** Each row's created_at (epoch seconds), which feedback with an actual delivery time needs. */
export function createdAtOf(rows: readonly OrderRow[]): Float64Array {
  const out = new Float64Array(rows.length);
  for (let i = 0; i < rows.length; i++) out[i] = rows[i].numeric[CREATED_AT_INDEX];
  return out;
}

/** Convenience for callers that do not batch: body → Dataset. */
export function ordersToDataset(body: unknown, limits?: OrderLimits): { parsed: ParsedOrders; dataset: Dataset } {
  const parsed = parseOrders(body, limits);
  return { parsed, dataset: rowsToDataset(parsed.rows) };
}

/** A real order from the DoorDash sample, used for warm-up, the demo's curl and docs. */
export const EXAMPLE_ORDER: Readonly<Record<string, string | number>> = {
  market_id: 1,
  created_at: '2015-02-06 22:24:17',
  store_id: 1845,
  store_primary_category: 'american',
  order_protocol: 1,
  total_items: 4,
  subtotal: 3441,
  num_distinct_items: 4,
  min_item_price: 557,
  max_item_price: 1239,
  total_onshift_dashers: 33,
  total_busy_dashers: 14,
  total_outstanding_orders: 21,
  estimated_order_place_duration: 446,
  estimated_store_to_consumer_driving_duration: 861,
};
