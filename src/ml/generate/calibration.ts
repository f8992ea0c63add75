/**
 * The generator's fitted constants, all in one place, each with how it was derived from the
 * real sample (../shared/data/doordash_sample.csv, 24,000 rows, read with src/ml/dataset).
 * Shares are fractions of rows. Scripts used: per-column counts/quantiles over the sample, and
 * an ordinary-least-squares fit of log(duration) on the features listed at DURATION_MODEL
 * (23,997 training rows; R² on the log scale 0.30, residual sd 0.305).
 */

/** Default first day (UTC) and length of the order window: the sample runs 2015-01-21..2015-02-18
 * (29 days; one stray order on 2014-10-19 is ignored). */
export const DEFAULT_START = '2015-01-21';
export const DEFAULT_DAYS = 29;

/** Orders by UTC hour of created_at (sample shares). US/Pacific = UTC-8: the peak at 02 UTC is
 * 18:00 dinner, the small one at 19-20 UTC is lunch; 07-13 UTC (23:00-05:00 PT) is closed. */
export const HOUR_SHARES = [
  0.0635, 0.1435, 0.1857, 0.1383, 0.0782, 0.0367, 0.0075, 0, 0, 0, 0, 0, 0, 0, 0.0002, 0.0023,
  0.0116, 0.0169, 0.0261, 0.0678, 0.0784, 0.0584, 0.0435, 0.0414,
];

/** Orders by UTC weekday (Sunday first), sample shares: busy Friday-Sunday. */
export const WEEKDAY_SHARES = [0.1734, 0.1393, 0.1229, 0.1221, 0.1234, 0.1408, 0.178];

/** Market ids "1".."6" and their shares among rows with a market (sample: 2 26.4%, 4 25.1%, ...). */
export const MARKETS = ['1', '2', '3', '4', '5', '6'];
export const MARKET_SHARES = [0.1929, 0.2635, 0.1241, 0.2507, 0.0934, 0.0703];

/** order_protocol "1".."7" shares among rows with a protocol. */
export const PROTOCOLS = ['1', '2', '3', '4', '5', '6', '7'];
export const PROTOCOL_SHARES = [0.2833, 0.1248, 0.2804, 0.106, 0.1964, 0.0045, 0.0001];

/** store_primary_category shares (sample, rows with a category; 70 cuisines). */
export const CATEGORY_SHARES: readonly (readonly [string, number])[] = [
  ['american', 0.0976], ['pizza', 0.0805], ['mexican', 0.074], ['burger', 0.0612], ['chinese', 0.0575],
  ['indian', 0.0503], ['dessert', 0.0481], ['japanese', 0.047], ['sandwich', 0.0462], ['fast', 0.0408],
  ['italian', 0.0406], ['thai', 0.0373], ['vietnamese', 0.0291], ['breakfast', 0.0261], ['greek', 0.025],
  ['mediterranean', 0.0239], ['barbecue', 0.0163], ['cafe', 0.015], ['salad', 0.0144], ['other', 0.013],
  ['dim-sum', 0.013], ['asian', 0.0105], ['catering', 0.0094], ['seafood', 0.009], ['hawaiian', 0.008],
  ['sushi', 0.0077], ['korean', 0.0076], ['pasta', 0.0075], ['middle-eastern', 0.007], ['smoothie', 0.0068],
  ['alcohol', 0.0062], ['steak', 0.0044], ['persian', 0.0032], ['burmese', 0.0026], ['vegetarian', 0.0025],
  ['convenience-store', 0.0019], ['latin-american', 0.0019], ['bubble-tea', 0.0019], ['vegan', 0.0018],
  ['filipino', 0.0015], ['french', 0.0014], ['singaporean', 0.0012], ['nepalese', 0.0012], ['peruvian', 0.0012],
  ['british', 0.0011], ['cajun', 0.001], ['caribbean', 0.0009], ['afghan', 0.0009], ['turkish', 0.0008],
  ['gastropub', 0.0008], ['soup', 0.0008], ['tapas', 0.0007], ['brazilian', 0.0007], ['malaysian', 0.0005],
  ['german', 0.0005], ['pakistani', 0.0005], ['southern', 0.0004], ['ethiopian', 0.0004], ['gluten-free', 0.0003],
  ['kosher', 0.0003], ['spanish', 0.0002], ['comfort-food', 0.0002], ['moroccan', 0.0002], ['argentine', 0.0002],
  ['irish', 0.0001], ['chocolate', 0.00004], ['european', 0.00004], ['cheese', 0.00004], ['russian', 0.00004],
  ['indonesian', 0.00004],
];

