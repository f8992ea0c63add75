/**
 * buildFeatures: raw orders (a columnar Dataset) → the model's feature matrix.
 *
 * The ONE implementation used by training, batch prediction (`etaops predict`, evaluation) and
 * the prediction server (which turns a JSON order into a one-row Dataset and calls this). Any
 * difference between training and serving features would silently degrade the model, so there
 * is deliberately no second code path.
 *
 * Missing or impossible inputs become NaN; the trees route NaN along the branch learned for it.
 */
import type { CategoryData, Dataset } from '../dataset/schema.js';
import type { FeatureMatrix } from '../gbdt/types.js';
import { LocalClock } from './local-time.js';
import { ENCODED_CATEGORIES, type CategoryEncoding, type FeatureSpec } from './spec.js';

const clocks = new Map<string, LocalClock>();
function clockFor(timeZone: string): LocalClock {
  let c = clocks.get(timeZone);
  if (!c) {
    c = new LocalClock(timeZone);
    clocks.set(timeZone, c);
  }
  return c;
}

/**
 * Builds the row-major float32 matrix for all rows of `ds`, or for the row indices in `rows`
 * (in that order) so callers can take a train/holdout part without copying the Dataset.
 */
export function buildFeatures(ds: Dataset, spec: FeatureSpec, rows?: Int32Array): FeatureMatrix {
  const n = rows ? rows.length : ds.rowCount;
  const cols = spec.names.length;
  const data = new Float32Array(n * cols);
  const clock = clockFor(spec.timeZone);
  const num = ds.numeric;
  const codeMaps = ENCODED_CATEGORIES.map((name) => dictionaryToSpecCodes(ds.category[name], spec.categories[name]));
  const catCodes = ENCODED_CATEGORIES.map((name) => ds.category[name].codes);

  for (let k = 0; k < n; k++) {
    const r = rows ? rows[k] : k;
    const o = k * cols;
    const created = num.created_at[r];
    const items = num.total_items[r];
    const subtotal = num.subtotal[r];
    const onshift = num.total_onshift_dashers[r];
    const busy = num.total_busy_dashers[r];
    const outstanding = num.total_outstanding_orders[r];
    const place = num.estimated_order_place_duration[r];
    const drive = num.estimated_store_to_consumer_driving_duration[r];
    // The column order below must match FEATURE_NAMES_V1 in spec.ts.
    data[o] = clock.hour(created);
    data[o + 1] = clock.weekday(created);
    for (let c = 0; c < 3; c++) {
      const code = catCodes[c][r];
      data[o + 2 + c] = code < 0 ? NaN : codeMaps[c][code];
    }
    data[o + 5] = items;
    data[o + 6] = subtotal;
    data[o + 7] = num.num_distinct_items[r];
    data[o + 8] = num.min_item_price[r];
    data[o + 9] = num.max_item_price[r];
    data[o + 10] = items > 0 ? subtotal / items : NaN;
    data[o + 11] = onshift;
    data[o + 12] = busy;
    data[o + 13] = outstanding;
    // A ratio over zero or negative (impossible) dashers on shift carries no information.
    data[o + 14] = onshift > 0 ? busy / onshift : NaN;
    data[o + 15] = onshift > 0 ? outstanding / onshift : NaN;
    data[o + 16] = onshift - busy;
    data[o + 17] = place;
    data[o + 18] = drive;
    data[o + 19] = place + drive;
  }
  return { data, rows: n, cols };
}

/**
 * Each encoding's value → code index, built once per spec object: a server scores one spec
 * for its whole life, and rebuilding ~80 entries per request cost more than the row itself.
 * Keyed weakly, so a replaced model's spec is not kept alive.
 */
const encodingIndexes = new WeakMap<CategoryEncoding, Map<string, number>>();
function encodingIndex(enc: CategoryEncoding): Map<string, number> {
  let index = encodingIndexes.get(enc);
  if (!index) {
    index = new Map(enc.values.map((v, i) => [v, i]));
    encodingIndexes.set(enc, index);
  }
  return index;
}

/**
 * The Dataset's own dictionary codes → spec codes, computed once per call so the row loop is a
 * typed-array lookup. Datasets from different sources number their values differently (a CSV
 * batch by first appearance, a one-row request by its single value); this is what makes the
 * same order give the same vector either way.
 */
function dictionaryToSpecCodes(data: CategoryData, enc: CategoryEncoding): Float32Array {
  const index = encodingIndex(enc);
  const out = new Float32Array(data.values.length);
  for (let i = 0; i < data.values.length; i++) out[i] = index.get(data.values[i]) ?? enc.unseenCode;
  return out;
}
