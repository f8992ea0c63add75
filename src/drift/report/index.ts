/** Writing a drift check's report files: drift-report.json and drift-report.html in one folder. */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { DriftResult } from '../check.js';
import { driftReportHtml } from './html.js';
import { driftReportJson } from './json.js';

export { driftReportHtml } from './html.js';
export { driftReportJson } from './json.js';
export { escapeHtml } from './escape.js';

export const REPORT_JSON_FILE = 'drift-report.json';
export const REPORT_HTML_FILE = 'drift-report.html';

/** Writes both files (each via a temporary name, so a reader never sees half a report). */
export async function writeDriftReport(result: DriftResult, dir: string): Promise<{ json: string; html: string }> {
  await mkdir(dir, { recursive: true });
  const json = path.join(dir, REPORT_JSON_FILE);
  const html = path.join(dir, REPORT_HTML_FILE);
  for (const [file, text] of [
    [json, driftReportJson(result)],
    [html, driftReportHtml(result)],
  ] as const) {
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, text, 'utf8');
    await rename(tmp, file);
  }
  return { json, html };
}
