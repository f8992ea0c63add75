/**
 * A real Prometheus (Debian's package, hack/ensure-prometheus.sh) for tests: started on
 * 127.0.0.1 with a temp config and storage dir, queried over its HTTP API.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants, createWriteStream, readFileSync } from 'node:fs';
import path from 'node:path';
import { freePort } from '../support/free-port.js';

export { freePort };

/** The absolute path of an executable on $PATH, or undefined. */
export function which(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

export const PROMETHEUS = which('prometheus');
export const PROMTOOL = which('promtool');
export const PROMETHEUS_SKIP = PROMETHEUS && PROMTOOL ? false : 'prometheus/promtool are not installed: run hack/ensure-prometheus.sh (make test does)';


export interface RunningPrometheus {
  url: string;
  stop(): Promise<void>;
  /** The tail of Prometheus's own log, for failure messages. */
  logTail(): string;
}

/** Starts Prometheus with `configFile` and storage in `dir`; resolves when /-/ready answers 200. */
export async function startPrometheus(configFile: string, dir: string, timeoutMs = 60_000): Promise<RunningPrometheus> {
  const port = await freePort();
  const logFile = path.join(dir, 'prometheus.log');
  const log = createWriteStream(logFile);
  const child: ChildProcess = spawn(PROMETHEUS!, [
    `--config.file=${configFile}`,
    `--storage.tsdb.path=${path.join(dir, 'data')}`,
    '--storage.tsdb.retention.time=1h',
    `--web.listen-address=127.0.0.1:${port}`,
    '--log.level=warn',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const logTail = () => {
    try {
      return readFileSync(logFile, 'utf8').split('\n').slice(-20).join('\n');
    } catch {
      return '';
    }
  };
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
    log.end();
  };
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`prometheus exited with ${child.exitCode}:\n${logTail()}`);
    try {
      if ((await fetch(`${url}/-/ready`)).status === 200) return { url, stop, logTail };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  await stop();
  throw new Error(`prometheus not ready within ${timeoutMs} ms:\n${logTail()}`);
}

export interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

type ApiAnswer<T> = { status: 'success'; data: T } | { status: 'error'; errorType: string; error: string };

async function api<T>(url: string, params: Record<string, string | string[]>, method: 'GET' | 'POST' = 'POST'): Promise<T> {
  const body = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) for (const x of Array.isArray(v) ? v : [v]) body.append(k, x);
  const res = method === 'POST'
    ? await fetch(url, { method, body, headers: { 'content-type': 'application/x-www-form-urlencoded' } })
    : await fetch(`${url}?${body.toString()}`);
  const j = (await res.json()) as ApiAnswer<T>;
  if (j.status !== 'success') throw new Error(`${j.errorType}: ${j.error}`);
  return j.data;
}

/** An instant query; throws Prometheus's own message on a parse or evaluation error. */
export async function instantQuery(base: string, expr: string, timeSeconds?: number): Promise<Sample[]> {
  const params: Record<string, string> = { query: expr };
  if (timeSeconds !== undefined) params.time = String(timeSeconds);
  const data = await api<{ resultType: string; result: Sample[] | [number, string] }>(`${base}/api/v1/query`, params);
  // A scalar (e.g. `time()`) is one unlabelled value.
  if (data.resultType === 'scalar') return [{ metric: {}, value: data.result as [number, string] }];
  return data.result as Sample[];
}

/** Values of `label` on the series matching `selector` (what Grafana's label_values() asks). */
export function labelValues(base: string, label: string, selector: string): Promise<string[]> {
  return api<string[]>(`${base}/api/v1/label/${encodeURIComponent(label)}/values`, { 'match[]': selector }, 'GET');
}

/** Every metric name Prometheus has stored. */
export function metricNames(base: string): Promise<string[]> {
  return api<string[]>(`${base}/api/v1/label/__name__/values`, {}, 'GET');
}

export interface RuleState {
  name: string;
  query: string;
  health: string;
  lastError?: string;
  type: string;
  lastEvaluation: string;
  /** Alerting rules: inactive, pending or firing, with the alerts and their labels. */
  state?: string;
  alerts?: Array<{ labels: Record<string, string>; state: string }>;
}

/** The loaded rule groups' rules, with Prometheus's own evaluation health. */
export async function loadedRules(base: string): Promise<RuleState[]> {
  const data = await api<{ groups: Array<{ rules: RuleState[] }> }>(`${base}/api/v1/rules`, {}, 'GET');
  return data.groups.flatMap((g) => g.rules);
}

/** `promtool check rules FILE`: exit code and output. */
export function promtoolCheckRules(file: string): { status: number | null; output: string } {
  const r = spawnSync(PROMTOOL!, ['check', 'rules', file], { encoding: 'utf8' });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}
