/** Evaluation metrics for delivery-time predictions. */
export { metricsReport, MISSING_MARKET, percentileSorted, regressionMetrics } from './regression.js';
export type { MetricsReport, RegressionMetrics } from './regression.js';
