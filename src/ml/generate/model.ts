/**
 * The generative model of DoorDash-like orders. Constants come from calibration.ts (fitted on the
 * real sample); drift scenarios change the parameters (scenarios.ts).
 *
 * Stores (drawn once per seed): id 1..6986, a market, a cuisine and an order protocol (by their
 * sample shares), an estimated place duration class (446 s for protocols 1 and 6, else 251 s), a
 * price level (log-normal), a speed effect on the duration (normal, log scale) and a popularity
 * (log-normal: a few stores get most orders, as in the sample).
 *
 * One order (row), in this order:
 *  1. created_at: a day of the window by weekday share, an hour by the UTC hour-of-day shares
 *     (dinner peak at 02 UTC = 18 PT), a uniform second in the hour.
 *  2. store by popularity; its market, cuisine, protocol.
 *  3. market state: dashers on shift = market mean × hour shape × log-normal noise; busy = on
 *     shift × a log-normal ratio around 0.93 (higher at dinner); outstanding orders = busy × a
 *     log-normal ratio around 1.22. All three missing together in 7.9% of rows.
 *  4. basket: total_items from the sample's counts (geometric tail beyond 20); distinct items =
 *     1 + Binomial(items − 1, 0.82); each distinct item's price is log-normal around the store's
 *     level (rounded to 5 cents), the other items repeat them; subtotal = sum. 1.8% of multi-item
 *     orders contain a free item (min price 0).
 *  5. estimates: place duration by the store's class (rare 0 and odd values); driving duration by
 *     inverting the sample's quantile curve.
 *  6. duration: log(seconds) = linear model of log driving, place class, busy ratio, outstanding
 *     per dasher, dashers missing, log on shift, log items, log subtotal, distinct items, weekend,
 *     hour group, market, protocol, cuisine + store effect + normal noise (sd 0.29) + with 1%
 *     probability an Exp(0.5) extra (heavy right tail). delivered = created + seconds.
 *  7. the sample's defects at its rates: missing market / cuisine / protocol / driving estimate /
 *     delivery time, negative dasher counts and prices, zero subtotals, a delivery of days.
 */
import * as K from './calibration.js';
import { AliasTable, Prng } from './prng.js';
import type { GeneratorParams } from './scenarios.js';
import { parseTimestampUtc } from '../dataset/parse.js';

/** One generated block of rows, columnar; NaN / -1 = missing. */
export interface OrderColumns {
  market: Int32Array; // index into MARKETS
  createdAt: Float64Array;
  deliveredAt: Float64Array;
  store: Int32Array; // store index: id = index + 1
  category: Int32Array; // index into categoryNames
  protocol: Int32Array; // index into PROTOCOLS
  totalItems: Float64Array;
  subtotal: Float64Array;
  distinctItems: Float64Array;
  minPrice: Float64Array;
  maxPrice: Float64Array;
  onshift: Float64Array;
  busy: Float64Array;
  outstanding: Float64Array;
  placeDuration: Float64Array;
  driveDuration: Float64Array;
}

export function allocateColumns(n: number): OrderColumns {
  const f = () => new Float64Array(n);
  const i = () => new Int32Array(n);
  return {
    market: i(), createdAt: f(), deliveredAt: f(), store: i(), category: i(), protocol: i(), totalItems: f(),
    subtotal: f(), distinctItems: f(), minPrice: f(), maxPrice: f(), onshift: f(), busy: f(), outstanding: f(),
    placeDuration: f(), driveDuration: f(),
  };
}

const D = K.DURATION_MODEL;
/** Mean of the thin-market factor: dividing by it keeps each market's mean dashers the sample's. */
const THIN_MEAN_FACTOR = 1 - K.THIN_MARKET_RATE * (1 - (K.THIN_MARKET_MIN + K.THIN_MARKET_MAX) / 2);

function parseStartDay(start: string): number {
  const t = /^\d{4}-\d{2}-\d{2}$/.test(start) ? parseTimestampUtc(start) : NaN;
  if (Number.isNaN(t)) throw new RangeError(`start must be a real date YYYY-MM-DD, got '${start}'`);
  return t / 86400;
}