/** Missing-value rates per row (sample: empty cells / 24,000). The three dasher columns are
 * missing together (all 1,894 rows). */
export const MISSING_RATES = {
  market_id: 0.005,
  store_primary_category: 0.0252,
  order_protocol: 0.0045,
  dashers: 0.0789,
  estimated_store_to_consumer_driving_duration: 0.0028,
  actual_delivery_time: 2 / 24000,
};

/** Rates of the sample's impossible values: 1 delivery of 98 days in 24,000; negative
 * total_onshift_dashers 1, total_busy_dashers 1, total_outstanding_orders 4 among the 22,106 rows
 * with dashers; negative min_item_price 2 in 24,000. */
export const DEFECT_RATES = {
  absurdDuration: 1 / 24000,
  negativeOnshift: 1 / 22106,
  negativeBusy: 1 / 22106,
  negativeOutstanding: 4 / 22106,
  negativeMinPrice: 2 / 24000,
  zeroSubtotal: 20 / 24000,
};

/** Stores: ids 1..6986 in the sample (3,987 seen); orders per store are very skewed (median 2,
 * p99 73, max 458 per 24,000 rows): popularity is log-normal with this sd. */
export const STORE_COUNT = 6986;
export const STORE_POPULARITY_LOG_SD = 1.6;

/** total_items: sample counts for 1..20 items; beyond 20 (0.3% of rows) a geometric tail. */
export const ITEM_COUNTS = [4707, 6614, 4776, 3147, 1715, 1116, 684, 388, 253, 169, 91, 102, 43, 41, 26, 25, 20, 14, 9, 3];
export const ITEM_TAIL_SHARE = 68 / 24000;
/** Mean extra items of the tail beyond 20 (sample tail: 21..56, mean ≈ 27). */
export const ITEM_TAIL_MEAN_EXTRA = 7;
/** num_distinct_items = 1 + Binomial(total_items - 1, p): sample mean distinct for 2, 3, 5, 8
 * items is 1.87, 2.76, 4.19, 6.45. */
export const DISTINCT_ITEM_PROBABILITY = 0.78;
export const MAX_DISTINCT_ITEMS = 20;

/** Item prices (cents) are log-normal: the single-item orders' price has log-mean 6.944 and sd
 * 0.504, of which 0.374 is between stores (sd of store mean log price) and the rest within.
 * Bigger baskets hold cheaper items: the sample's median subtotal per item falls from 1,199 (1
 * item) to 675 (8 items), a log-slope of about -0.28 per log item, while the median max item
 * price stays near 1,100 whatever the number of distinct items. The mean and spreads below are
 * tuned (calibration test) so that generated subtotal and min/max price quantiles match. */
export const PRICE_LOG_MEAN = 7.06;
export const PRICE_LOG_SLOPE_PER_LOG_ITEMS = -0.3;
export const PRICE_STORE_LOG_SD = 0.3;
export const PRICE_ITEM_LOG_SD = 0.42;
/** Multi-item baskets hold cheap sides (drinks, sauces): the sample's min item price has p10 169
 * and median 575 against 1,095 for the max. Each distinct item after the first is a side with
 * this probability, priced log-normal around SIDE_PRICE_LOG_MEAN (≈ 250 cents). */
export const SIDE_ITEM_RATE = 0.2;
export const SIDE_PRICE_LOG_MEAN = 5.5;
export const SIDE_PRICE_LOG_SD = 0.5;
/** Orders with a free item (min_item_price 0): 330 of 24,000, among multi-item orders. */
export const FREE_ITEM_RATE = 0.018;

/** estimated_order_place_duration: 446 s for protocols 1 and 6 (97%), 251 s for the others
 * (94-98%, protocol 4 87%); 0.08% are 0 s and 0.07% another value (53..1487 s). */
export const PLACE_DURATION_446_SHARE_BY_PROTOCOL = [0.967, 0.014, 0.014, 0.128, 0.014, 0.97, 0.0];
export const PLACE_DURATION_ZERO_RATE = 0.0008;
export const PLACE_DURATION_ODD_RATE = 0.0007;

/** estimated_store_to_consumer_driving_duration quantiles (s) at DRIVE_QUANTILE_LEVELS: sampled
 * by inverting this piecewise-linear CDF, so the marginal matches the sample. */
export const DRIVE_QUANTILE_LEVELS = [0, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.98, 0.99, 1];
export const DRIVE_QUANTILES = [9, 112, 141, 196, 256, 304, 345, 383, 419, 450, 482, 512, 543, 572, 602, 630, 663, 698, 737, 781, 830, 906, 989, 1049, 2088];

