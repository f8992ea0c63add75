/** Where the dashboards and alert rules live, and their shape as the tests read them. */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const DASHBOARDS_DIR = `${ROOT}dashboards`;
export const CHART_DASHBOARDS_DIR = `${ROOT}charts/etaops/dashboards`;
export const ALERT_RULES_FILE = `${ROOT}charts/etaops/files/alert-rules.yaml`;
export const CHART_VALUES_FILE = `${ROOT}charts/etaops/values.yaml`;

export interface Target {
  refId: string;
  expr: string;
  [k: string]: unknown;
}

export interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: unknown;
  targets?: Target[];
  /** Panels inside a collapsed row. */
  panels?: Panel[];
  [k: string]: unknown;
}

export interface Variable {
  name: string;
  type: string;
  query?: unknown;
  definition?: string;
  datasource?: unknown;
  includeAll?: boolean;
  allValue?: string;
  [k: string]: unknown;
}

export interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  templating: { list: Variable[] };
  panels: Panel[];
  [k: string]: unknown;
}

export function loadDashboards(dir = DASHBOARDS_DIR): Array<{ file: string; json: Dashboard }> {
  return readdirSync(dir).filter((f) => f.endsWith('.json')).sort()
    .map((file) => ({ file, json: JSON.parse(readFileSync(`${dir}/${file}`, 'utf8')) as Dashboard }));
}

/** Every panel, including those nested in collapsed rows. */
export function panelsOf(d: Dashboard): Panel[] {
  return d.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
}
