/**
 * The JSON drift report, schema_version 1 (stable: fields are only ever added). Documented in
 * README.md ("Drift report JSON"). Non-finite numbers (an infinite chi-square statistic)
 * become null.
 */
import type { DriftResult } from '../check.js';

export function driftReportJson(result: DriftResult): string {
  return JSON.stringify(result, (_key, value: unknown) => (typeof value === 'number' && !Number.isFinite(value) ? null : value), 2) + '\n';
}
