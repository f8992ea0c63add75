/**
 * Folders the CLI is given as artifact URIs. Training, drift checks and reports work on local
 * folders; the operator's Jobs pass `s3://bucket/prefix` (and users may pass `file:///path`).
 * These helpers turn such a URI into a local folder (downloaded, or staged and uploaded after)
 * so that each command keeps working on plain paths. A plain path is used as it is.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const isS3 = (uri: string): boolean => uri.startsWith('s3://');

/** A plain path for file:// URIs and paths; undefined for s3:// (which needs staging). */
function localPathOf(uri: string): string | undefined {
  if (isS3(uri)) return undefined;
  return uri.startsWith('file://') ? fileURLToPath(uri) : uri;
}

async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(tmpdir(), 'etaops-artifacts-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Runs fn on a local copy of the model directory at `uri` (model.onnx + model.json). */
export async function withModelDirLocal<T>(uri: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const local = localPathOf(uri);
  if (local !== undefined) return fn(local);
  const { getModelDir } = await import('../storage/index.js');
  return withTempDir(async (dir) => {
    await getModelDir(uri, dir);
    return fn(dir);
  });
}

/**
 * Runs fn with a local folder to write into; for s3:// every file fn wrote is uploaded under
 * `uri` afterwards (only when fn succeeds). Returns fn's result and the URI of each file name.
 */
export async function withOutputDir<T>(uri: string, fn: (dir: string) => Promise<T>): Promise<{ result: T; uriOf: (name: string) => string }> {
  const local = localPathOf(uri);
  if (local !== undefined) return { result: await fn(local), uriOf: (name) => path.join(local, name) };
  const { openArtifactStore } = await import('../storage/index.js');
  const store = openArtifactStore(uri);
  const { createReadStream } = await import('node:fs');
  return withTempDir(async (dir) => {
    const result = await fn(dir);
    for (const name of (await readdir(dir)).sort()) await store.put(name, createReadStream(path.join(dir, name)));
    return { result, uriOf: (name: string) => store.uriFor(name) };
  });
}