/** Dashers on shift: market scale (mean onshift per market, sample: 23.0, 62.4, 18.2, 58.7, 23.9,
 * 43.4) times an hour shape (mean onshift by UTC hour / overall mean 43.6; hours without orders
 * get a small value) times log-normal noise. */
export const MARKET_ONSHIFT_MEAN = [23.0, 62.4, 18.2, 58.7, 23.9, 43.4];
export const ONSHIFT_HOUR_SHAPE = [
  0.61, 1.2, 1.5, 1.43, 1.03, 0.58, 0.33, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.05, 0.05,
  0.11, 0.17, 0.34, 0.72, 0.84, 0.69, 0.52, 0.44,
];
export const ONSHIFT_LOG_SD = 0.3;
/** The sample has more nearly empty shifts than a log-normal gives (p10 7 against a median of
 * 35): in this share of orders the market is thin, on-shift dashers scaled by
 * U(THIN_MARKET_MIN, THIN_MARKET_MAX). */
export const THIN_MARKET_RATE = 0.16;
export const THIN_MARKET_MIN = 0.03;
export const THIN_MARKET_MAX = 0.4;
/** busy / onshift: sample quantiles 5% 0.54, 25% 0.82, 50% 0.96, 75% 1.0, 95% 1.33 -> log-normal
 * around 0.93, a little busier at dinner. outstanding / busy log-normal around 1.22 (sample
 * outstanding/onshift median 1.2, 95% 1.91). */
export const BUSY_RATIO_LOG_MEAN = -0.13;
export const BUSY_RATIO_DINNER_BOOST = 0.06;
export const BUSY_RATIO_LOG_SD = 0.25;
export const OUTSTANDING_PER_BUSY_LOG_MEAN = 0.2;
export const OUTSTANDING_PER_BUSY_LOG_SD = 0.35;

/**
 * The delivery duration model: log(seconds) = intercept + Σ coefficient × feature + store effect
 * + noise. Coefficients are the OLS fit on the sample; the intercept is re-centred so that the
 * generated median matches the sample's 2,675 s (the generated features differ a little from the
 * real ones). Residual sd 0.305 splits into a store effect (sd 0.10: the between-store variance of
 * mean residuals of stores with >= 10 orders, 0.0155, less its sampling noise) and row noise
 * (0.29). A right tail: 1% of orders get an extra Exp(mean 0.5) on the log scale (the sample's
 * residual q99.9 is +1.2 against -0.9 on the left).
 */
export const DURATION_MODEL = {
  intercept: 5.587,
  logDrive: 0.2004,
  place446: 0.0997,
  busyRatio: -0.0956, // busy / onshift, capped at 2
  outstandingPerDasher: 0.3364, // outstanding / onshift, capped at 4
  dashersMissing: 0.3017, // a quirk of the data: rows without dasher counts take longer
  logOnshift: -0.0219,
  logItems: -0.0324,
  logSubtotal: 0.0916, // log(subtotal + 100)
  distinctItems: 0.0204,
  weekend: 0.0469,
  /** UTC hour groups: 00-04 dinner, 05-14 late night, 15-20 lunch, 21-23 afternoon (0). */
  hourGroup: { dinner: 0.1011, late: -0.0737, lunch: 0.0246 },
  market: [0, -0.0857, -0.0351, -0.0765, -0.0446, -0.1227],
  protocol: [0, 0.0702, 0.0257, 0.1143, 0.0142, 0, 0],
  storeEffectSd: 0.1,
  noiseSd: 0.29,
  outlierRate: 0.01,
  outlierMeanLog: 0.35,
};

/** Mean log residual by cuisine (sample, cuisines with >= 100 rows; others 0). */
export const CATEGORY_EFFECT: Readonly<Record<string, number>> = {
  american: -0.008, mexican: -0.033, indian: 0.006, italian: -0.006, sandwich: 0.01, thai: -0.02,
  cafe: 0.024, salad: 0.078, pizza: 0.046, chinese: -0.029, burger: 0.041, breakfast: -0.04,
  mediterranean: -0.019, japanese: 0.016, greek: 0.015, catering: -0.018, other: 0.01, korean: 0.008,
  asian: 0.004, barbecue: -0.036, fast: -0.054, smoothie: -0.031, seafood: 0.017, vietnamese: -0.027,
  steak: 0.05, 'middle-eastern': -0.034, pasta: -0.028, 'dim-sum': 0.024,
};
