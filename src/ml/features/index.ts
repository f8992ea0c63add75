/** Feature building shared by training, batch prediction and the prediction server. */
export { buildFeatures } from './build.js';
export { LocalClock, PACIFIC_TIME_ZONE } from './local-time.js';
export {
  ENCODED_CATEGORIES,
  FEATURE_NAMES_V1,
  FEATURE_SPEC_VERSION,
  FeatureSpecError,
  fitFeatureSpec,
  validateFeatureSpec,
} from './spec.js';
export type { CategoryEncoding, EncodedCategory, FeatureSpec } from './spec.js';
