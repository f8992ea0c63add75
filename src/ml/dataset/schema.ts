/**
 * The DoorDash delivery-duration schema: one source of truth for column names, types and units.
 *
 * Every other module (reader, validation, generator, features, server input validation, drift
 * profile) takes column facts from here instead of repeating them.
 *
 * Units: money in cents, durations in seconds, timestamps in UTC wall-clock text
 * ("YYYY-MM-DD HH:MM:SS"), held in memory as epoch seconds. The markets are in US/Pacific.
 */

export type ColumnKind = 'timestamp' | 'integer' | 'money' | 'duration' | 'category';

export interface ColumnSpec {
  readonly name: string;
  readonly kind: ColumnKind;
  /** Short human description shown in reports and error messages. */
  readonly description: string;
  /** Unit of the stored value. */
  readonly unit: 'epoch-seconds' | 'count' | 'cents' | 'seconds' | 'id' | 'label';
  /** May a valid row leave it empty? (missing values are kept as NaN / -1 code). */
  readonly nullable: boolean;
  /** Negative values are impossible for this column (counts, prices, durations). */
  readonly nonNegative: boolean;
}

export const TARGET_COLUMN = 'actual_delivery_time' as const;
export const CREATED_AT_COLUMN = 'created_at' as const;

/** The 16 columns of historical_data.csv in their original header order. */
export const COLUMNS: readonly ColumnSpec[] = [
  { name: 'market_id', kind: 'category', description: 'region (market) id', unit: 'id', nullable: true, nonNegative: true },
  { name: 'created_at', kind: 'timestamp', description: 'order placed (UTC)', unit: 'epoch-seconds', nullable: false, nonNegative: true },
  { name: 'actual_delivery_time', kind: 'timestamp', description: 'order delivered (UTC); the target is this minus created_at', unit: 'epoch-seconds', nullable: true, nonNegative: true },
  { name: 'store_id', kind: 'category', description: 'store id', unit: 'id', nullable: false, nonNegative: true },
  { name: 'store_primary_category', kind: 'category', description: 'cuisine of the store', unit: 'label', nullable: true, nonNegative: false },
  { name: 'order_protocol', kind: 'category', description: 'how the store receives orders', unit: 'id', nullable: true, nonNegative: true },
  { name: 'total_items', kind: 'integer', description: 'items in the order', unit: 'count', nullable: false, nonNegative: true },
  { name: 'subtotal', kind: 'money', description: 'order value', unit: 'cents', nullable: false, nonNegative: true },
  { name: 'num_distinct_items', kind: 'integer', description: 'distinct items in the order', unit: 'count', nullable: false, nonNegative: true },
  { name: 'min_item_price', kind: 'money', description: 'cheapest item price', unit: 'cents', nullable: false, nonNegative: true },
  { name: 'max_item_price', kind: 'money', description: 'dearest item price', unit: 'cents', nullable: false, nonNegative: true },
  { name: 'total_onshift_dashers', kind: 'integer', description: 'dashers on shift in the market', unit: 'count', nullable: true, nonNegative: true },
  { name: 'total_busy_dashers', kind: 'integer', description: 'dashers busy with an order', unit: 'count', nullable: true, nonNegative: true },
  { name: 'total_outstanding_orders', kind: 'integer', description: 'orders being processed in the market', unit: 'count', nullable: true, nonNegative: true },
  { name: 'estimated_order_place_duration', kind: 'duration', description: "another model's estimate of the time for the store to receive the order", unit: 'seconds', nullable: true, nonNegative: true },
  { name: 'estimated_store_to_consumer_driving_duration', kind: 'duration', description: "another model's estimate of the driving time", unit: 'seconds', nullable: true, nonNegative: true },
] as const;

export const COLUMN_NAMES: readonly string[] = COLUMNS.map((c) => c.name);

/** Columns held as numbers (Float64Array, NaN = missing): timestamps, counts, money, durations. */
export const NUMERIC_COLUMNS = [
  'created_at',
  'actual_delivery_time',
  'total_items',
  'subtotal',
  'num_distinct_items',
  'min_item_price',
  'max_item_price',
  'total_onshift_dashers',
  'total_busy_dashers',
  'total_outstanding_orders',
  'estimated_order_place_duration',
  'estimated_store_to_consumer_driving_duration',
] as const;
export type NumericColumn = (typeof NUMERIC_COLUMNS)[number];

/** Columns held as dictionary codes (Int32Array, -1 = missing) over a string dictionary. */
export const CATEGORY_COLUMNS = ['market_id', 'store_id', 'store_primary_category', 'order_protocol'] as const;
export type CategoryColumn = (typeof CATEGORY_COLUMNS)[number];

/** Input fields of one order as a client sends it (everything but the delivery time). */
export const ORDER_INPUT_COLUMNS: readonly string[] = COLUMN_NAMES.filter((n) => n !== TARGET_COLUMN);

export function columnSpec(name: string): ColumnSpec | undefined {
  return COLUMNS.find((c) => c.name === name);
}

/** A categorical column: codes index into `values`; -1 means missing. */
export interface CategoryData {
  codes: Int32Array;
  values: string[];
}

/**
 * A batch of orders in columnar form: the one in-memory shape used by training, batch
 * prediction, the server (a request becomes a one-row Dataset) and drift.
 */
export interface Dataset {
  rowCount: number;
  numeric: Record<NumericColumn, Float64Array>;
  category: Record<CategoryColumn, CategoryData>;
  /** 1-based line number in the source (header = line 1) of each row, for defect reports. */
  sourceLine: Int32Array;
}

/** Delivery duration in seconds (the target); NaN where the delivery time is unknown. */
export function targetSeconds(ds: Dataset): Float64Array {
  const out = new Float64Array(ds.rowCount);
  const created = ds.numeric.created_at;
  const delivered = ds.numeric.actual_delivery_time;
  for (let i = 0; i < ds.rowCount; i++) out[i] = delivered[i] - created[i];
  return out;
}
