/**
 * The result contract with the operator: a Job's container writes its JSON result to the file
 * named by ETAOPS_RESULT_FILE (the operator sets /dev/termination-log), which Kubernetes copies
 * into the pod's status (containerStatuses[].state.terminated.message) where the controller
 * reads it, even after a restart. Kubernetes keeps at most 4096 bytes of it, so results are
 * written compact and must fit; an oversized result is an error rather than a silently cut one.
 */
import { writeFile } from 'node:fs/promises';

export const RESULT_MAX_BYTES = 4096;

/** Writes `result` to $ETAOPS_RESULT_FILE when that is set; returns whether it was written. */
export async function writeResultFile(result: unknown, env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  const file = env.ETAOPS_RESULT_FILE;
  if (!file) return false;
  const text = JSON.stringify(result);
  const bytes = Buffer.byteLength(text);
  if (bytes > RESULT_MAX_BYTES) throw new Error(`the result is ${bytes} bytes, more than the ${RESULT_MAX_BYTES} a termination message keeps`);
  await writeFile(file, text, 'utf8');
  return true;
}
