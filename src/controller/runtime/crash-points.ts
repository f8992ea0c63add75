/**
 * Crash points: the process kills itself (SIGKILL, no cleanup, no Lease release) right after a
 * named write to the API server, before the write that would report it. A reconciler that is
 * truly idempotent converges from any of these cuts after a restart; the crash test
 * (test/integration/reliability-controller-crash.test.ts) proves it for every point of the
 * TrainingRun → ModelVersion → promotion flow and of a DriftCheck that retrains.
 *
 *   ETAOPS_CRASH_AT="TrainingRun/createJob,ModelVersion/status"   crash at the first hit of any
 *   ETAOPS_CRASH_AT="*"                                            crash at the first write at all
 *   ETAOPS_CRASH_SPARE="TrainingRun/registryRegister"              ... except at these
 *
 * SPARE is for writes that every pass repeats until the next step lands (the idempotent
 * registry registration before the ModelVersion create): once cut there, a test spares the
 * point, or a process that dies at its first write would never get past it.
 *
 * Unset (always in production) a hit is one Set lookup. Names are `<Kind>/<action>`; the list
 * of them is CRASH_POINTS, so a test can check that it reached each one.
 */
export const CRASH_POINTS = [
  'TrainingRun/createJob',
  'TrainingRun/registryRegister',
  'TrainingRun/createModelVersion',
  'TrainingRun/status',
  'ModelVersion/setStage',
  'ModelVersion/createService',
  'ModelVersion/applyDeployment',
  'ModelVersion/registryTransition',
  'ModelVersion/status',
  'DriftCheck/createJob',
  'DriftCheck/createTrainingRun',
  'DriftCheck/status',
] as const;
export type CrashPoint = (typeof CRASH_POINTS)[number];

const list = (v: string | undefined) => new Set((v ?? '').split(',').map((s) => s.trim()).filter(Boolean));
const armed = list(process.env.ETAOPS_CRASH_AT);
const spared = list(process.env.ETAOPS_CRASH_SPARE);

/** Kills the process here when ETAOPS_CRASH_AT names this point (or is `*`) and ETAOPS_CRASH_SPARE does not. */
export function crashPoint(point: CrashPoint): void {
  if (armed.size === 0 || !(armed.has(point) || armed.has('*')) || spared.has(point)) return;
  // Written synchronously: the test reads which point was hit from the log.
  process.stderr.write(`${new Date().toISOString()} crash point ${point}: killing the process (ETAOPS_CRASH_AT)\n`);
  process.kill(process.pid, 'SIGKILL');
}
