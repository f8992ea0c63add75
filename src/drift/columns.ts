/**
 * Which columns drift detection watches, and how they are pulled out of a Dataset.
 *
 * Watched: the 13 model input columns of the schema. Left out on purpose:
 *  - `created_at` / `actual_delivery_time`: timestamps always move forward, so every window
 *    would "drift"; the target (delivery seconds, derived from both) is watched instead.
 *  - `store_id`: tens of thousands of ids, most seen a handful of times; a chi-square or
 *    Jensen–Shannon test on it measures sampling noise, not a shift a model cares about.
 * Plus, when present, `prediction` (model output, seconds) and `target` (delivery seconds).
 */
import { targetSeconds, type CategoryColumn, type Dataset, type NumericColumn } from '../ml/dataset/schema.js';

export type DriftColumnType = 'numeric' | 'categorical';

export const PREDICTION_COLUMN = 'prediction' as const;
export const TARGET_DRIFT_COLUMN = 'target' as const;

export const CATEGORICAL_DRIFT_COLUMNS: readonly CategoryColumn[] = ['market_id', 'store_primary_category', 'order_protocol'];
export const NUMERIC_DRIFT_COLUMNS: readonly NumericColumn[] = [
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
];

/** The 13 model input columns watched for drift, in report order. */
export const FEATURE_DRIFT_COLUMNS: readonly string[] = [...CATEGORICAL_DRIFT_COLUMNS, ...NUMERIC_DRIFT_COLUMNS];

/** One watched column of one window: numbers (NaN = missing) or category codes (-1 = missing). */
export type ColumnData =
  | { type: 'numeric'; values: Float64Array }
  | { type: 'categorical'; codes: Int32Array; labels: readonly string[] };

export interface ColumnSource {
  rowCount: number;
  columns: Map<string, ColumnData>;
}

export interface ExtraColumns {
  /** Model outputs (seconds), one per row. */
  predictions?: Float64Array;
  /** Include the target (delivery seconds) when any row has it. Default true. */
  includeTarget?: boolean;
}

/** Pulls the watched columns out of a Dataset without copying the feature arrays. */
export function driftColumnsOf(ds: Dataset, extra: ExtraColumns = {}): ColumnSource {
  const columns = new Map<string, ColumnData>();
  for (const name of CATEGORICAL_DRIFT_COLUMNS) {
    const c = ds.category[name];
    columns.set(name, { type: 'categorical', codes: c.codes, labels: c.values });
  }
  for (const name of NUMERIC_DRIFT_COLUMNS) columns.set(name, { type: 'numeric', values: ds.numeric[name] });
  if (extra.predictions) {
    if (extra.predictions.length !== ds.rowCount) {
      throw new RangeError(`predictions has ${extra.predictions.length} values for ${ds.rowCount} rows`);
    }
    columns.set(PREDICTION_COLUMN, { type: 'numeric', values: extra.predictions });
  }
  if (extra.includeTarget !== false) {
    const target = targetSeconds(ds);
    if (target.some((v) => !Number.isNaN(v))) columns.set(TARGET_DRIFT_COLUMN, { type: 'numeric', values: target });
  }
  return { rowCount: ds.rowCount, columns };
}
