/**
 * The feature spec: everything `buildFeatures` needs besides the orders themselves, learned on
 * training data by `fitFeatureSpec` and saved as JSON inside model.json so batch prediction and
 * the server rebuild exactly the vectors the model was trained on.
 *
 * Category encoding: each of market_id, order_protocol and store_primary_category gets codes
 * 0, 1, 2, … in order of decreasing frequency in the training rows (ties broken by value, so the
 * spec is deterministic). A value the training data never had gets the dedicated code
 * `values.length` ("unseen"): codes are frequency-ordered, so the trees see it next to the
 * rarest known values, which is the best guess for something rare enough not to appear in
 * training. A missing value stays NaN and the trees route it along their learned missing branch.
 */
import type { Dataset } from '../dataset/schema.js';

export const FEATURE_SPEC_VERSION = 1;

/** The categorical inputs that become frequency-ordered codes. */
export const ENCODED_CATEGORIES = ['market_id', 'order_protocol', 'store_primary_category'] as const;
export type EncodedCategory = (typeof ENCODED_CATEGORIES)[number];

/** Feature names in matrix column order. Changing it requires a new FEATURE_SPEC_VERSION. */
export const FEATURE_NAMES_V1 = [
  'local_hour',
  'local_weekday',
  'market_code',
  'order_protocol_code',
  'store_category_code',
  'total_items',
  'subtotal',
  'num_distinct_items',
  'min_item_price',
  'max_item_price',
  'avg_item_price',
  'total_onshift_dashers',
  'total_busy_dashers',
  'total_outstanding_orders',
  'busy_ratio',
  'outstanding_per_onshift',
  'free_dashers',
  'estimated_order_place_duration',
  'estimated_store_to_consumer_driving_duration',
  'estimate_sum',
] as const;

export interface CategoryEncoding {
  /** Known values, most frequent first; a value's code is its index. */
  values: string[];
  /** Code given to values not in `values`. Always `values.length`. */
  unseenCode: number;
}

export interface FeatureSpec {
  format: 'etaops-features';
  version: number;
  /** IANA zone used for local hour and weekday. */
  timeZone: string;
  names: string[];
  categories: Record<EncodedCategory, CategoryEncoding>;
}

export class FeatureSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FeatureSpecError';
  }
}

/**
 * Learns the category encodings from `ds`; `rows` (indices) restricts it to training rows so
 * the holdout does not leak into the spec.
 */
export function fitFeatureSpec(ds: Dataset, rows?: Int32Array): FeatureSpec {
  const categories = {} as Record<EncodedCategory, CategoryEncoding>;
  for (const name of ENCODED_CATEGORIES) categories[name] = fitEncoding(ds, name, rows);
  return {
    format: 'etaops-features',
    version: FEATURE_SPEC_VERSION,
    timeZone: 'America/Los_Angeles',
    names: [...FEATURE_NAMES_V1],
    categories,
  };
}

function fitEncoding(ds: Dataset, name: EncodedCategory, rows?: Int32Array): CategoryEncoding {
  const { codes, values } = ds.category[name];
  const counts = new Float64Array(values.length);
  const n = rows ? rows.length : ds.rowCount;
  for (let k = 0; k < n; k++) {
    const c = codes[rows ? rows[k] : k];
    if (c >= 0) counts[c]++;
  }
  const seen: { value: string; count: number }[] = [];
  const merged = new Map<string, number>();
  // A dictionary may hold the same text twice (e.g. after concatenating batches): merge first.
  values.forEach((v, i) => {
    if (counts[i] > 0) merged.set(v, (merged.get(v) ?? 0) + counts[i]);
  });
  for (const [value, count] of merged) seen.push({ value, count });
  seen.sort((a, b) => b.count - a.count || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
  const ordered = seen.map((s) => s.value);
  return { values: ordered, unseenCode: ordered.length };
}

/** Checks a spec read from JSON (model.json may be hand-edited or from another version). */
export function validateFeatureSpec(raw: unknown): FeatureSpec {
  const s = raw as Partial<FeatureSpec> | null;
  if (!s || typeof s !== 'object' || s.format !== 'etaops-features') throw new FeatureSpecError('feature spec: format must be "etaops-features"');
  if (s.version !== FEATURE_SPEC_VERSION) {
    throw new FeatureSpecError(`feature spec: version ${String(s.version)} is not supported (this etaops builds version ${FEATURE_SPEC_VERSION}); retrain the model`);
  }
  if (typeof s.timeZone !== 'string') throw new FeatureSpecError('feature spec: timeZone must be a string');
  if (!Array.isArray(s.names) || s.names.join(',') !== FEATURE_NAMES_V1.join(',')) {
    throw new FeatureSpecError(`feature spec: names must be exactly [${FEATURE_NAMES_V1.join(', ')}] for version ${FEATURE_SPEC_VERSION}`);
  }
  for (const name of ENCODED_CATEGORIES) {
    const enc = s.categories?.[name];
    if (!enc || !Array.isArray(enc.values) || enc.values.some((v) => typeof v !== 'string') || enc.unseenCode !== enc.values.length) {
      throw new FeatureSpecError(`feature spec: categories.${name} must have string values and unseenCode = values.length`);
    }
  }
  return s as FeatureSpec;
}
