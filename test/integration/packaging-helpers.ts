/** Shared by the packaging tests (chart, image, docs): where things are and how to run them. */
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (tests run from dist/test/integration). */
export const ROOT = path.resolve(fileURLToPath(new URL('../../../', import.meta.url)));
export const repoPath = (...parts: string[]) => path.join(ROOT, ...parts);

export const CACHE = process.env.ETAOPS_CACHE || path.join(os.homedir(), '.cache', 'etaops');
export const HELM = process.env.ETAOPS_HELM || path.join(CACHE, 'bin', 'helm');
export const HELM_SKIP = existsSync(HELM) ? false : `helm is not built at ${HELM}: hack/build-binaries.sh helm builds it (make test does)`;

export const KUBECTL = process.env.ETAOPS_TEST_KUBECTL;
export const KUBECONFIG = process.env.ETAOPS_TEST_KUBECONFIG;
export const CLUSTER_SKIP = KUBECTL && KUBECONFIG && existsSync(KUBECTL)
  ? false
  : 'ETAOPS_TEST_KUBECTL / ETAOPS_TEST_KUBECONFIG are unset: run through `make test` or with `eval "$(hack/cluster.sh env)"`';

export interface Ran { status: number | null; stdout: string; stderr: string }

/** Runs a program to completion (bounded by a timeout), capturing its output as text. */
export function run(cmd: string, args: string[], opts: SpawnSyncOptions = {}): Ran {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, timeout: 180_000, ...opts });
  if (r.error) throw new Error(`${cmd} ${args.join(' ')}: ${r.error.message}`);
  return { status: r.status, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** Runs a program that must succeed; its stderr is the failure message otherwise. */
export function runOk(cmd: string, args: string[], opts: SpawnSyncOptions = {}): string {
  const r = run(cmd, args, opts);
  if (r.status !== 0) throw new Error(`${path.basename(cmd)} ${args.join(' ')} exited ${r.status}:\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

export function kubectl(args: string[], input?: string): Ran {
  return run(KUBECTL!, ['--kubeconfig', KUBECONFIG!, ...args], { input });
}