export class OrderGenerator {
  readonly categoryNames: string[];
  readonly storeCount: number;
  private readonly rng: Prng;
  private readonly startDay: number;
  private readonly dayTable: AliasTable;
  private readonly hourTable: AliasTable;
  private readonly storeTable: AliasTable;
  private readonly itemTable: AliasTable;
  private readonly storeMarket: Int32Array;
  private readonly storeCategory: Int32Array;
  private readonly storeProtocol: Int32Array;
  private readonly storePlace: Float64Array;
  private readonly storeLogPrice: Float64Array;
  private readonly storeEffect: Float64Array;
  private readonly categoryEffect: Float64Array;
  private readonly prices = new Float64Array(K.MAX_DISTINCT_ITEMS);
  private readonly logPriceFactor: number;
  private readonly newCuisineCode: number;

  constructor(seed: number, private readonly params: GeneratorParams, start = K.DEFAULT_START, days = K.DEFAULT_DAYS) {
    if (!Number.isInteger(days) || days < 1 || days > 3660) throw new RangeError(`days must be a whole number from 1 to 3660, got ${days}`);
    this.startDay = parseStartDay(start);
    this.rng = new Prng(seed, 2);
    const dayWeights = Array.from({ length: days }, (_, d) => K.WEEKDAY_SHARES[(((this.startDay + d + 4) % 7) + 7) % 7]);
    this.dayTable = new AliasTable(dayWeights);
    this.hourTable = new AliasTable(params.hourShares);
    const items = K.ITEM_COUNTS.slice();
    const counted = items.reduce((s, c) => s + c, 0);
    items.push((counted * K.ITEM_TAIL_SHARE) / (1 - K.ITEM_TAIL_SHARE)); // index 20 = the tail
    this.itemTable = new AliasTable(items);
    this.categoryNames = K.CATEGORY_SHARES.map(([name]) => name);
    this.newCuisineCode = -1;
    if (params.newCuisine) {
      this.newCuisineCode = this.categoryNames.length;
      this.categoryNames.push(params.newCuisine.name);
    }
    this.categoryEffect = Float64Array.from(this.categoryNames, (c) => K.CATEGORY_EFFECT[c] ?? 0);
    if (params.newCuisine) this.categoryEffect[this.newCuisineCode] = params.newCuisine.durationEffect;
    this.logPriceFactor = Math.log(params.priceFactor);

    // Stores come from their own stream, so every scenario with this seed has the same stores.
    const storeRng = new Prng(seed, 1);
    const extra = params.newCuisine?.stores ?? 0;
    this.storeCount = K.STORE_COUNT + extra;
    const n = this.storeCount;
    this.storeMarket = new Int32Array(n);
    this.storeCategory = new Int32Array(n);
    this.storeProtocol = new Int32Array(n);
    this.storePlace = new Float64Array(n);
    this.storeLogPrice = new Float64Array(n);
    this.storeEffect = new Float64Array(n);
    const popularity = new Float64Array(n);
    for (let s = 0; s < n; s++) popularity[s] = s < K.STORE_COUNT ? Math.exp(K.STORE_POPULARITY_LOG_SD * storeRng.normal()) : 1;
    const regular = popularity.subarray(0, K.STORE_COUNT);
    // Labels are spread over stores by popularity so that the order shares match the sample's
    // (a few very popular stores would otherwise swing a market's share by several points).
    this.storeMarket.set(assignByPopularity(regular, K.MARKET_SHARES, storeRng));
    this.storeCategory.set(assignByPopularity(regular, K.CATEGORY_SHARES.map(([, s]) => s), storeRng));
    this.storeProtocol.set(assignByPopularity(regular, K.PROTOCOL_SHARES, storeRng));
    const marketTable = new AliasTable(K.MARKET_SHARES);
    const protocolTable = new AliasTable(K.PROTOCOL_SHARES);
    for (let s = 0; s < n; s++) {
      if (s >= K.STORE_COUNT) { // a scenario's new stores
        this.storeMarket[s] = marketTable.sample(storeRng);
        this.storeCategory[s] = this.newCuisineCode;
        this.storeProtocol[s] = protocolTable.sample(storeRng);
      }
      this.storePlace[s] = storeRng.chance(K.PLACE_DURATION_446_SHARE_BY_PROTOCOL[this.storeProtocol[s]]) ? 446 : 251;
      this.storeLogPrice[s] = K.PRICE_LOG_MEAN + K.PRICE_STORE_LOG_SD * storeRng.normal();
      this.storeEffect[s] = D.storeEffectSd * storeRng.normal();
    }
    this.storeTable = new AliasTable(regular);
  }

