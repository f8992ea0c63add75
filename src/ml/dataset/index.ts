/** The dataset module: schema, parsing of single values, reading + validation, reports. */
export * from './schema.js';
export { parseTimestampUtc, parseNumber, parseTimestampBytes, parseNumberBytes, formatTimestampUtc, isMissingText, daysFromCivil, civilFromDays } from './parse.js';
export { DataError, redactUrl } from './errors.js';
export { DEFECT_RULES, DEFECT_KINDS, DEFAULT_MAX_DURATION_SECONDS, formatReport, occurredDefects, type DefectKind, type DefectEntry, type DefectReport } from './report.js';
export type { ValidationOptions } from './builder.js';
export { readDataset, readDatasetBatches, DatasetBatches, trainingRows, subsetRows, concatDatasets, type ReadOptions, type ReadResult, type BatchReadOptions } from './read.js';
export { readDatasetFromQuery, type QueryReadOptions, type PgQueryable } from './query.js';
export { openByteSource, makeS3Client, s3EndpointFromEnv, parseS3Uri } from './source.js';
