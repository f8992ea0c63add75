/**
 * The real `etaops controller` as a child process for the operator bench: its /metrics, and its
 * memory as the kernel sees it (/proc/<pid>/status: VmRSS now, VmHWM = peak RSS).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseProm, type Sample } from './prom-text.js';

export interface ControllerProc {
  pid: number;
  base: string;
  metrics(): Promise<Sample[]>;
  /** Resident set now and its peak so far, in MiB. */
  memory(): { rssMiB: number; hwmMiB: number };
  /** SIGTERM, then SIGKILL after 20 s; resolves with the exit code. */
  stop(): Promise<number | null>;
}

function statusKiB(pid: number, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

export interface ControllerOptions {
  cli: string;
  kubeconfig: string;
  namespace: string;
  workers: number;
  env: Record<string, string>;
  logFile: string;
  log: (m: string) => void;
}

export async function startController(o: ControllerOptions): Promise<ControllerProc> {
  const env: NodeJS.ProcessEnv = { ...process.env, ...o.env };
  delete env.ETAOPS_DATABASE_URL; // the bench measures the operator alone, without the registry link
  const child: ChildProcess = spawn(process.execPath, [o.cli, 'controller',
    '--kubeconfig', o.kubeconfig, '--namespace', o.namespace, '--lease-namespace', o.namespace,
    '--identity', `bench-${o.namespace}`, '--port', '0', '--workers', String(o.workers)], { stdio: ['ignore', 'ignore', 'pipe'], env });
  const file = createWriteStream(o.logFile);
  child.stderr!.pipe(file);
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => {
    exitCode = code;
    r(code);
  }));
  const base = await new Promise<string>((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`controller did not start within 60 s (log: ${o.logFile})`)), 60_000);
    child.stderr!.on('data', (d: Buffer) => {
      seen += d.toString();
      const m = /health and metrics on (http:\/\/\S+)/.exec(seen);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`controller exited (${code}) before serving; log: ${o.logFile}`));
    });
  });
  const pid = child.pid!;
  const proc: ControllerProc = {
    pid,
    base,
    async metrics() {
      return parseProm(await (await fetch(`${base}/metrics`)).text());
    },
    memory() {
      return { rssMiB: statusKiB(pid, 'VmRSS') / 1024, hwmMiB: statusKiB(pid, 'VmHWM') / 1024 };
    },
    async stop() {
      if (exitCode !== undefined) return exitCode;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 20_000);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
  // /readyz: informers synced (and leading, workers started soon after).
  const end = Date.now() + 60_000;
  while (Date.now() < end) {
    const ok = await fetch(`${base}/readyz`).then((r) => r.ok, () => false);
    if (ok) return proc;
    if (exitCode !== undefined) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  await proc.stop();
  throw new Error(`controller not ready within 60 s; log: ${path.resolve(o.logFile)}`);
}
