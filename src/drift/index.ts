/** Drift detection: public API (profiles, checks, reports, metrics, live accuracy). */
export { FEATURE_DRIFT_COLUMNS, PREDICTION_COLUMN, TARGET_DRIFT_COLUMN, driftColumnsOf, type ColumnData, type ColumnSource } from './columns.js';
export {
  buildTrainingProfile,
  parseTrainingProfile,
  profileFromColumns,
  profileSizeBound,
  ProfileError,
  type TrainingProfile,
  type ProfileOptions,
} from './profile.js';
export {
  DEFAULT_THRESHOLDS,
  STAT_TESTS,
  DriftOptionError,
  type StatTestName,
  type DriftRule,
  type ColumnOverride,
  type DetectOptions,
} from './detect.js';
export { runDriftCheck, driftSummary, REPORT_SCHEMA_VERSION, type DriftResult, type ColumnDrift, type CheckOptions, type ReferenceInput } from './check.js';
export { writeDriftReport, driftReportHtml, driftReportJson, REPORT_HTML_FILE, REPORT_JSON_FILE } from './report/index.js';
