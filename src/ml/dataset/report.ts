/**
 * The defect report: what validation found in a data source, counted by kind, with the first
 * source lines of each kind, and the rule that was applied. Nothing is dropped or repaired
 * silently: every change to the data is counted here.
 */
import { COLUMN_NAMES } from './schema.js';

/** Default longest believable delivery: 6 hours. The sample's slowest genuine-looking orders take
 * 5.6 h; its one impossible order takes 98 days. A configurable option (`maxDurationSeconds`). */
export const DEFAULT_MAX_DURATION_SECONDS = 6 * 3600;
/** How many source lines are kept per defect kind. */
export const DEFAULT_LINES_PER_KIND = 20;

export type DefectKind =
  | 'missing_created_at'
  | 'unparsable_timestamp'
  | 'missing_target'
  | 'nonpositive_duration'
  | 'duration_too_long'
  | 'negative_value'
  | 'unparsable_number'
  | 'missing_required_value'
  | 'wrong_field_count'
  | 'unknown_column';

/** The documented rule per defect kind: what counts as the defect and what the reader does. */
export const DEFECT_RULES: Record<DefectKind, { action: string; rule: string }> = {
  missing_created_at: {
    action: 'row dropped',
    rule: 'created_at is empty: without the order time there are no time features and no target',
  },
  unparsable_timestamp: {
    action: 'row dropped (created_at) / delivery time set missing (actual_delivery_time)',
    rule: "a timestamp that is not 'YYYY-MM-DD HH:MM:SS' (optionally T, fraction, Z or offset) or not a real date",
  },
  missing_target: {
    action: 'row kept for prediction and drift, excluded from training',
    rule: 'actual_delivery_time is empty: the delivery duration is unknown',
  },
  nonpositive_duration: {
    action: 'delivery time set missing: row kept, excluded from training',
    rule: 'actual_delivery_time is at or before created_at (duration <= 0 s)',
  },
  duration_too_long: {
    action: 'delivery time set missing: row kept, excluded from training',
    rule: 'the delivery takes longer than maxDurationSeconds (default 6 h)',
  },
  negative_value: {
    action: 'field set missing (NaN), row kept',
    rule: 'a negative count, price or duration (impossible; e.g. total_onshift_dashers = -2)',
  },
  unparsable_number: {
    action: 'field set missing (NaN), row kept',
    rule: 'a numeric field that is not a number, or a count that is not a whole number',
  },
  missing_required_value: {
    action: 'field left missing (NaN / no category), row kept',
    rule: 'an empty field in a column the schema marks as always present (e.g. store_id, subtotal)',
  },
  wrong_field_count: {
    action: 'file rejected (default) or row dropped with onMalformedRow: "skip"',
    rule: 'a row whose number of fields differs from the header (truncated or corrupt file)',
  },
  unknown_column: {
    action: 'warning, column ignored',
    rule: 'a header column that is not one of the 16 DoorDash columns',
  },
};

export const DEFECT_KINDS = Object.keys(DEFECT_RULES) as DefectKind[];

export interface DefectEntry {
  kind: DefectKind;
  count: number;
  action: string;
  rule: string;
  /** Count per column, for kinds that concern a column. */
  columns: Record<string, number>;
  /** The first source lines (header = line 1; query rows numbered from 1) with this defect. */
  lines: number[];
}

export interface DefectReport {
  source: string;
  /** 'line' for files (header = line 1), 'row' for query results (first row = 1). */
  lineLabel: 'line' | 'row';
  header: string[];
  unknownColumns: string[];
  /** Data records read (blank lines not counted). */
  recordsRead: number;
  /** Rows in the returned Dataset. */
  rowsKept: number;
  /** Records not in the Dataset (missing / unparsable created_at, skipped malformed rows). */
  rowsDropped: number;
  /** Kept rows with a usable delivery duration: the rows training may use. */
  rowsForTraining: number;
  /** Kept rows without a usable duration (missing, unparsable or impossible): prediction/drift only. */
  rowsWithoutTarget: number;
  maxDurationSeconds: number;
  /** Empty cells per column over all records read (missing values, defect or not). */
  missing: Record<string, number>;
  defects: Record<DefectKind, DefectEntry>;
  warnings: string[];
}

/** Collects defects while a source is read. */
export class DefectTally {
  readonly report: DefectReport;

  constructor(source: string, lineLabel: 'line' | 'row', maxDurationSeconds: number, private readonly linesPerKind = DEFAULT_LINES_PER_KIND) {
    const defects = {} as Record<DefectKind, DefectEntry>;
    for (const kind of DEFECT_KINDS) defects[kind] = { kind, count: 0, ...DEFECT_RULES[kind], columns: {}, lines: [] };
    const missing: Record<string, number> = {};
    for (const name of COLUMN_NAMES) missing[name] = 0;
    this.report = {
      source, lineLabel, header: [], unknownColumns: [], recordsRead: 0, rowsKept: 0, rowsDropped: 0,
      rowsForTraining: 0, rowsWithoutTarget: 0, maxDurationSeconds, missing, defects, warnings: [],
    };
  }

  add(kind: DefectKind, column: string | undefined, line: number): void {
    const d = this.report.defects[kind];
    d.count++;
    if (column !== undefined) d.columns[column] = (d.columns[column] ?? 0) + 1;
    if (d.lines.length < this.linesPerKind && d.lines[d.lines.length - 1] !== line) d.lines.push(line);
  }

  warn(message: string): void {
    if (this.report.warnings.length < 100) this.report.warnings.push(message);
  }
}

/** Kinds that occurred, most frequent first. */
export function occurredDefects(report: DefectReport): DefectEntry[] {
  return DEFECT_KINDS.map((k) => report.defects[k]).filter((d) => d.count > 0).sort((a, b) => b.count - a.count);
}

/** A human-readable table of the report (what `etaops validate` prints). */
export function formatReport(report: DefectReport): string {
  const L = report.lineLabel;
  const out: string[] = [];
  out.push(`source: ${report.source}`);
  out.push(`records read: ${report.recordsRead}   rows kept: ${report.rowsKept}   rows dropped: ${report.rowsDropped}`);
  out.push(`rows usable for training: ${report.rowsForTraining}   rows without a usable delivery time (prediction/drift only): ${report.rowsWithoutTarget}`);
  out.push(`max delivery duration: ${report.maxDurationSeconds} s`);
  const defects = occurredDefects(report);
  out.push('');
  if (defects.length === 0) out.push('defects: none');
  else {
    const rows = defects.map((d) => [
      d.kind,
      String(d.count),
      Object.entries(d.columns).map(([c, n]) => `${c}=${n}`).join(' '),
      d.action,
      d.lines.join(',') + (d.count > d.lines.length ? ',…' : ''),
    ]);
    out.push(...table(['defect', 'count', 'columns', 'action', `first ${L}s`], rows));
  }
  const missing = Object.entries(report.missing).filter(([, n]) => n > 0);
  out.push('');
  if (missing.length === 0) out.push('missing values: none');
  else {
    const n = Math.max(1, report.recordsRead);
    out.push(...table(['column', 'missing', 'share'], missing.map(([c, m]) => [c, String(m), `${((100 * m) / n).toFixed(2)}%`])));
  }
  for (const w of report.warnings) out.push(`warning: ${w}`);
  return out.join('\n');
}

function table(head: string[], rows: string[][]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}