  /** Fills rows [0, n) of `out` with the next n orders of the stream. */
  fill(out: OrderColumns, n: number): void {
    for (let i = 0; i < n; i++) this.order(out, i);
  }

  private order(out: OrderColumns, i: number): void {
    const rng = this.rng;
    const p = this.params;
    // 1. when
    const day = this.dayTable.sample(rng);
    const hour = this.hourTable.sample(rng);
    const createdAt = (this.startDay + day) * 86400 + hour * 3600 + rng.int(3600);
    const weekday = (((this.startDay + day + 4) % 7) + 7) % 7;
    // 2. where
    const nc = p.newCuisine;
    const store = nc && rng.chance(nc.share) ? K.STORE_COUNT + rng.int(nc.stores) : this.storeTable.sample(rng);
    const market = this.storeMarket[store];
    const protocol = this.storeProtocol[store];
    const category = this.storeCategory[store];
    // 3. market state
    const dinner = hour <= 4;
    const dashersMissing = rng.chance(K.MISSING_RATES.dashers);
    let onshift = NaN;
    let busy = NaN;
    let outstanding = NaN;
    if (!dashersMissing) {
      const thin = (rng.chance(K.THIN_MARKET_RATE) ? K.THIN_MARKET_MIN + (K.THIN_MARKET_MAX - K.THIN_MARKET_MIN) * rng.uniform() : 1) / THIN_MEAN_FACTOR;
      onshift = Math.round(K.MARKET_ONSHIFT_MEAN[market] * p.onshiftScale[market] * K.ONSHIFT_HOUR_SHAPE[hour] * thin * Math.exp(K.ONSHIFT_LOG_SD * rng.normal()));
      busy = Math.round(onshift * Math.exp(K.BUSY_RATIO_LOG_MEAN + (dinner ? K.BUSY_RATIO_DINNER_BOOST : 0) + K.BUSY_RATIO_LOG_SD * rng.normal()));
      outstanding = Math.round(busy * p.outstandingScale[market] * Math.exp(K.OUTSTANDING_PER_BUSY_LOG_MEAN + K.OUTSTANDING_PER_BUSY_LOG_SD * rng.normal()));
    }
    // 4. basket
    const k = this.itemTable.sample(rng);
    const totalItems = k < 20 ? k + 1 : 21 + Math.floor(rng.exponential(K.ITEM_TAIL_MEAN_EXTRA));
    const distinct = Math.min(totalItems, K.MAX_DISTINCT_ITEMS, 1 + rng.binomial(Math.min(totalItems - 1, 60), K.DISTINCT_ITEM_PROBABILITY));
    const logLevel = this.storeLogPrice[store] + this.logPriceFactor + K.PRICE_LOG_SLOPE_PER_LOG_ITEMS * Math.log(totalItems);
    const prices = this.prices;
    for (let j = 0; j < distinct; j++) {
      const side = j > 0 && rng.chance(K.SIDE_ITEM_RATE);
      const logPrice = side ? K.SIDE_PRICE_LOG_MEAN + this.logPriceFactor + K.SIDE_PRICE_LOG_SD * rng.normal() : logLevel + K.PRICE_ITEM_LOG_SD * rng.normal();
      prices[j] = 5 * Math.max(1, Math.round(Math.exp(logPrice) / 5));
    }
    if (distinct >= 2 && rng.chance(K.FREE_ITEM_RATE)) prices[0] = 0;
    let subtotal = 0;
    let minPrice = Infinity;
    let maxPrice = 0;
    for (let j = 0; j < distinct; j++) {
      subtotal += prices[j];
      if (prices[j] < minPrice) minPrice = prices[j];
      if (prices[j] > maxPrice) maxPrice = prices[j];
    }
    for (let j = distinct; j < totalItems; j++) subtotal += prices[rng.int(distinct)];
    if (rng.chance(K.DEFECT_RATES.zeroSubtotal)) subtotal = 0;
    // 5. other models' estimates
    let place = this.storePlace[store];
    const u = rng.uniform();
    if (u < K.PLACE_DURATION_ZERO_RATE) place = 0;
    else if (u < K.PLACE_DURATION_ZERO_RATE + K.PLACE_DURATION_ODD_RATE) place = 50 + rng.int(1450);
    const drive = driveQuantile(rng.uniform());
    // 6. duration
    const busyRatio = dashersMissing || onshift <= 0 ? 0 : Math.min(2, busy / onshift);
    const perDasher = dashersMissing || onshift <= 0 ? 0 : Math.min(4, outstanding / onshift);
    let logSeconds = D.intercept
      + D.logDrive * Math.log(Math.max(drive, 30))
      + (place >= 400 ? D.place446 : 0)
      + D.busyRatio * busyRatio
      + D.outstandingPerDasher * perDasher
      + (dashersMissing ? D.dashersMissing : D.logOnshift * Math.log(onshift + 1))
      + D.logItems * Math.log(totalItems)
      + D.logSubtotal * Math.log(subtotal / p.priceFactor + 100)
      + D.distinctItems * distinct
      + (weekday === 0 || weekday === 6 ? D.weekend : 0)
      + (hour <= 4 ? D.hourGroup.dinner : hour <= 14 ? D.hourGroup.late : hour <= 20 ? D.hourGroup.lunch : 0)
      + D.market[market] + D.protocol[protocol] + this.categoryEffect[category] + this.storeEffect[store]
      + D.noiseSd * rng.normal();
    if (rng.chance(D.outlierRate)) logSeconds += rng.exponential(D.outlierMeanLog);
    let seconds = Math.max(60, Math.round(Math.exp(logSeconds) * p.durationFactor));
    if (rng.chance(K.DEFECT_RATES.absurdDuration)) seconds = 86400 * (1 + rng.int(100)) + rng.int(86400);
    // 7. missing values and the sample's impossible values
    const M = K.MISSING_RATES;
    const E = K.DEFECT_RATES;
    if (!dashersMissing) {
      if (rng.chance(E.negativeOnshift)) onshift = -1 - rng.int(3);
      if (rng.chance(E.negativeBusy)) busy = -1 - rng.int(3);
      if (rng.chance(E.negativeOutstanding)) outstanding = -1 - rng.int(5);
    }
    if (rng.chance(E.negativeMinPrice)) minPrice = -1 - rng.int(100);
    out.createdAt[i] = createdAt;
    out.deliveredAt[i] = rng.chance(M.actual_delivery_time) ? NaN : createdAt + seconds;
    out.market[i] = rng.chance(M.market_id) ? -1 : market;
    out.store[i] = store;
    out.category[i] = rng.chance(M.store_primary_category) ? -1 : category;
    out.protocol[i] = rng.chance(M.order_protocol) ? -1 : protocol;
    out.totalItems[i] = totalItems;
    out.subtotal[i] = subtotal;
    out.distinctItems[i] = distinct;
    out.minPrice[i] = minPrice;
    out.maxPrice[i] = maxPrice;
    out.onshift[i] = onshift;
    out.busy[i] = busy;
    out.outstanding[i] = outstanding;
    out.placeDuration[i] = place;
    out.driveDuration[i] = rng.chance(M.estimated_store_to_consumer_driving_duration) ? NaN : drive;
  }
}

