/**
 * Crash points: the process kills itself (SIGKILL, no cleanup, no Lease release) right after a
 * named write to the API server, before the write that would report it. A reconciler that is
 * truly idempotent converges from any of these cuts after a restart; the crash test
 * (test/integration/reliability-controller-crash.test.ts) proves it for every point of the
 * TrainingRun → ModelVersion → promotion flow.
 *
 *   ETAOPS_CRASH_AT="TrainingRun/createJob,ModelVersion/status"   crash at the first hit of any
 *   ETAOPS_CRASH_AT="*"                                            crash at the first write at all
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

const armed = new Set((process.env.ETAOPS_CRASH_AT ?? '').split(',').map((s) => s.trim()).filter(Boolean));

/** Kills the process here when ETAOPS_CRASH_AT names this point (or is `*`). */
export function crashPoint(point: CrashPoint): void {
  if (armed.size === 0 || !(armed.has(point) || armed.has('*'))) return;
  // Written synchronously: the test reads which point was hit from the log.
  process.stderr.write(`${new Date().toISOString()} crash point ${point}: killing the process (ETAOPS_CRASH_AT)\n`);
  process.kill(process.pid, 'SIGKILL');
}
