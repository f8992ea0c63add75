import type { GetOptions, ModelDirManifest, S3StoreOptions } from './index.js';

/**
 * Uploads model.onnx and model.json from `localDir` under `dirUri`. Returns each file's
 * sha256; the manifest's `sha256` is model.onnx's, the artifact sha256 the registry records.
 */
export async function putModelDir(dirUri: string, localDir: string, opts: S3StoreOptions = {}): Promise<ModelDirManifest> {
  void dirUri; void localDir; void opts;
  throw new Error('not implemented yet');
}

/**
 * Downloads model.onnx and model.json from `dirUri` into `localDir`, verifying each file whose
 * sha256 is given in `expectedShaByFile` (e.g. { 'model.onnx': versionRow.sha256 }).
 * Files are written to a temporary name and renamed, so a failed check leaves no file behind.
 */
export async function getModelDir(dirUri: string, localDir: string, expectedShaByFile: Record<string, string> = {}, opts: S3StoreOptions = {}): Promise<ModelDirManifest> {
  void dirUri; void localDir; void expectedShaByFile; void opts;
  throw new Error('not implemented yet');
}

/** Reads one object by absolute URI, opening the right store. */
export async function readArtifact(uri: string, getOpts: GetOptions = {}, opts: S3StoreOptions = {}): Promise<Buffer> {
  void uri; void getOpts; void opts;
  throw new Error('not implemented yet');
}