/**
 * Gives each store a label so that the popularity-weighted share of each label matches `shares`:
 * stores in random order fill consecutive stretches of the cumulative popularity, and a store takes
 * the label whose stretch holds its midpoint.
 */
function assignByPopularity(popularity: Float64Array, shares: readonly number[], rng: Prng): Int32Array {
  const n = popularity.length;
  const order = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = order[i]; order[i] = order[j]; order[j] = t;
  }
  const totalShare = shares.reduce((a, b) => a + b, 0);
  const bounds = shares.map(((acc) => (s: number) => (acc += s / totalShare))(0));
  const totalPopularity = popularity.reduce((a, b) => a + b, 0);
  const out = new Int32Array(n);
  let acc = 0;
  for (const s of order) {
    const mid = (acc + popularity[s] / 2) / totalPopularity;
    acc += popularity[s];
    let k = 0;
    while (k < bounds.length - 1 && bounds[k] <= mid) k++;
    out[s] = k;
  }
  return out;
}

/** Inverse of the sample's piecewise-linear driving-duration CDF, rounded to whole seconds. */
function driveQuantile(u: number): number {
  const L = K.DRIVE_QUANTILE_LEVELS;
  const Q = K.DRIVE_QUANTILES;
  let j = 1;
  while (j < L.length - 1 && L[j] < u) j++;
  const t = (u - L[j - 1]) / (L[j] - L[j - 1]);
  return Math.round(Q[j - 1] + t * (Q[j] - Q[j - 1]));
}
